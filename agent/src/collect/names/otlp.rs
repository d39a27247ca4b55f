//! OTLP export (present while OTLP export is configured; see export/otlp).
use super::{Kind, MetricDef, Owner, otel};

pub const OTLP_EXPORTS: MetricDef = MetricDef {
    name: "otlp_exports",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.otlp.exports.accepted", "{request}"),
    owner: Owner::Otlp,
    help: "OTLP export requests the receiver accepted.",
};
pub const OTLP_POINTS_EXPORTED: MetricDef = MetricDef {
    name: "otlp_points_exported",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.otlp.points.exported", "{point}"),
    owner: Owner::Otlp,
    help: "Data points the receiver accepted.",
};
pub const OTLP_EXPORTS_FAILED: MetricDef = MetricDef {
    name: "otlp_exports_failed",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.otlp.exports.failed", "{request}"),
    owner: Owner::Otlp,
    help: "OTLP export attempts that failed: unreachable, timed out or refused (each retry counts).",
};
pub const OTLP_POINTS_DROPPED: MetricDef = MetricDef {
    name: "otlp_points_dropped",
    kind: Kind::Counter,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.otlp.points.dropped", "{point}"),
    owner: Owner::Otlp,
    help: "Data points never delivered: pushed out of the full export queue or rejected by the receiver.",
};
pub const OTLP_QUEUE_POINTS: MetricDef = MetricDef {
    name: "otlp_queue_points",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.otlp.queue.points", "{point}"),
    owner: Owner::Otlp,
    help: "Data points waiting in the OTLP export queue.",
};
pub const OTLP_QUEUE_CAPACITY: MetricDef = MetricDef {
    name: "otlp_queue_capacity_points",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &[],
    otlp: otel("archscope.otlp.queue.capacity", "{point}"),
    owner: Owner::Otlp,
    help: "Data points the OTLP queue holds at most (otlp_queue_points); beyond, the oldest batches are dropped.",
};
