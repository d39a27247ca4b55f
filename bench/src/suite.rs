//! The suite: named, versioned workloads. Each prepares its buffers once (outside the
//! measurement) and returns a closure that runs one repetition and reports its values, one
//! per metric it declares, with the number of operations it did (for counters per op).
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use serde_json::json;

/// Bumped when a workload is added or removed; each workload has its own version too.
pub const SUITE_VERSION: &str = "1";

/// What one repetition measured.
pub struct Rep {
    /// One value per entry of [`Def::metrics`].
    pub values: Vec<f64>,
    /// Operations done (syscalls, loads, bytes…), the denominator of counters per op.
    pub ops: f64,
}

pub type RunOnce = Box<dyn FnMut() -> anyhow::Result<Rep>>;

/// A prepared workload: one repetition, and the parameters that define it.
pub type Prepared = anyhow::Result<(RunOnce, BTreeMap<String, serde_json::Value>)>;

pub struct Metric {
    /// Name of the benchmark record; the workload's name for its first metric.
    pub name: &'static str,
    pub unit: &'static str,
    pub higher_is_better: bool,
}

pub struct Def {
    pub name: &'static str,
    pub version: u32,
    pub category: &'static str,
    pub description: &'static str,
    /// What one operation is, for the counters per operation.
    pub op: &'static str,
    pub metrics: &'static [Metric],
    pub prepare: fn(&Ctx) -> Prepared,
}

/// What sizes the workloads: `--quick`, and the last-level cache they must outgrow.
pub struct Ctx {
    pub quick: bool,
    pub llc_bytes: u64,
}

impl Ctx {
    fn scale(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }

    /// Buffers for the memory workloads: 4× the last-level cache (2× with --quick), and at
    /// least 64 MiB (16 MiB).
    pub fn memory_bytes(&self) -> usize {
        let llc = usize::try_from(self.llc_bytes).unwrap_or(0);
        let (times, floor) = if self.quick {
            (2, 16 << 20)
        } else {
            (4, 64 << 20)
        };
        (llc * times).max(floor)
    }
}

const fn metric(name: &'static str, unit: &'static str, higher_is_better: bool) -> Metric {
    Metric {
        name,
        unit,
        higher_is_better,
    }
}

