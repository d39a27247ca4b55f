//! Per-cgroup, per-syscall calls, failures by errno and latency, aggregated in per-CPU maps.
//!
//! Calls are counted at `sys_enter` (so `exit_group` and `execve` count even though the
//! first never returns); latency and failures at `sys_exit`, only when this thread's entry
//! was seen with the same syscall number (so syscalls already in flight when the agent
//! started, and the child's return from `clone`/`fork`, are never mismeasured).
use archscope_common::{
    COMPAT_BIT, CompatLayout, ErrnoKey, InFlight, Loss, RawSyscallsLayout, SyscallKey,
    SyscallStats, hist_bucket,
};
use aya_ebpf::{
    bindings::{BPF_F_NO_PREALLOC, BPF_NOEXIST},
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_ns, bpf_probe_read_kernel,
    },
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuHashMap},
    programs::TracePointContext,
};

use crate::losses::{self, add};

/// Offsets of `id` and `ret` in the raw_syscalls records; the agent fills them in from
/// tracefs before loading.
#[unsafe(no_mangle)]
static RAW_SYSCALLS_LAYOUT: RawSyscallsLayout = RawSyscallsLayout {
    enter_id: 0,
    exit_id: 0,
    exit_ret: 0,
    _pad: 0,
};

/// Where the compat-syscall flag lives in `task_struct`; from BTF at load time.
#[unsafe(no_mangle)]
static COMPAT_LAYOUT: CompatLayout = CompatLayout {
    offset: 0,
    mask: 0,
    enabled: 0,
    _pad: 0,
};

// Sizes are the defaults; the agent resizes them from its configuration before loading.
#[map]
static SYSCALL_STATS: PerCpuHashMap<SyscallKey, SyscallStats> =
    PerCpuHashMap::with_max_entries(16384, BPF_F_NO_PREALLOC);

#[map]
static SYSCALL_ERRNOS: PerCpuHashMap<ErrnoKey, u64> =
    PerCpuHashMap::with_max_entries(16384, BPF_F_NO_PREALLOC);

/// Keyed by thread id. LRU so threads that die inside a syscall (`exit`) age out.
#[map]
static SYSCALL_IN_FLIGHT: LruHashMap<u32, InFlight> = LruHashMap::with_max_entries(65536, 0);

#[inline(always)]
fn layout() -> RawSyscallsLayout {
    // SAFETY: a read-only global patched by the loader; volatile keeps the compiler
    // from folding the zero initialiser.
    unsafe { core::ptr::read_volatile(&RAW_SYSCALLS_LAYOUT) }
}

#[tracepoint(category = "raw_syscalls", name = "sys_enter")]
pub fn archscope_sys_enter(ctx: TracePointContext) -> u32 {
    crate::fault::reject_if_injected(crate::fault::SYS_ENTER);
    if try_sys_enter(&ctx).is_err() {
        losses::count(Loss::ReadFailed);
    }
    0
}

fn try_sys_enter(ctx: &TracePointContext) -> Result<(), i64> {
    // SAFETY: the offset comes from this kernel's format file for this tracepoint.
    let nr: i64 = unsafe { ctx.read_at(layout().enter_id as usize) }.map_err(i64::from)?;
    if !(0..=u32::MAX as i64).contains(&nr) {
        return Ok(()); // -1: a tracer cancelled the call; nothing ran
    }
    let cgroup_id = crate::cgroup::current_cgroup_id();
    let key_nr = if is_compat() {
        nr as u32 | COMPAT_BIT
    } else {
        nr as u32
    };
    let key = SyscallKey {
        cgroup_id,
        nr: key_nr,
        _pad: 0,
    };
    match stats_slot(&key) {
        Some(stats) => unsafe { add(&raw mut (*stats).calls, 1) },
        None => {
            losses::count_and_log(ctx, Loss::StatsMapFull);
            return Ok(());
        }
    }
    let tid = bpf_get_current_pid_tgid() as u32;
    let entry = InFlight {
        start_ns: unsafe { bpf_ktime_get_ns() },
        cgroup_id,
        nr: nr as u32,
        key_nr,
    };
    if SYSCALL_IN_FLIGHT.insert(&tid, &entry, 0).is_err() {
        losses::count(Loss::InFlightMapFull);
    }
    Ok(())
}

