//! The scheduler, per cgroup; see ebpf/probes/src/scheduler.rs for what each counts.
use super::{Kind, MetricDef, Owner, otel};
use crate::collect::model::Unit;
use crate::probes::Feature;

pub const RUNQUEUE_LATENCY: MetricDef = MetricDef {
    name: "runqueue_latency",
    kind: Kind::Histogram,
    unit: Some(Unit::Seconds),
    identity: true,
    labels: &[],
    otlp: otel("archscope.runqueue.latency", "s"),
    owner: Owner::Feature(Feature::Scheduler),
    help: "Time from a task becoming runnable (woken, new, or preempted while runnable) to it \
           running; one sample per such wait, charged when the task next leaves the CPU \
           (log2 buckets).",
};
pub const CPU_TIME: MetricDef = MetricDef {
    name: "cpu",
    kind: Kind::Counter,
    unit: Some(Unit::Seconds),
    identity: true,
    labels: &[],
    otlp: otel("archscope.cpu.time", "s"),
    owner: Owner::Feature(Feature::Scheduler),
    help: "Time the cgroup's tasks spent on a CPU, from the context switches (charged when a \
           task leaves the CPU).",
};
pub const CONTEXT_SWITCHES: MetricDef = MetricDef {
    name: "context_switches",
    kind: Kind::Counter,
    unit: None,
    identity: true,
    labels: &["kind"],
    otlp: otel("archscope.context_switches", "{switch}"),
    owner: Owner::Feature(Feature::Scheduler),
    help: "Context switches away from the cgroup's tasks, by kind: voluntary (the task \
           blocked) or involuntary (preempted, still runnable).",
};
