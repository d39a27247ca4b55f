//! The exporter's own counters, shared with the collector so that /metrics and OTLP
//! both show them (`archscope_otlp_*`).
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::collect::model::{Family, Series, Value};
use crate::collect::names;

#[derive(Debug, Default)]
pub struct OtlpStats {
    accepted: AtomicU64,
    exported_points: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    queued: AtomicU64,
    /// The queue's bound (`otlp_queue_points`).
    capacity: AtomicU64,
}

impl OtlpStats {
    /// A request the receiver accepted, with `points` of which it rejected `rejected`.
    pub fn accepted(&self, points: usize, rejected: usize) {
        self.accepted.fetch_add(1, Relaxed);
        self.exported_points
            .fetch_add(points.saturating_sub(rejected) as u64, Relaxed);
        self.dropped(rejected);
    }

    pub fn failed(&self) {
        self.failed.fetch_add(1, Relaxed);
    }

    pub fn dropped(&self, points: usize) {
        self.dropped.fetch_add(points as u64, Relaxed);
    }

    pub fn with_capacity(points: usize) -> Self {
        let s = OtlpStats::default();
        s.capacity.store(points as u64, Relaxed);
        s
    }

    pub fn queued(&self, points: usize) {
        self.queued.store(points as u64, Relaxed);
    }

    pub fn families(&self) -> Vec<Family> {
        let one = |def: &names::MetricDef, value| Family {
            series: vec![Series {
                labels: vec![],
                value,
            }],
            ..def.family_empty()
        };
        vec![
            one(
                &names::OTLP_EXPORTS,
                Value::Counter(self.accepted.load(Relaxed)),
            ),
            one(
                &names::OTLP_POINTS_EXPORTED,
                Value::Counter(self.exported_points.load(Relaxed)),
            ),
            one(
                &names::OTLP_EXPORTS_FAILED,
                Value::Counter(self.failed.load(Relaxed)),
            ),
            one(
                &names::OTLP_POINTS_DROPPED,
                Value::Counter(self.dropped.load(Relaxed)),
            ),
            one(
                &names::OTLP_QUEUE_POINTS,
                Value::Gauge(self.queued.load(Relaxed) as f64),
            ),
            one(
                &names::OTLP_QUEUE_CAPACITY,
                Value::Gauge(self.capacity.load(Relaxed) as f64),
            ),
        ]
    }
}
