use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Histogram, ResourceMetrics, ScopeMetrics, Sum, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::*;
use crate::export::otlp::resource::string_kv;

fn number(i: usize) -> NumberDataPoint {
    NumberDataPoint {
        attributes: vec![string_kv(
            "archscope.cgroup.path",
            format!("/kubepods/pod{i}"),
        )],
        time_unix_nano: 7,
        value: Some(number_data_point::Value::AsInt(i as i64)),
        ..Default::default()
    }
}

fn histogram(i: usize) -> HistogramDataPoint {
    HistogramDataPoint {
        attributes: vec![string_kv(
            "archscope.cgroup.path",
            format!("/kubepods/pod{i}"),
        )],
        count: i as u64,
        explicit_bounds: (0..25).map(|b| f64::from(b) * 1e-6).collect(),
        bucket_counts: vec![i as u64; 26],
        ..Default::default()
    }
}

fn metric(name: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        description: "what it counts".into(),
        unit: "1".into(),
        data: Some(data),
        ..Default::default()
    }
}

fn request() -> ExportMetricsServiceRequest {
    let metrics = vec![
        metric(
            "calls",
            Data::Sum(Sum {
                data_points: (0..1000).map(number).collect(),
                aggregation_temporality: 2,
                is_monotonic: true,
            }),
        ),
        metric(
            "latency",
            Data::Histogram(Histogram {
                data_points: (0..500).map(histogram).collect(),
                aggregation_temporality: 2,
            }),
        ),
        metric(
            "up",
            Data::Gauge(Gauge {
                data_points: (0..3).map(number).collect(),
            }),
        ),
    ];
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![string_kv("host.name", "node-1")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "archscope".into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// (metric name, kind, point) in order, for comparing what went in with what came out.
fn flatten(requests: &[ExportMetricsServiceRequest]) -> Vec<(String, &'static str, Vec<u8>)> {
    let mut out = Vec::new();
    for r in requests {
        for m in metrics_of(r) {
            let (kind, encoded): (&str, Vec<Vec<u8>>) = match &m.data {
                Some(Data::Sum(s)) => (
                    "sum",
                    s.data_points.iter().map(|p| p.encode_to_vec()).collect(),
                ),
                Some(Data::Gauge(g)) => (
                    "gauge",
                    g.data_points.iter().map(|p| p.encode_to_vec()).collect(),
                ),
                Some(Data::Histogram(h)) => (
                    "histogram",
                    h.data_points.iter().map(|p| p.encode_to_vec()).collect(),
                ),
                _ => ("other", Vec::new()),
            };
            out.extend(encoded.into_iter().map(|e| (m.name.clone(), kind, e)));
        }
    }
    out
}

#[test]
fn a_request_that_fits_stays_whole() {
    let r = request();
    let parts = split(r.clone(), usize::MAX);
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].0, r);
    assert_eq!(parts[0].1, 1503);
}

#[test]
fn a_large_request_is_cut_under_the_limit_with_every_point_once_in_order() {
    let r = request();
    let whole = r.encoded_len();
    let max = 20_000;
    let parts = split(r.clone(), max);
    assert!(
        parts.len() >= whole / max,
        "{} parts of {whole} bytes",
        parts.len()
    );
    for (p, n) in &parts {
        assert!(p.encoded_len() <= max, "{} > {max}", p.encoded_len());
        assert_eq!(*n, metrics_of(p).iter().map(points).sum::<usize>());
        assert_eq!(
            p.resource_metrics[0].resource,
            r.resource_metrics[0].resource
        );
        assert_eq!(
            p.resource_metrics[0].scope_metrics[0].scope,
            r.resource_metrics[0].scope_metrics[0].scope
        );
        assert!(
            metrics_of(p)
                .iter()
                .all(|m| points(m) > 0 && m.description == "what it counts")
        );
    }
    assert_eq!(parts.iter().map(|(_, n)| n).sum::<usize>(), 1503);
    let requests: Vec<_> = parts.into_iter().map(|(p, _)| p).collect();
    assert_eq!(flatten(&requests), flatten(&[r]));
}

#[test]
fn the_receivers_default_limit_holds_for_a_thousand_containers() {
    // 1,000 containers × 30 histograms, about 9 MB encoded
    let points: Vec<HistogramDataPoint> = (0..30_000).map(histogram).collect();
    let mut r = request();
    r.resource_metrics[0].scope_metrics[0].metrics = vec![metric(
        "latency",
        Data::Histogram(Histogram {
            data_points: points,
            aggregation_temporality: 2,
        }),
    )];
    assert!(r.encoded_len() > 2 * MAX_REQUEST_BYTES);
    let parts = split(r, MAX_REQUEST_BYTES);
    assert!(
        parts
            .iter()
            .all(|(p, _)| p.encoded_len() <= MAX_REQUEST_BYTES)
    );
    assert_eq!(parts.iter().map(|(_, n)| n).sum::<usize>(), 30_000);
}
