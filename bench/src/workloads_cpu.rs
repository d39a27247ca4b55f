//! Workloads that measure the CPU and memory: bandwidth (read, write, copy), latency
//! (a dependent pointer chase) and integer and floating-point throughput.
use std::hint::black_box;
use std::time::Instant;

use serde_json::json;

use super::suite::{Ctx, Prepared, Rep, XorShift, ok};

fn gbps(bytes: f64, secs: f64) -> f64 {
    bytes / secs / 1e9
}

pub fn memory_read(ctx: &Ctx) -> Prepared {
    let bytes = ctx.memory_bytes();
    let passes = ctx.scale(4, 1);
    let buf: Vec<u64> = (0..bytes / 8).map(|i| i as u64).collect();
    ok(
        move || {
            let t = Instant::now();
            let mut acc = [0u64; 4];
            for _ in 0..passes {
                for c in black_box(&buf).chunks_exact(4) {
                    acc[0] = acc[0].wrapping_add(c[0]);
                    acc[1] = acc[1].wrapping_add(c[1]);
                    acc[2] = acc[2].wrapping_add(c[2]);
                    acc[3] = acc[3].wrapping_add(c[3]);
                }
            }
            black_box(acc);
            let total = (bytes * passes) as f64;
            Ok(Rep {
                values: vec![gbps(total, t.elapsed().as_secs_f64())],
                ops: total,
            })
        },
        &[("buffer_bytes", json!(bytes)), ("passes", json!(passes))],
    )
}

pub fn memory_write(ctx: &Ctx) -> Prepared {
    let bytes = ctx.memory_bytes();
    let passes = ctx.scale(4, 1);
    let mut buf = vec![1u8; bytes];
    let mut v = 0u8;
    ok(
        move || {
            let t = Instant::now();
            for _ in 0..passes {
                v = v.wrapping_add(1);
                black_box(&mut buf).fill(v);
            }
            black_box(&buf);
            let total = (bytes * passes) as f64;
            Ok(Rep {
                values: vec![gbps(total, t.elapsed().as_secs_f64())],
                ops: total,
            })
        },
        &[("buffer_bytes", json!(bytes)), ("passes", json!(passes))],
    )
}

pub fn memory_copy(ctx: &Ctx) -> Prepared {
    let bytes = ctx.memory_bytes() / 2;
    let passes = ctx.scale(4, 1);
    let src = vec![7u8; bytes];
    let mut dst = vec![1u8; bytes];
    ok(
        move || {
            let t = Instant::now();
            for _ in 0..passes {
                black_box(&mut dst).copy_from_slice(black_box(&src));
            }
            black_box(&dst);
            let total = (bytes * passes) as f64;
            Ok(Rep {
                values: vec![gbps(total, t.elapsed().as_secs_f64())],
                ops: total,
            })
        },
        &[("buffer_bytes", json!(bytes)), ("passes", json!(passes))],
    )
}

pub fn memory_latency(ctx: &Ctx) -> Prepared {
    const LINE: usize = 64 / 8; // u64 slots per cache line
    let bytes = ctx.memory_bytes();
    let lines = bytes / 64;
    let loads = ctx.scale(4_000_000, 400_000);
    // Sattolo's algorithm: a random permutation that is one cycle through every line.
    let mut order: Vec<usize> = (0..lines).collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for i in (1..lines).rev() {
        let j = (rng.next_u64() % i as u64) as usize;
        order.swap(i, j);
    }
    let mut next = vec![0u64; lines * LINE];
    for w in 0..lines {
        next[order[w] * LINE] = (order[(w + 1) % lines] * LINE) as u64;
    }
    ok(
        move || {
            let t = Instant::now();
            let mut p = 0usize;
            for _ in 0..loads {
                p = next[p] as usize;
            }
            black_box(p);
            Ok(Rep {
                values: vec![t.elapsed().as_nanos() as f64 / loads as f64],
                ops: loads as f64,
            })
        },
        &[
            ("buffer_bytes", json!(bytes)),
            ("stride_bytes", json!(64)),
            ("loads", json!(loads)),
        ],
    )
}

pub fn compute_int(ctx: &Ctx) -> Prepared {
    let iters = ctx.scale(50_000_000, 5_000_000);
    ok(
        move || {
            let t = Instant::now();
            let mut x = black_box(0x1234_5678_9ABC_DEF1u64);
            let mut acc = 0u64;
            for i in 0..iters as u64 {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                let y = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
                acc = acc.wrapping_add(y / (i | 1)) ^ u64::from(y.count_ones());
            }
            black_box(acc);
            Ok(Rep {
                values: vec![iters as f64 / t.elapsed().as_secs_f64() / 1e6],
                ops: iters as f64,
            })
        },
        &[("iterations", json!(iters))],
    )
}

pub fn compute_float(ctx: &Ctx) -> Prepared {
    let side = ctx.scale(384, 96);
    let max_iter = 256u32;
    ok(
        move || {
            let t = Instant::now();
            let mut total = 0u64;
            for py in 0..side {
                for px in 0..side {
                    let cr = black_box(-2.0 + 2.5 * px as f64 / side as f64);
                    let ci = black_box(-1.25 + 2.5 * py as f64 / side as f64);
                    let (mut zr, mut zi, mut n) = (0.0f64, 0.0f64, 0u32);
                    while n < max_iter && zr * zr + zi * zi <= 4.0 {
                        let t = zr * zr - zi * zi + cr;
                        zi = 2.0 * zr * zi + ci;
                        zr = t;
                        n += 1;
                    }
                    total += u64::from(n);
                }
            }
            black_box(total);
            Ok(Rep {
                values: vec![total as f64 / t.elapsed().as_secs_f64() / 1e6],
                ops: total as f64,
            })
        },
        &[("grid", json!(side)), ("max_iterations", json!(max_iter))],
    )
}
