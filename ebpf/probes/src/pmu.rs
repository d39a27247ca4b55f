//! Hardware counters per cgroup. The agent opens one counter per event and CPU and puts its
//! fd into that event's `PERF_EVENT_ARRAY` at the CPU's index. At every context switch this
//! program reads each counter of the CPU (value, enabled and running time), and charges the
//! delta since the previous switch on that CPU to the task that is leaving, i.e. to the
//! cgroup that ran. Nothing is opened per container.
use archscope_common::{Loss, PMU_SLOTS, PmuConfig, PmuEvent, PmuKey, PmuValue, Program};
use aya_ebpf::{
    bindings::{BPF_F_CURRENT_CPU, bpf_perf_event_value},
    helpers::bpf_perf_event_read_value,
    macros::{map, tracepoint},
    maps::{PerCpuArray, PerCpuHashMap, PerfEventArray},
    programs::TracePointContext,
};

use crate::losses::{self, add};

/// Slots with a counter behind them; set by the agent before loading.
#[unsafe(no_mangle)]
static PMU_CONFIG: PmuConfig = PmuConfig { slots: 0, _pad: 0 };

// One array per event, indexed by CPU (aya sizes them to the possible CPUs).
#[map]
static PMU_CYCLES: PerfEventArray<u32> = PerfEventArray::new(0);
#[map]
static PMU_INSTRUCTIONS: PerfEventArray<u32> = PerfEventArray::new(0);
#[map]
static PMU_CACHE_REFERENCES: PerfEventArray<u32> = PerfEventArray::new(0);
#[map]
static PMU_CACHE_MISSES: PerfEventArray<u32> = PerfEventArray::new(0);
#[map]
static PMU_BRANCH_INSTRUCTIONS: PerfEventArray<u32> = PerfEventArray::new(0);
#[map]
static PMU_BRANCH_MISSES: PerfEventArray<u32> = PerfEventArray::new(0);
#[map]
static PMU_STALLED_FRONTEND: PerfEventArray<u32> = PerfEventArray::new(0);
#[map]
static PMU_STALLED_BACKEND: PerfEventArray<u32> = PerfEventArray::new(0);
#[map]
static PMU_LLC_MISSES: PerfEventArray<u32> = PerfEventArray::new(0);

/// The previous reading of each slot on this CPU.
#[map]
static PMU_LAST: PerCpuArray<PmuValue> = PerCpuArray::with_max_entries(PMU_SLOTS as u32, 0);

/// (cgroup, slot) → summed deltas. Resized by the agent from its configuration. Not
/// preallocated: creating thousands of per-CPU elements up front took the agent's start-up
/// past a minute on the emulated arm64 guest. (Kernels since 6.1 allocate elements with
/// bpf_mem_alloc, safe here inside the scheduler; older ones kmalloc(GFP_ATOMIC).)
#[map]
static PMU_STATS: PerCpuHashMap<PmuKey, PmuValue> = PerCpuHashMap::with_max_entries(8192, 0);

const ENOENT: i64 = 2;

#[tracepoint(category = "sched", name = "sched_switch")]
pub fn archscope_sched_switch(ctx: TracePointContext) -> u32 {
    crate::fault::reject_if_injected(Program::SchedSwitch);
    let _ = try_sched_switch(&ctx);
    0
}

