//! HTTP: /metrics (OpenMetrics text), /healthz (the process serves), /readyz (the
//! syscall programs are attached and collecting).
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::collect::Collector;

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub fn router(collector: Arc<Collector>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(collector)
}

async fn metrics(State(c): State<Arc<Collector>>) -> Response {
    // Map reads are blocking syscalls: keep them off the async workers.
    match tokio::task::spawn_blocking(move || crate::export::prometheus::scrape(&c)).await {
        Ok(Ok(text)) => ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response(),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "encoding failed\n").into_response(),
    }
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
