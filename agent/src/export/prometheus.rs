//! Prometheus/OpenMetrics text for /metrics, encoded by prometheus-client from a snapshot.
use std::sync::Arc;

use prometheus_client::collector::Collector as PromCollector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit as PromUnit};

use crate::collect::model::{Kind, Unit};
use crate::collect::{Collector, Family, Snapshot, Value};

/// Render a snapshot as OpenMetrics text (what Prometheus scrapes).
pub fn render(snapshot: Snapshot) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("archscope");
    registry.register_collector(Box::new(Frozen(Arc::new(snapshot))));
    let mut out = String::with_capacity(64 * 1024);
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

/// Render a fresh snapshot from the collector.
pub fn scrape(c: &Collector) -> Result<String, std::fmt::Error> {
    render(c.snapshot())
}

#[derive(Debug)]
struct Frozen(Arc<Snapshot>);

impl PromCollector for Frozen {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0.families {
            if f.series.is_empty() {
                continue;
            }
            encode_family(&mut encoder, f)?;
        }
        Ok(())
    }
}

fn encode_family(encoder: &mut DescriptorEncoder, f: &Family) -> Result<(), std::fmt::Error> {
    let unit = f.unit.map(|u| match u {
        Unit::Seconds => PromUnit::Seconds,
        Unit::Bytes => PromUnit::Bytes,
    });
    let ty = match f.kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
        Kind::Histogram => MetricType::Histogram,
    };
    let mut metric = encoder.encode_descriptor(f.name, f.help, unit.as_ref(), ty)?;
    for s in &f.series {
        let labels: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (*k, &**v)).collect();
        let mut enc = metric.encode_family(&labels)?;
        match (&s.value, f.kind) {
            (Value::Counter(v), _) => enc.encode_counter::<NoLabelSet, _, u64>(v, None)?,
            (Value::Gauge(v), Kind::Counter) => {
                enc.encode_counter::<NoLabelSet, _, f64>(v, None)?
            }
            (Value::Gauge(v), _) => enc.encode_gauge(v)?,
            (
                Value::Histogram {
                    sum,
                    count,
                    buckets,
                },
                _,
            ) => enc.encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::model::{Series, label};
    use crate::collect::names;

    #[test]
    fn names_units_and_cumulative_buckets() {
        let mut calls = names::SYSCALLS.family_empty();
        calls.series.push(Series {
            labels: vec![("cgroup", label("/a")), ("syscall", label("getppid"))],
            value: Value::Counter(1000),
        });
        let mut d = names::SYSCALL_DURATION.family_empty();
        d.series.push(Series {
            labels: vec![("cgroup", label("/a")), ("syscall", label("getppid"))],
            value: Value::Histogram {
                sum: 0.5,
                count: 3,
                buckets: vec![(1e-6, 1), (2e-6, 2), (f64::INFINITY, 0)],
            },
        });
        let text = render(Snapshot {
            families: vec![calls, d],
        })
        .unwrap();
        assert!(
            text.contains("archscope_syscalls_total{cgroup=\"/a\",syscall=\"getppid\"} 1000\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE archscope_syscall_duration_seconds histogram"),
            "{text}"
        );
        assert!(text.contains("archscope_syscall_duration_seconds_bucket{le=\"0.000002\",cgroup=\"/a\",syscall=\"getppid\"} 3"), "{text}");
        assert!(text.contains("archscope_syscall_duration_seconds_bucket{le=\"+Inf\",cgroup=\"/a\",syscall=\"getppid\"} 3"), "{text}");
        assert!(
            text.contains(
                "archscope_syscall_duration_seconds_count{cgroup=\"/a\",syscall=\"getppid\"} 3"
            ),
            "{text}"
        );
    }
}
