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

// TCP and UDP, per cgroup (labels: identity; see probes/net.rs for what each counts)
pub const TCP_OPENED: MetricDef = def(
    "tcp_connections_opened",
    "TCP connections established, by side: active (connect) or passive (accept).",
    None,
    Kind::Counter,
);
pub const TCP_CLOSED: MetricDef = def(
    "tcp_connections_closed",
    "Established TCP connections that closed (any way, resets included).",
    None,
    Kind::Counter,
);
pub const TCP_RESETS: MetricDef = def(
    "tcp_connection_resets",
    "Established TCP connections that ended by a reset (ECONNRESET or EPIPE).",
    None,
    Kind::Counter,
);
pub const TCP_OPEN: MetricDef = def(
    "tcp_connections_open",
    "TCP connections open now (those seen opening since the agent started).",
    None,
    Kind::Gauge,
);
pub const TCP_CONNECT_FAILURES: MetricDef = def(
    "tcp_connect_failures",
    "Connect attempts that failed, by reason: refused, timeout, reset, other (aborted).",
    None,
    Kind::Counter,
);
pub const TCP_CONNECT_DURATION: MetricDef = def(
    "tcp_connect_duration",
    "Time from SYN sent to connection established (log2 buckets).",
    Some(Unit::Seconds),
    Kind::Histogram,
);
pub const TCP_SRTT: MetricDef = def(
    "tcp_smoothed_rtt",
    "Smoothed round-trip time of each established connection when it closed (log2 buckets).",
    Some(Unit::Seconds),
    Kind::Histogram,
);
pub const TCP_RETRANSMITS: MetricDef = def(
    "tcp_retransmits",
    "TCP retransmissions (tcp_retransmit_skb: one may resend several segments), charged to \
     the sending socket's cgroup.",
    None,
    Kind::Counter,
);
pub const NETWORK_IO: MetricDef = def(
    "network_io",
    "Payload bytes (IP and TCP/UDP headers excluded), by protocol and direction; \
     retransmitted payload counts again.",
    Some(Unit::Bytes),
    Kind::Counter,
);
pub const NETWORK_PACKETS: MetricDef = def(
    "network_packets",
    "TCP segments (GSO/GRO packets counted per segment) and UDP datagrams, by protocol and \
     direction.",
    None,
    Kind::Counter,
);

