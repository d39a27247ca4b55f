//! Metadata sources (containerd, Kubernetes) that name the cgroups, and the pods of this node.
use super::{Kind, MetricDef, Owner, otel};

pub const METADATA_UP: MetricDef = MetricDef {
    name: "metadata_source_up",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["source"],
    otlp: otel("archscope.metadata.source.up", "1"),
    owner: Owner::Identity,
    help: "1 if the metadata source answered its last refresh or lookup.",
};
pub const METADATA_ERRORS: MetricDef = MetricDef {
    name: "metadata_source_errors",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &["source"],
    otlp: otel("archscope.metadata.source.errors", "{error}"),
    owner: Owner::Identity,
    help: "Failed refreshes of the metadata source.",
};
pub const METADATA_REFRESHES: MetricDef = MetricDef {
    name: "metadata_source_refreshes",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &["source"],
    otlp: otel("archscope.metadata.source.refreshes", "{refresh}"),
    owner: Owner::Identity,
    help: "Refreshes of the metadata source.",
};
pub const METADATA_LOOKUPS: MetricDef = MetricDef {
    name: "metadata_source_lookups",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &["source"],
    otlp: otel("archscope.metadata.source.lookups", "{lookup}"),
    owner: Owner::Identity,
    help: "Containers (containerd) or pods (Kubernetes) a snapshot asked the source about because its last list lacked them.",
};
pub const IDENTITY_LABEL_CHANGES: MetricDef = MetricDef {
    name: "identity_label_changes",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.identity.label_changes", "{change}"),
    owner: Owner::Identity,
    help: "Times a live cgroup's identity labels changed (metadata that came after its first series, e.g. while a source was down); labels are never taken away before the cgroup retires.",
};
pub const METADATA_ENTRIES: MetricDef = MetricDef {
    name: "metadata_cache_entries",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["source"],
    otlp: otel("archscope.metadata.cache.entries", "{entry}"),
    owner: Owner::Identity,
    help: "Containers in the metadata cache.",
};
pub const METADATA_CAPACITY: MetricDef = MetricDef {
    name: "metadata_cache_capacity",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["source"],
    otlp: otel("archscope.metadata.cache.capacity", "{entry}"),
    owner: Owner::Identity,
    help: "Capacity of the metadata cache.",
};
pub const METADATA_DROPPED: MetricDef = MetricDef {
    name: "metadata_cache_dropped",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["source"],
    otlp: otel("archscope.metadata.cache.dropped", "{container}"),
    owner: Owner::Identity,
    help: "Entries the metadata cache had no room for: left out of its last list, plus single lookups since.",
};
pub const KUBERNETES_POD_LABELS: MetricDef = MetricDef {
    name: "kubernetes_pod_labels",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &[
        "namespace",
        "pod",
        "workload",
        "workload_kind",
        "label_<name>",
    ],
    otlp: otel("archscope.kubernetes.pod.labels", "1"),
    owner: Owner::Identity,
    help: "Pods of this node from the Kubernetes API (value 1): namespace, pod, owning workload \
     and the allowed pod labels as label_<name>.",
};
