//! Hardware counters: per CPU from the perf-event counters the agent opens, per cgroup from
//! sched_switch summing each task's share of them. Kernel half: ebpf/probes/src/pmu.rs.
pub mod families;
pub mod maps;

use std::collections::HashMap;

use archscope_common::programs::Program;
use archscope_common::{PmuConfig, PmuKey, PmuValue};
use aya::{Ebpf, EbpfLoader};

use super::{LabelContext, LoadContext, MapFill, Unit};
use crate::collect::Family;
use crate::pmu::Pmu;
use crate::probes::{Feature, Hook, ProgramSpec};

pub const PROGRAMS: &[ProgramSpec] = &[ProgramSpec {
    name: Program::SchedSwitch.name(),
    feature: Feature::Pmu,
    hook: Hook::Tracepoint {
        category: "sched",
        name: "sched_switch",
    },
    required: true,
}];

#[derive(Default)]
pub struct PmuFeature {
    config: PmuConfig,
    capacity: u32,
    /// The open per-CPU counters, read at every snapshot (given by the collector).
    counters: Option<families::PmuCollect>,
    last: Option<HashMap<PmuKey, PmuValue>>,
}

impl PmuFeature {
    /// The counters this process opened, for the per-CPU series and the per-cgroup ones.
    pub fn set_counters(&mut self, pmu: Pmu) {
        self.counters = Some(families::PmuCollect::new(pmu));
    }
}

impl Unit for PmuFeature {
    fn feature(&self) -> Feature {
        Feature::Pmu
    }

    fn configure(&mut self, cx: &LoadContext) -> Result<(), String> {
        let pmu = cx.pmu.clone();
        self.config = PmuConfig {
            slots: pmu.as_ref().map_or(0, |p| p.slot_mask()),
            _pad: 0,
        };
        // preallocated: without counters it would only hold memory
        self.capacity = if pmu.is_ok() {
            cx.cfg.pmu_map_entries
        } else {
            1
        };
        pmu.map(|_| ())
    }

    fn set_globals<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        loader.override_global("PMU_CONFIG", &self.config, true);
        loader.map_max_entries("PMU_STATS", self.capacity);
    }

    /// The counters' fds go into the arrays before the program can read them.
    fn prepare(&mut self, ebpf: &mut Ebpf, cx: &LoadContext) -> Result<(), String> {
        maps::fill_arrays(ebpf, cx.pmu.clone()?)
    }

    fn maps(&self) -> Vec<MapFill> {
        vec![MapFill {
            map: "pmu_stats",
            capacity: self.capacity,
            entries: self.last.as_ref().map(HashMap::len),
        }]
    }

    fn read(&mut self, ebpf: &mut Ebpf, _cx: &mut LabelContext) -> Result<(), String> {
        self.last = Some(maps::read(ebpf)?);
        Ok(())
    }

    fn cgroup_ids(&self, out: &mut Vec<u64>) {
        out.extend(self.last.iter().flat_map(|m| m.keys().map(|k| k.cgroup_id)));
    }

    /// Per-CPU and status series whenever counters are open, up or not; without counters,
    /// every event reported unavailable.
    fn families(&mut self, cx: &mut LabelContext) -> Vec<Family> {
        let Some(p) = self.counters.as_mut() else {
            return vec![families::unavailable_family()];
        };
        let avail = p.read();
        let mut out = p.cpu_families(&avail);
        if let Some(m) = &self.last {
            out.extend(p.cgroup_families(m, &avail, cx.cgroups, cx.labeler));
        }
        out.extend(p.status_families());
        out
    }

    fn forget(&mut self, ebpf: &mut Ebpf, gone: &[u64]) -> Result<usize, String> {
        if let Some(p) = self.counters.as_mut() {
            p.forget(gone);
        }
        let Some(m) = &self.last else {
            return Ok(0);
        };
        let keys: Vec<PmuKey> = m.keys().copied().collect();
        maps::forget_cgroups(ebpf, gone, &keys)
    }

    fn clear(&mut self) {
        self.last = None;
    }
}
