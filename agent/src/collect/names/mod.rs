//! The catalogue: every metric the agent exports, defined once, with everything each
//! exporter and docs/metrics.md need (Prometheus name, kind, unit, labels, OpenTelemetry
//! name and unit, and what exports it). One file per group; `ALL` lists them all.
use super::model::{Family, Kind, Unit};
use crate::identity::IDENTITY_LABELS;
use crate::probes::Feature;

mod agent;
mod bench;
mod identity;
mod network;
mod otlp;
mod pmu;
#[cfg(test)]
mod reference;
mod scheduler;
mod syscalls;

pub use agent::*;
pub use bench::*;
pub use identity::*;
pub use network::*;
pub use otlp::*;
pub use pmu::*;
pub use scheduler::*;
pub use syscalls::*;

pub struct MetricDef {
    /// Without the `archscope_` prefix, the unit suffix and `_total`, which the
    /// Prometheus encoder adds.
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Option<Unit>,
    /// Carries the identity labels (`cgroup`, `container_id`, `pod`, …:
    /// `IDENTITY_LABELS`) before `labels`: a per-cgroup series.
    pub identity: bool,
    /// Label keys besides the identity labels, in the order the series carry them.
    pub labels: &'static [&'static str],
    pub otlp: OtlpMetric,
    pub owner: Owner,
    pub help: &'static str,
}

/// What exports a metric: a probe feature (switched on and off as a whole, see
/// `archscope_feature_up`) or a part of the agent that is not a probe feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Feature(Feature),
    /// The agent's own health: programs, losses, snapshots, budgets, its cost.
    Agent,
    /// The node's hardware and OS (`agent node`).
    Node,
    /// The metadata sources that name cgroups (containerd, Kubernetes).
    Identity,
    /// OTLP export, while it is configured.
    Otlp,
    /// The newest `agent bench run` results, while there are any.
    Bench,
}

impl Owner {
    /// The feature's name (as in the `features` setting), else the part's.
    pub fn name(self) -> &'static str {
        match self {
            Owner::Feature(f) => f.name(),
            Owner::Agent => "agent",
            Owner::Node => "node",
            Owner::Identity => "identity",
            Owner::Otlp => "otlp",
            Owner::Bench => "bench",
        }
    }
}

/// How a metric is named and shaped in OTLP. The semantic conventions are used where
/// they define a name; `archscope.*` otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtlpMetric {
    pub name: &'static str,
    /// UCUM, as the conventions write it (`s`, `By`, `{call}`).
    pub unit: &'static str,
    /// Sent as a non-monotonic cumulative sum (the convention's UpDownCounter) instead
    /// of a gauge.
    pub up_down: bool,
}

const fn otel(name: &'static str, unit: &'static str) -> OtlpMetric {
    OtlpMetric {
        name,
        unit,
        up_down: false,
    }
}

const fn otel_up_down(name: &'static str, unit: &'static str) -> OtlpMetric {
    OtlpMetric {
        name,
        unit,
        up_down: true,
    }
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

    /// Whether `keys` are the label keys declared here, in order: the identity labels
    /// first where the series carries them; `label_<name>` stands for any number of
    /// `label_*` keys (the configured pod labels).
    pub fn declares(&self, keys: &[&str]) -> bool {
        let identity: &[&str] = if self.identity { &IDENTITY_LABELS } else { &[] };
        let mut keys = keys.iter();
        for declared in identity.iter().chain(self.labels) {
            if *declared == "label_<name>" {
                return keys.all(|k| k.starts_with("label_"));
            }
            if keys.next() != Some(declared) {
                return false;
            }
        }
        keys.next().is_none()
    }

    /// The name Prometheus shows (counters' samples end in `_total`, histograms' in
    /// `_bucket`, `_sum`, `_count`).
    pub fn prometheus_name(&self) -> String {
        let unit = match self.unit {
            Some(Unit::Seconds) => "_seconds",
            Some(Unit::Bytes) => "_bytes",
            None => "",
        };
        let total = if self.kind == Kind::Counter {
            "_total"
        } else {
            ""
        };
        format!("archscope_{}{unit}{total}", self.name)
    }
}

/// Every metric, in the order docs/metrics.md lists them. A test checks that each
/// definition in this folder is here once.
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
    &RUNQUEUE_LATENCY,
    &CPU_TIME,
    &CONTEXT_SWITCHES,
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

/// The definition of the family named `name` (a `Family::name`).
pub fn by_name(name: &str) -> Option<&'static MetricDef> {
    ALL.iter().copied().find(|d| d.name == name)
}

/// Labels of the overflow series: every label of the folded series takes this value.
pub const OVERFLOW: &str = "__overflow__";

#[cfg(test)]
mod tests {
    use super::{ALL, IDENTITY_LABELS};
    use std::collections::HashSet;

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

    #[test]
    fn names_are_distinct() {
        let mut names = HashSet::new();
        let mut otlp = HashSet::new();
        for d in ALL {
            assert!(names.insert(d.name), "{} defined twice", d.name);
            assert!(
                otlp.insert(d.otlp.name),
                "OTLP name {} used twice",
                d.otlp.name
            );
        }
    }

    /// `ALL` is kept by hand: every definition written in this folder must be in it (a
    /// new one left out would be missing from the docs and from this file's checks).
    #[test]
    fn every_definition_is_in_all() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/collect/names");
        let mut written = 0;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.file_name() != "mod.rs" {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                written += text.matches("MetricDef {\n").count();
            }
        }
        // With `names_are_distinct`, equal counts mean each definition is in ALL once.
        assert_eq!(written, ALL.len(), "a definition is missing from ALL");
    }

    #[test]
    fn declared_labels_follow_the_identity_labels() {
        let mut keys = IDENTITY_LABELS.to_vec();
        keys.push("syscall");
        assert!(super::SYSCALLS.declares(&keys));
        assert!(!super::SYSCALLS.declares(&keys[1..]));
        assert!(!super::SYSCALL_ERRORS.declares(&keys));
        assert!(!super::SCRAPES.declares(&["syscall"]));
        assert!(super::SCRAPES.declares(&[]));
        let pod = ["namespace", "pod", "workload", "workload_kind"];
        assert!(super::KUBERNETES_POD_LABELS.declares(&pod));
        assert!(super::KUBERNETES_POD_LABELS.declares(&[&pod[..], &["label_app"]].concat()));
        assert!(!super::KUBERNETES_POD_LABELS.declares(&[&pod[..], &["app"]].concat()));
    }

    #[test]
    fn seconds_are_seconds_in_both_exporters() {
        for d in ALL {
            let seconds = d.unit == Some(super::Unit::Seconds);
            assert_eq!(
                seconds,
                d.otlp.unit == "s",
                "{}: unit {}",
                d.name,
                d.otlp.unit
            );
        }
    }
}
