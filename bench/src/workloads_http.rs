//! HTTP over loopback: an axum `/ping` server and a built-in client at concurrency 200,
//! the shape of `ab -n … -c 200 -k` against a ping endpoint, with latency percentiles.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use super::suite::{Ctx, Prepared, Rep, ok};

pub const CONCURRENCY: usize = 200;

pub fn ping(ctx: &Ctx) -> Prepared {
    let requests: usize = if ctx.quick { 2_000 } else { 20_000 };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the HTTP benchmark's runtime")?;
    let addr = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = axum::Router::new().route("/ping", axum::routing::get(|| async { "pong" }));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        anyhow::Ok(addr)
    })?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        // the connections wait while the other benchmarks of a pass run
        .pool_idle_timeout(None)
        .build()
        .context("HTTP client")?;
    let url = format!("http://{addr}/ping");
    // Open the pool's connections before the first repetition: a tenth of the requests, at
    // full concurrency.
    rt.block_on(drive(&client, &url, requests / 10))
        .context("warming up the HTTP benchmark")?;
    ok(
        move || {
            let t = Instant::now();
            let mut lat = rt.block_on(drive(&client, &url, requests))?;
            let secs = t.elapsed().as_secs_f64();
            lat.sort_by(f64::total_cmp);
            let pct = |q: f64| super::stats::quantile(&lat, q);
            Ok(Rep {
                values: vec![requests as f64 / secs, pct(0.50), pct(0.99)],
                ops: requests as f64,
            })
        },
        &[
            ("requests", json!(requests)),
            ("concurrency", json!(CONCURRENCY)),
            ("keep_alive", json!(true)),
        ],
    )
}

/// `requests` GETs of `url` from CONCURRENCY tasks sharing one client; each one's latency
/// in microseconds.
async fn drive(client: &reqwest::Client, url: &str, requests: usize) -> anyhow::Result<Vec<f64>> {
    let left = Arc::new(AtomicUsize::new(requests));
    let mut tasks = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        let (client, url, left) = (client.clone(), url.to_string(), Arc::clone(&left));
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                let t = Instant::now();
                let r = client.get(&url).send().await?;
                anyhow::ensure!(r.status() == 200, "GET /ping: {}", r.status());
                anyhow::ensure!(r.bytes().await? == "pong", "GET /ping: wrong body");
                mine.push(t.elapsed().as_secs_f64() * 1e6);
            }
            anyhow::Ok(mine)
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}
