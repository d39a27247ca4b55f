//! The syscall feature's settings for its programs, and reading its maps at export time.
use std::collections::HashMap;

use archscope_common::{
    CompatLayout, ErrnoKey, InFlight, SYSCALL_MODE_COUNTS, SYSCALL_MODE_FULL, SyscallConfig,
    SyscallKey, SyscallStats,
};
use aya::Ebpf;
use aya::maps::{MapData, PerCpuHashMap};

use crate::arch::{Arch, compat, syscalls::SyscallTable};
use crate::btf::Btf;
use crate::config::SyscallMode;

/// The programs' settings: the mode, and the calls counted at entry because they may not
/// return on the same thread, by number from this arch's table.
pub fn config(mode: SyscallMode, arch: Option<Arch>) -> SyscallConfig {
    let mut enter_counted = [u32::MAX; 4];
    if let Some(a) = arch {
        let table = SyscallTable::for_arch(a);
        for (slot, name) in enter_counted.iter_mut().zip(ENTER_COUNTED) {
            *slot = table.number(name).unwrap_or(u32::MAX);
        }
    }
    SyscallConfig {
        mode: match mode {
            SyscallMode::Counts => SYSCALL_MODE_COUNTS,
            _ => SYSCALL_MODE_FULL,
        },
        enter_counted,
        _pad: 0,
    }
}

/// Never return (`exit`, `exit_group`), or return on a thread whose id changed (`execve`
/// from a thread other than the leader takes over the leader's id).
pub const ENTER_COUNTED: [&str; 4] = ["exit", "exit_group", "execve", "execveat"];

/// Where this kernel flags a compat syscall: the member's offset from BTF, the bit from the
/// arch table. `Ok(None)` on architectures without a 32-bit ABI.
pub fn compat_layout(arch: Option<Arch>) -> Result<Option<CompatLayout>, String> {
    let Some(flag) = arch.and_then(compat::flag) else {
        return Ok(None);
    };
    let btf = Btf::from_file(std::path::Path::new("/sys/kernel/btf/vmlinux"))
        .map_err(|e| e.to_string())?;
    let ti = btf
        .member_offset("task_struct", "thread_info")
        .map_err(|e| e.to_string())?;
    let field = btf
        .member_offset("thread_info", flag.field)
        .map_err(|e| e.to_string())?;
    Ok(Some(CompatLayout {
        offset: ti + field,
        mask: flag.mask,
        enabled: 1,
        _pad: 0,
    }))
}

/// One read of the syscall maps, summed over CPUs.
#[derive(Debug, Default)]
pub struct SyscallMaps {
    pub stats: HashMap<SyscallKey, SyscallStats>,
    pub errnos: HashMap<ErrnoKey, u64>,
    /// Threads with an in-flight entry (live threads that made a traced call).
    pub in_flight: usize,
}

pub fn read(ebpf: &Ebpf) -> Result<SyscallMaps, String> {
    let mut out = SyscallMaps::default();
    let stats: PerCpuHashMap<&MapData, SyscallKey, SyscallStats> =
        PerCpuHashMap::try_from(ebpf.map("SYSCALL_STATS").ok_or("SYSCALL_STATS missing")?)
            .map_err(|e| e.to_string())?;
    for item in stats.iter() {
        let (k, per_cpu) = item.map_err(|e| e.to_string())?;
        let mut sum = SyscallStats::ZERO;
        for v in per_cpu.iter() {
            sum.calls += v.calls;
            sum.failed += v.failed;
            sum.completed += v.completed;
            sum.duration_ns_sum += v.duration_ns_sum;
            for (a, b) in sum.hist.iter_mut().zip(v.hist.iter()) {
                *a += b;
            }
        }
        out.stats.insert(k, sum);
    }
    let errnos: PerCpuHashMap<&MapData, ErrnoKey, u64> =
        PerCpuHashMap::try_from(ebpf.map("SYSCALL_ERRNOS").ok_or("SYSCALL_ERRNOS missing")?)
            .map_err(|e| e.to_string())?;
    for item in errnos.iter() {
        let (k, per_cpu) = item.map_err(|e| e.to_string())?;
        out.errnos.insert(k, per_cpu.iter().sum());
    }
    let in_flight: aya::maps::HashMap<&MapData, u32, InFlight> = aya::maps::HashMap::try_from(
        ebpf.map("SYSCALL_IN_FLIGHT")
            .ok_or("SYSCALL_IN_FLIGHT missing")?,
    )
    .map_err(|e| e.to_string())?;
    out.in_flight = in_flight.keys().filter(Result::is_ok).count();
    Ok(out)
}

/// Drop every entry of cgroups that are gone (after their grace period), so the kernel
/// maps do not fill up with the dead.
pub fn forget_cgroups(ebpf: &mut Ebpf, gone: &[u64], maps: &SyscallMaps) -> Result<usize, String> {
    let mut n = 0;
    let mut stats: PerCpuHashMap<&mut MapData, SyscallKey, SyscallStats> = PerCpuHashMap::try_from(
        ebpf.map_mut("SYSCALL_STATS")
            .ok_or("SYSCALL_STATS missing")?,
    )
    .map_err(|e| e.to_string())?;
    for k in maps.stats.keys().filter(|k| gone.contains(&k.cgroup_id)) {
        n += usize::from(stats.remove(k).is_ok());
    }
    let mut errnos: PerCpuHashMap<&mut MapData, ErrnoKey, u64> = PerCpuHashMap::try_from(
        ebpf.map_mut("SYSCALL_ERRNOS")
            .ok_or("SYSCALL_ERRNOS missing")?,
    )
    .map_err(|e| e.to_string())?;
    for k in maps.errnos.keys().filter(|k| gone.contains(&k.cgroup_id)) {
        n += usize::from(errnos.remove(k).is_ok());
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calls counted at entry, by number, as the kernel headers of each arch give them
    /// (through the arch tables, which are tested against those headers).
    #[test]
    fn enter_counted_numbers_per_arch() {
        for (arch, want) in [
            (Arch::X86_64, [60, 231, 59, 322]),
            (Arch::Aarch64, [93, 94, 221, 281]),
            (Arch::Loongarch64, [93, 94, 221, 281]),
            (Arch::Sw64, [1, 405, 59, 513]),
        ] {
            let c = config(SyscallMode::Full, Some(arch));
            assert_eq!(c.enter_counted, want, "{arch:?}");
            assert_eq!(c.mode, SYSCALL_MODE_FULL);
        }
        assert_eq!(
            config(SyscallMode::Counts, Some(Arch::X86_64)).mode,
            SYSCALL_MODE_COUNTS
        );
        assert_eq!(config(SyscallMode::Full, None).enter_counted, [u32::MAX; 4]);
    }
}
