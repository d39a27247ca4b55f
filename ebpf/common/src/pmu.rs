//! Hardware counters per cgroup: what the `sched_switch` program writes and the agent reads.

/// The counters the agent knows, one `PERF_EVENT_ARRAY` per slot (indexed by CPU). The
/// order is the slot number shared by both sides.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PmuEvent {
    Cycles = 0,
    Instructions = 1,
    CacheReferences = 2,
    CacheMisses = 3,
    BranchInstructions = 4,
    BranchMisses = 5,
    StalledCyclesFrontend = 6,
    StalledCyclesBackend = 7,
    LlcMisses = 8,
}

pub const PMU_SLOTS: usize = 9;

impl PmuEvent {
    pub const ALL: [PmuEvent; PMU_SLOTS] = [
        PmuEvent::Cycles,
        PmuEvent::Instructions,
        PmuEvent::CacheReferences,
        PmuEvent::CacheMisses,
        PmuEvent::BranchInstructions,
        PmuEvent::BranchMisses,
        PmuEvent::StalledCyclesFrontend,
        PmuEvent::StalledCyclesBackend,
        PmuEvent::LlcMisses,
    ];

    /// The `event` label and the middle of the metric names.
    pub fn name(self) -> &'static str {
        match self {
            PmuEvent::Cycles => "cycles",
            PmuEvent::Instructions => "instructions",
            PmuEvent::CacheReferences => "cache_references",
            PmuEvent::CacheMisses => "cache_misses",
            PmuEvent::BranchInstructions => "branch_instructions",
            PmuEvent::BranchMisses => "branch_misses",
            PmuEvent::StalledCyclesFrontend => "stalled_cycles_frontend",
            PmuEvent::StalledCyclesBackend => "stalled_cycles_backend",
            PmuEvent::LlcMisses => "llc_misses",
        }
    }

    pub fn from_name(s: &str) -> Option<PmuEvent> {
        Self::ALL.into_iter().find(|e| e.name() == s)
    }
}

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
