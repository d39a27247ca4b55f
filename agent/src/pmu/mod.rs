//! Hardware counters: per-architecture event tables (data), detection from sysfs and
//! cpuinfo, per-CPU counters opened with perf-event, and their honest state: an event that
//! did not open, never ran or reads zero is reported missing, never exported as 0.
pub mod counters;
pub mod detect;
pub mod tables;
#[cfg(test)]
mod tests;

use std::path::Path;

use archscope_common::{PMU_SLOTS, PmuEvent};

use counters::Slot;
use detect::Plan;

pub struct Pmu {
    pub plan: Plan,
    pub slots: Vec<Slot>,
}

/// Whether an event can be trusted, and if not why.
#[derive(Debug, Clone, PartialEq)]
pub struct EventStatus {
    pub event: PmuEvent,
    /// CPUs where the counter is open.
    pub cpus_open: usize,
    pub cpus_total: usize,
    /// `Ok` when it counts; otherwise why it is reported missing.
    pub state: Result<(), String>,
    /// Fraction of enabled time it ran (below 1: multiplexed and scaled).
    pub running_share: Option<f64>,
}

impl Pmu {
    /// Plan from the machine at `root` and open the counters. `Err` when there is nothing
    /// to count with: no PMU, or not one counter opened.
    pub fn open(root: &Path, arch: &str) -> Result<Pmu, String> {
        let plan = detect::plan(root, arch)?;
        let slots = counters::open(&plan);
        if !slots.iter().any(|s| s.counter.is_ok()) {
            let why = slots
                .iter()
                .find_map(|s| s.counter.as_ref().err().cloned())
                .unwrap_or_else(|| "the PMU offers none of the events".into());
            return Err(format!("no hardware counter opened: {why}"));
        }
        Ok(Pmu { plan, slots })
    }

    /// Bit per event slot that has a counter on some CPU (the program's `PMU_CONFIG`).
    pub fn slot_mask(&self) -> u32 {
        self.slots
            .iter()
            .filter(|s| s.counter.is_ok())
            .fold(0, |m, s| m | 1 << (s.event as u32))
    }

    /// Read every counter (once per snapshot).
    pub fn read(&mut self) {
        for s in &mut self.slots {
            s.read();
        }
    }

    /// The state of every event, from the last readings.
    pub fn status(&self) -> Vec<EventStatus> {
        let total = self.plan.cpus.len();
        PmuEvent::ALL
            .into_iter()
            .map(|event| {
                let slots: Vec<&Slot> = self.slots.iter().filter(|s| s.event == event).collect();
                let open: Vec<&Slot> = slots
                    .iter()
                    .copied()
                    .filter(|s| s.counter.is_ok())
                    .collect();
                let (count, enabled, running) = open.iter().fold((0u64, 0u64, 0u64), |a, s| {
                    (
                        a.0.saturating_add(s.last.count),
                        a.1.saturating_add(s.last.enabled),
                        a.2.saturating_add(s.last.running),
                    )
                });
                let state = if open.is_empty() {
                    Err(self.why_missing(event, &slots))
                } else if enabled == 0 {
                    Err("opened, not read yet".into())
                } else if running == 0 {
                    Err("opened but never scheduled on the PMU (no free counter)".into())
                } else if count == 0 {
                    Err("opened and ran but reads zero (the hardware does not count it)".into())
                } else {
                    Ok(())
                };
                EventStatus {
                    event,
                    cpus_open: open.len(),
                    cpus_total: total,
                    state,
                    running_share: (enabled > 0).then(|| running as f64 / enabled as f64),
                }
            })
            .collect()
    }

    fn why_missing(&self, event: PmuEvent, slots: &[&Slot]) -> String {
        if let Some(e) = slots.iter().find_map(|s| s.counter.as_ref().err()) {
            return e.clone();
        }
        self.plan
            .cpus
            .iter()
            .find_map(|c| c.missing.iter().find(|(e, _)| *e == event))
            .map_or_else(|| "no CPU has a PMU for it".into(), |(_, why)| why.clone())
    }

    /// Events whose series may be exported.
    pub fn available(&self) -> [bool; PMU_SLOTS] {
        let mut out = [false; PMU_SLOTS];
        for s in self.status() {
            out[s.event as usize] = s.state.is_ok();
        }
        out
    }
}
