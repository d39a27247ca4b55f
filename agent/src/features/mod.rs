//! The features, each one unit: its programs, its globals and map sizes before load, its
//! map reads at export time, the families made from them, and the entries it drops when a
//! cgroup is gone. The kernel half of a feature is `ebpf/probes/src/<name>.rs` with its
//! shared types in `ebpf/common/src/<name>.rs`; the user half is the folder of the same
//! name here. The collector, `agent check`, the health metrics and the fault-injection
//! table go through [`all`], with no code per feature.
pub mod cgroup_map;
pub mod cgroup_paths;
pub mod pmu;
pub mod scheduler;
pub mod syscalls;
pub mod tcp;
pub mod traffic;

use aya::{Ebpf, EbpfLoader};

use crate::arch::Arch;
use crate::arch::syscalls::SyscallTable;
use crate::collect::Family;
use crate::collect::model::Labels;
use crate::config::Config;
use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;
use crate::pmu::Pmu;
use crate::probes::cgroup::Hierarchy;
use crate::probes::{Feature, ProgramSpec};
use crate::tracefs::Tracefs;
use cgroup_map::ReadMap;

/// What the host offers a feature at load time, found once for all of them.
pub struct LoadContext<'a> {
    pub cfg: &'a Config,
    pub arch: Option<Arch>,
    pub tracefs: Result<&'a Tracefs, String>,
    pub pmu: Result<&'a Pmu, String>,
    pub hierarchy: &'a Result<Hierarchy, String>,
    pub cgroup2: &'a Result<std::path::PathBuf, String>,
}

/// What a feature's families are labelled with.
pub struct LabelContext<'a> {
    pub table: &'a SyscallTable,
    pub cgroups: &'a mut CgroupResolver,
    pub labeler: &'a mut Labeler,
}

/// A kernel map read at export time: its name in `kernel_map_entries{map}`, the entries
/// it may hold, and how many it held at the last read (`None`: not read).
#[derive(Debug, Clone, Copy)]
pub struct MapFill {
    pub map: &'static str,
    pub capacity: u32,
    pub entries: Option<usize>,
}

pub trait Unit: Send {
    fn feature(&self) -> Feature;

    /// Find what it needs (layouts, counters) and size its maps. `Err`: why it cannot run
    /// here, which keeps its programs from loading and is what `agent check` shows.
    fn configure(&mut self, cx: &LoadContext) -> Result<(), String>;

    /// Its globals and map sizes on the loader (after [`Unit::configure`], whatever it
    /// returned: the object declares every map and global of every feature).
    fn set_globals<'a>(&'a self, loader: &mut EbpfLoader<'a>);

    /// After the object is loaded, before its programs attach.
    fn prepare(&mut self, _ebpf: &mut Ebpf, _cx: &LoadContext) -> Result<(), String> {
        Ok(())
    }

    /// Its per-cgroup map, when its data is one (the defaults below read, count, forget
    /// and clear it); a unit with other maps overrides them instead.
    fn cgroup_map(&self) -> Option<&dyn ReadMap> {
        None
    }

    fn cgroup_map_mut(&mut self) -> Option<&mut dyn ReadMap> {
        None
    }

    /// Its maps with their capacity and last fill.
    fn maps(&self) -> Vec<MapFill> {
        self.cgroup_map().map(|m| m.fill()).into_iter().collect()
    }

    /// One read of its maps for this snapshot (only while the feature is up).
    fn read(&mut self, ebpf: &mut Ebpf, _cx: &mut LabelContext) -> Result<(), String> {
        self.cgroup_map_mut().map_or(Ok(()), |m| m.read(ebpf))
    }

    /// The cgroups its last read saw.
    fn cgroup_ids(&self, out: &mut Vec<u64>) {
        if let Some(m) = self.cgroup_map() {
            m.ids(out);
        }
    }

    /// Its families from the last read; called every snapshot, up or not (a feature may
    /// report its own state). Per-cgroup families go through the series budget.
    fn families(&mut self, cx: &mut LabelContext) -> Vec<Family>;

