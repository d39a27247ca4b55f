//! Per-cgroup, per-syscall calls, failures by errno and latency, aggregated in per-CPU maps.
//!
//! Raw tracepoints: the syscall number and return value are the hooks' own arguments, so
//! nothing is copied or probe-read. A call is counted once, at exit, in the cgroup it was
//! made in, with its number: both come from the thread's in-flight entry (raw sys_exit
//! carries no number). The calls that may not return on the same thread (the arch table
//! names them) and 32-bit compat calls are counted at entry instead. The child's return
//! from clone/fork finds no entry and is not counted: its parent's call was.
use archscope_common::{
    COMPAT_BIT, CompatLayout, ErrnoKey, INFLIGHT_COUNTED, INFLIGHT_OPEN, InFlight, Loss, Program,
    SYSCALL_MODE_FULL, SyscallConfig, SyscallKey, SyscallStats, hist_bucket,
};
use aya_ebpf::{
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_ns, bpf_probe_read_kernel,
    },
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuHashMap},
    programs::RawTracePointContext,
};

use crate::losses;

/// Set by the agent before loading (mode and the arch table's numbers).
#[unsafe(no_mangle)]
static SYSCALL_CONFIG: SyscallConfig = SyscallConfig {
    mode: SYSCALL_MODE_FULL,
    enter_counted: [u32::MAX; 4],
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

// Preallocated (see maps.rs); sizes are the defaults, the agent sets them before loading.
#[map]
static SYSCALL_STATS: PerCpuHashMap<SyscallKey, SyscallStats> =
    PerCpuHashMap::with_max_entries(16384, 0);

#[map]
static SYSCALL_ERRNOS: PerCpuHashMap<ErrnoKey, u64> = PerCpuHashMap::with_max_entries(16384, 0);

/// Keyed by thread id, preallocated: an entry is written in place at every entry and
/// only inserted on a thread's first traced call; `archscope_sys_thread_exit` removes it.
#[map]
static SYSCALL_IN_FLIGHT: HashMap<u32, InFlight> = HashMap::with_max_entries(65536, 0);

#[inline(always)]
fn config() -> SyscallConfig {
    // SAFETY: a read-only global patched by the loader; volatile keeps the compiler
    // from folding the initialiser.
    unsafe { core::ptr::read_volatile(&SYSCALL_CONFIG) }
}

#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn archscope_sys_enter(ctx: RawTracePointContext) -> i32 {
    crate::fault::reject_if_injected(Program::SysEnter);
    // sys_enter(struct pt_regs *regs, long id)
    let nr: i64 = ctx.arg(1);
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let slot = SYSCALL_IN_FLIGHT.get_ptr_mut(tid);
    if !(0..=u32::MAX as i64).contains(&nr) {
        // -1: a tracer cancelled the call; nothing ran, and its exit must not count
        if let Some(e) = slot {
            // SAFETY: this thread's own entry; only this thread writes it.
            unsafe { (*e).state = 0 };
        }
        return 0;
    }
    let c = config();
    let compat = is_compat();
    let key_nr = if compat {
        nr as u32 | COMPAT_BIT
    } else {
        nr as u32
    };
    let cgroup_id = crate::cgroup::current_cgroup_id();
    let mut state = INFLIGHT_OPEN;
    if compat || c.enter_counted.contains(&(nr as u32)) {
        count_call(&ctx, cgroup_id, key_nr);
        state |= INFLIGHT_COUNTED;
    }
    let start_ns = if c.mode == SYSCALL_MODE_FULL {
        // SAFETY: no preconditions.
        unsafe { bpf_ktime_get_ns() }
    } else {
        0
    };
    let entry = InFlight {
        start_ns,
        cgroup_id,
        key_nr,
        tgid: (pid_tgid >> 32) as u32,
        state,
        _pad: 0,
    };
    match slot {
        // SAFETY: this thread's own entry, written in place.
        Some(e) => unsafe { *e = entry },
        None => {
            if SYSCALL_IN_FLIGHT.insert(tid, entry, 0).is_err() {
                // Without an entry the exit cannot name the call: count it here.
                losses::count(Loss::InFlightMapFull);
                if state & INFLIGHT_COUNTED == 0 {
                    count_call(&ctx, cgroup_id, key_nr);
                }
            }
        }
    }
    0
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn archscope_sys_exit(ctx: RawTracePointContext) -> i32 {
    crate::fault::reject_if_injected(Program::SysExit);
    // sys_exit(struct pt_regs *regs, long ret)
    let ret: i64 = ctx.arg(1);
    let pid_tgid = bpf_get_current_pid_tgid();
    let Some(e) = SYSCALL_IN_FLIGHT.get_ptr_mut(pid_tgid as u32) else {
        losses::count(Loss::ExitWithoutEnter);
        return 0;
    };
    // SAFETY: this thread's own entry; copied, then closed.
    let entry = unsafe { *e };
    if entry.state & INFLIGHT_OPEN == 0 || entry.tgid != (pid_tgid >> 32) as u32 {
        losses::count(Loss::ExitWithoutEnter);
        return 0;
    }
    unsafe { (*e).state = 0 };
    let key = SyscallKey {
        cgroup_id: entry.cgroup_id,
        nr: entry.key_nr,
        _pad: 0,
    };
    let Some(s) = crate::maps::slot(&SYSCALL_STATS, &key, || SyscallStats::ZERO) else {
        losses::count_and_log(&ctx, Loss::StatsMapFull);
        return 0;
    };
    // SAFETY: this CPU's value; syscall tracepoints run their programs with preemption
    // off and only in task context, so plain adds on a per-CPU value lose nothing.
    unsafe {
        if entry.state & INFLIGHT_COUNTED == 0 {
            (*s).calls += 1;
        }
        if config().mode == SYSCALL_MODE_FULL {
            let elapsed = bpf_ktime_get_ns().saturating_sub(entry.start_ns);
            (*s).completed += 1;
            (*s).duration_ns_sum += elapsed;
            if let Some(b) = (*s).hist.get_mut(hist_bucket(elapsed)) {
                *b += 1;
            }
        }
        if (-4095..0).contains(&ret) {
            (*s).failed += 1;
            let ekey = ErrnoKey {
                cgroup_id: key.cgroup_id,
                nr: entry.key_nr,
                errno: (-ret) as u32,
            };
            match crate::maps::slot(&SYSCALL_ERRNOS, &ekey, || 0u64) {
                Some(p) => *p += 1,
                None => losses::count_and_log(&ctx, Loss::ErrnoMapFull),
            }
        }
    }
    0
}

/// A thread's last act: its in-flight entry goes, so the map holds live threads only.
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn archscope_sys_thread_exit(_ctx: RawTracePointContext) -> i32 {
    crate::fault::reject_if_injected(Program::SysThreadExit);
    let tid = bpf_get_current_pid_tgid() as u32;
    let _ = SYSCALL_IN_FLIGHT.remove(tid);
    0
}

/// Count one call at entry.
#[inline(always)]
fn count_call(ctx: &RawTracePointContext, cgroup_id: u64, key_nr: u32) {
    let key = SyscallKey {
        cgroup_id,
        nr: key_nr,
        _pad: 0,
    };
    match crate::maps::slot(&SYSCALL_STATS, &key, || SyscallStats::ZERO) {
        // SAFETY: as in the exit program.
        Some(s) => unsafe { (*s).calls += 1 },
        None => losses::count_and_log(ctx, Loss::StatsMapFull),
    }
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

/// The floor: empty programs on exactly the hooks the syscall feature uses, attached
/// only by `agent bench overhead` to measure what the hooks alone cost.
#[raw_tracepoint(tracepoint = "sys_enter")]
pub fn archscope_floor_sys_enter(_ctx: RawTracePointContext) -> i32 {
    0
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn archscope_floor_sys_exit(_ctx: RawTracePointContext) -> i32 {
    0
}
