//! Hardware counters → families: per CPU (from the perf-event counters), per cgroup (from
//! the sched_switch program's sums), and which events are available. An event that is not
//! available has no series at all: a missing counter is never shown as a measured zero.
//! IPC and miss rates are left to queries (`rate(instructions) / rate(cycles)`), so they
//! are exact over any window instead of a gauge that goes stale between scrapes.
use std::collections::HashMap;

use archscope_common::{PMU_SLOTS, PmuEvent, PmuKey, PmuValue};

use crate::collect::model::{Family, Labels, Series, Value, label};
use crate::collect::names;
use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;
use crate::pmu::Pmu;
use crate::pmu::counters::Reading;

/// The open counters and what has been exported per cgroup (kept monotonic).
pub struct PmuCollect {
    pub pmu: Pmu,
    exported: HashMap<PmuKey, u64>,
}

impl PmuCollect {
    pub fn new(pmu: Pmu) -> Self {
        PmuCollect {
            pmu,
            exported: HashMap::new(),
        }
    }

    /// Read the per-CPU counters; returns which events may be exported.
    pub fn read(&mut self) -> [bool; PMU_SLOTS] {
        self.pmu.read();
        self.pmu.available()
    }

    /// Per-CPU series of the available events.
    pub fn cpu_families(&mut self, avail: &[bool; PMU_SLOTS]) -> Vec<Family> {
        let mut fams: Vec<Family> = names::CPU_PMU.iter().map(|d| d.family_empty()).collect();
        let mut slots: Vec<_> = self.pmu.slots.iter_mut().collect();
        slots.sort_by_key(|s| (s.event, s.cpu));
        for s in slots {
            if !avail[s.event as usize] {
                continue;
            }
            if let Some(v) = s.monotonic() {
                fams[s.event as usize].series.push(Series {
                    labels: vec![("cpu", label(s.cpu.to_string()))],
                    value: Value::Counter(v),
                });
            }
        }
        fams
    }

    /// Per-cgroup series of the available events, with the identity labels.
    pub fn cgroup_families(
        &mut self,
        maps: &HashMap<PmuKey, PmuValue>,
        avail: &[bool; PMU_SLOTS],
        cgroups: &CgroupResolver,
        labeler: &mut Labeler,
    ) -> Vec<Family> {
        let mut fams: Vec<Family> = names::CGROUP_PMU.iter().map(|d| d.family_empty()).collect();
        let mut ids: HashMap<u64, Labels> = HashMap::new();
        let mut keys: Vec<&PmuKey> = maps.keys().collect();
        keys.sort_unstable();
        for k in keys {
            let slot = k.slot as usize;
            if slot >= PMU_SLOTS || !avail[slot] {
                continue;
            }
            let v = maps[k];
            let reading = Reading {
                count: v.counter,
                enabled: v.enabled,
                running: v.running,
            };
            let Some(scaled) = reading.scaled() else {
                continue; // never ran while this cgroup did: unknown, not zero
            };
            let e = self.exported.entry(*k).or_insert(0);
            *e = (*e).max(scaled);
            let labels = ids
                .entry(k.cgroup_id)
                .or_insert_with(|| labeler.labels(cgroups.path(k.cgroup_id)))
                .clone();
            fams[slot].series.push(Series {
                labels,
                value: Value::Counter(*e),
            });
        }
        fams
    }

    pub fn forget(&mut self, gone: &[u64]) {
        self.exported.retain(|k, _| !gone.contains(&k.cgroup_id));
    }

    /// `pmu_counter_available{event}` and `pmu_counter_running_ratio{event}`.
    pub fn status_families(&self) -> Vec<Family> {
        let mut avail = names::PMU_AVAILABLE.family_empty();
        let mut ratio = names::PMU_RUNNING_RATIO.family_empty();
        for s in self.pmu.status() {
            let ev = || vec![("event", label(s.event.name()))];
            avail.series.push(Series {
                labels: ev(),
                value: Value::Gauge(f64::from(u8::from(s.state.is_ok()))),
            });
            if let (Ok(()), Some(r)) = (&s.state, s.running_share) {
                ratio.series.push(Series {
                    labels: ev(),
                    value: Value::Gauge(r),
                });
            }
        }
        vec![avail, ratio]
    }
}

/// Without a PMU: every event reported unavailable.
pub fn unavailable_family() -> Family {
    let mut f = names::PMU_AVAILABLE.family_empty();
    for e in PmuEvent::ALL {
        f.series.push(Series {
            labels: vec![("event", label(e.name()))],
            value: Value::Gauge(0.0),
        });
    }
    f
}
