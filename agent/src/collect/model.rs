//! Series as exporters see them: a family (name, help, unit, kind) and its labelled values.
use std::sync::Arc;

pub type Labels = Vec<(&'static str, Arc<str>)>;

/// Hashing for maps keyed by label sets, looked up once per series per snapshot:
/// foldhash, seeded per process, at a fraction of SipHash's cost on these long keys.
pub type LabelHasher = foldhash::fast::RandomState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    Bytes,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Counter(u64),
    Gauge(f64),
    /// Non-cumulative bucket counts with their upper bounds (the last is +Inf).
    Histogram {
        sum: f64,
        count: u64,
        buckets: Vec<(f64, u64)>,
    },
}

impl Value {
    /// Fold another series into this one (overflow series).
    pub fn add(&mut self, other: &Value) {
        match (self, other) {
            (Value::Counter(a), Value::Counter(b)) => *a += b,
            (Value::Gauge(a), Value::Gauge(b)) => *a += b,
            (
                Value::Histogram {
                    sum,
                    count,
                    buckets,
                },
                Value::Histogram {
                    sum: s,
                    count: c,
                    buckets: b,
                },
            ) => {
                *sum += s;
                *count += c;
                for (x, y) in buckets.iter_mut().zip(b) {
                    x.1 += y.1;
                }
            }
            _ => {}
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub value: Value,
}

/// A metric family. `name` is without the `archscope_` prefix, the unit suffix and
/// `_total`; the Prometheus encoder adds those.
#[derive(Debug, Clone)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub unit: Option<Unit>,
    pub kind: Kind,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub families: Vec<Family>,
}

pub fn label(v: impl Into<Arc<str>>) -> Arc<str> {
    v.into()
}
