//! The suite: named, versioned workloads. Each prepares its buffers once (outside the
//! measurement) and returns a closure that runs one repetition and reports its values, one
//! per metric it declares, with the number of operations it did (for counters per op).
use std::collections::BTreeMap;

use super::workloads_cpu;

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
    /// Whether its prepared state stays for the whole round. Workloads that hold buffers
    /// of 64 MiB and more (the memory ones: 4× the last-level cache) are prepared afresh
    /// for each repetition instead, so that an interleaved run holds one of them at a time,
    /// as a sequential run did, and each repetition gets fresh pages.
    pub resident: bool,
}

/// What sizes the workloads: `--quick`, and the last-level cache they must outgrow.
pub struct Ctx {
    pub quick: bool,
    pub llc_bytes: u64,
}

impl Ctx {
    pub(super) fn scale(&self, full: usize, quick: usize) -> usize {
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
        resident: true,
        prepare: super::workloads_os::getppid,
    },
    Def {
        name: "context_switch.pipe",
        version: 1,
        category: "kernel",
        description: "one byte back and forth over two pipes between two threads (two switches per round trip)",
        op: "round trip",
        metrics: &[metric("context_switch.pipe", "ns/op", false)],
        resident: true,
        prepare: super::workloads_os::pipe_pingpong,
    },
    Def {
        name: "process.spawn",
        version: 2,
        category: "kernel",
        description: "fork + exec of the agent binary (exits at once) + waitpid, from a fresh agent process (v2: the parent's size no longer depends on what ran before)",
        op: "spawn",
        metrics: &[metric("process.spawn", "us/op", false)],
        resident: true,
        prepare: super::workloads_os::spawn,
    },
    Def {
        name: "memory.read",
        version: 1,
        category: "memory",
        description: "sum of a buffer past the last-level cache, 8-byte loads",
        op: "byte",
        metrics: &[metric("memory.read", "GB/s", true)],
        resident: false,
        prepare: workloads_cpu::memory_read,
    },
    Def {
        name: "memory.write",
        version: 1,
        category: "memory",
        description: "fill of a buffer past the last-level cache",
        op: "byte",
        metrics: &[metric("memory.write", "GB/s", true)],
        resident: false,
        prepare: workloads_cpu::memory_write,
    },
    Def {
        name: "memory.copy",
        version: 1,
        category: "memory",
        description: "copy between two buffers past the last-level cache (bytes copied)",
        op: "byte",
        metrics: &[metric("memory.copy", "GB/s", true)],
        resident: false,
        prepare: workloads_cpu::memory_copy,
    },
    Def {
        name: "memory.latency",
        version: 1,
        category: "memory",
        description: "dependent loads along a random cycle of cache lines past the last-level cache",
        op: "load",
        metrics: &[metric("memory.latency", "ns/load", false)],
        resident: false,
        prepare: workloads_cpu::memory_latency,
    },
    Def {
        name: "compute.int",
        version: 1,
        category: "compute",
        description: "64-bit integer mix: xorshift, multiply, divide, popcount",
        op: "iteration",
        metrics: &[metric("compute.int", "Miter/s", true)],
        resident: true,
        prepare: workloads_cpu::compute_int,
    },
    Def {
        name: "compute.float",
        version: 1,
        category: "compute",
        description: "double-precision Mandelbrot set, inner iterations",
        op: "iteration",
        metrics: &[metric("compute.float", "Miter/s", true)],
        resident: true,
        prepare: workloads_cpu::compute_float,
    },
    Def {
        name: "hash.sha256",
        version: 1,
        category: "crypto",
        description: "SHA-256 (crate sha2, with the CPU's SHA extensions where present)",
        op: "byte",
        metrics: &[metric("hash.sha256", "MB/s", true)],
        resident: false,
        prepare: super::workloads_lib::sha256,
    },
    Def {
        name: "compress.deflate",
        version: 1,
        category: "compression",
        description: "deflate level 6 (crate flate2, miniz_oxide) of generated text",
        op: "byte",
        metrics: &[metric("compress.deflate", "MB/s", true)],
        resident: true,
        prepare: super::workloads_lib::deflate,
    },
    Def {
        name: "compress.inflate",
        version: 1,
        category: "compression",
        description: "inflate of the same text (crate flate2, miniz_oxide), output bytes",
        op: "byte",
        metrics: &[metric("compress.inflate", "MB/s", true)],
        resident: true,
        prepare: super::workloads_lib::inflate,
    },
    Def {
        name: "net.tcp_loopback",
        version: 1,
        category: "network",
        description: "TCP over 127.0.0.1, one stream, 64 KiB writes",
        op: "byte",
        metrics: &[metric("net.tcp_loopback", "Gbit/s", true)],
        resident: true,
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
        resident: true,
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
