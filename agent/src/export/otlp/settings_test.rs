use std::collections::HashMap;

use super::*;

fn resolve_with(
    flags: &OtlpFlags,
    file: &OtlpFlags,
    env: &[(&str, &str)],
) -> Result<Option<OtlpConfig>, String> {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    resolve(flags, file, &|k| env.get(k).cloned()).map_err(|e| e.to_string())
}

fn env_only(env: &[(&str, &str)]) -> Result<Option<OtlpConfig>, String> {
    resolve_with(&OtlpFlags::default(), &OtlpFlags::default(), env)
}

#[test]
fn off_without_an_endpoint() {
    assert_eq!(env_only(&[]), Ok(None));
    assert_eq!(env_only(&[("OTEL_EXPORTER_OTLP_ENDPOINT", " ")]), Ok(None));
}

#[test]
fn standard_variables() {
    let c = env_only(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/base/"),
        (
            "OTEL_EXPORTER_OTLP_HEADERS",
            "Authorization=Bearer%20t,x-tenant=a",
        ),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
        ("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "Delta"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=lab,service.name=x",
        ),
        ("OTEL_SERVICE_NAME", "edge"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(c.url.as_str(), "http://collector:4318/base/v1/metrics");
    assert_eq!(c.protocol, Protocol::HttpProtobuf);
    assert_eq!(
        c.headers,
        [
            ("authorization".to_string(), "Bearer t".to_string()),
            ("x-tenant".to_string(), "a".to_string())
        ]
    );
    assert_eq!(c.timeout, Duration::from_millis(2500));
    assert_eq!(c.interval, Duration::from_secs(15));
    assert_eq!(c.temporality, Temporality::Delta);
    assert_eq!(
        c.resource.last().unwrap(),
        &("service.name".into(), "edge".into())
    );
    // the signal's own variable is the full URL, and wins
    let c = env_only(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
        ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "https://b/custom"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(c.url.as_str(), "https://b/custom");
    // gRPC uses the origin; the default timeout stays under the interval
    let c = env_only(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4317/ignored"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(
        (c.protocol, c.url.as_str()),
        (Protocol::Grpc, "http://a:4317/")
    );
    assert_eq!(c.timeout, Duration::from_millis(500));
}

#[test]
fn flags_beat_variables_beat_the_file() {
    // through the file's own types: its queue bound is a number, the flag's a string
    let file = crate::config::FileConfig {
        otlp_endpoint: Some("http://file:4318".into()),
        otlp_interval: Some("30s".into()),
        otlp_queue_points: Some(7),
        ..Default::default()
    }
    .otlp();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "20000"),
    ];
    let c = resolve_with(&OtlpFlags::default(), &file, &env)
        .unwrap()
        .unwrap();
    assert_eq!(c.url.host_str(), Some("env"));
    assert_eq!(c.interval, Duration::from_secs(20));
    assert_eq!(c.queue_points, 7);
    let flags = OtlpFlags {
        otlp_endpoint: Some("http://flag:4318".into()),
        otlp_interval: Some("5s".into()),
        ..OtlpFlags::default()
    };
    let c = resolve_with(&flags, &file, &env).unwrap().unwrap();
    assert_eq!(c.url.host_str(), Some("flag"));
    assert_eq!(c.interval, Duration::from_secs(5));
    let c = resolve_with(&OtlpFlags::default(), &file, &[])
        .unwrap()
        .unwrap();
    assert_eq!(c.url.host_str(), Some("file"));
}

#[test]
fn metrics_exporter_variable() {
    let on = env_only(&[
        ("OTEL_METRICS_EXPORTER", "otlp"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]);
    assert_eq!(on.unwrap().unwrap().url.as_str(), "http://localhost:4317/");
    let off = env_only(&[
        ("OTEL_METRICS_EXPORTER", "none"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
    ]);
    assert_eq!(off, Ok(None));
    let flags = OtlpFlags {
        otlp_endpoint: Some("http://flag:4318".into()),
        ..OtlpFlags::default()
    };
    let on = resolve_with(
        &flags,
        &OtlpFlags::default(),
        &[("OTEL_METRICS_EXPORTER", "none")],
    );
    assert!(on.unwrap().is_some(), "the flag wins");
}

#[test]
fn bad_values_name_the_field() {
    let ep = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318");
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
            "OTEL_EXPORTER_OTLP_ENDPOINT: `collector:4318` is not an endpoint URL",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://a")],
            "scheme must be http or https",
        ),
        (
            &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318?x=1")],
            "no query",
        ),
        (
            &[ep, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
            "OTEL_EXPORTER_OTLP_PROTOCOL: `http/json` is not",
        ),
        (
            &[ep, ("OTEL_EXPORTER_OTLP_HEADERS", "novalue")],
            "OTEL_EXPORTER_OTLP_HEADERS: `novalue` is not key=value",
        ),
        (
            &[ep, ("OTEL_EXPORTER_OTLP_HEADERS", "bad key=v")],
            "not a valid header name",
        ),
        (
            &[ep, ("OTEL_EXPORTER_OTLP_HEADERS", "k=a%0Ab")],
            "not a valid header value",
        ),
        (
            &[ep, ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s")],
            "OTEL_EXPORTER_OTLP_TIMEOUT: `10s` is not a whole number of milliseconds",
        ),
        (
            &[ep, ("OTEL_EXPORTER_OTLP_TIMEOUT", "60000")],
            "shorter than the export interval",
        ),
        (
            &[ep, ("OTEL_METRIC_EXPORT_INTERVAL", "10")],
            "OTEL_METRIC_EXPORT_INTERVAL: 10ms is outside",
        ),
        (
            &[
                ep,
                (
                    "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
                    "lowmemory",
                ),
            ],
            "`lowmemory` is not `cumulative` or `delta`",
        ),
        (
            &[ep, ("OTEL_RESOURCE_ATTRIBUTES", "a=1,b")],
            "OTEL_RESOURCE_ATTRIBUTES: `b` is not key=value",
        ),
        (
            &[ep, ("OTEL_METRICS_EXPORTER", "console")],
            "OTEL_METRICS_EXPORTER: `console`",
        ),
        (
            &[ep, ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
            "`gzip` is not supported",
        ),
        (
            &[
                ep,
                ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nonexistent/ca.pem"),
            ],
            "OTEL_EXPORTER_OTLP_CERTIFICATE: /nonexistent/ca.pem:",
        ),
    ];
    for (env, want) in cases {
        let got = env_only(env).unwrap_err();
        assert!(got.contains(want), "{env:?}: `{got}` lacks `{want}`");
        assert!(!got.contains('\n'), "one line: {got}");
    }
    let flags = OtlpFlags {
        otlp_endpoint: Some("http://a:4318".into()),
        otlp_timeout: Some("soon".into()),
        ..OtlpFlags::default()
    };
    let got = resolve_with(&flags, &OtlpFlags::default(), &[]).unwrap_err();
    assert!(got.starts_with("otlp_timeout: `soon`"), "{got}");
    let flags = OtlpFlags {
        otlp_endpoint: Some("http://a:4318".into()),
        otlp_queue_points: Some("0".into()),
        ..OtlpFlags::default()
    };
    let got = resolve_with(&flags, &OtlpFlags::default(), &[]).unwrap_err();
    assert!(got.starts_with("otlp_queue_points: 0 is outside"), "{got}");
}

#[test]
fn ca_file_must_hold_a_certificate_and_go_with_https() {
    let dir = std::env::temp_dir().join(format!("archscope-otlp-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let junk = dir.join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let flags = OtlpFlags {
        otlp_endpoint: Some("https://a:4318".into()),
        otlp_ca_file: Some(junk.clone()),
        ..OtlpFlags::default()
    };
    let got = resolve_with(&flags, &OtlpFlags::default(), &[]).unwrap_err();
    assert!(got.contains("no PEM certificate"), "{got}");
    // A real certificate over http:// is a mistake too.
    let pem = include_str!("testdata/ca.pem");
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let flags = OtlpFlags {
        otlp_endpoint: Some("http://a:4318".into()),
        otlp_ca_file: Some(ca.clone()),
        ..OtlpFlags::default()
    };
    let got = resolve_with(&flags, &OtlpFlags::default(), &[]).unwrap_err();
    assert!(got.contains("needs an https:// endpoint"), "{got}");
    let flags = OtlpFlags {
        otlp_endpoint: Some("https://a:4318".into()),
        ..flags
    };
    let c = resolve_with(&flags, &OtlpFlags::default(), &[])
        .unwrap()
        .unwrap();
    assert_eq!(c.ca_pem.as_deref(), Some(pem.as_bytes()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn debug_hides_header_values() {
    let c = env_only(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=secret-token"),
    ])
    .unwrap()
    .unwrap();
    let s = format!("{c:?}");
    assert!(
        s.contains("authorization") && !s.contains("secret-token"),
        "{s}"
    );
}