pub const SUITE: &[Def] = &[
    Def {
        name: "syscall.getppid",
        version: 1,
        category: "kernel",
        description: "getppid(2) round trip into the kernel and back",
        op: "syscall",
        metrics: &[metric("syscall.getppid", "ns/op", false)],
        prepare: super::workloads_os::getppid,
    },
    Def {
        name: "context_switch.pipe",
        version: 1,
        category: "kernel",
        description: "one byte back and forth over two pipes between two threads (two switches per round trip)",
        op: "round trip",
        metrics: &[metric("context_switch.pipe", "ns/op", false)],
        prepare: super::workloads_os::pipe_pingpong,
    },
    Def {
        name: "process.spawn",
        version: 1,
        category: "kernel",
        description: "fork + exec of the agent binary (exits at once) + waitpid",
        op: "spawn",
        metrics: &[metric("process.spawn", "us/op", false)],
        prepare: super::workloads_os::spawn,
    },
    Def {
        name: "memory.read",
        version: 1,
        category: "memory",
        description: "sum of a buffer past the last-level cache, 8-byte loads",
        op: "byte",
        metrics: &[metric("memory.read", "GB/s", true)],
        prepare: memory_read,
    },
    Def {
        name: "memory.write",
        version: 1,
        category: "memory",
        description: "fill of a buffer past the last-level cache",
        op: "byte",
        metrics: &[metric("memory.write", "GB/s", true)],
        prepare: memory_write,
    },
    Def {
        name: "memory.copy",
        version: 1,
        category: "memory",
        description: "copy between two buffers past the last-level cache (bytes copied)",
        op: "byte",
        metrics: &[metric("memory.copy", "GB/s", true)],
        prepare: memory_copy,
    },
    Def {
        name: "memory.latency",
        version: 1,
        category: "memory",
        description: "dependent loads along a random cycle of cache lines past the last-level cache",
        op: "load",
        metrics: &[metric("memory.latency", "ns/load", false)],
        prepare: memory_latency,
    },
    Def {
        name: "compute.int",
        version: 1,
        category: "compute",
        description: "64-bit integer mix: xorshift, multiply, divide, popcount",
        op: "iteration",
        metrics: &[metric("compute.int", "Miter/s", true)],
        prepare: compute_int,
    },
    Def {
        name: "compute.float",
        version: 1,
        category: "compute",
        description: "double-precision Mandelbrot set, inner iterations",
        op: "iteration",
        metrics: &[metric("compute.float", "Miter/s", true)],
        prepare: compute_float,
    },
    Def {
        name: "hash.sha256",
        version: 1,
        category: "crypto",
        description: "SHA-256 (crate sha2, with the CPU's SHA extensions where present)",
        op: "byte",
        metrics: &[metric("hash.sha256", "MB/s", true)],
        prepare: super::workloads_lib::sha256,
    },
    Def {
        name: "compress.deflate",
        version: 1,
        category: "compression",
        description: "deflate level 6 (crate flate2, miniz_oxide) of generated text",
        op: "byte",
        metrics: &[metric("compress.deflate", "MB/s", true)],
        prepare: super::workloads_lib::deflate,
    },
    Def {
        name: "compress.inflate",
        version: 1,
        category: "compression",
        description: "inflate of the same text (crate flate2, miniz_oxide), output bytes",
        op: "byte",
        metrics: &[metric("compress.inflate", "MB/s", true)],
        prepare: super::workloads_lib::inflate,
    },
    Def {
        name: "net.tcp_loopback",
        version: 1,
        category: "network",
        description: "TCP over 127.0.0.1, one stream, 64 KiB writes",
        op: "byte",
        metrics: &[metric("net.tcp_loopback", "Gbit/s", true)],
        prepare: super::workloads_os::tcp_loopback,
    },
    Def {
        name: "http.ping",
        version: 1,
        category: "network",
        description: "HTTP/1.1 GET /ping against an axum server on loopback, keep-alive, concurrency 200 (like `ab -c 200 -k`)",
        op: "request",
        metrics: &[
            metric("http.ping", "req/s", true),
            metric("http.ping.p50", "us", false),
            metric("http.ping.p99", "us", false),
        ],
        prepare: super::workloads_http::ping,
    },
];

/// Workloads by name or by the prefix before the dot (`memory` selects all four).
pub fn select(names: &[String]) -> Result<Vec<&'static Def>, String> {
    if names.is_empty() {
        return Ok(SUITE.iter().collect());
    }
    let mut out: Vec<&'static Def> = Vec::new();
    for n in names {
        let found: Vec<&Def> = SUITE
            .iter()
            .filter(|d| d.name == n || d.category == n || d.name.split('.').next() == Some(n))
            .collect();
        if found.is_empty() {
            let all: Vec<&str> = SUITE.iter().map(|d| d.name).collect();
            return Err(format!(
                "bench: no benchmark `{n}` (known: {})",
                all.join(", ")
            ));
        }
        for d in found {
            if !out.iter().any(|o| o.name == d.name) {
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// Deterministic pseudo-random bytes (xorshift64*), for buffers and permutations.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn params(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), v.clone()))
        .collect()
}

pub(super) fn ok(
    f: impl FnMut() -> anyhow::Result<Rep> + 'static,
    p: &[(&str, serde_json::Value)],
) -> Prepared {
    Ok((Box::new(f), params(p)))
}

fn gbps(bytes: f64, secs: f64) -> f64 {
    bytes / secs / 1e9
}

fn memory_read(ctx: &Ctx) -> Prepared {
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

fn memory_write(ctx: &Ctx) -> Prepared {
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

fn memory_copy(ctx: &Ctx) -> Prepared {
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

fn memory_latency(ctx: &Ctx) -> Prepared {
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

fn compute_int(ctx: &Ctx) -> Prepared {
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

fn compute_float(ctx: &Ctx) -> Prepared {
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
