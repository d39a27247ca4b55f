//! Hardware counters per cgroup: what the `sched_switch` program writes and the agent reads.

crate::named_enum! {
    /// The counters the agent knows, one `PERF_EVENT_ARRAY` per slot (indexed by CPU). The
    /// order is the slot number shared by both sides; the name is the `event` label and the
    /// middle of the metric names.
    pub enum PmuEvent {
        Cycles = "cycles",
        Instructions = "instructions",
        CacheReferences = "cache_references",
        CacheMisses = "cache_misses",
        BranchInstructions = "branch_instructions",
        BranchMisses = "branch_misses",
        StalledCyclesFrontend = "stalled_cycles_frontend",
        StalledCyclesBackend = "stalled_cycles_backend",
        LlcMisses = "llc_misses",
    }
}

pub const PMU_SLOTS: usize = PmuEvent::COUNT;

/// One counter reading, laid out as the kernel's `struct bpf_perf_event_value`
/// (`counter`, `enabled`, `running`, nanoseconds for the two times). Also the per-cgroup
/// value: the sums of the deltas charged to it, so the agent can scale by
/// enabled/running when the counter was multiplexed.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PmuValue {
    pub counter: u64,
    pub enabled: u64,
    pub running: u64,
}

/// Key of the per-CPU map of per-cgroup counts.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PmuKey {
    pub cgroup_id: u64,
    /// `PmuEvent as u32`.
    pub slot: u32,
    pub _pad: u32,
}

/// Which slots have a counter behind them (bit `slot`), set by the agent at load time so
/// the program reads only those.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PmuConfig {
    pub slots: u32,
    pub _pad: u32,
}

const _: () = assert!(core::mem::size_of::<PmuValue>() == 24);
const _: () = assert!(core::mem::size_of::<PmuKey>() == 16);
const _: () = assert!(core::mem::size_of::<PmuConfig>() == 8);
const _: () = assert!(PMU_SLOTS <= 32);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: #[repr(C)] integer-only types without padding (size asserts above).
    unsafe impl aya::Pod for super::PmuValue {}
    unsafe impl aya::Pod for super::PmuKey {}
    unsafe impl aya::Pod for super::PmuConfig {}
}
