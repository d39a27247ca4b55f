//! Reading each OTLP setting: where a value came from, and how its text is checked.
use std::time::Duration;

use reqwest::Url;

use super::kvlist;
use super::settings::Protocol;
use crate::errors::ConfigError;

/// One value and where it came from: the field an error names, and how to read it
/// (`OTEL_*` durations are milliseconds, ours are `30s`-style).
pub struct Found {
    pub field: &'static str,
    pub value: String,
    pub from_env: bool,
}

pub fn field(field: &'static str, msg: String) -> ConfigError {
    ConfigError::Field { field, msg }
}

/// `OTEL_METRICS_EXPORTER`: a comma list; does it ask for OTLP?
pub fn parse_exporters(list: &str) -> Result<bool, ConfigError> {
    let mut otlp = false;
    for name in list.split(',').map(str::trim) {
        match name {
            "otlp" => otlp = true,
            // /metrics is always served; `none` alone turns OTLP off
            "prometheus" | "none" => {}
            other => {
                return Err(field(
                    "OTEL_METRICS_EXPORTER",
                    format!("`{other}` is not `otlp`, `prometheus` or `none`"),
                ));
            }
        }
    }
    Ok(otlp)
}

pub fn duration(f: &Found) -> Result<Duration, ConfigError> {
    let v = f.value.trim();
    if f.from_env {
        // The specification's variables are whole milliseconds.
        v.parse::<u64>().map(Duration::from_millis).map_err(|_| {
            field(
                f.field,
                format!("`{v}` is not a whole number of milliseconds"),
            )
        })
    } else {
        humantime::parse_duration(v)
            .map_err(|e| field(f.field, format!("`{v}`: {e} (e.g. 10s, 500ms)")))
    }
}

/// The URL requests go to. A base endpoint (flag, file, `OTEL_EXPORTER_OTLP_ENDPOINT`) gets
/// `/v1/metrics` appended for HTTP; the signal-specific variable is used as it is. gRPC uses
/// the origin only.
pub fn endpoint_url(f: &Found, protocol: Protocol) -> Result<Url, ConfigError> {
    let raw = f.value.trim();
    let bad = |why: &str| {
        field(
            f.field,
            format!("`{raw}` is not an endpoint URL: {why} (e.g. http://collector:4318)"),
        )
    };
    let mut url = Url::parse(raw).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("no query or fragment allowed"));
    }
    match protocol {
        Protocol::Grpc => url.set_path(""),
        Protocol::HttpProtobuf if f.field != "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT" => {
            let path = format!("{}/v1/metrics", url.path().trim_end_matches('/'));
            url.set_path(&path);
        }
        Protocol::HttpProtobuf => {}
    }
    Ok(url)
}

/// Headers in the `OTEL_EXPORTER_OTLP_HEADERS` form, checked as HTTP header names and
/// values (gRPC metadata takes the same).
pub fn parse_headers(s: &str) -> Result<Vec<(String, String)>, String> {
    let pairs = kvlist::parse(s)?;
    for (k, v) in &pairs {
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| format!("`{k}` is not a valid header name"))?;
        if name.as_str().ends_with("-bin") {
            return Err(format!("`{k}`: binary (-bin) metadata is not supported"));
        }
        reqwest::header::HeaderValue::from_str(v)
            .map_err(|_| format!("the value of `{k}` is not a valid header value"))?;
    }
    Ok(pairs
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect())
}

pub fn read_ca(f: &Found) -> Result<Vec<u8>, ConfigError> {
    let pem = std::fs::read(f.value.trim())
        .map_err(|e| field(f.field, format!("{}: {e}", f.value.trim())))?;
    match reqwest::Certificate::from_pem_bundle(&pem) {
        Ok(certs) if !certs.is_empty() => Ok(pem),
        _ => Err(field(
            f.field,
            format!("{}: no PEM certificate in it", f.value.trim()),
        )),
    }
}
