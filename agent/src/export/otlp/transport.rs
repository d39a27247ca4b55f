//! Sending one request: OTLP/gRPC over tonic's channel or OTLP/HTTP protobuf over
//! reqwest, both rustls, with the configured headers and CA. Errors are sorted as the
//! OTLP specification sorts them: retryable (unreachable, throttled, timed out) or not.
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse;
use prost::Message;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use tonic::client::Grpc;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use super::settings::{OtlpConfig, Protocol};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth another try after a backoff (or the receiver's Retry-After).
    #[error("{msg}")]
    Retryable {
        msg: String,
        after: Option<Duration>,
    },
    /// The receiver refused this data; trying it again cannot help.
    #[error("{0}")]
    Permanent(String),
}

/// The receiver took the request; it may still have refused some points.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Accepted {
    pub rejected_points: u64,
}

#[derive(Debug, Clone)]
pub enum Transport {
    Grpc {
        client: Grpc<Channel>,
        headers: HeaderMap,
    },
    Http {
        client: reqwest::Client,
        url: reqwest::Url,
        headers: HeaderMap,
    },
}

impl Transport {
    /// Build the client. Nothing is dialled here: the receiver may be down at start-up.
    /// Must run inside the tokio runtime (the gRPC channel spawns its worker).
    pub fn new(cfg: &OtlpConfig) -> Result<Transport, String> {
        let mut headers = HeaderMap::new();
        for (k, v) in &cfg.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| format!("{k}: {e}"))?;
            let value = HeaderValue::from_str(v).map_err(|e| format!("{k}: {e}"))?;
            headers.append(name, value);
        }
        match cfg.protocol {
            Protocol::Grpc => {
                let mut ep =
                    Endpoint::from_shared(cfg.url.as_str().trim_end_matches('/').to_string())
                        .map_err(|e| format!("{}: {e}", cfg.url))?
                        .connect_timeout(cfg.timeout)
                        .timeout(cfg.timeout);
                if cfg.url.scheme() == "https" {
                    let tls = match &cfg.ca_pem {
                        Some(pem) => {
                            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
                        }
                        None => ClientTlsConfig::new().with_native_roots(),
                    };
                    ep = ep.tls_config(tls).map_err(|e| format!("TLS: {e}"))?;
                }
                let client = Grpc::new(ep.connect_lazy());
                Ok(Transport::Grpc { client, headers })
            }
            Protocol::HttpProtobuf => {
                let mut b = reqwest::Client::builder()
                    .use_rustls_tls()
                    .timeout(cfg.timeout)
                    .connect_timeout(cfg.timeout)
                    .redirect(reqwest::redirect::Policy::none());
                if let Some(pem) = &cfg.ca_pem {
                    b = b.tls_built_in_root_certs(false);
                    for c in
                        reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?
                    {
                        b = b.add_root_certificate(c);
                    }
                }
                let client = b.build().map_err(|e| format!("HTTP client: {e}"))?;
                let url = cfg.url.clone();
                Ok(Transport::Http {
                    client,
                    url,
                    headers,
                })
            }
        }
    }

    /// Send one encoded `ExportMetricsServiceRequest`.
    pub async fn send(&self, body: &Bytes) -> Result<Accepted, SendError> {
        match self {
            Transport::Grpc { client, headers } => {
                let mut request = tonic::Request::new(body.clone());
                *request.metadata_mut() =
                    tonic::metadata::MetadataMap::from_headers(headers.clone());
                match export(client.clone(), request).await {
                    Ok(resp) => Ok(accepted(resp.get_ref())),
                    Err(status) => Err(grpc_error(&status)),
                }
            }
            Transport::Http {
                client,
                url,
                headers,
            } => {
                let resp = client
                    .post(url.clone())
                    .headers(headers.clone())
                    .header(CONTENT_TYPE, "application/x-protobuf")
                    .body(body.clone())
                    .send()
                    .await
                    .map_err(|e| SendError::Retryable {
                        msg: crate::errors::chain(&e),
                        after: None,
                    })?;
                let status = resp.status();
                let after = resp
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body = resp.bytes().await.unwrap_or_default();
                if status.is_success() {
                    // an empty body is a full success
                    let r = ExportMetricsServiceResponse::decode(body).unwrap_or_default();
                    return Ok(accepted(&r));
                }
                let msg = format!("HTTP {status}");
                // the retryable statuses of the OTLP/HTTP specification
                if matches!(status.as_u16(), 429 | 502 | 503 | 504) {
                    Err(SendError::Retryable { msg, after })
                } else {
                    Err(SendError::Permanent(msg))
                }
            }
        }
    }
}

/// The Export call of OTLP's MetricsService, as its generated client makes it, but with
/// the request already encoded: a retry resends the same bytes.
async fn export(
    mut client: Grpc<Channel>,
    request: tonic::Request<Bytes>,
) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
    client
        .ready()
        .await
        .map_err(|e| tonic::Status::unknown(format!("Service was not ready: {e}")))?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    );
    client.unary(request, path, Encoded).await
}

/// A gRPC codec that writes bytes already encoded and decodes the Export response.
#[derive(Debug, Clone, Copy, Default)]
struct Encoded;

impl tonic::codec::Codec for Encoded {
    type Encode = Bytes;
    type Decode = ExportMetricsServiceResponse;
    type Encoder = Encoded;
    type Decoder = Encoded;

    fn encoder(&mut self) -> Encoded {
        Encoded
    }

    fn decoder(&mut self) -> Encoded {
        Encoded
    }
}

impl tonic::codec::Encoder for Encoded {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for Encoded {
    type Item = ExportMetricsServiceResponse;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<ExportMetricsServiceResponse>, tonic::Status> {
        ExportMetricsServiceResponse::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(format!("decoding the response: {e}")))
    }
}

fn accepted(r: &ExportMetricsServiceResponse) -> Accepted {
    let rejected = r
        .partial_success
        .as_ref()
        .map_or(0, |p| p.rejected_data_points);
    Accepted {
        rejected_points: u64::try_from(rejected).unwrap_or(0),
    }
}

/// The retryable codes of the OTLP/gRPC specification.
fn grpc_error(s: &tonic::Status) -> SendError {
    use tonic::Code;
    let msg = format!("gRPC {:?}: {}", s.code(), s.message());
    match s.code() {
        Code::Cancelled
        | Code::DeadlineExceeded
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::OutOfRange
        | Code::Unavailable
        | Code::DataLoss
        // tonic reports a channel that cannot connect as Unknown ("not ready")
        | Code::Unknown => SendError::Retryable { msg, after: None },
        _ => SendError::Permanent(msg),
    }
}
