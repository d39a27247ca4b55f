//! Names on the OpenTelemetry side, in one place: metric names and UCUM units for each
//! family, and attribute keys for each label. The semantic conventions are used where
//! they define a name; `archscope.*` otherwise. The Prometheus names do not change.
//! docs/metrics.md prints this mapping; keep the two in step.
use opentelemetry_semantic_conventions::attribute as attr;
use opentelemetry_semantic_conventions::metric as semconv_metric;

/// How a family is named and shaped in OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtlpMetric {
    pub name: &'static str,
    pub unit: &'static str,
    /// Sent as a non-monotonic cumulative sum (the convention's UpDownCounter) instead
    /// of a gauge.
    pub up_down: bool,
}

const fn m(name: &'static str, unit: &'static str) -> OtlpMetric {
    OtlpMetric {
        name,
        unit,
        up_down: false,
    }
}

/// Family name (as in `collect::names`) → OTLP metric.
const METRICS: &[(&str, OtlpMetric)] = &[
    ("syscalls", m("archscope.syscall.calls", "{call}")),
    ("syscall_errors", m("archscope.syscall.errors", "{error}")),
    ("syscall_duration", m("archscope.syscall.duration", "s")),
    (
        "tcp_connections_opened",
        m("archscope.tcp.connections.opened", "{connection}"),
    ),
    (
        "tcp_connections_closed",
        m("archscope.tcp.connections.closed", "{connection}"),
    ),
    (
        "tcp_connection_resets",
        m("archscope.tcp.connections.reset", "{connection}"),
    ),
    (
        "tcp_connections_open",
        OtlpMetric {
            name: "archscope.tcp.connections.open",
            unit: "{connection}",
            up_down: true,
        },
    ),
    (
        "tcp_connect_failures",
        m("archscope.tcp.connect.failures", "{attempt}"),
    ),
    (
        "tcp_connect_duration",
        m("archscope.tcp.connect.duration", "s"),
    ),
    ("tcp_smoothed_rtt", m("archscope.tcp.smoothed_rtt", "s")),
    (
        "tcp_retransmits",
        m("archscope.tcp.retransmits", "{segment}"),
    ),
    ("network_io", m("archscope.network.io", "By")),
    (
        "network_packets",
        m("archscope.network.packets", "{packet}"),
    ),
    ("cpu_cycles", m("archscope.cpu.cycles", "{cycle}")),
    (
        "cgroup_cpu_cycles",
        m("archscope.cgroup.cpu.cycles", "{cycle}"),
    ),
    (
        "cpu_instructions",
        m("archscope.cpu.instructions", "{instruction}"),
    ),
    (
        "cgroup_cpu_instructions",
        m("archscope.cgroup.cpu.instructions", "{instruction}"),
    ),
    (
        "cpu_cache_references",
        m("archscope.cpu.cache.references", "{reference}"),
    ),
    (
        "cgroup_cpu_cache_references",
        m("archscope.cgroup.cpu.cache.references", "{reference}"),
    ),
    (
        "cpu_cache_misses",
        m("archscope.cpu.cache.misses", "{miss}"),
    ),
    (
        "cgroup_cpu_cache_misses",
        m("archscope.cgroup.cpu.cache.misses", "{miss}"),
    ),
    (
        "cpu_branch_instructions",
        m("archscope.cpu.branch.instructions", "{branch}"),
    ),
    (
        "cgroup_cpu_branch_instructions",
        m("archscope.cgroup.cpu.branch.instructions", "{branch}"),
    ),
    (
        "cpu_branch_misses",
        m("archscope.cpu.branch.misses", "{miss}"),
    ),
    (
        "cgroup_cpu_branch_misses",
        m("archscope.cgroup.cpu.branch.misses", "{miss}"),
    ),
    (
        "cpu_stalled_cycles_frontend",
        m("archscope.cpu.stalled_cycles.frontend", "{cycle}"),
    ),
    (
        "cgroup_cpu_stalled_cycles_frontend",
        m("archscope.cgroup.cpu.stalled_cycles.frontend", "{cycle}"),
    ),
    (
        "cpu_stalled_cycles_backend",
        m("archscope.cpu.stalled_cycles.backend", "{cycle}"),
    ),
    (
        "cgroup_cpu_stalled_cycles_backend",
        m("archscope.cgroup.cpu.stalled_cycles.backend", "{cycle}"),
    ),
    ("cpu_llc_misses", m("archscope.cpu.llc.misses", "{miss}")),
    (
        "cgroup_cpu_llc_misses",
        m("archscope.cgroup.cpu.llc.misses", "{miss}"),
    ),
    (
        "pmu_counter_available",
        m("archscope.pmu.counter.available", "1"),
    ),
    (
        "pmu_counter_running_ratio",
        m("archscope.pmu.counter.running_ratio", "1"),
    ),
    ("node_info", m("archscope.node.info", "1")),
    ("build_info", m("archscope.build.info", "1")),
    ("program_up", m("archscope.program.up", "1")),
    ("feature_up", m("archscope.feature.up", "1")),
    ("kernel_losses", m("archscope.kernel.losses", "{event}")),
    ("map_reads", m("archscope.map.reads", "{read}")),
    ("map_read_errors", m("archscope.map.read.errors", "{error}")),
    ("snapshot_duration", m("archscope.snapshot.duration", "s")),
    ("scrapes", m("archscope.snapshots", "{snapshot}")),
    (
        "cardinality_overflow_series",
        m("archscope.cardinality.overflow", "{series}"),
    ),
    (
        "cardinality_label_sets",
        m("archscope.cardinality.label_sets", "{series}"),
    ),
    (
        "kernel_map_entries",
        m("archscope.kernel.map.entries", "{entry}"),
    ),
    (
        "kernel_map_capacity",
        m("archscope.kernel.map.capacity", "{entry}"),
    ),
    ("series_shed", m("archscope.series.shed", "{series}")),
    ("memory_limit", m("archscope.memory.limit", "By")),
    ("memory_pressure", m("archscope.memory.pressure", "1")),
    (
        "cgroup_cache_entries",
        m("archscope.cgroup_cache.entries", "{entry}"),
    ),
    (
        "cgroup_cache_capacity",
        m("archscope.cgroup_cache.capacity", "{entry}"),
    ),
    (
        "cgroups_forgotten",
        m("archscope.cgroups.forgotten", "{cgroup}"),
    ),
    (
        "agent_resident_memory",
        OtlpMetric {
            name: semconv_metric::PROCESS_MEMORY_USAGE,
            unit: "By",
            up_down: true,
        },
    ),
    ("agent_cpu", m(semconv_metric::PROCESS_CPU_TIME, "s")),
    (
        "otlp_exports",
        m("archscope.otlp.exports.accepted", "{request}"),
    ),
    (
        "otlp_points_exported",
        m("archscope.otlp.points.exported", "{point}"),
    ),
    (
        "otlp_exports_failed",
        m("archscope.otlp.exports.failed", "{request}"),
    ),
    (
        "otlp_points_dropped",
        m("archscope.otlp.points.dropped", "{point}"),
    ),
    (
        "otlp_queue_points",
        m("archscope.otlp.queue.points", "{point}"),
    ),
    (
        "otlp_queue_capacity_points",
        m("archscope.otlp.queue.capacity", "{point}"),
    ),
    ("bench_median", m("archscope.bench.median", "1")),
    ("bench_cv", m("archscope.bench.cv", "1")),
    (
        "bench_repetitions",
        m("archscope.bench.repetitions", "{repetition}"),
    ),
    ("bench_ipc", m("archscope.bench.ipc", "1")),
    (
        "bench_cache_mpki",
        m("archscope.bench.cache.mpki", "{miss}"),
    ),
    (
        "bench_run_timestamp",
        m("archscope.bench.run.timestamp", "s"),
    ),
    ("metadata_source_up", m("archscope.metadata.source.up", "1")),
    (
        "metadata_source_errors",
        m("archscope.metadata.source.errors", "{error}"),
    ),
    (
        "metadata_source_refreshes",
        m("archscope.metadata.source.refreshes", "{refresh}"),
    ),
    (
        "metadata_source_lookups",
        m("archscope.metadata.source.lookups", "{lookup}"),
    ),
    (
        "identity_label_changes",
        m("archscope.identity.label_changes", "{change}"),
    ),
    (
        "metadata_cache_entries",
        m("archscope.metadata.cache.entries", "{entry}"),
    ),
    (
        "metadata_cache_capacity",
        m("archscope.metadata.cache.capacity", "{entry}"),
    ),
    (
        "metadata_cache_dropped",
        m("archscope.metadata.cache.dropped", "{container}"),
    ),
    (
        "kubernetes_pod_labels",
        m("archscope.kubernetes.pod.labels", "1"),
    ),
];

