//! A real OTLP metrics receiver for the integration tests, built on the protocol
//! definitions of `opentelemetry-proto`: OTLP/gRPC (tonic) and OTLP/HTTP protobuf (axum
//! at `/v1/metrics`), optionally over TLS. Every request it takes is printed on stdout as
//! one JSON line of flattened data points (see `archscope_tests::otlp_receiver`).
//!
//! `archscope-otlp-receiver --grpc ADDR --http ADDR [--mode ok|hang|reject]
//!  [--tls-cert PEM --tls-key PEM]`; prints `ready grpc=ADDR http=ADDR` first.
//! `hang` takes requests and never answers; `reject` answers UNAVAILABLE / 503.
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;

use archscope_tests::otlp_receiver::{flatten, tls};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Ok,
    Hang,
    Reject,
}

struct Args {
    grpc: SocketAddr,
    http: SocketAddr,
    mode: Mode,
    tls: Option<(String, String)>,
}

fn args() -> anyhow::Result<Args> {
    let mut grpc = None;
    let mut http = None;
    let mut mode = Mode::Ok;
    let (mut cert, mut key) = (None, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut val = || it.next().with_context(|| format!("{a} needs a value"));
        match a.as_str() {
            "--grpc" => grpc = Some(val()?.parse()?),
            "--http" => http = Some(val()?.parse()?),
            "--tls-cert" => cert = Some(val()?),
            "--tls-key" => key = Some(val()?),
            "--mode" => {
                mode = match val()?.as_str() {
                    "ok" => Mode::Ok,
                    "hang" => Mode::Hang,
                    "reject" => Mode::Reject,
                    m => bail!("unknown mode {m}"),
                }
            }
            _ => bail!("unknown argument {a}"),
        }
    }
    let any = || SocketAddr::from(([127, 0, 0, 1], 0));
    Ok(Args {
        grpc: grpc.unwrap_or_else(any),
        http: http.unwrap_or_else(any),
        mode,
        tls: cert.zip(key),
    })
}

/// Print one received request.
fn record(transport: &str, headers: &HeaderMap, req: &ExportMetricsServiceRequest) {
    print_line(flatten::request(transport, headers, req).to_string());
}

/// In `hang` mode: note that a request came, then never answer it.
async fn hang(transport: &str) -> ! {
    print_line(serde_json::json!({"transport": transport, "hung": true}).to_string());
    std::future::pending().await
}

fn print_line(line: String) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

struct Grpc(Mode);

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        match self.0 {
            Mode::Hang => hang("grpc").await,
            Mode::Reject => Err(tonic::Status::unavailable("receiver is rejecting")),
            Mode::Ok => {
                let headers = request.metadata().clone().into_headers();
                record("grpc", &headers, request.get_ref());
                Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
            }
        }
    }
}

async fn http_export(mode: Mode, headers: HeaderMap, body: Bytes) -> (StatusCode, Vec<u8>) {
    match mode {
        Mode::Hang => hang("http").await,
        Mode::Reject => (StatusCode::SERVICE_UNAVAILABLE, Vec::new()),
        Mode::Ok => match ExportMetricsServiceRequest::decode(body) {
            Ok(req) => {
                record("http", &headers, &req);
                let resp = ExportMetricsServiceResponse::default();
                (StatusCode::OK, resp.encode_to_vec())
            }
            Err(_) => (StatusCode::BAD_REQUEST, Vec::new()),
        },
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let grpc = tokio::net::TcpListener::bind(a.grpc).await?;
    let http = tokio::net::TcpListener::bind(a.http).await?;
    println!(
        "ready grpc={} http={}",
        grpc.local_addr()?,
        http.local_addr()?
    );
    let mut server = tonic::transport::Server::builder();
    let tls = match &a.tls {
        Some((cert, key)) => Some(tls::Pem::read(cert, key)?),
        None => None,
    };
    if let Some(pem) = &tls {
        server = server.tls_config(pem.grpc())?;
    }
    let grpc_task = server
        .add_service(MetricsServiceServer::new(Grpc(a.mode)))
        .serve_with_incoming(tonic::transport::server::TcpIncoming::from(grpc));
    let mode = a.mode;
    let router = axum::Router::new().route(
        "/v1/metrics",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            http_export(mode, headers, body)
        }),
    );
    let http_task = async move {
        match &tls {
            Some(pem) => {
                let listener = tls::Listener::new(http, Arc::new(pem.rustls()?));
                axum::serve(listener, router).await?;
            }
            None => axum::serve(http, router).await?,
        }
        anyhow::Ok(())
    };
    tokio::select! {
        r = grpc_task => r.context("gRPC server")?,
        r = http_task => r.context("HTTP server")?,
    }
    Ok(())
}
