//! The scheduler per cgroup: on-CPU time, voluntary and involuntary context switches, and
//! run-queue latency (from a task becoming runnable to it running).
//!
//! Raw tracepoints: `sched_switch(preempt, prev, next, …)` fires in `prev`'s context, so
//! everything about the leaving task is charged to the current cgroup, with no walk to a
//! task's cgroup. A task's wait ends when it comes on the CPU; the wait is kept in the
//! CPU's slot and charged with its time on the CPU when it leaves. A task is waiting from
//! `sched_wakeup`/`sched_wakeup_new`, or from being switched out while still runnable.
//! The task fields (`pid`, `__state`/`state`) are read at offsets from BTF.
use archscope_common::{Loss, Program, SchedCpu, SchedLayout, SchedStats, hist_bucket};
use aya_ebpf::{
    bindings::BPF_NOEXIST,
    helpers::{
        bpf_get_current_pid_tgid, bpf_get_current_task, bpf_ktime_get_ns, bpf_probe_read_kernel,
    },
    macros::{map, raw_tracepoint},
    maps::{HashMap, PerCpuArray, PerCpuHashMap},
    programs::RawTracePointContext,
};

use crate::losses;

/// Set by the agent before loading (see `SchedLayout`).
#[unsafe(no_mangle)]
static SCHED_LAYOUT: SchedLayout = SchedLayout {
    task_pid: 0,
    task_state: 0,
    enabled: 0,
    _pad: 0,
};

/// Keyed by cgroup id, preallocated (see maps.rs); sized by the agent.
#[map]
static SCHED_STATS: PerCpuHashMap<u64, SchedStats> = PerCpuHashMap::with_max_entries(16384, 0);

/// One all-zero value, never written: what new SCHED_STATS keys start from (248 bytes,
/// too many for the stack beside the rest).
#[map]
static SCHED_ZERO: PerCpuArray<SchedStats> = PerCpuArray::with_max_entries(1, 0);

/// The task on each CPU (see `SchedCpu`).
#[map]
static SCHED_CPU: PerCpuArray<SchedCpu> = PerCpuArray::with_max_entries(1, 0);

/// Thread id → when it became runnable, 0 once it runs or blocks. Preallocated and written in
/// place (a lookup, never an insert or delete, on the hot path): an entry is inserted at
/// a thread's first wakeup and removed when the thread exits
/// (`archscope_runq_thread_exit`). A reused thread id starts with its own wakeup
/// (`sched_wakeup_new`), never a stale one.
#[map]
static SCHED_RUNNABLE: HashMap<u32, u64> = HashMap::with_max_entries(65536, 0);

const TASK_RUNNING: u32 = 0;

#[inline(always)]
fn layout() -> SchedLayout {
    // SAFETY: a read-only global patched by the loader; volatile keeps the compiler from
    // folding the zero initialiser.
    unsafe { core::ptr::read_volatile(&SCHED_LAYOUT) }
}

/// A `u32` field of a task, at an offset from BTF.
#[inline(always)]
fn task_u32(task: u64, offset: u32) -> Result<u32, i64> {
    // SAFETY: bpf_probe_read_kernel tolerates any address.
    unsafe { bpf_probe_read_kernel((task + offset as u64) as *const u32) }.map_err(i64::from)
}

#[raw_tracepoint(tracepoint = "sched_switch")]
pub fn archscope_runq_switch(ctx: RawTracePointContext) -> i32 {
    crate::fault::reject_if_injected(Program::RunqSwitch);
    let l = layout();
    if l.enabled != 0 && try_switch(&ctx, &l).is_err() {
        losses::count(Loss::ReadFailed);
    }
    0
}

fn try_switch(ctx: &RawTracePointContext, l: &SchedLayout) -> Result<(), i64> {
    let now = unsafe { bpf_ktime_get_ns() };
    // sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, …)
    let preempt: u64 = ctx.arg(0);
    let next: u64 = ctx.arg(2);
    let prev_tid = bpf_get_current_pid_tgid() as u32;
    let cpu = SCHED_CPU.get_ptr_mut(0).ok_or(0i64)?;
    // SAFETY: this CPU's slot; the scheduler runs this with preemption off.
    let slot = unsafe { *cpu };
    // Thread 0 is each CPU's idle task: neither its time nor its waits are anyone's.
    if prev_tid != 0 {
        let state = task_u32(unsafe { bpf_get_current_task() }, l.task_state)?;
        let runnable = preempt != 0 || state == TASK_RUNNING;
        leaving(prev_tid, runnable, &slot, now);
        if runnable {
            waiting_since(prev_tid, now, false);
        } else if let Some(t) = SCHED_RUNNABLE.get_ptr_mut(prev_tid) {
            // it blocks: a wakeup seen while it still ran does not start its next wait
            // SAFETY: the thread's entry (see below).
            unsafe { *t = 0 };
        }
    }
    let next_tid = task_u32(next, l.task_pid)?;
    let mut on = SchedCpu {
        tid: next_tid,
        waited: 0,
        since_ns: now,
        wait_ns: 0,
    };
    if next_tid != 0 {
        match SCHED_RUNNABLE.get_ptr_mut(next_tid) {
            // SAFETY: the thread's entry; a wakeup on another CPU may write it at the
            // same time, and either 8-byte store wins whole.
            Some(t) if unsafe { *t } != 0 => unsafe {
                on.wait_ns = now.saturating_sub(*t);
                on.waited = 1;
                *t = 0;
            },
            // runnable since before the programs attached, or its wakeup was not seen
            _ => losses::count(Loss::SchedWaitUnseen),
        }
    }
    // SAFETY: as above.
    unsafe { *cpu = on };
    Ok(())
}

