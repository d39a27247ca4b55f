//! The figures compared, each one number per pod and window (one sample): made from the
//! window's increases, so a figure is a ratio of counts over the same stretch of time.
use std::collections::BTreeMap;

use serde::Serialize;

use super::series::{self as sel, PodWindow, buckets, quantile};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Calls per second per pod.
    Rate,
    FailureRatio,
    P50,
    P99,
    /// Calls per second the pod spent on a CPU.
    PerCpuSecond,
    CpuSecondsPerSecond,
    RetransmitRatio,
    Ipc,
    /// Cache misses per 1,000 instructions.
    Mpki,
    CyclesPerSecond,
    /// `--rate-query`: the workload's own request rate per pod.
    Requests,
}

impl Measure {
    pub fn text(self) -> &'static str {
        match self {
            Measure::Rate => "calls/s per pod",
            Measure::FailureRatio => "failure ratio",
            Measure::P50 => "p50",
            Measure::P99 => "p99",
            Measure::PerCpuSecond => "calls per CPU-second",
            Measure::CpuSecondsPerSecond => "CPU seconds/s per pod",
            Measure::RetransmitRatio => "retransmit ratio",
            Measure::Ipc => "IPC",
            Measure::Mpki => "cache misses per 1,000 instructions",
            Measure::CyclesPerSecond => "cycles/s per pod",
            Measure::Requests => "requests/s per pod",
        }
    }

    /// The unit the report prints the value in.
    pub fn unit(self) -> &'static str {
        match self {
            Measure::P50 | Measure::P99 => "s",
            Measure::Rate | Measure::Requests => "1/s",
            Measure::FailureRatio | Measure::RetransmitRatio | Measure::Ipc => "ratio",
            Measure::PerCpuSecond => "calls/CPU-s",
            Measure::CpuSecondsPerSecond => "CPU-s/s",
            Measure::Mpki => "MPKI",
            Measure::CyclesPerSecond => "cycles/s",
        }
    }
}

/// What a row compares: `group` is syscall, scheduler, tcp, pmu or workload; `subject`
/// the syscall's name, or what the group measures.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Figure {
    pub group: &'static str,
    pub subject: String,
    pub measure: Measure,
}

impl Figure {
    fn new(group: &'static str, subject: &str, measure: Measure) -> Figure {
        Figure {
            group,
            subject: subject.to_string(),
            measure,
        }
    }

    /// "getppid p99", "IPC", "run-queue latency p50".
    pub fn label(&self) -> String {
        if self.subject.is_empty() {
            self.measure.text().to_string()
        } else {
            format!("{} {}", self.subject, self.measure.text())
        }
    }
}

fn inc(w: &PodWindow, sel: usize, labels: &[&str]) -> Option<f64> {
    let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    w.inc.get(&(sel, labels)).copied()
}

fn latency(
    out: &mut Vec<(Figure, f64)>,
    w: &PodWindow,
    group: &'static str,
    subject: &str,
    sel: usize,
    labels: &[String],
    p99: bool,
) {
    let b = buckets(w, sel, labels);
    for (q, m) in [(0.5, Measure::P50), (0.99, Measure::P99)] {
        if m == Measure::P99 && !p99 {
            continue;
        }
        if let Some(v) = quantile(&b, q) {
            out.push((Figure::new(group, subject, m), v));
        }
    }
}

/// Every figure one pod's window gives. Ratios need a non-zero denominator, quantiles an
/// observation: a window without them gives no sample of that figure; per-second figures
/// need the pod there for the whole window.
pub fn of_window(w: &PodWindow) -> Vec<(Figure, f64)> {
    let mut out = Vec::new();
    let cpu = inc(w, sel::CPU_TIME, &[]);
    let syscalls: Vec<(String, f64)> = w
        .inc
        .iter()
        .filter(|((which, _), _)| *which == sel::SYSCALLS)
        .map(|((_, l), v)| (l[0].clone(), *v))
        .collect();
    for (name, calls) in syscalls {
        let n = name.as_str();
        if w.whole {
            out.push((Figure::new("syscall", n, Measure::Rate), calls / w.secs));
        }
        if calls > 0.0 {
            let errors = inc(w, sel::SYSCALL_ERRORS, &[n]).unwrap_or(0.0);
            out.push((
                Figure::new("syscall", n, Measure::FailureRatio),
                errors / calls,
            ));
        }
        if let Some(c) = cpu.filter(|c| *c > 0.0) {
            out.push((Figure::new("syscall", n, Measure::PerCpuSecond), calls / c));
        }
        latency(
            &mut out,
            w,
            "syscall",
            n,
            sel::SYSCALL_DURATION,
            std::slice::from_ref(&name),
            true,
        );
    }
    if let Some(c) = cpu.filter(|_| w.whole) {
        out.push((
            Figure::new("scheduler", "", Measure::CpuSecondsPerSecond),
            c / w.secs,
        ));
    }
    latency(
        &mut out,
        w,
        "scheduler",
        "run-queue latency",
        sel::RUNQUEUE,
        &[],
        true,
    );
    latency(
        &mut out,
        w,
        "tcp",
        "connect latency",
        sel::TCP_CONNECT,
        &[],
        true,
    );
    latency(
        &mut out,
        w,
        "tcp",
        "smoothed RTT",
        sel::TCP_SRTT,
        &[],
        false,
    );
    if let Some(sent) = inc(w, sel::TCP_SEGMENTS_SENT, &[]).filter(|v| *v > 0.0) {
        let r = inc(w, sel::TCP_RETRANSMITS, &[]).unwrap_or(0.0);
        out.push((Figure::new("tcp", "", Measure::RetransmitRatio), r / sent));
    }
    let (cycles, instructions) = (inc(w, sel::CYCLES, &[]), inc(w, sel::INSTRUCTIONS, &[]));
    // a PMU that counts no cycles while the pod ran is not counting: no figure (the
    // report says why)
    if let Some(c) = cycles.filter(|c| *c > 0.0 && w.whole) {
        out.push((Figure::new("pmu", "", Measure::CyclesPerSecond), c / w.secs));
    }
    if let (Some(c), Some(i)) = (cycles.filter(|c| *c > 0.0), instructions) {
        out.push((Figure::new("pmu", "", Measure::Ipc), i / c));
    }
    if let (Some(i), Some(m)) = (
        instructions.filter(|i| *i > 0.0),
        inc(w, sel::CACHE_MISSES, &[]),
    ) {
        out.push((Figure::new("pmu", "", Measure::Mpki), m * 1000.0 / i));
    }
    if let Some(r) = w.rate {
        out.push((Figure::new("workload", "", Measure::Requests), r));
    }
    out
}

/// Calls and failed calls per syscall over every window of `windows`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub calls: f64,
    pub errors: f64,
}

pub fn totals<'a>(windows: impl Iterator<Item = &'a PodWindow>) -> BTreeMap<String, Totals> {
    let mut t: BTreeMap<String, Totals> = BTreeMap::new();
    for w in windows {
        for ((which, l), v) in &w.inc {
            match *which {
                sel::SYSCALLS => t.entry(l[0].clone()).or_default().calls += v,
                sel::SYSCALL_ERRORS => t.entry(l[0].clone()).or_default().errors += v,
                _ => {}
            }
        }
    }
    t
}
