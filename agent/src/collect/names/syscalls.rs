//! Syscalls (per cgroup and syscall).
use super::{Kind, MetricDef, Owner, otel};
use crate::collect::model::Unit;
use crate::probes::Feature;

pub const SYSCALLS: MetricDef = MetricDef {
    name: "syscalls",
    kind: Kind::Counter,
    unit: None,
    identity: true,
    labels: &["syscall"],
    otlp: otel("archscope.syscall.calls", "{call}"),
    owner: Owner::Feature(Feature::Syscalls),
    help: "Syscalls entered, by cgroup and syscall.",
};
pub const SYSCALL_ERRORS: MetricDef = MetricDef {
    name: "syscall_errors",
    kind: Kind::Counter,
    unit: None,
    identity: true,
    labels: &["syscall", "errno"],
    otlp: otel("archscope.syscall.errors", "{error}"),
    owner: Owner::Feature(Feature::Syscalls),
    help: "Syscalls that returned an error, by cgroup, syscall and errno.",
};
pub const SYSCALL_DURATION: MetricDef = MetricDef {
    name: "syscall_duration",
    kind: Kind::Histogram,
    unit: Some(Unit::Seconds),
    identity: true,
    labels: &["syscall"],
    otlp: otel("archscope.syscall.duration", "s"),
    owner: Owner::Feature(Feature::Syscalls),
    help: "Time from syscall entry to exit, by cgroup and syscall (log2 buckets, ~1us to ~17s).",
};