    /// Drop what it keeps of cgroups gone past their grace period, in its maps and in
    /// itself; how many kernel map entries went.
    fn forget(&mut self, ebpf: &mut Ebpf, gone: &[u64]) -> Result<usize, String> {
        self.cgroup_map_mut()
            .map_or(Ok(0), |m| m.forget(ebpf, gone))
    }

    /// Forget the last read (the feature went down or the read failed).
    fn clear(&mut self) {
        if let Some(m) = self.cgroup_map_mut() {
            m.clear();
        }
    }
}

/// Identity labels once per cgroup, shared by all of its series.
pub struct Identities<'a> {
    cgroups: &'a CgroupResolver,
    labeler: &'a mut Labeler,
    seen: std::collections::HashMap<u64, Labels>,
}

impl<'a> Identities<'a> {
    pub fn new(cgroups: &'a CgroupResolver, labeler: &'a mut Labeler) -> Self {
        Identities {
            cgroups,
            labeler,
            seen: std::collections::HashMap::new(),
        }
    }

    pub fn of(&mut self, cgroup_id: u64) -> Labels {
        let (cgroups, labeler) = (self.cgroups, &mut *self.labeler);
        self.seen
            .entry(cgroup_id)
            .or_insert_with(|| labeler.labels(cgroups.path(cgroup_id)))
            .clone()
    }
}

/// `l` with one more label.
pub fn with(mut l: Labels, key: &'static str, value: &'static str) -> Labels {
    l.push((key, crate::collect::model::label(value)));
    l
}

/// A counter series.
pub fn counter(labels: Labels, v: u64) -> crate::collect::model::Series {
    crate::collect::model::Series {
        labels,
        value: crate::collect::model::Value::Counter(v),
    }
}

/// Sockets carry only their cgroup v2 id: in v1 mode it would not name a container.
fn sockets_name_their_cgroup(cx: &LoadContext) -> Result<(), String> {
    match cx.hierarchy {
        Ok(Hierarchy { v1: Some(_), .. }) => {
            Err("cgroup v1 mode: sockets carry only a cgroup v2 id".to_string())
        }
        _ => Ok(()),
    }
}

/// Every feature: the one list. Adding one is a field here and its place in the two
/// arrays, in `Feature` order (a unit test holds the order).
#[derive(Default)]
pub struct Features {
    pub syscalls: syscalls::Syscalls,
    pub tcp: tcp::Tcp,
    pub traffic: traffic::Traffic,
    pub pmu: pmu::PmuFeature,
    pub cgroup_paths: cgroup_paths::CgroupPaths,
    pub scheduler: scheduler::Scheduler,
}

impl Features {
    pub fn units(&self) -> [&dyn Unit; Feature::COUNT] {
        [
            &self.syscalls,
            &self.tcp,
            &self.traffic,
            &self.pmu,
            &self.cgroup_paths,
            &self.scheduler,
        ]
    }

    pub fn units_mut(&mut self) -> [&mut dyn Unit; Feature::COUNT] {
        [
            &mut self.syscalls,
            &mut self.tcp,
            &mut self.traffic,
            &mut self.pmu,
            &mut self.cgroup_paths,
            &mut self.scheduler,
        ]
    }
}

/// Each feature's programs (without a required one the feature is off), in `Feature`
/// order.
const PROGRAMS: [&[ProgramSpec]; Feature::COUNT] = [
    syscalls::PROGRAMS,
    tcp::PROGRAMS,
    traffic::PROGRAMS,
    pmu::PROGRAMS,
    cgroup_paths::PROGRAMS,
    scheduler::PROGRAMS,
];

/// Every program of every feature, in `Feature` order.
pub fn programs() -> impl Iterator<Item = &'static ProgramSpec> {
    PROGRAMS.into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_in_feature_order() {
        let f = Features::default();
        let order: Vec<Feature> = f.units().iter().map(|u| u.feature()).collect();
        assert_eq!(order, Feature::ALL.to_vec());
        for (f, programs) in Feature::ALL.iter().zip(PROGRAMS) {
            assert!(
                programs.iter().all(|p| p.feature == *f),
                "{}: a program of another feature",
                f.name()
            );
        }
    }
}
