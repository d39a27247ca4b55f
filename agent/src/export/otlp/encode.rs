//! A `Snapshot` → one OTLP `ExportMetricsServiceRequest`. The snapshot is the same one
//! /metrics renders; only names, units and temporality differ. Kernel counters are
//! cumulative since the programs attached, so cumulative points carry them as they are
//! and delta points are the difference from the previous export.
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::resource::string_kv;
use super::semconv;
use super::settings::Temporality;
use crate::collect::model::{Kind, Labels};
use crate::collect::{Family, Snapshot, Value};

/// One export's worth of data.
#[derive(Debug, Clone)]
pub struct Batch {
    pub request: ExportMetricsServiceRequest,
    pub points: usize,
}

/// What the previous export said of a series: when its count started and its last
/// cumulative value (to tell a reset, and for deltas).
struct Seen {
    start: u64,
    last: Value,
}

pub struct Encoder {
    resource: Resource,
    temporality: Temporality,
    /// When the exporter started: the start of every series present from the beginning.
    started: u64,
    previous: Option<u64>,
    seen: HashMap<(&'static str, Labels), Seen>,
}

impl Encoder {
    pub fn new(resource: Resource, temporality: Temporality, started: SystemTime) -> Encoder {
        Encoder {
            resource,
            temporality,
            started: nanos(started),
            previous: None,
            seen: HashMap::new(),
        }
    }

    pub fn encode(&mut self, snap: &Snapshot, now: SystemTime) -> Batch {
        let now = nanos(now);
        // A series first seen now began counting after the previous export.
        let fresh_start = self.previous.unwrap_or(self.started);
        let mut seen = HashMap::with_capacity(self.seen.len());
        let mut metrics = Vec::with_capacity(snap.families.len());
        let mut points = 0;
        for f in snap.families.iter().filter(|f| !f.series.is_empty()) {
            let mut ctx = Ctx {
                family: f,
                now,
                fresh_start,
                delta: self.temporality == Temporality::Delta,
                old: &mut self.seen,
                new: &mut seen,
            };
            let (metric, n) = ctx.metric();
            points += n;
            metrics.push(metric);
        }
        // Series gone from the snapshot are forgotten: state stays as large as the budget.
        self.seen = seen;
        self.previous = Some(now);
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(InstrumentationScope {
                        name: "archscope".into(),
                        version: env!("CARGO_PKG_VERSION").into(),
                        ..Default::default()
                    }),
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        Batch { request, points }
    }
}

struct Ctx<'a> {
    family: &'a Family,
    now: u64,
    fresh_start: u64,
    delta: bool,
    old: &'a mut HashMap<(&'static str, Labels), Seen>,
    new: &'a mut HashMap<(&'static str, Labels), Seen>,
}

