//! The floors `cargo xtask perf` sets the two exporters against, measured in the same run
//! on the same samples: the least any encoder must spend, with no map reads, no labelling
//! and no library in between. A scrape or an export is then judged as a multiple of its
//! floor, which moves with the machine as the exporters do.
use std::collections::BTreeMap;
use std::time::Instant;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
    metric::Data, number_data_point,
};
use prost::Message;

use crate::{Metrics, Sample};

/// Median seconds, over `rounds`, to write every sample of `m` as an exposition line
/// (`name{k="v",…} value`) into a buffer that already has room: label text copied
/// whole unless it needs escaping, numbers by itoa and dtoa.
pub fn text_seconds(m: &Metrics, rounds: usize) -> f64 {
    let mut out = String::new();
    median(rounds, || {
        out.clear();
        for s in &m.samples {
            write_line(&mut out, s);
        }
        std::hint::black_box(&out);
    })
}

fn write_line(out: &mut String, s: &Sample) {
    out.push_str(&s.name);
    if !s.labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in s.labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            if v.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
                for c in v.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '"' => out.push_str("\\\""),
                        '\n' => out.push_str("\\n"),
                        c => out.push(c),
                    }
                }
            } else {
                out.push_str(v);
            }
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    // integers as integers (counts, bucket totals), the rest as the shortest float
    if s.value.fract() == 0.0 && s.value.abs() < 9.0e15 {
        out.push_str(itoa::Buffer::new().format(s.value as i64));
    } else {
        out.push_str(dtoa::Buffer::new().format(s.value));
    }
    out.push('\n');
}

/// The samples of `m` as one OTLP request, and how many points it holds: a histogram's
/// `_bucket`, `_sum` and `_count` samples make one point, as the agent exports them.
pub fn otlp_request(m: &Metrics) -> (ExportMetricsServiceRequest, usize) {
    let histograms: std::collections::BTreeSet<&str> = m
        .samples
        .iter()
        .filter_map(|s| s.name.strip_suffix("_bucket"))
        .collect();
    let base_of = |name: &str| {
        ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|b| histograms.contains(b))
            .map(str::to_string)
    };
    let mut numbers: BTreeMap<&str, Vec<NumberDataPoint>> = BTreeMap::new();
    // (family, labels without `le`) → the point being filled
    let mut points: BTreeMap<(String, Vec<(String, String)>), HistogramDataPoint> = BTreeMap::new();
    for s in &m.samples {
        let Some(base) = base_of(&s.name) else {
            numbers.entry(&s.name).or_default().push(NumberDataPoint {
                attributes: attributes(s.labels.iter()),
                value: Some(number_data_point::Value::AsDouble(s.value)),
                ..Default::default()
            });
            continue;
        };
        let key: Vec<(String, String)> = s
            .labels
            .iter()
            .filter(|(k, _)| *k != "le")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let p = points.entry((base, key)).or_default();
        match s.name.rsplit('_').next() {
            Some("bucket") => {
                let le = s
                    .labels
                    .get("le")
                    .map_or(f64::INFINITY, |v| v.parse().unwrap_or(f64::INFINITY));
                // cumulative in the text, per bucket in OTLP
                let below: u64 = p.bucket_counts.iter().sum();
                p.bucket_counts.push((s.value as u64).saturating_sub(below));
                if le.is_finite() {
                    p.explicit_bounds.push(le);
                }
            }
            Some("sum") => p.sum = Some(s.value),
            _ => p.count = s.value as u64,
        }
    }
    let mut metrics: Vec<Metric> = numbers
        .into_iter()
        .map(|(name, data_points)| Metric {
            name: name.to_string(),
            data: Some(Data::Gauge(Gauge { data_points })),
            ..Default::default()
        })
        .collect();
    let mut n = metrics
        .iter()
        .map(|m| match &m.data {
            Some(Data::Gauge(g)) => g.data_points.len(),
            _ => 0,
        })
        .sum::<usize>();
    let mut by_family: BTreeMap<String, Vec<HistogramDataPoint>> = BTreeMap::new();
    for ((family, labels), mut p) in points {
        p.attributes = attributes(labels.iter().map(|(k, v)| (k, v)));
        by_family.entry(family).or_default().push(p);
        n += 1;
    }
    metrics.extend(by_family.into_iter().map(|(name, data_points)| Metric {
        name,
        data: Some(Data::Histogram(Histogram {
            data_points,
            aggregation_temporality: 2, // cumulative
        })),
        ..Default::default()
    }));
    let request = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    (request, n)
}

/// Median seconds, over `rounds`, to encode `request` as protobuf into a fresh buffer.
pub fn otlp_seconds(request: &ExportMetricsServiceRequest, rounds: usize) -> f64 {
    median(rounds, || {
        std::hint::black_box(request.encode_to_vec());
    })
}

fn attributes<'a>(labels: impl Iterator<Item = (&'a String, &'a String)>) -> Vec<KeyValue> {
    labels
        .map(|(k, v)| KeyValue {
            key: k.clone(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.clone())),
            }),
            ..Default::default()
        })
        .collect()
}

fn median(rounds: usize, mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..rounds.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
archscope_syscalls_total{cgroup=\"/a\",syscall=\"read\"} 12
archscope_syscall_duration_seconds_bucket{le=\"0.000001\",cgroup=\"/a\",syscall=\"read\"} 2
archscope_syscall_duration_seconds_bucket{le=\"0.000002\",cgroup=\"/a\",syscall=\"read\"} 5
archscope_syscall_duration_seconds_bucket{le=\"+Inf\",cgroup=\"/a\",syscall=\"read\"} 12
archscope_syscall_duration_seconds_sum{cgroup=\"/a\",syscall=\"read\"} 0.5
archscope_syscall_duration_seconds_count{cgroup=\"/a\",syscall=\"read\"} 12
";

    #[test]
    fn a_histogram_is_one_point_with_per_bucket_counts() {
        let (req, n) = otlp_request(&Metrics::parse(TEXT));
        assert_eq!(n, 2, "one counter point and one histogram point");
        let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
        let h = metrics
            .iter()
            .find_map(|m| match &m.data {
                Some(Data::Histogram(h)) => Some(h),
                _ => None,
            })
            .unwrap();
        let p = &h.data_points[0];
        assert_eq!(p.bucket_counts, vec![2, 3, 7]);
        assert_eq!(p.explicit_bounds, vec![1e-6, 2e-6]);
        assert_eq!((p.count, p.sum), (12, Some(0.5)));
        assert_eq!(p.attributes.len(), 2, "`le` is not an attribute");
    }

    #[test]
    fn the_text_floor_writes_every_sample() {
        let m = Metrics::parse(TEXT);
        let mut out = String::new();
        for s in &m.samples {
            write_line(&mut out, s);
        }
        let again = Metrics::parse(&out);
        assert_eq!(again.samples.len(), m.samples.len());
        assert_eq!(
            again.value(
                "archscope_syscalls_total",
                &[("cgroup", "/a"), ("syscall", "read")]
            ),
            Some(12.0)
        );
    }
}