fn try_sched_switch(ctx: &TracePointContext) -> Result<(), i64> {
    // SAFETY: a read-only global patched by the loader; volatile keeps the zero
    // initialiser from being folded.
    let slots = unsafe { core::ptr::read_volatile(&PMU_CONFIG) }.slots;
    let cgroup_id = outgoing_cgroup();
    read_slot(ctx, slots, cgroup_id, PmuEvent::Cycles, &PMU_CYCLES);
    read_slot(
        ctx,
        slots,
        cgroup_id,
        PmuEvent::Instructions,
        &PMU_INSTRUCTIONS,
    );
    read_slot(
        ctx,
        slots,
        cgroup_id,
        PmuEvent::CacheReferences,
        &PMU_CACHE_REFERENCES,
    );
    read_slot(
        ctx,
        slots,
        cgroup_id,
        PmuEvent::CacheMisses,
        &PMU_CACHE_MISSES,
    );
    read_slot(
        ctx,
        slots,
        cgroup_id,
        PmuEvent::BranchInstructions,
        &PMU_BRANCH_INSTRUCTIONS,
    );
    read_slot(
        ctx,
        slots,
        cgroup_id,
        PmuEvent::BranchMisses,
        &PMU_BRANCH_MISSES,
    );
    read_slot(
        ctx,
        slots,
        cgroup_id,
        PmuEvent::StalledCyclesFrontend,
        &PMU_STALLED_FRONTEND,
    );
    read_slot(
        ctx,
        slots,
        cgroup_id,
        PmuEvent::StalledCyclesBackend,
        &PMU_STALLED_BACKEND,
    );
    read_slot(ctx, slots, cgroup_id, PmuEvent::LlcMisses, &PMU_LLC_MISSES);
    Ok(())
}

/// The cgroup of the task leaving the CPU. sched_switch fires before the switch, in the
/// outgoing task's context, so the current task is `prev` (its v2 cgroup, or its v1 one
/// in cgroup v1 mode).
#[inline(always)]
fn outgoing_cgroup() -> u64 {
    crate::cgroup::current_cgroup_id()
}

#[inline(always)]
fn read_slot(
    ctx: &TracePointContext,
    slots: u32,
    cgroup_id: u64,
    event: PmuEvent,
    array: &PerfEventArray<u32>,
) {
    let slot = event as u32;
    if slots & (1 << slot) == 0 {
        return;
    }
    let mut now = bpf_perf_event_value {
        counter: 0,
        enabled: 0,
        running: 0,
    };
    // SAFETY: PerfEventArray is a transparent wrapper of its map definition, which is what
    // the helper takes; `now` is a valid buffer of the size given.
    let rc = unsafe {
        bpf_perf_event_read_value(
            core::ptr::from_ref(array).cast_mut().cast(),
            BPF_F_CURRENT_CPU,
            &mut now,
            core::mem::size_of::<bpf_perf_event_value>() as u32,
        )
    };
    if rc != 0 {
        // -ENOENT: no counter on this CPU for this event (e.g. a big.LITTLE core whose
        // PMU lacks it); anything else is a real failure.
        if rc != -ENOENT {
            losses::count_and_log(ctx, Loss::PmuReadFailed);
        }
        return;
    }
    let Some(last) = PMU_LAST.get_ptr_mut(slot) else {
        return;
    };
    // SAFETY: this CPU's slot; sched_switch runs with preemption off.
    let prev = unsafe { *last };
    unsafe {
        *last = PmuValue {
            counter: now.counter,
            enabled: now.enabled,
            running: now.running,
        }
    };
    if prev.enabled == 0 && prev.running == 0 && prev.counter == 0 {
        return; // the first reading on this CPU is only a baseline
    }
    let key = PmuKey {
        cgroup_id,
        slot,
        _pad: 0,
    };
    let Some(v) = stats_slot(&key) else {
        losses::count_and_log(ctx, Loss::PmuMapFull);
        return;
    };
    // SAFETY: a value of this CPU in the per-CPU hash.
    unsafe {
        add(
            &raw mut (*v).counter,
            now.counter.wrapping_sub(prev.counter),
        );
        add(
            &raw mut (*v).enabled,
            now.enabled.wrapping_sub(prev.enabled),
        );
        add(
            &raw mut (*v).running,
            now.running.wrapping_sub(prev.running),
        );
    }
}

#[inline(always)]
fn stats_slot(key: &PmuKey) -> Option<*mut PmuValue> {
    let zero = PmuValue {
        counter: 0,
        enabled: 0,
        running: 0,
    };
    crate::maps::slot(&PMU_STATS, key, || zero)
}