/// Charge the leaving task's switch, and its time and wait when this CPU saw it come on
/// (not so for the first switch after the programs attached).
#[inline(always)]
fn leaving(tid: u32, runnable: bool, slot: &SchedCpu, now: u64) {
    let Some(s) = stats_of(crate::cgroup::current_cgroup_id()) else {
        return;
    };
    // SAFETY: this CPU's value in SCHED_STATS, which only sched_switch writes, and
    // sched_switch does not nest on a CPU: plain adds.
    unsafe {
        if runnable {
            (*s).involuntary += 1;
        } else {
            (*s).voluntary += 1;
        }
        if slot.tid != tid || slot.since_ns == 0 {
            // (since 0: the first switch on this CPU since the programs attached)
            if slot.since_ns != 0 {
                losses::count(Loss::SchedSwitchUnseen);
            }
            return;
        }
        (*s).cpu_ns += now.saturating_sub(slot.since_ns);
        if slot.waited != 0 {
            (*s).wait_count += 1;
            (*s).wait_ns_sum += slot.wait_ns;
            let b = hist_bucket(slot.wait_ns);
            if let Some(h) = (*s).wait_hist.get_mut(b) {
                *h += 1;
            }
        }
    }
}

#[inline(always)]
fn stats_of(cgroup_id: u64) -> Option<*mut SchedStats> {
    let p = SCHED_ZERO
        .get_ptr(0)
        // SAFETY: a value of a live map, valid while the program runs.
        .and_then(|zero| crate::maps::slot_from(&SCHED_STATS, &cgroup_id, unsafe { &*zero }));
    if p.is_none() {
        losses::count(Loss::SchedMapFull);
    }
    p
}

/// Thread `tid` is runnable from `now`: preempted (`keep_earlier` false), or woken, when
/// a wakeup of a thread already runnable keeps the time it became so.
#[inline(always)]
fn waiting_since(tid: u32, now: u64, keep_earlier: bool) {
    if let Some(t) = SCHED_RUNNABLE.get_ptr_mut(tid) {
        // SAFETY: the thread's entry (see try_switch).
        unsafe {
            if !keep_earlier || *t == 0 {
                *t = now;
            }
        }
    } else if SCHED_RUNNABLE.insert(tid, now, BPF_NOEXIST as u64).is_err()
        && SCHED_RUNNABLE.get_ptr_mut(tid).is_none()
    {
        // full, not raced by another CPU's insert of the same thread
        losses::count(Loss::SchedRunnableFull);
    }
}

/// `sched_wakeup(p)` and `sched_wakeup_new(p)`: `p` becomes runnable now.
#[inline(always)]
fn runnable(ctx: &RawTracePointContext) {
    let l = layout();
    if l.enabled == 0 {
        return;
    }
    let task: u64 = ctx.arg(0);
    match task_u32(task, l.task_pid) {
        Ok(tid) if tid != 0 => waiting_since(tid, unsafe { bpf_ktime_get_ns() }, true),
        Ok(_) => {}
        Err(_) => losses::count(Loss::ReadFailed),
    }
}

#[raw_tracepoint(tracepoint = "sched_wakeup")]
pub fn archscope_runq_wakeup(ctx: RawTracePointContext) -> i32 {
    crate::fault::reject_if_injected(Program::RunqWakeup);
    runnable(&ctx);
    0
}

#[raw_tracepoint(tracepoint = "sched_wakeup_new")]
pub fn archscope_runq_wakeup_new(ctx: RawTracePointContext) -> i32 {
    crate::fault::reject_if_injected(Program::RunqWakeupNew);
    runnable(&ctx);
    0
}

/// `sched_process_exit`, in the exiting thread: its entry goes.
#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn archscope_runq_thread_exit(_ctx: RawTracePointContext) -> i32 {
    crate::fault::reject_if_injected(Program::RunqThreadExit);
    let _ = SCHED_RUNNABLE.remove(bpf_get_current_pid_tgid() as u32);
    0
}

/// The floor: empty programs on exactly the scheduler feature's hooks, attached only by
/// `agent bench overhead`.
#[raw_tracepoint(tracepoint = "sched_switch")]
pub fn archscope_floor_sched_switch(_ctx: RawTracePointContext) -> i32 {
    0
}

#[raw_tracepoint(tracepoint = "sched_wakeup")]
pub fn archscope_floor_sched_wakeup(_ctx: RawTracePointContext) -> i32 {
    0
}

#[raw_tracepoint(tracepoint = "sched_wakeup_new")]
pub fn archscope_floor_sched_wakeup_new(_ctx: RawTracePointContext) -> i32 {
    0
}

#[raw_tracepoint(tracepoint = "sched_process_exit")]
pub fn archscope_floor_sched_thread_exit(_ctx: RawTracePointContext) -> i32 {
    0
}