/// The OTLP metric of a family; `None` for one missing from the table (a metric added
/// later), which then goes out as `archscope.<family>` with unit `1`.
pub fn metric(family: &str) -> Option<OtlpMetric> {
    METRICS.iter().find(|(f, _)| *f == family).map(|(_, o)| *o)
}

/// Label key → attribute key.
const ATTRIBUTES: &[(&str, &str)] = &[
    // No convention names a cgroup path for a series (`process.linux.cgroup` is a
    // process's /proc/PID/cgroup line), nor a syscall.
    ("cgroup", "archscope.cgroup.path"),
    ("syscall", "archscope.syscall.name"),
    // a logical CPU number, as the convention's cpu.logical_number
    ("cpu", attr::CPU_LOGICAL_NUMBER),
    // errno names (ENOENT) are this domain's error identifiers.
    ("errno", attr::ERROR_TYPE),
    ("protocol", attr::NETWORK_TRANSPORT),
    ("direction", attr::NETWORK_IO_DIRECTION),
    ("container_id", attr::CONTAINER_ID),
    ("container", attr::K8S_CONTAINER_NAME),
    ("pod", attr::K8S_POD_NAME),
    ("pod_uid", attr::K8S_POD_UID),
    ("namespace", attr::K8S_NAMESPACE_NAME),
    // The conventions name each kind (k8s.deployment.name, …) but no kind-neutral workload.
    ("workload", "k8s.workload.name"),
    ("workload_kind", "archscope.workload.kind"),
    // `host` or the container runtime; `container.runtime.name` has no value for the host.
    ("runtime", "archscope.runtime"),
    // the systemd unit of a host process (not `service.name`, which is the agent)
    ("service", "archscope.systemd.unit"),
];