#[tracepoint(category = "raw_syscalls", name = "sys_exit")]
pub fn archscope_sys_exit(ctx: TracePointContext) -> u32 {
    crate::fault::reject_if_injected(crate::fault::SYS_EXIT);
    if try_sys_exit(&ctx).is_err() {
        losses::count(Loss::ReadFailed);
    }
    0
}

fn try_sys_exit(ctx: &TracePointContext) -> Result<(), i64> {
    let now = unsafe { bpf_ktime_get_ns() };
    let l = layout();
    // SAFETY: offsets from this kernel's format file.
    let nr: i64 = unsafe { ctx.read_at(l.exit_id as usize) }.map_err(i64::from)?;
    let ret: i64 = unsafe { ctx.read_at(l.exit_ret as usize) }.map_err(i64::from)?;
    let tid = bpf_get_current_pid_tgid() as u32;
    let Some(entry) = SYSCALL_IN_FLIGHT.get_ptr(&tid) else {
        losses::count(Loss::ExitWithoutEnter);
        return Ok(());
    };
    // SAFETY: copied out before the entry is removed.
    let entry = unsafe { *entry };
    let _ = SYSCALL_IN_FLIGHT.remove(&tid);
    if entry.nr as i64 != nr {
        // A stale entry (the thread's previous syscall never returned) or the child side
        // of clone: not this call's entry.
        losses::count(Loss::ExitWithoutEnter);
        return Ok(());
    }
    let key = SyscallKey {
        cgroup_id: entry.cgroup_id,
        nr: entry.key_nr,
        _pad: 0,
    };
    let Some(stats) = stats_slot(&key) else {
        losses::count_and_log(ctx, Loss::StatsMapFull);
        return Ok(());
    };
    let elapsed = now.saturating_sub(entry.start_ns);
    // SAFETY: per-CPU value of this CPU; tracepoints run with migration disabled.
    unsafe {
        add(&raw mut (*stats).completed, 1);
        add(&raw mut (*stats).duration_ns_sum, elapsed);
        if let Some(b) = (*stats).hist.get_mut(hist_bucket(elapsed)) {
            add(b, 1);
        }
    }
    if (-4095..0).contains(&ret) {
        unsafe { add(&raw mut (*stats).failed, 1) };
        let ekey = ErrnoKey {
            cgroup_id: entry.cgroup_id,
            nr: entry.key_nr,
            errno: (-ret) as u32,
        };
        count_errno(ctx, &ekey);
    }
    Ok(())
}

/// Is the current syscall a 32-bit compat one? One kernel read, only on architectures that
/// have a compat ABI.
#[inline(always)]
fn is_compat() -> bool {
    // SAFETY: read-only global patched by the loader.
    let c = unsafe { core::ptr::read_volatile(&COMPAT_LAYOUT) };
    if c.enabled == 0 {
        return false;
    }
    let task = unsafe { bpf_get_current_task() } as *const u8;
    let field = task.wrapping_add(c.offset as usize) as *const u32;
    // SAFETY: bpf_probe_read_kernel tolerates any address; the offset comes from BTF.
    let flags = unsafe { bpf_probe_read_kernel(field) }.unwrap_or(0);
    flags & c.mask != 0
}

#[inline(always)]
fn stats_slot(key: &SyscallKey) -> Option<*mut SyscallStats> {
    if let Some(p) = SYSCALL_STATS.get_ptr_mut(key) {
        return Some(p);
    }
    // NOEXIST: another CPU may have created it meanwhile; then the lookup below finds it.
    let _ = SYSCALL_STATS.insert(key, &SyscallStats::ZERO, BPF_NOEXIST as u64);
    SYSCALL_STATS.get_ptr_mut(key)
}

#[inline(always)]
fn count_errno(ctx: &TracePointContext, key: &ErrnoKey) {
    if let Some(p) = SYSCALL_ERRNOS.get_ptr_mut(key) {
        unsafe { add(p, 1) };
        return;
    }
    let _ = SYSCALL_ERRNOS.insert(key, &0, BPF_NOEXIST as u64);
    match SYSCALL_ERRNOS.get_ptr_mut(key) {
        Some(p) => unsafe { add(p, 1) },
        None => losses::count_and_log(ctx, Loss::ErrnoMapFull),
    }
}
