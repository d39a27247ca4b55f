//! Workloads from real crates: SHA-256 (sha2) and deflate/inflate (flate2 on miniz_oxide).
use std::io::Write;
use std::time::Instant;

use serde_json::json;
use sha2::Digest;

use super::suite::{Ctx, Prepared, Rep, XorShift, ok};

pub fn sha256(ctx: &Ctx) -> Prepared {
    let bytes: usize = if ctx.quick { 8 << 20 } else { 64 << 20 };
    let mut rng = XorShift(0xA076_1D64_78BD_642F);
    let data: Vec<u8> = (0..bytes / 8)
        .flat_map(|_| rng.next_u64().to_le_bytes())
        .collect();
    ok(
        move || {
            let t = Instant::now();
            let digest = sha2::Sha256::digest(std::hint::black_box(&data));
            std::hint::black_box(digest);
            Ok(Rep {
                values: vec![bytes as f64 / t.elapsed().as_secs_f64() / 1e6],
                ops: bytes as f64,
            })
        },
        &[("bytes", json!(bytes))],
    )
}

/// Text-like input that compresses about 3:1: words from a small vocabulary in a
/// seeded random order.
pub fn text(bytes: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the",
        "kernel",
        "scheduler",
        "cache",
        "memory",
        "arm64",
        "loongarch",
        "x86",
        "pod",
        "container",
        "syscall",
        "latency",
        "throughput",
        "node",
        "cluster",
        "request",
        "response",
        "compression",
        "benchmark",
        "sunway",
        "kunpeng",
        "phytium",
        "page",
        "thread",
        "process",
        "socket",
        "buffer",
        "queue",
        "interrupt",
        "counter",
        "0",
        "1",
        "42",
        "1024",
        "65536",
        "error",
        "ok",
        "GET",
        "/ping",
        "200",
    ];
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let mut out = Vec::with_capacity(bytes + 16);
    while out.len() < bytes {
        let r = rng.next_u64();
        out.extend_from_slice(WORDS[(r % WORDS.len() as u64) as usize].as_bytes());
        out.push(if r >> 60 == 0 { b'\n' } else { b' ' });
    }
    out.truncate(bytes);
    out
}

fn compress(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::DeflateEncoder::new(
        Vec::with_capacity(data.len() / 2),
        flate2::Compression::new(6),
    );
    enc.write_all(data)?;
    enc.finish()
}

pub fn deflate(ctx: &Ctx) -> Prepared {
    let bytes: usize = if ctx.quick { 2 << 20 } else { 16 << 20 };
    let data = text(bytes);
    let ratio = data.len() as f64 / compress(&data)?.len() as f64;
    ok(
        move || {
            let t = Instant::now();
            let out = compress(std::hint::black_box(&data))?;
            std::hint::black_box(out);
            Ok(Rep {
                values: vec![bytes as f64 / t.elapsed().as_secs_f64() / 1e6],
                ops: bytes as f64,
            })
        },
        &[
            ("bytes", json!(bytes)),
            ("level", json!(6)),
            ("ratio", json!((ratio * 100.0).round() / 100.0)),
        ],
    )
}

pub fn inflate(ctx: &Ctx) -> Prepared {
    let bytes: usize = if ctx.quick { 2 << 20 } else { 16 << 20 };
    let packed = compress(&text(bytes))?;
    ok(
        move || {
            let t = Instant::now();
            let mut dec = flate2::write::DeflateDecoder::new(Vec::with_capacity(bytes));
            dec.write_all(std::hint::black_box(&packed))?;
            let out = dec.finish()?;
            let secs = t.elapsed().as_secs_f64();
            anyhow::ensure!(out.len() == bytes, "inflate gave {} bytes", out.len());
            Ok(Rep {
                values: vec![bytes as f64 / secs / 1e6],
                ops: bytes as f64,
            })
        },
        &[("bytes", json!(bytes))],
    )
}
