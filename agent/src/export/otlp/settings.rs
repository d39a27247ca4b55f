//! OTLP settings: flags > standard `OTEL_*` variables > config file > defaults. Every value
//! is checked at start-up, so a malformed endpoint, header or variable is one line naming
//! it and exit status 2, never a failure discovered at the first export.
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

use super::kvlist;
use super::values::{
    Found, duration, endpoint_url, field, parse_exporters, parse_headers, read_ca,
};
use crate::errors::ConfigError;

/// The agent's own OTLP flags. The standard variables are read beside them (see
/// `resolve`), so there are no `ARCHSCOPE_OTLP_*` twins except for the queue bound, which
/// OpenTelemetry does not define.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct OtlpFlags {
    /// OTLP endpoint; enables OTLP export, e.g. http://collector:4318 [env: OTEL_EXPORTER_OTLP_ENDPOINT]
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// `http/protobuf` or `grpc` [default: http/protobuf] [env: OTEL_EXPORTER_OTLP_PROTOCOL]
    #[arg(long, value_name = "PROTOCOL")]
    pub otlp_protocol: Option<String>,
    /// Request headers, e.g. `authorization=Bearer%20x,tenant=a` [env: OTEL_EXPORTER_OTLP_HEADERS]
    #[arg(long, value_name = "KEY=VALUE,...")]
    pub otlp_headers: Option<String>,
    /// Time one export request may take [default: 10s, at most half the interval] [env: OTEL_EXPORTER_OTLP_TIMEOUT]
    #[arg(long, value_name = "DURATION")]
    pub otlp_timeout: Option<String>,
    /// Time between exports [default: 60s] [env: OTEL_METRIC_EXPORT_INTERVAL]
    #[arg(long, value_name = "DURATION")]
    pub otlp_interval: Option<String>,
    /// `cumulative` or `delta` [default: cumulative] [env: OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE]
    #[arg(long, value_name = "TEMPORALITY")]
    pub otlp_temporality: Option<String>,
    /// PEM file of the CAs that sign the receiver's certificate (https endpoints) [env: OTEL_EXPORTER_OTLP_CERTIFICATE]
    #[arg(long, value_name = "FILE")]
    pub otlp_ca_file: Option<PathBuf>,
    /// Data points the export queue holds while the receiver is unreachable [default: 100000]
    #[arg(long, env = "ARCHSCOPE_OTLP_QUEUE_POINTS", value_name = "N")]
    pub otlp_queue_points: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Temporality {
    Cumulative,
    Delta,
}

/// Validated OTLP export settings; `Config::otlp` is `None` when export is off.
#[derive(Clone, PartialEq)]
pub struct OtlpConfig {
    /// Where requests go: for HTTP the full `/v1/metrics` URL, for gRPC the origin.
    pub url: Url,
    pub protocol: Protocol,
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub interval: Duration,
    pub temporality: Temporality,
    /// PEM bundle of the CA file, read and checked at start-up.
    pub ca_pem: Option<Vec<u8>>,
    pub queue_points: usize,
    /// `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME` as `service.name`.
    pub resource: Vec<(String, String)>,
}

