//! The PMU family's maps: the per-event `PERF_EVENT_ARRAY`s the agent fills with its
//! per-CPU counter fds, and the per-cgroup sums the `sched_switch` program keeps.
use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd};

use archscope_common::{PmuEvent, PmuKey, PmuValue};
use aya::Ebpf;
use aya::maps::{Map, MapData, PerCpuHashMap};

use crate::pmu::Pmu;

/// The kernel program's array for each event (ebpf/probes/src/pmu.rs).
pub fn array_name(e: PmuEvent) -> &'static str {
    match e {
        PmuEvent::Cycles => "PMU_CYCLES",
        PmuEvent::Instructions => "PMU_INSTRUCTIONS",
        PmuEvent::CacheReferences => "PMU_CACHE_REFERENCES",
        PmuEvent::CacheMisses => "PMU_CACHE_MISSES",
        PmuEvent::BranchInstructions => "PMU_BRANCH_INSTRUCTIONS",
        PmuEvent::BranchMisses => "PMU_BRANCH_MISSES",
        PmuEvent::StalledCyclesFrontend => "PMU_STALLED_FRONTEND",
        PmuEvent::StalledCyclesBackend => "PMU_STALLED_BACKEND",
        PmuEvent::LlcMisses => "PMU_LLC_MISSES",
    }
}

/// Put every open counter's fd at its CPU's index of its event's array.
pub fn fill_arrays(ebpf: &mut Ebpf, pmu: &Pmu) -> Result<(), String> {
    for s in &pmu.slots {
        let Some(fd) = s.fd() else { continue };
        let name = array_name(s.event);
        let Some(Map::PerfEventArray(map)) = ebpf.map(name) else {
            return Err(format!("{name} missing from the object"));
        };
        update_elem(map, s.cpu, fd as u32).map_err(|e| format!("{name}[{}]: {e}", s.cpu))?;
    }
    Ok(())
}

/// `bpf(BPF_MAP_UPDATE_ELEM)` on a perf event array: aya's user-side PerfEventArray only
/// opens ring buffers, it cannot store a counter fd.
fn update_elem(map: &MapData, key: u32, value: u32) -> std::io::Result<()> {
    #[repr(C)]
    struct Attr {
        map_fd: u32,
        _pad: u32,
        key: u64,
        value: u64,
        flags: u64,
    }
    const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
    let attr = Attr {
        map_fd: map.fd().as_fd().as_raw_fd() as u32,
        _pad: 0,
        key: &raw const key as u64,
        value: &raw const value as u64,
        flags: 0, // BPF_ANY
    };
    // SAFETY: attr points at live key and value of the sizes the map was created with
    // (u32, u32); the size passed is the struct's.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_MAP_UPDATE_ELEM,
            &raw const attr,
            std::mem::size_of::<Attr>(),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// (cgroup, event) → sums over CPUs.
pub fn read(ebpf: &Ebpf) -> Result<HashMap<PmuKey, PmuValue>, String> {
    let map: PerCpuHashMap<&MapData, PmuKey, PmuValue> =
        PerCpuHashMap::try_from(ebpf.map("PMU_STATS").ok_or("PMU_STATS missing")?)
            .map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    for item in map.iter() {
        let (k, per_cpu) = item.map_err(|e| e.to_string())?;
        let mut sum = PmuValue::default();
        for v in per_cpu.iter() {
            sum.counter = sum.counter.wrapping_add(v.counter);
            sum.enabled = sum.enabled.wrapping_add(v.enabled);
            sum.running = sum.running.wrapping_add(v.running);
        }
        out.insert(k, sum);
    }
    Ok(out)
}

/// Drop the entries of cgroups gone past their grace period.
pub fn forget_cgroups(ebpf: &mut Ebpf, gone: &[u64], keys: &[PmuKey]) -> Result<usize, String> {
    let mut map: PerCpuHashMap<&mut MapData, PmuKey, PmuValue> =
        PerCpuHashMap::try_from(ebpf.map_mut("PMU_STATS").ok_or("PMU_STATS missing")?)
            .map_err(|e| e.to_string())?;
    let mut n = 0;
    for k in keys.iter().filter(|k| gone.contains(&k.cgroup_id)) {
        n += usize::from(map.remove(k).is_ok());
    }
    Ok(n)
}
