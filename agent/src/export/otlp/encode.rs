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
use crate::collect::model::{Kind, LabelHasher, Labels, Series};
use crate::collect::{Family, Snapshot, Value};

/// One export's worth of data.
#[derive(Debug, Clone)]
pub struct Batch {
    pub request: ExportMetricsServiceRequest,
    pub points: usize,
}

/// What the previous export said of a series: when its count started and its last
/// cumulative value (to tell a reset, and for deltas; cumulative exports keep a
/// histogram's count only).
struct Seen {
    start: u64,
    last: Value,
}

/// Series are told apart by family and labels.
type Key = (&'static str, Labels);
type SeenMap = HashMap<Key, Seen, LabelHasher>;

pub struct Encoder {
    resource: Resource,
    temporality: Temporality,
    /// When the exporter started: the start of every series present from the beginning.
    started: u64,
    previous: Option<u64>,
    seen: SeenMap,
    /// Attribute keys by label key: the labels are few, the points many.
    keys: HashMap<&'static str, String>,
}

impl Encoder {
    pub fn new(resource: Resource, temporality: Temporality, started: SystemTime) -> Encoder {
        Encoder {
            resource,
            temporality,
            started: nanos(started),
            previous: None,
            seen: SeenMap::default(),
            keys: HashMap::new(),
        }
    }

    /// The snapshot is consumed: its labels become the keys of what this export saw,
    /// with no copy.
    pub fn encode(&mut self, snap: Snapshot, now: SystemTime) -> Batch {
        let now = nanos(now);
        // A series first seen now began counting after the previous export.
        let fresh_start = self.previous.unwrap_or(self.started);
        let mut seen = SeenMap::with_capacity_and_hasher(self.seen.len(), LabelHasher::default());
        let mut metrics = Vec::with_capacity(snap.families.len());
        let mut points = 0;
        for f in snap.families.into_iter().filter(|f| !f.series.is_empty()) {
            let mut ctx = Ctx {
                now,
                fresh_start,
                delta: self.temporality == Temporality::Delta,
                old: &mut self.seen,
                new: &mut seen,
                keys: &mut self.keys,
            };
            let (metric, n) = ctx.metric(f);
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
    now: u64,
    fresh_start: u64,
    delta: bool,
    old: &'a mut SeenMap,
    new: &'a mut SeenMap,
    keys: &'a mut HashMap<&'static str, String>,
}

impl Ctx<'_> {
    fn metric(&mut self, f: Family) -> (Metric, usize) {
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
                data_points: self.numbers(f.name, f.series, false),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: false,
            }),
            Kind::Gauge => Data::Gauge(Gauge {
                data_points: self.numbers(f.name, f.series, false),
            }),
            Kind::Counter => Data::Sum(Sum {
                data_points: self.numbers(f.name, f.series, true),
                aggregation_temporality: temporality,
                is_monotonic: true,
            }),
            Kind::Histogram => Data::Histogram(Histogram {
                data_points: self.histograms(f.name, f.series),
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
    /// its cumulative value for the next export under its labels (moved, not copied).
    fn track(&mut self, key: Key, value: Value) -> (u64, Value) {
        let prev = self.old.remove(&key).filter(|p| !is_reset(&p.last, &value));
        let start = prev.as_ref().map_or(self.fresh_start, |p| p.start);
        let (sent, last) = match (prev, self.delta) {
            // the delta window is the previous export to now
            (Some(p), true) => (minus(&value, &p.last), value),
            // new, or counting again from zero: it started after the previous export
            (None, true) => (value.clone(), value),
            // cumulative: sent as it is, kept only as far as a reset check needs
            (_, false) => {
                let last = reset_mark(&value);
                (value, last)
            }
        };
        let sent_start = if self.delta { self.fresh_start } else { start };
        self.new.insert(key, Seen { start, last });
        (sent_start, sent)
    }

    fn numbers(
        &mut self,
        name: &'static str,
        series: Vec<Series>,
        cumulative: bool,
    ) -> Vec<NumberDataPoint> {
        let mut out = Vec::with_capacity(series.len());
        for s in series {
            let attributes = self.attributes(&s.labels);
            let (start, value) = if cumulative {
                self.track((name, s.labels), s.value)
            } else {
                (0, s.value)
            };
            let value = match value {
                Value::Counter(v) => {
                    number_data_point::Value::AsInt(i64::try_from(v).unwrap_or(i64::MAX))
                }
                Value::Gauge(v) => number_data_point::Value::AsDouble(v),
                Value::Histogram { sum, .. } => number_data_point::Value::AsDouble(sum),
            };
            out.push(NumberDataPoint {
                attributes,
                start_time_unix_nano: start,
                time_unix_nano: self.now,
                value: Some(value),
                ..Default::default()
            });
        }
        out
    }

    fn histograms(&mut self, name: &'static str, series: Vec<Series>) -> Vec<HistogramDataPoint> {
        let mut out = Vec::with_capacity(series.len());
        for s in series {
            let attributes = self.attributes(&s.labels);
            let (start, value) = self.track((name, s.labels), s.value);
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
                attributes,
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

    /// Label → attribute; an empty label (identity not known) is left out, as Prometheus
    /// treats an empty label as absent.
    fn attributes(&mut self, labels: &Labels) -> Vec<KeyValue> {
        let mut out = Vec::with_capacity(labels.len());
        for (k, v) in labels.iter().filter(|(_, v)| !v.is_empty()) {
            let key = self
                .keys
                .entry(k)
                .or_insert_with(|| semconv::attribute(k).into_owned());
            out.push(string_kv(key.as_str(), &**v));
        }
        out
    }
}

/// What a cumulative export keeps of a value to tell a reset: all of a number, a
/// histogram's count and sum (its buckets are not needed).
fn reset_mark(v: &Value) -> Value {
    match v {
        Value::Histogram { sum, count, .. } => Value::Histogram {
            sum: *sum,
            count: *count,
            buckets: Vec::new(),
        },
        other => other.clone(),
    }
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
