//! `agent bench compare A B --workload <namespace>/<workload>`: one live workload, its pods
//! on nodes of two architectures, compared from what the agents measure anyway: per
//! syscall, TCP, the PMU and the scheduler, and the workload's own request rate.
//!
//! Data come from a Prometheus server (`prometheus.rs`) or from the agents directly
//! (`agents.rs`); both fill the same [`series::Observed`], figures are made per pod and
//! window (`figures.rs`) and compared with the micro-benchmark compare's statistics and
//! equivalence band (`analysis.rs`).
pub mod agents;
pub mod analysis;
pub mod figures;
pub mod prometheus;
mod report;
mod report_html;
pub mod series;

use std::time::Duration;

use crate::UsageError;
pub use report::{markdown, table};
pub use report_html::html;

/// `<namespace>/<workload>` as the agents label it.
#[derive(Debug, Clone)]
pub struct WorkloadName {
    pub namespace: String,
    pub name: String,
}

impl WorkloadName {
    /// Kubernetes names (lower-case letters, digits, `-`, `.`): nothing that needs
    /// escaping in a PromQL matcher.
    pub fn parse(s: &str) -> Result<WorkloadName, UsageError> {
        let ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 253
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        };
        match s.split_once('/') {
            Some((ns, name)) if ok(ns) && ok(name) => Ok(WorkloadName {
                namespace: ns.into(),
                name: name.into(),
            }),
            _ => Err(UsageError(format!(
                "--workload: `{s}` is not <namespace>/<workload> (Kubernetes names, e.g. shop/checkout)"
            ))),
        }
    }
}

impl std::fmt::Display for WorkloadName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The boundaries: `start`, `start + step`, … `start + windows × step`.
#[derive(Debug, Clone)]
pub struct Window {
    pub start: f64,
    pub step: Duration,
    pub windows: usize,
    pub workload: WorkloadName,
}

/// Prometheus answers at most 11,000 points a series.
const MAX_WINDOWS: u64 = 10_000;

impl Window {
    /// The `length` before `end`, cut in steps of `step` (the end aligned down to a whole
    /// step, so the same command gives the same windows for a while).
    pub fn ending(
        end: f64,
        length: Duration,
        step: Duration,
        workload: WorkloadName,
    ) -> Result<Window, UsageError> {
        check(length, step)?;
        let s = step.as_secs_f64();
        let windows = (length.as_secs_f64() / s).floor() as usize;
        let end = (end / s).floor() * s;
        Ok(Window {
            start: end - windows as f64 * s,
            step,
            windows,
            workload,
        })
    }

    pub fn end(&self) -> f64 {
        self.start + self.windows as f64 * self.step.as_secs_f64()
    }

    pub fn times(&self) -> Vec<f64> {
        (0..=self.windows)
            .map(|i| self.start + i as f64 * self.step.as_secs_f64())
            .collect()
    }
}

/// A window of at least two steps, and not more than Prometheus gives in one query.
pub fn check(length: Duration, step: Duration) -> Result<(), UsageError> {
    if step < Duration::from_secs(1) {
        return Err(UsageError(format!(
            "--step: {} is below 1s",
            humantime::format_duration(step)
        )));
    }
    let n = length.as_secs_f64() / step.as_secs_f64();
    if n < 2.0 {
        return Err(UsageError(format!(
            "--window: {} holds fewer than two steps of {}",
            humantime::format_duration(length),
            humantime::format_duration(step)
        )));
    }
    if n > MAX_WINDOWS as f64 {
        return Err(UsageError(format!(
            "--step: {} makes more than {MAX_WINDOWS} windows of --window {}",
            humantime::format_duration(step),
            humantime::format_duration(length)
        )));
    }
    Ok(())
}

/// The default step: a twelfth of the window, whole seconds (5m for 1h).
pub fn default_step(length: Duration) -> Duration {
    Duration::from_secs((length.as_secs() / 12).max(1))
}

/// `namespace="…",workload="…"` and the selection's own matchers.
pub fn label_matchers(w: &Window, extra: &[(&str, &str)]) -> String {
    let mut m = vec![
        format!("namespace=\"{}\"", w.workload.namespace),
        format!("workload=\"{}\"", w.workload.name),
    ];
    m.extend(extra.iter().map(|(k, v)| format!("{k}=\"{v}\"")));
    m.join(",")
}

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests;
