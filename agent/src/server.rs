//! HTTP: /metrics (OpenMetrics or Prometheus text, gzip when asked for), /healthz (the process serves), /readyz (the
//! syscall programs are attached and collecting), and the bench API:
//! GET /api/v1/bench/latest (the newest results document, 404 without one) and
//! POST /api/v1/bench/run?quick=true&bench=a,b (run the suite now, store and return it;
//! 409 while a run is in progress).
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::collect::Collector;

const JSON: &str = "application/json";

pub fn router(collector: Arc<Collector>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/api/v1/bench/latest", get(bench_latest))
        .route("/api/v1/bench/run", post(bench_run))
        .with_state(collector)
        // gzip for clients that accept it (Prometheus does): /metrics shrinks about tenfold
        .layer(tower_http::compression::CompressionLayer::new())
}

async fn metrics(State(c): State<Arc<Collector>>, headers: HeaderMap) -> Response {
    use crate::export::prometheus::{Format, scrape};
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    // A few chunks in flight: the exposition is never held whole, and a slow scraper
    // holds back the encoder instead of growing a buffer.
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
    let on_failure = tx.clone();
    // Map reads are blocking syscalls: keep them off the async workers.
    let encoding = tokio::task::spawn_blocking(move || {
        scrape(&c, format, |chunk| {
            tx.blocking_send(Ok(Bytes::from(chunk))).is_ok()
        })
    });
    // An encoding that fails part-way must not end the body as if it were whole (a
    // truncated text exposition would parse as fewer series): the stream ends in an
    // error, which aborts the response.
    tokio::spawn(async move {
        if encoding.await.is_err() {
            let _ = on_failure
                .send(Err(std::io::Error::other("encoding /metrics failed")))
                .await;
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    ([(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

async fn ready(State(c): State<Arc<Collector>>) -> Response {
    if c.ready() {
        "ready\n".into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "syscall tracing is not attached; see `agent check`\n",
        )
            .into_response()
    }
}

fn json(doc: &crate::bench::schema::Results) -> Response {
    match serde_json::to_string(doc) {
        Ok(s) => ([(header::CONTENT_TYPE, JSON)], s).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

async fn bench_latest(State(c): State<Arc<Collector>>) -> Response {
    let Some(latest) = c.bench().cloned() else {
        return (StatusCode::NOT_FOUND, "bench results are not served\n").into_response();
    };
    match tokio::task::spawn_blocking(move || latest.get()).await {
        Ok(Some(r)) => json(&r),
        _ => (
            StatusCode::NOT_FOUND,
            "no bench results yet: run `agent bench run` on this node or POST /api/v1/bench/run\n",
        )
            .into_response(),
    }
}

#[derive(Debug, serde::Deserialize)]
struct RunQuery {
    #[serde(default)]
    quick: bool,
    #[serde(default)]
    bench: Option<String>,
}

async fn bench_run(State(c): State<Arc<Collector>>, q: Query<RunQuery>) -> Response {
    let Some(latest) = c.bench().cloned() else {
        return (StatusCode::NOT_FOUND, "bench results are not served\n").into_response();
    };
    let Ok(_guard) = latest.running.try_lock() else {
        return (StatusCode::CONFLICT, "a bench run is already in progress\n").into_response();
    };
    let names: Vec<String> = q
        .bench
        .as_deref()
        .map(|s| s.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let defs = match crate::bench::suite::select(&names) {
        Ok(d) => d,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    };
    let quick = q.quick;
    let l = Arc::clone(&latest);
    let result = tokio::task::spawn_blocking(move || {
        let opts = crate::bench::runner::Options {
            quick,
            repetitions: if quick { 5 } else { 9 },
            warmup: 1,
            rounds: 1,
            pause: std::time::Duration::ZERO,
            order_seed: crate::bench::runner::clock_seed(),
            pin: None,
            host: crate::bench::host::read(&l.host_root)?,
        };
        let mut r = crate::bench::runner::run(&defs, &opts, crate::bench::runner::Progress::Quiet)?;
        r.calibration = crate::bench::calibration::find(&l.dir, &r);
        r.save(&l.dir)?;
        anyhow::Ok(r)
    })
    .await;
    match result {
        Ok(Ok(r)) => json(&r),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("bench run failed: {}\n", crate::errors::chain(e.as_ref())),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}
