//! Every metric the agent exports, defined once: name (without the `archscope_` prefix,
//! unit suffix and `_total`, which the encoder adds), help, unit and kind.
use super::model::{Family, Kind, Unit};

pub struct MetricDef {
    pub name: &'static str,
    pub help: &'static str,
    pub unit: Option<Unit>,
    pub kind: Kind,
}

impl MetricDef {
    pub const fn family_empty(&self) -> Family {
        Family {
            name: self.name,
            help: self.help,
            unit: self.unit,
            kind: self.kind,
            series: Vec::new(),
        }
    }
}

const fn def(name: &'static str, help: &'static str, unit: Option<Unit>, kind: Kind) -> MetricDef {
    MetricDef {
        name,
        help,
        unit,
        kind,
    }
}

// Syscalls (labels: cgroup, syscall[, errno])
pub const SYSCALLS: MetricDef = def(
    "syscalls",
    "Syscalls entered, by cgroup and syscall.",
    None,
    Kind::Counter,
);
pub const SYSCALL_ERRORS: MetricDef = def(
    "syscall_errors",
    "Syscalls that returned an error, by cgroup, syscall and errno.",
    None,
    Kind::Counter,
);
pub const SYSCALL_DURATION: MetricDef = def(
    "syscall_duration",
    "Time from syscall entry to exit, by cgroup and syscall (log2 buckets, ~1us to ~17s).",
    Some(Unit::Seconds),
    Kind::Histogram,
);

// The node
pub const NODE_INFO: MetricDef = def(
    "node_info",
    "The node's architecture, CPU, topology and OS as labels (value 1); see `agent node`.",
    None,
    Kind::Gauge,
);

// The agent itself
pub const BUILD_INFO: MetricDef = def(
    "build_info",
    "Agent version and the running kernel and architecture (value 1).",
    None,
    Kind::Gauge,
);
pub const PROGRAM_UP: MetricDef = def(
    "program_up",
    "1 if the eBPF program is loaded and attached, 0 if it failed (see `agent check`).",
    None,
    Kind::Gauge,
);
pub const FEATURE_UP: MetricDef = def(
    "feature_up",
    "1 if the feature is collecting, 0 if it is disabled.",
    None,
    Kind::Gauge,
);
pub const KERNEL_LOSSES: MetricDef = def(
    "kernel_losses",
    "Events the kernel programs could not record, by reason.",
    None,
    Kind::Counter,
);
pub const MAP_READS: MetricDef = def(
    "map_reads",
    "Reads of the kernel maps (one per snapshot and family).",
    None,
    Kind::Counter,
);
pub const MAP_READ_ERRORS: MetricDef = def(
    "map_read_errors",
    "Failed reads of the kernel maps.",
    None,
    Kind::Counter,
);
pub const SNAPSHOT_DURATION: MetricDef = def(
    "snapshot_duration",
    "Time to build the last snapshot (map reads and labelling).",
    Some(Unit::Seconds),
    Kind::Gauge,
);
pub const SCRAPES: MetricDef = def(
    "scrapes",
    "Snapshots served to /metrics.",
    None,
    Kind::Counter,
);
pub const CARDINALITY_OVERFLOW: MetricDef = def(
    "cardinality_overflow_series",
    "Label sets folded into the overflow series because the metric hit its series budget.",
    None,
    Kind::Gauge,
);
pub const CGROUP_CACHE_ENTRIES: MetricDef = def(
    "cgroup_cache_entries",
    "Entries in the cgroup id to path cache.",
    None,
    Kind::Gauge,
);
pub const CGROUP_CACHE_CAPACITY: MetricDef = def(
    "cgroup_cache_capacity",
    "Capacity of the cgroup id to path cache.",
    None,
    Kind::Gauge,
);
pub const CGROUPS_FORGOTTEN: MetricDef = def(
    "cgroups_forgotten",
    "Map entries dropped because their cgroup was gone past the grace period.",
    None,
    Kind::Counter,
);
pub const AGENT_RSS: MetricDef = def(
    "agent_resident_memory",
    "The agent's resident memory.",
    Some(Unit::Bytes),
    Kind::Gauge,
);
pub const AGENT_CPU: MetricDef = def(
    "agent_cpu",
    "CPU time the agent has used.",
    Some(Unit::Seconds),
    Kind::Counter,
);

/// Labels of the overflow series: every label of the folded series takes this value.
pub const OVERFLOW: &str = "__overflow__";