impl Ctx<'_> {
    fn metric(&mut self) -> (Metric, usize) {
        let f = self.family;
        let o = semconv::metric(f.name);
        let name = o.map_or_else(|| format!("archscope.{}", f.name), |o| o.name.into());
        let unit = o.map_or("1", |o| o.unit);
        let up_down = o.is_some_and(|o| o.up_down);
        let temporality = if self.delta {
            AggregationTemporality::Delta
        } else {
            AggregationTemporality::Cumulative
        } as i32;
        let n = f.series.len();
        let data = match f.kind {
            Kind::Gauge if up_down => Data::Sum(Sum {
                data_points: self.numbers(false),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: false,
            }),
            Kind::Gauge => Data::Gauge(Gauge {
                data_points: self.numbers(false),
            }),
            Kind::Counter => Data::Sum(Sum {
                data_points: self.numbers(true),
                aggregation_temporality: temporality,
                is_monotonic: true,
            }),
            Kind::Histogram => Data::Histogram(Histogram {
                data_points: self.histograms(),
                aggregation_temporality: temporality,
            }),
        };
        let metric = Metric {
            name,
            description: f.help.into(),
            unit: unit.into(),
            data: Some(data),
            ..Default::default()
        };
        (metric, n)
    }

    /// Start time and the value to send for a counter or histogram series, remembering
    /// its cumulative value for the next export.
    fn track(&mut self, labels: &Labels, value: &Value) -> (u64, Value) {
        let key = (self.family.name, labels.clone());
        let prev = self.old.remove(&key).filter(|p| !is_reset(&p.last, value));
        let sent = match (&prev, self.delta) {
            // the delta window is the previous export to now
            (Some(p), true) => (self.fresh_start, minus(value, &p.last)),
            (Some(p), false) => (p.start, value.clone()),
            // new, or counting again from zero: it started after the previous export
            (None, _) => (self.fresh_start, value.clone()),
        };
        let start = prev.map_or(self.fresh_start, |p| p.start);
        let last = value.clone();
        self.new.insert(key, Seen { start, last });
        sent
    }

    fn numbers(&mut self, cumulative: bool) -> Vec<NumberDataPoint> {
        let f = self.family;
        f.series
            .iter()
            .map(|s| {
                let (start, value) = if cumulative {
                    self.track(&s.labels, &s.value)
                } else {
                    (0, s.value.clone())
                };
                let value = match value {
                    Value::Counter(v) => {
                        number_data_point::Value::AsInt(i64::try_from(v).unwrap_or(i64::MAX))
                    }
                    Value::Gauge(v) => number_data_point::Value::AsDouble(v),
                    Value::Histogram { sum, .. } => number_data_point::Value::AsDouble(sum),
                };
                NumberDataPoint {
                    attributes: attributes(&s.labels),
                    start_time_unix_nano: start,
                    time_unix_nano: self.now,
                    value: Some(value),
                    ..Default::default()
                }
            })
            .collect()
    }

    fn histograms(&mut self) -> Vec<HistogramDataPoint> {
        let f = self.family;
        let mut out = Vec::with_capacity(f.series.len());
        for s in &f.series {
            let (start, value) = self.track(&s.labels, &s.value);
            let Value::Histogram {
                sum,
                count,
                buckets,
            } = value
            else {
                continue;
            };
            // OTLP buckets are per bucket like ours; the bounds omit the last (+Inf).
            let bounds = buckets
                .iter()
                .map(|(le, _)| *le)
                .filter(|le| le.is_finite());
            out.push(HistogramDataPoint {
                attributes: attributes(&s.labels),
                start_time_unix_nano: start,
                time_unix_nano: self.now,
                count,
                sum: Some(sum),
                explicit_bounds: bounds.collect(),
                bucket_counts: buckets.iter().map(|(_, n)| *n).collect(),
                ..Default::default()
            });
        }
        out
    }
}

/// Label → attribute; an empty label (identity not known) is left out, as Prometheus
/// treats an empty label as absent.
fn attributes(labels: &Labels) -> Vec<KeyValue> {
    labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| string_kv(semconv::attribute(k), &**v))
        .collect()
}

/// Did a cumulative value go down (the kernel entry was dropped and counts again)?
fn is_reset(prev: &Value, now: &Value) -> bool {
    match (prev, now) {
        (Value::Counter(a), Value::Counter(b)) => b < a,
        (Value::Gauge(a), Value::Gauge(b)) => b < a,
        (Value::Histogram { count: a, .. }, Value::Histogram { count: b, .. }) => b < a,
        _ => true,
    }
}

/// `now - prev` for a value that did not reset.
fn minus(now: &Value, prev: &Value) -> Value {
    match (now, prev) {
        (Value::Counter(a), Value::Counter(b)) => Value::Counter(a - b),
        (Value::Gauge(a), Value::Gauge(b)) => Value::Gauge(a - b),
        (
            Value::Histogram {
                sum,
                count,
                buckets,
            },
            Value::Histogram {
                sum: ps,
                count: pc,
                buckets: pb,
            },
        ) => Value::Histogram {
            sum: sum - ps,
            count: count - pc,
            buckets: buckets
                .iter()
                .zip(pb)
                .map(|((le, n), (_, p))| (*le, n.saturating_sub(*p)))
                .collect(),
        },
        _ => now.clone(),
    }
}

fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

#[cfg(test)]
#[path = "encode_test.rs"]
mod tests;
