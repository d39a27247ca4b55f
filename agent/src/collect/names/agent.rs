//! The node and the agent itself: what runs, what it lost, what it costs.
use super::{Kind, MetricDef, Owner, otel, otel_up_down};
use crate::collect::model::Unit;
use opentelemetry_semantic_conventions::metric as semconv;

pub const NODE_INFO: MetricDef = MetricDef {
    name: "node_info",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &[
        "arch",
        "goarch",
        "cpu_vendor",
        "cpu_model",
        "cpus",
        "sockets",
        "cores_per_socket",
        "threads_per_core",
        "numa_nodes",
        "os",
        "kernel",
    ],
    otlp: otel("archscope.node.info", "1"),
    owner: Owner::Node,
    help: "The node's architecture, CPU, topology and OS as labels (value 1); see `agent node`.",
};
pub const BUILD_INFO: MetricDef = MetricDef {
    name: "build_info",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["version", "arch", "kernel"],
    otlp: otel("archscope.build.info", "1"),
    owner: Owner::Agent,
    help: "Agent version and the running kernel and architecture (value 1).",
};
pub const PROGRAM_UP: MetricDef = MetricDef {
    name: "program_up",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["program", "feature"],
    otlp: otel("archscope.program.up", "1"),
    owner: Owner::Agent,
    help: "1 if the eBPF program is loaded and attached, 0 if it failed (see `agent check`).",
};
pub const FEATURE_UP: MetricDef = MetricDef {
    name: "feature_up",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["feature"],
    otlp: otel("archscope.feature.up", "1"),
    owner: Owner::Agent,
    help: "1 if the feature is collecting, 0 if it is disabled.",
};
pub const KERNEL_LOSSES: MetricDef = MetricDef {
    name: "kernel_losses",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &["reason"],
    otlp: otel("archscope.kernel.losses", "{event}"),
    owner: Owner::Agent,
    help: "Events the kernel programs could not record, by reason.",
};
pub const MAP_READS: MetricDef = MetricDef {
    name: "map_reads",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &["family"],
    otlp: otel("archscope.map.reads", "{read}"),
    owner: Owner::Agent,
    help: "Reads of the kernel maps (one per snapshot and family).",
};
pub const MAP_READ_ERRORS: MetricDef = MetricDef {
    name: "map_read_errors",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &["family"],
    otlp: otel("archscope.map.read.errors", "{error}"),
    owner: Owner::Agent,
    help: "Failed reads of the kernel maps.",
};
pub const SNAPSHOT_DURATION: MetricDef = MetricDef {
    name: "snapshot_duration",
    kind: Kind::Gauge,
    unit: Some(Unit::Seconds),
    identity: false,
    labels: &[],
    otlp: otel("archscope.snapshot.duration", "s"),
    owner: Owner::Agent,
    help: "Time to build the last snapshot (map reads and labelling).",
};
pub const SCRAPES: MetricDef = MetricDef {
    name: "scrapes",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.snapshots", "{snapshot}"),
    owner: Owner::Agent,
    help: "Snapshots taken (one per /metrics scrape and per OTLP export).",
};
pub const CARDINALITY_OVERFLOW: MetricDef = MetricDef {
    name: "cardinality_overflow_series",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["metric"],
    otlp: otel("archscope.cardinality.overflow", "{series}"),
    owner: Owner::Agent,
    help: "Label sets folded into the overflow series because the metric hit its series budget.",
};
pub const CARDINALITY_LABEL_SETS: MetricDef = MetricDef {
    name: "cardinality_label_sets",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.cardinality.label_sets", "{series}"),
    owner: Owner::Agent,
    help: "Label sets the series budget remembers (admitted and in the overflow), all metrics.",
};
pub const SERIES_SHED: MetricDef = MetricDef {
    name: "series_shed",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &["reason"],
    otlp: otel("archscope.series.shed", "{series}"),
    owner: Owner::Agent,
    help: "Admitted series moved into the overflow: reason room (idle, replaced by a new one) or memory (the memory budget was exceeded).",
};
pub const MEMORY_LIMIT: MetricDef = MetricDef {
    name: "memory_limit",
    kind: Kind::Gauge,
    unit: Some(Unit::Bytes),
    identity: false,
    labels: &[],
    otlp: otel("archscope.memory.limit", "By"),
    owner: Owner::Agent,
    help: "The agent's memory budget (absent when off); above it series are shed.",
};
pub const MEMORY_PRESSURE: MetricDef = MetricDef {
    name: "memory_pressure",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.memory.pressure", "1"),
    owner: Owner::Agent,
    help: "1 while the agent's resident memory is over its budget and series budgets are squeezed.",
};
pub const KERNEL_MAP_ENTRIES: MetricDef = MetricDef {
    name: "kernel_map_entries",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["map"],
    otlp: otel("archscope.kernel.map.entries", "{entry}"),
    owner: Owner::Agent,
    help: "Entries in each kernel map read at export time (per-CPU maps: keys), at the last snapshot.",
};
pub const KERNEL_MAP_CAPACITY: MetricDef = MetricDef {
    name: "kernel_map_capacity",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["map"],
    otlp: otel("archscope.kernel.map.capacity", "{entry}"),
    owner: Owner::Agent,
    help: "Entries each kernel map read at export time can hold; when full, new keys are counted in kernel_losses.",
};
pub const CGROUP_CACHE_ENTRIES: MetricDef = MetricDef {
    name: "cgroup_cache_entries",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.cgroup_cache.entries", "{entry}"),
    owner: Owner::Agent,
    help: "Entries in the cgroup id to path cache.",
};
pub const CGROUP_CACHE_CAPACITY: MetricDef = MetricDef {
    name: "cgroup_cache_capacity",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.cgroup_cache.capacity", "{entry}"),
    owner: Owner::Agent,
    help: "Capacity of the cgroup id to path cache.",
};
pub const CGROUPS_FORGOTTEN: MetricDef = MetricDef {
    name: "cgroups_forgotten",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.cgroups.forgotten", "{cgroup}"),
    owner: Owner::Agent,
    help: "Map entries dropped because their cgroup was gone past the grace period.",
};
pub const AGENT_RSS: MetricDef = MetricDef {
    name: "agent_resident_memory",
    kind: Kind::Gauge,
    unit: Some(Unit::Bytes),
    identity: false,
    labels: &[],
    otlp: otel_up_down(semconv::PROCESS_MEMORY_USAGE, "By"),
    owner: Owner::Agent,
    help: "The agent's resident memory.",
};
pub const AGENT_CPU: MetricDef = MetricDef {
    name: "agent_cpu",
    kind: Kind::Counter,
    unit: Some(Unit::Seconds),
    identity: false,
    labels: &[],
    otlp: otel(semconv::PROCESS_CPU_TIME, "s"),
    owner: Owner::Agent,
    help: "CPU time the agent has used.",
};
