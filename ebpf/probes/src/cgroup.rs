//! The cgroup of the current task, v2 or (on cgroup v1 hosts) one v1 hierarchy's.
use archscope_common::CgroupV1Layout;
use aya_ebpf::helpers::{bpf_get_current_cgroup_id, bpf_get_current_task, bpf_probe_read_kernel};

/// Set by the agent in cgroup v1 mode (see `CgroupV1Layout`).
#[unsafe(no_mangle)]
static CGROUP_V1_LAYOUT: CgroupV1Layout = CgroupV1Layout {
    enabled: 0,
    task_cgroups: 0,
    css_set_subsys: 0,
    css_cgroup: 0,
    cgroup_kn: 0,
    kn_id: 0,
};

/// The id every per-cgroup map is keyed by. In v1 mode a failed read gives 0, which the
/// agent labels as unresolved rather than charging another cgroup.
#[inline(always)]
pub fn current_cgroup_id() -> u64 {
    // SAFETY: a read-only global patched by the loader.
    let l = unsafe { core::ptr::read_volatile(&CGROUP_V1_LAYOUT) };
    if l.enabled == 0 {
        // SAFETY: no preconditions.
        return unsafe { bpf_get_current_cgroup_id() };
    }
    v1_cgroup_id(&l).unwrap_or(0)
}

#[inline(always)]
fn v1_cgroup_id(l: &CgroupV1Layout) -> Result<u64, i64> {
    // SAFETY: kernel pointers followed with bpf_probe_read_kernel, which fails cleanly.
    unsafe {
        let task = bpf_get_current_task();
        let read = |p: u64| bpf_probe_read_kernel(p as *const u64).map_err(i64::from);
        let css_set = read(task + l.task_cgroups as u64)?;
        let css = read(css_set + l.css_set_subsys as u64)?;
        let cgrp = read(css + l.css_cgroup as u64)?;
        let kn = read(cgrp + l.cgroup_kn as u64)?;
        read(kn + l.kn_id as u64)
    }
}
