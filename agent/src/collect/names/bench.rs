//! Benchmark results (`agent bench run`), the newest in the results directory.
use super::{Kind, MetricDef, Owner, otel};
use crate::collect::model::Unit;

pub const BENCH_MEDIAN: MetricDef = MetricDef {
    name: "bench_median",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["benchmark", "arch", "unit", "higher_is_better"],
    otlp: otel("archscope.bench.median", "1"),
    owner: Owner::Bench,
    help: "Median of the benchmark's repetitions in its unit (label unit; higher_is_better says which way is good).",
};
pub const BENCH_CV: MetricDef = MetricDef {
    name: "bench_cv",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["benchmark", "arch"],
    otlp: otel("archscope.bench.cv", "1"),
    owner: Owner::Bench,
    help: "Coefficient of variation of the benchmark's repetitions (stdev / mean).",
};
pub const BENCH_REPETITIONS: MetricDef = MetricDef {
    name: "bench_repetitions",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["benchmark", "arch"],
    otlp: otel("archscope.bench.repetitions", "{repetition}"),
    owner: Owner::Bench,
    help: "Measured repetitions of the benchmark.",
};
pub const BENCH_IPC: MetricDef = MetricDef {
    name: "bench_ipc",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["benchmark", "arch"],
    otlp: otel("archscope.bench.ipc", "1"),
    owner: Owner::Bench,
    help: "Instructions per cycle during the benchmark (absent where the PMU does not count both).",
};
pub const BENCH_CACHE_MPKI: MetricDef = MetricDef {
    name: "bench_cache_mpki",
    kind: Kind::Gauge,
    unit: None,
    identity: false,
    labels: &["benchmark", "arch"],
    otlp: otel("archscope.bench.cache.mpki", "{miss}"),
    owner: Owner::Bench,
    help: "Cache misses per 1000 instructions during the benchmark (absent where the PMU does not count both).",
};
pub const BENCH_RUN_TIMESTAMP: MetricDef = MetricDef {
    name: "bench_run_timestamp",
    kind: Kind::Gauge,
    unit: Some(Unit::Seconds),
    identity: false,
    labels: &["arch", "suite_version", "host"],
    otlp: otel("archscope.bench.run.timestamp", "s"),
    owner: Owner::Bench,
    help: "When the served benchmark run started (Unix time).",
};
