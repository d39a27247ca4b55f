//! Hardware counters around each benchmark's measured repetitions (perf-event). Each event
//! is opened on its own, inherited by the threads and children the workload starts, user
//! and kernel when allowed. An event the PMU does not offer is reported unavailable with
//! the reason, never as zero: here (a VM without a PMU) that is every one of them; on
//! arm64 under qemu `-cpu max`, cycles count and instructions do not.
use std::collections::BTreeMap;

use perf_event::events::Hardware;
use perf_event::{Builder, Counter};

use super::schema::Pmu;

const EVENTS: &[(&str, Hardware)] = &[
    ("cycles", Hardware::CPU_CYCLES),
    ("instructions", Hardware::INSTRUCTIONS),
    ("cache_references", Hardware::CACHE_REFERENCES),
    ("cache_misses", Hardware::CACHE_MISSES),
    ("branch_misses", Hardware::BRANCH_MISSES),
];

/// One set of events for the whole run: each repetition's counts go to its benchmark's
/// [`Tally`]. One set, not one per benchmark, so that a process the workload forks
/// (process.spawn) inherits five events whatever else the run selected.
pub struct Counters {
    open: Vec<(&'static str, Counter)>,
    unavailable: BTreeMap<String, String>,
}

/// A benchmark's counts over the repetitions measured so far, scaled for multiplexing.
#[derive(Default)]
pub struct Tally {
    totals: BTreeMap<&'static str, f64>,
    ops: f64,
}

fn open(kind: Hardware, kernel: bool) -> std::io::Result<Counter> {
    let mut b = Builder::new().kind(kind);
    b.inherit(true).exclude_kernel(!kernel).exclude_hv(true);
    b.build()
}

/// Why an event failed to open, as a person would say it.
fn reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOENT) => format!("the PMU does not offer this event ({e})"),
        Some(libc::ENODEV) | Some(libc::EOPNOTSUPP) => format!("no hardware PMU here ({e})"),
        Some(libc::EACCES) | Some(libc::EPERM) => {
            format!("not permitted: needs CAP_PERFMON or perf_event_paranoid <= 2 ({e})")
        }
        _ => e.to_string(),
    }
}

impl Counters {
    pub fn open() -> Counters {
        let mut c = Counters {
            open: Vec::new(),
            unavailable: BTreeMap::new(),
        };
        for (name, kind) in EVENTS {
            match open(*kind, true).or_else(|_| open(*kind, false)) {
                Ok(counter) => c.open.push((name, counter)),
                Err(e) => {
                    c.unavailable.insert((*name).into(), reason(&e));
                }
            }
        }
        c
    }

    /// Start counting one repetition.
    pub fn start(&mut self) {
        for (_, c) in &mut self.open {
            let _ = c.reset();
            let _ = c.enable();
        }
    }

    /// Stop counting; add this repetition's counts and operations to `tally`. An event
    /// that fails to read is unavailable from then on, for every benchmark.
    pub fn stop(&mut self, tally: &mut Tally, ops: f64) {
        for (_, c) in &mut self.open {
            let _ = c.disable();
        }
        tally.ops += ops;
        let mut failed = Vec::new();
        for (name, c) in &mut self.open {
            match c.read_count_and_time() {
                Ok(ct) if ct.time_running > 0 => {
                    let scale = ct.time_enabled as f64 / ct.time_running as f64;
                    *tally.totals.entry(name).or_default() += ct.count as f64 * scale;
                }
                Ok(_) => failed.push((
                    *name,
                    "never scheduled on the PMU (multiplexed out)".to_string(),
                )),
                Err(e) => failed.push((*name, format!("read failed: {e}"))),
            }
        }
        for (name, why) in failed {
            self.open.retain(|(n, _)| *n != name);
            self.unavailable.insert(name.into(), why);
        }
    }

    /// A benchmark's counters per operation; events that failed at any point are left
    /// out (unavailable, with the reason), never partial.
    pub fn summary(&self, tally: &Tally) -> Pmu {
        let totals: BTreeMap<&str, f64> = tally
            .totals
            .iter()
            .filter(|(k, _)| !self.unavailable.contains_key(**k))
            .map(|(k, v)| (*k, *v))
            .collect();
        let per_op: BTreeMap<String, f64> = if tally.ops > 0.0 {
            totals
                .iter()
                .map(|(k, v)| ((*k).to_string(), v / tally.ops))
                .collect()
        } else {
            BTreeMap::new()
        };
        let get = |k: &str| totals.get(k).copied().filter(|v| *v > 0.0);
        Pmu {
            ipc: get("instructions").zip(get("cycles")).map(|(i, c)| i / c),
            cache_mpki: totals
                .get("cache_misses")
                .copied()
                .zip(get("instructions"))
                .map(|(m, i)| m / i * 1000.0),
            per_op,
            unavailable: self.unavailable.clone(),
        }
    }
}