/// The attribute key of a label; labels without a convention become `archscope.<label>`.
pub fn attribute(label: &'static str) -> std::borrow::Cow<'static, str> {
    ATTRIBUTES
        .iter()
        .find(|(l, _)| *l == label)
        .map_or_else(|| format!("archscope.{label}").into(), |(_, a)| (*a).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::names;

    #[test]
    fn every_metric_has_a_distinct_otlp_name() {
        let mut seen = std::collections::HashSet::new();
        for def in names::ALL {
            let o = metric(def.name).unwrap_or_else(|| panic!("{} has no OTLP name", def.name));
            assert!(seen.insert(o.name), "{} used twice", o.name);
            let seconds = def.unit == Some(crate::collect::model::Unit::Seconds);
            assert_eq!(seconds, o.unit == "s", "{}: unit {}", def.name, o.unit);
        }
        assert_eq!(
            METRICS.len(),
            names::ALL.len(),
            "a mapped family no longer exists"
        );
    }

    #[test]
    fn labels_map_to_conventions() {
        assert_eq!(attribute("errno"), "error.type");
        assert_eq!(attribute("pod"), "k8s.pod.name");
        assert_eq!(attribute("container_id"), "container.id");
        assert_eq!(attribute("reason"), "archscope.reason");
        assert_eq!(metric("agent_cpu").unwrap().name, "process.cpu.time");
        assert_eq!(metric("nonexistent"), None);
    }
}
