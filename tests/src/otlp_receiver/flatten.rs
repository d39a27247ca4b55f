//! An OTLP request as one JSON object of flattened data points: the receiver prints it,
//! the tests read it. Only what the tests look at; doubles are strings (see `exact`).
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, NumberDataPoint, metric::Data, number_data_point,
};
use serde_json::{Map, Value, json};

/// `headers`: the HTTP headers or gRPC metadata the request came with.
pub fn request(
    transport: &str,
    headers: &axum::http::HeaderMap,
    req: &ExportMetricsServiceRequest,
) -> Value {
    let headers: Map<String, Value> = headers
        .iter()
        .map(|(k, v)| {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_string(), Value::String(v))
        })
        .collect();
    let mut resources = Vec::new();
    for rm in &req.resource_metrics {
        let resource = rm
            .resource
            .as_ref()
            .map(|r| attributes(&r.attributes))
            .unwrap_or_default();
        let mut metrics = Vec::new();
        for sm in &rm.scope_metrics {
            let scope = sm
                .scope
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_default();
            for m in &sm.metrics {
                let mut o = json!({
                    "scope": scope,
                    "name": m.name,
                    "unit": m.unit,
                    "description": m.description,
                });
                let (kind, points) = match &m.data {
                    Some(Data::Sum(s)) => {
                        o["monotonic"] = s.is_monotonic.into();
                        o["temporality"] = temporality(s.aggregation_temporality).into();
                        ("sum", s.data_points.iter().map(number).collect())
                    }
                    Some(Data::Gauge(g)) => ("gauge", g.data_points.iter().map(number).collect()),
                    Some(Data::Histogram(h)) => {
                        o["temporality"] = temporality(h.aggregation_temporality).into();
                        let points = h
                            .data_points
                            .iter()
                            .map(|p| {
                                json!({
                                    "attributes": attributes(&p.attributes),
                                    "start": p.start_time_unix_nano,
                                    "time": p.time_unix_nano,
                                    "count": p.count,
                                    "sum": p.sum.map(exact),
                                    "bounds": p.explicit_bounds.iter().copied().map(exact).collect::<Vec<_>>(),
                                    "buckets": p.bucket_counts,
                                })
                            })
                            .collect();
                        ("histogram", points)
                    }
                    _ => ("other", Vec::new()),
                };
                o["kind"] = kind.into();
                o["points"] = Value::Array(points);
                metrics.push(o);
            }
        }
        resources.push(json!({"resource": resource, "metrics": metrics}));
    }
    json!({"transport": transport, "headers": headers, "resource_metrics": resources})
}

fn number(p: &NumberDataPoint) -> Value {
    let mut o = json!({
        "attributes": attributes(&p.attributes),
        "start": p.start_time_unix_nano,
        "time": p.time_unix_nano,
    });
    match p.value {
        Some(number_data_point::Value::AsInt(v)) => o["int"] = v.into(),
        Some(number_data_point::Value::AsDouble(v)) => o["double"] = exact(v).into(),
        None => {}
    }
    o
}

/// Doubles as their shortest round-trip text, so that the tests compare them exactly
/// (JSON number parsing need not round-trip).
fn exact(v: f64) -> String {
    v.to_string()
}

fn temporality(t: i32) -> &'static str {
    match AggregationTemporality::try_from(t) {
        Ok(AggregationTemporality::Cumulative) => "cumulative",
        Ok(AggregationTemporality::Delta) => "delta",
        _ => "unspecified",
    }
}

/// String attributes as an object; other types as their debug text (the agent sends
/// strings only, so anything else shows up in a failed comparison).
fn attributes(kvs: &[KeyValue]) -> Map<String, Value> {
    kvs.iter()
        .map(|kv| {
            let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                other => format!("{other:?}"),
            };
            (kv.key.clone(), Value::String(v))
        })
        .collect()
}
