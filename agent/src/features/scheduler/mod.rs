//! The scheduler per cgroup: run-queue latency, CPU time, voluntary and involuntary
//! context switches. Kernel half: ebpf/probes/src/scheduler.rs; shared types:
//! ebpf/common/src/scheduler.rs; metrics: collect/names/scheduler.rs.
pub mod families;

use archscope_common::programs::Program;
use archscope_common::{SchedLayout, SchedStats};
use aya::EbpfLoader;

use super::cgroup_map::{CgroupMap, PerCpuSum, ReadMap};
use super::{LabelContext, LoadContext, MapFill, Unit};
use crate::btf::Btf;
use crate::collect::Family;
use crate::probes::{Feature, Hook, OFF_BY_CONFIG, ProgramSpec};

pub const PROGRAMS: &[ProgramSpec] = &[
    ProgramSpec {
        name: Program::RunqSwitch.name(),
        feature: Feature::Scheduler,
        hook: Hook::RawTracepoint {
            name: "sched_switch",
        },
        required: true,
    },
    // Without the wakeups only preemptions start a wait: the latency would miss every
    // wait after a sleep, so they are required too.
    ProgramSpec {
        name: Program::RunqWakeup.name(),
        feature: Feature::Scheduler,
        hook: Hook::RawTracepoint {
            name: "sched_wakeup",
        },
        required: true,
    },
    ProgramSpec {
        name: Program::RunqWakeupNew.name(),
        feature: Feature::Scheduler,
        hook: Hook::RawTracepoint {
            name: "sched_wakeup_new",
        },
        required: true,
    },
    // Without it an exited thread's entry stays until the map is full; from then on the
    // waits of threads new to the map are not measured (and counted as lost).
    ProgramSpec {
        name: Program::RunqThreadExit.name(),
        feature: Feature::Scheduler,
        hook: Hook::RawTracepoint {
            name: "sched_process_exit",
        },
        required: false,
    },
];

/// The map of runnable threads, and what the object sizes it to.
const RUNNABLE_MAP: &str = "SCHED_RUNNABLE";

pub struct Scheduler {
    layout: Option<SchedLayout>,
    map: CgroupMap<SchedStats>,
    runnable_capacity: u32,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler {
            layout: None,
            map: CgroupMap::new("SCHED_STATS", "sched_stats"),
            runnable_capacity: 0,
        }
    }
}

impl PerCpuSum for SchedStats {
    fn zero() -> Self {
        SchedStats::ZERO
    }
    fn add(&mut self, other: &Self) {
        SchedStats::add(self, other);
    }
}

/// Where a task's thread id and state are, from this kernel's BTF.
pub fn layout(btf: &Btf) -> Result<SchedLayout, String> {
    let off = |m: &str| {
        btf.member_offset("task_struct", m)
            .map_err(|e| e.to_string())
    };
    // 5.14 renamed `state` (long) to `__state` (unsigned int)
    let task_state = off("__state").or_else(|e| off("state").map_err(|_| e))?;
    Ok(SchedLayout {
        task_pid: off("pid")?,
        task_state,
        enabled: 1,
        _pad: 0,
    })
}

/// One entry per cgroup as the cgroup cache holds, but no more than 64 MiB of
/// preallocated per-CPU values (248 bytes per possible CPU each), and no fewer than 1024.
fn stats_entries(cgroups: usize) -> u32 {
    let cpus = aya::util::nr_cpus().unwrap_or(1).max(1) as u64;
    let per_key = core::mem::size_of::<SchedStats>() as u64 * cpus;
    ((64 << 20) / per_key).clamp(1024, cgroups.max(1024) as u64) as u32
}

impl Unit for Scheduler {
    fn feature(&self) -> Feature {
        Feature::Scheduler
    }

    fn configure(&mut self, cx: &LoadContext) -> Result<(), String> {
        if cx.cfg.features_off.contains(&Feature::Scheduler) {
            // preallocated: switched off, they would only hold memory
            (self.map.capacity, self.runnable_capacity) = (1, 1);
            return Err(OFF_BY_CONFIG.to_string());
        }
        self.map.capacity = stats_entries(cx.cfg.cgroup_cache_entries);
        // one entry per runnable thread: as many as the threads the syscall feature tracks
        self.runnable_capacity = cx.cfg.inflight_map_entries;
        let btf = Btf::from_file(std::path::Path::new("/sys/kernel/btf/vmlinux"))
            .map_err(|e| format!("kernel BTF: {e}"))?;
        self.layout = Some(layout(&btf)?);
        Ok(())
    }

    fn set_globals<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        if let Some(l) = &self.layout {
            loader.override_global("SCHED_LAYOUT", l, true);
        }
        loader
            .map_max_entries(self.map.object_name(), self.map.capacity)
            .map_max_entries(RUNNABLE_MAP, self.runnable_capacity);
    }

    fn cgroup_map(&self) -> Option<&dyn ReadMap> {
        Some(&self.map)
    }

    fn cgroup_map_mut(&mut self) -> Option<&mut dyn ReadMap> {
        Some(&mut self.map)
    }

    fn maps(&self) -> Vec<MapFill> {
        // the runnable map is not read at export time: only its capacity is shown
        vec![
            self.map.fill(),
            MapFill {
                map: "sched_runnable",
                capacity: self.runnable_capacity,
                entries: None,
            },
        ]
    }

    fn families(&mut self, cx: &mut LabelContext) -> Vec<Family> {
        match &self.map.last {
            Some(m) => families::families(m, cx.cgroups, cx.labeler),
            None => Vec::new(),
        }
    }
}
