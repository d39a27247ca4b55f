//! The syscall family: record layout from tracefs, and reading its maps at export time.
use std::collections::HashMap;

use archscope_common::{
    CompatLayout, ErrnoKey, LOSS_KINDS, RawSyscallsLayout, SyscallKey, SyscallStats,
};
use aya::Ebpf;
use aya::maps::{MapData, PerCpuArray, PerCpuHashMap};

use crate::arch::{Arch, compat};
use crate::btf::Btf;
use crate::tracefs::{Tracefs, TracefsError};

/// Offsets of `id` (enter, exit) and `ret` (exit), checked to be 8-byte signed `long`s.
pub fn layout(t: &Tracefs) -> Result<RawSyscallsLayout, TracefsError> {
    let enter = t.format("raw_syscalls", "sys_enter")?;
    let exit = t.format("raw_syscalls", "sys_exit")?;
    let long = |tp: &str, f: crate::tracefs::Field, name: &str| {
        if f.size == 8 && f.signed {
            Ok(f.offset)
        } else {
            Err(TracefsError::NoField {
                tp: tp.into(),
                field: format!("{name} (a 64-bit long, found {} bytes)", f.size),
            })
        }
    };
    Ok(RawSyscallsLayout {
        enter_id: long(
            "raw_syscalls:sys_enter",
            enter.field("raw_syscalls:sys_enter", "id")?,
            "id",
        )?,
        exit_id: long(
            "raw_syscalls:sys_exit",
            exit.field("raw_syscalls:sys_exit", "id")?,
            "id",
        )?,
        exit_ret: long(
            "raw_syscalls:sys_exit",
            exit.field("raw_syscalls:sys_exit", "ret")?,
            "ret",
        )?,
        _pad: 0,
    })
}

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
    Ok(out)
}

/// The kernel-side loss counters of every family, summed over CPUs.
pub fn read_losses(ebpf: &Ebpf) -> Result<[u64; LOSS_KINDS], String> {
    let mut out = [0u64; LOSS_KINDS];
    let losses: PerCpuArray<&MapData, u64> =
        PerCpuArray::try_from(ebpf.map("LOSSES").ok_or("LOSSES missing")?)
            .map_err(|e| e.to_string())?;
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = losses
            .get(&(i as u32), 0)
            .map(|v| v.iter().sum())
            .unwrap_or(0);
    }
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