// Hardware counters (index = PmuEvent slot; absent events have no series)
pub const CPU_PMU: [MetricDef; archscope_common::PMU_SLOTS] = [
    def(
        "cpu_cycles",
        "CPU cycles, per CPU; scaled by enabled/running time when the PMU multiplexed the counter.",
        None,
        Kind::Counter,
    ),
    def(
        "cpu_instructions",
        "Instructions retired, per CPU; scaled by enabled/running time when the PMU multiplexed the counter.",
        None,
        Kind::Counter,
    ),
    def(
        "cpu_cache_references",
        "Cache references (the PMU's generic cache-references: L1D accesses on arm64, L2 on Sunway core4), per CPU; scaled by enabled/running time when the PMU multiplexed the counter.",
        None,
        Kind::Counter,
    ),
    def(
        "cpu_cache_misses",
        "Cache misses (the PMU's generic cache-misses: L1D refills on arm64), per CPU; scaled by enabled/running time when the PMU multiplexed the counter.",
        None,
        Kind::Counter,
    ),
    def(
        "cpu_branch_instructions",
        "Branch instructions retired, per CPU; scaled by enabled/running time when the PMU multiplexed the counter.",
        None,
        Kind::Counter,
    ),
    def(
        "cpu_branch_misses",
        "Mispredicted branches, per CPU; scaled by enabled/running time when the PMU multiplexed the counter.",
        None,
        Kind::Counter,
    ),
    def(
        "cpu_stalled_cycles_frontend",
        "Cycles stalled in the front end, per CPU; scaled by enabled/running time when the PMU multiplexed the counter.",
        None,
        Kind::Counter,
    ),
    def(
        "cpu_stalled_cycles_backend",
        "Cycles stalled in the back end, per CPU; scaled by enabled/running time when the PMU multiplexed the counter.",
        None,
        Kind::Counter,
    ),
    def(
        "cpu_llc_misses",
        "Last-level cache read misses, per CPU; scaled by enabled/running time when the PMU multiplexed the counter.",
        None,
        Kind::Counter,
    ),
];
pub const CGROUP_PMU: [MetricDef; archscope_common::PMU_SLOTS] = [
    def(
        "cgroup_cpu_cycles",
        "CPU cycles while the cgroup's tasks ran, charged at context switches; scaled by enabled/running time.",
        None,
        Kind::Counter,
    ),
    def(
        "cgroup_cpu_instructions",
        "Instructions retired while the cgroup's tasks ran, charged at context switches; scaled by enabled/running time.",
        None,
        Kind::Counter,
    ),
    def(
        "cgroup_cpu_cache_references",
        "Cache references (the PMU's generic cache-references: L1D accesses on arm64, L2 on Sunway core4) while the cgroup's tasks ran, charged at context switches; scaled by enabled/running time.",
        None,
        Kind::Counter,
    ),
    def(
        "cgroup_cpu_cache_misses",
        "Cache misses (the PMU's generic cache-misses: L1D refills on arm64) while the cgroup's tasks ran, charged at context switches; scaled by enabled/running time.",
        None,
        Kind::Counter,
    ),
    def(
        "cgroup_cpu_branch_instructions",
        "Branch instructions retired while the cgroup's tasks ran, charged at context switches; scaled by enabled/running time.",
        None,
        Kind::Counter,
    ),
    def(
        "cgroup_cpu_branch_misses",
        "Mispredicted branches while the cgroup's tasks ran, charged at context switches; scaled by enabled/running time.",
        None,
        Kind::Counter,
    ),
    def(
        "cgroup_cpu_stalled_cycles_frontend",
        "Cycles stalled in the front end while the cgroup's tasks ran, charged at context switches; scaled by enabled/running time.",
        None,
        Kind::Counter,
    ),
    def(
        "cgroup_cpu_stalled_cycles_backend",
        "Cycles stalled in the back end while the cgroup's tasks ran, charged at context switches; scaled by enabled/running time.",
        None,
        Kind::Counter,
    ),
    def(
        "cgroup_cpu_llc_misses",
        "Last-level cache read misses while the cgroup's tasks ran, charged at context switches; scaled by enabled/running time.",
        None,
        Kind::Counter,
    ),
];
pub const PMU_AVAILABLE: MetricDef = def(
    "pmu_counter_available",
    "1 if the hardware event counts on this node, 0 if it is missing (see `agent check`).",
    None,
    Kind::Gauge,
);
pub const PMU_RUNNING_RATIO: MetricDef = def(
    "pmu_counter_running_ratio",
    "Share of its enabled time the counter was on the PMU (below 1: multiplexed, counts scaled).",
    None,
    Kind::Gauge,
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
    "Snapshots taken (one per /metrics scrape and per OTLP export).",
    None,
    Kind::Counter,
);
pub const CARDINALITY_OVERFLOW: MetricDef = def(
    "cardinality_overflow_series",
    "Label sets folded into the overflow series because the metric hit its series budget.",
    None,
    Kind::Gauge,
);
pub const CARDINALITY_LABEL_SETS: MetricDef = def(
    "cardinality_label_sets",
    "Label sets the series budget remembers (admitted and in the overflow), all metrics.",
    None,
    Kind::Gauge,
);
pub const SERIES_SHED: MetricDef = def(
    "series_shed",
    "Admitted series moved into the overflow: reason room (idle, replaced by a new one) or memory (the memory budget was exceeded).",
    None,
    Kind::Counter,
);
pub const MEMORY_LIMIT: MetricDef = def(
    "memory_limit",
    "The agent's memory budget (absent when off); above it series are shed.",
    Some(Unit::Bytes),
    Kind::Gauge,
);
pub const MEMORY_PRESSURE: MetricDef = def(
    "memory_pressure",
    "1 while the agent's resident memory is over its budget and series budgets are squeezed.",
    None,
    Kind::Gauge,
);
pub const KERNEL_MAP_ENTRIES: MetricDef = def(
    "kernel_map_entries",
    "Entries in each kernel map read at export time (per-CPU maps: keys), at the last snapshot.",
    None,
    Kind::Gauge,
);
pub const KERNEL_MAP_CAPACITY: MetricDef = def(
    "kernel_map_capacity",
    "Entries each kernel map read at export time can hold; when full, new keys are counted in kernel_losses.",
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

// OTLP export (present while OTLP export is configured; see export/otlp)
pub const OTLP_EXPORTS: MetricDef = def(
    "otlp_exports",
    "OTLP export requests the receiver accepted.",
    None,
    Kind::Counter,
);
pub const OTLP_POINTS_EXPORTED: MetricDef = def(
    "otlp_points_exported",
    "Data points the receiver accepted.",
    None,
    Kind::Counter,
);
pub const OTLP_EXPORTS_FAILED: MetricDef = def(
    "otlp_exports_failed",
    "OTLP export attempts that failed: unreachable, timed out or refused (each retry counts).",
    None,
    Kind::Counter,
);
pub const OTLP_POINTS_DROPPED: MetricDef = def(
    "otlp_points_dropped",
    "Data points never delivered: pushed out of the full export queue or rejected by the receiver.",
    None,
    Kind::Counter,
);
pub const OTLP_QUEUE_POINTS: MetricDef = def(
    "otlp_queue_points",
    "Data points waiting in the OTLP export queue.",
    None,
    Kind::Gauge,
);
pub const OTLP_QUEUE_CAPACITY: MetricDef = def(
    "otlp_queue_capacity_points",
    "Data points the OTLP queue holds at most (otlp_queue_points); beyond, the oldest batches are dropped.",
    None,
    Kind::Gauge,
);

// Metadata sources (label: source)
pub const METADATA_UP: MetricDef = def(
    "metadata_source_up",
    "1 if the metadata source answered its last refresh or lookup.",
    None,
    Kind::Gauge,
);
pub const METADATA_ERRORS: MetricDef = def(
    "metadata_source_errors",
    "Failed refreshes of the metadata source.",
    None,
    Kind::Counter,
);
pub const METADATA_REFRESHES: MetricDef = def(
    "metadata_source_refreshes",
    "Refreshes of the metadata source.",
    None,
    Kind::Counter,
);
pub const METADATA_LOOKUPS: MetricDef = def(
    "metadata_source_lookups",
    "Containers (containerd) or pods (Kubernetes) a snapshot asked the source about because its last list lacked them.",
    None,
    Kind::Counter,
);
pub const IDENTITY_LABEL_CHANGES: MetricDef = def(
    "identity_label_changes",
    "Times a live cgroup's identity labels changed (metadata that came after its first series, e.g. while a source was down); labels are never taken away before the cgroup retires.",
    None,
    Kind::Counter,
);
pub const METADATA_ENTRIES: MetricDef = def(
    "metadata_cache_entries",
    "Containers in the metadata cache.",
    None,
    Kind::Gauge,
);
pub const METADATA_CAPACITY: MetricDef = def(
    "metadata_cache_capacity",
    "Capacity of the metadata cache.",
    None,
    Kind::Gauge,
);
pub const METADATA_DROPPED: MetricDef = def(
    "metadata_cache_dropped",
    "Entries the metadata cache had no room for: left out of its last list, plus single lookups since.",
    None,
    Kind::Gauge,
);

pub const KUBERNETES_POD_LABELS: MetricDef = def(
    "kubernetes_pod_labels",
    "Pods of this node from the Kubernetes API (value 1): namespace, pod, owning workload \
     and the allowed pod labels as label_<name>.",
    None,
    Kind::Gauge,
);

// Benchmark results (`agent bench run`), the newest in the results directory
// (labels: benchmark, arch)
pub const BENCH_MEDIAN: MetricDef = def(
    "bench_median",
    "Median of the benchmark's repetitions in its unit (label unit; higher_is_better says which way is good).",
    None,
    Kind::Gauge,
);
pub const BENCH_CV: MetricDef = def(
    "bench_cv",
    "Coefficient of variation of the benchmark's repetitions (stdev / mean).",
    None,
    Kind::Gauge,
);
pub const BENCH_REPETITIONS: MetricDef = def(
    "bench_repetitions",
    "Measured repetitions of the benchmark.",
    None,
    Kind::Gauge,
);
pub const BENCH_IPC: MetricDef = def(
    "bench_ipc",
    "Instructions per cycle during the benchmark (absent where the PMU does not count both).",
    None,
    Kind::Gauge,
);
pub const BENCH_CACHE_MPKI: MetricDef = def(
    "bench_cache_mpki",
    "Cache misses per 1000 instructions during the benchmark (absent where the PMU does not count both).",
    None,
    Kind::Gauge,
);
pub const BENCH_RUN_TIMESTAMP: MetricDef = def(
    "bench_run_timestamp",
    "When the served benchmark run started (Unix time).",
    Some(Unit::Seconds),
    Kind::Gauge,
);

/// Every metric above, so tests can check that each exporter's name mapping covers them.
#[cfg(test)]
pub const ALL: &[&MetricDef] = &[
    &SYSCALLS,
    &SYSCALL_ERRORS,
    &SYSCALL_DURATION,
    &TCP_OPENED,
    &TCP_CLOSED,
    &TCP_RESETS,
    &TCP_OPEN,
    &TCP_CONNECT_FAILURES,
    &TCP_CONNECT_DURATION,
    &TCP_SRTT,
    &TCP_RETRANSMITS,
    &NETWORK_IO,
    &NETWORK_PACKETS,
    &CPU_PMU[0],
    &CPU_PMU[1],
    &CPU_PMU[2],
    &CPU_PMU[3],
    &CPU_PMU[4],
    &CPU_PMU[5],
    &CPU_PMU[6],
    &CPU_PMU[7],
    &CPU_PMU[8],
    &CGROUP_PMU[0],
    &CGROUP_PMU[1],
    &CGROUP_PMU[2],
    &CGROUP_PMU[3],
    &CGROUP_PMU[4],
    &CGROUP_PMU[5],
    &CGROUP_PMU[6],
    &CGROUP_PMU[7],
    &CGROUP_PMU[8],
    &PMU_AVAILABLE,
    &PMU_RUNNING_RATIO,
    &NODE_INFO,
    &BUILD_INFO,
    &PROGRAM_UP,
    &FEATURE_UP,
    &KERNEL_LOSSES,
    &MAP_READS,
    &MAP_READ_ERRORS,
    &SNAPSHOT_DURATION,
    &SCRAPES,
    &CARDINALITY_OVERFLOW,
    &KERNEL_MAP_ENTRIES,
    &KERNEL_MAP_CAPACITY,
    &CARDINALITY_LABEL_SETS,
    &SERIES_SHED,
    &MEMORY_LIMIT,
    &MEMORY_PRESSURE,
    &CGROUP_CACHE_ENTRIES,
    &CGROUP_CACHE_CAPACITY,
    &CGROUPS_FORGOTTEN,
    &AGENT_RSS,
    &AGENT_CPU,
    &OTLP_EXPORTS,
    &OTLP_POINTS_EXPORTED,
    &OTLP_EXPORTS_FAILED,
    &OTLP_POINTS_DROPPED,
    &OTLP_QUEUE_POINTS,
    &OTLP_QUEUE_CAPACITY,
    &METADATA_UP,
    &METADATA_ERRORS,
    &METADATA_REFRESHES,
    &METADATA_LOOKUPS,
    &IDENTITY_LABEL_CHANGES,
    &METADATA_ENTRIES,
    &METADATA_CAPACITY,
    &METADATA_DROPPED,
    &KUBERNETES_POD_LABELS,
    &BENCH_MEDIAN,
    &BENCH_CV,
    &BENCH_REPETITIONS,
    &BENCH_IPC,
    &BENCH_CACHE_MPKI,
    &BENCH_RUN_TIMESTAMP,
];

/// Labels of the overflow series: every label of the folded series takes this value.
pub const OVERFLOW: &str = "__overflow__";

#[cfg(test)]
mod tests {
    #[test]
    fn pmu_metrics_follow_the_slot_order() {
        for e in archscope_common::PmuEvent::ALL {
            assert_eq!(super::CPU_PMU[e as usize].name, format!("cpu_{}", e.name()));
            assert_eq!(
                super::CGROUP_PMU[e as usize].name,
                format!("cgroup_cpu_{}", e.name())
            );
        }
    }
}