// Header values are credentials: never in logs.
impl std::fmt::Debug for OtlpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("OtlpConfig")
            .field("url", &self.url.as_str())
            .field("protocol", &self.protocol)
            .field("header_keys", &keys)
            .field("timeout", &self.timeout)
            .field("interval", &self.interval)
            .field("temporality", &self.temporality)
            .field("ca_file", &self.ca_pem.is_some())
            .field("queue_points", &self.queue_points)
            .field("resource", &self.resource)
            .finish()
    }
}

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_QUEUE_POINTS: u64 = 100_000;
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Resolve the OTLP settings. `file` holds the config file's `otlp_*` keys, which are named
/// as the flags are. `env` reads one variable (the process environment in the agent, a
/// table in tests); an empty variable counts as unset, as the specification says.
pub fn resolve(
    flags: &OtlpFlags,
    file: &OtlpFlags,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<OtlpConfig>, ConfigError> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let pick = |flag: (&'static str, Option<String>),
                vars: &[&'static str],
                file_val: Option<String>|
     -> Option<Found> {
        let found = |field, value, from_env| Found {
            field,
            value,
            from_env,
        };
        if let Some(v) = flag.1.clone() {
            return Some(found(flag.0, v, false));
        }
        for var in vars {
            if let Some(v) = env(var) {
                return Some(found(*var, v, true));
            }
        }
        file_val.map(|v| found(flag.0, v, false))
    };

    let exporters = env("OTEL_METRICS_EXPORTER");
    let wants_otlp = match &exporters {
        None => None,
        Some(list) => Some(parse_exporters(list)?),
    };
    let protocol = match pick(
        ("otlp_protocol", flags.otlp_protocol.clone()),
        &[
            "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ],
        file.otlp_protocol.clone(),
    ) {
        None => Protocol::HttpProtobuf,
        Some(f) => match f.value.trim() {
            "grpc" => Protocol::Grpc,
            "http/protobuf" => Protocol::HttpProtobuf,
            other => {
                return Err(field(
                    f.field,
                    format!(
                        "`{other}` is not `grpc` or `http/protobuf` (http/json is not supported)"
                    ),
                ));
            }
        },
    };
    let endpoint = pick(
        ("otlp_endpoint", flags.otlp_endpoint.clone()),
        &[
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
        ],
        file.otlp_endpoint.clone(),
    );
    let headers = match pick(
        ("otlp_headers", flags.otlp_headers.clone()),
        &[
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
            "OTEL_EXPORTER_OTLP_HEADERS",
        ],
        file.otlp_headers.clone(),
    ) {
        None => Vec::new(),
        Some(f) => parse_headers(&f.value).map_err(|m| field(f.field, m))?,
    };
    let interval = match pick(
        ("otlp_interval", flags.otlp_interval.clone()),
        &["OTEL_METRIC_EXPORT_INTERVAL"],
        file.otlp_interval.clone(),
    ) {
        None => DEFAULT_INTERVAL,
        Some(f) => {
            let d = duration(&f)?;
            if !(MIN_INTERVAL..=Duration::from_secs(86_400)).contains(&d) {
                return Err(field(f.field, format!("{d:?} is outside 100ms..=24h")));
            }
            d
        }
    };
    let timeout = match pick(
        ("otlp_timeout", flags.otlp_timeout.clone()),
        &[
            "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
        ],
        file.otlp_timeout.clone(),
    ) {
        // An export must end before the next one is due.
        None => DEFAULT_TIMEOUT.min(interval / 2),
        Some(f) => {
            let t = duration(&f)?;
            if t.is_zero() || t >= interval {
                return Err(field(
                    f.field,
                    format!(
                        "{t:?} must be above zero and shorter than the export interval ({interval:?})"
                    ),
                ));
            }
            t
        }
    };
    let temporality = match pick(
        ("otlp_temporality", flags.otlp_temporality.clone()),
        &["OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE"],
        file.otlp_temporality.clone(),
    ) {
        None => Temporality::Cumulative,
        Some(f) => match f.value.trim().to_ascii_lowercase().as_str() {
            "cumulative" => Temporality::Cumulative,
            "delta" => Temporality::Delta,
            other => {
                return Err(field(
                    f.field,
                    format!("`{other}` is not `cumulative` or `delta`"),
                ));
            }
        },
    };
    let ca = pick(
        (
            "otlp_ca_file",
            flags.otlp_ca_file.as_ref().map(|p| p.display().to_string()),
        ),
        &[
            "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE",
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
        ],
        file.otlp_ca_file.as_ref().map(|p| p.display().to_string()),
    );
    let ca_pem = ca.as_ref().map(read_ca).transpose()?;
    if let Some(v) = env("OTEL_EXPORTER_OTLP_COMPRESSION")
        .or_else(|| env("OTEL_EXPORTER_OTLP_METRICS_COMPRESSION"))
        && v.trim() != "none"
    {
        return Err(field(
            "OTEL_EXPORTER_OTLP_COMPRESSION",
            format!("`{v}` is not supported (only `none`)"),
        ));
    }
    let queue_points = match flags
        .otlp_queue_points
        .as_ref()
        .or(file.otlp_queue_points.as_ref())
    {
        Some(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| field("otlp_queue_points", format!("`{s}` is not a whole number")))?,
        None => DEFAULT_QUEUE_POINTS,
    };
    if !(1..=100_000_000).contains(&queue_points) {
        return Err(field(
            "otlp_queue_points",
            format!("{queue_points} is outside 1..=100000000"),
        ));
    }
    let mut resource = match env("OTEL_RESOURCE_ATTRIBUTES") {
        None => Vec::new(),
        Some(v) => kvlist::parse(&v).map_err(|m| field("OTEL_RESOURCE_ATTRIBUTES", m))?,
    };
    if let Some(name) = env("OTEL_SERVICE_NAME") {
        resource.push(("service.name".into(), name.trim().to_string()));
    }

    // On with an endpoint from anywhere, or with OTEL_METRICS_EXPORTER=otlp (then at the
    // protocol's default port); OTEL_METRICS_EXPORTER without `otlp` turns it off unless
    // the flag asks for it.
    let endpoint = match (endpoint, wants_otlp) {
        // the flag wins over OTEL_METRICS_EXPORTER
        (Some(f), _) if flags.otlp_endpoint.is_some() => f,
        (_, Some(false)) => return Ok(None),
        (Some(f), _) => f,
        (None, Some(true)) => Found {
            field: "OTEL_METRICS_EXPORTER",
            value: match protocol {
                Protocol::Grpc => "http://localhost:4317".into(),
                Protocol::HttpProtobuf => "http://localhost:4318".into(),
            },
            from_env: true,
        },
        (None, None) => return Ok(None),
    };
    let url = endpoint_url(&endpoint, protocol)?;
    if let Some(f) = &ca
        && url.scheme() != "https"
    {
        return Err(field(
            f.field,
            format!("a CA file needs an https:// endpoint, not `{url}`"),
        ));
    }
    Ok(Some(OtlpConfig {
        url,
        protocol,
        headers,
        timeout,
        interval,
        temporality,
        ca_pem,
        queue_points: queue_points as usize,
        resource,
    }))
}

#[cfg(test)]
#[path = "settings_test.rs"]
mod tests;
