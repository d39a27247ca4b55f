//! New cgroups' paths as they are made, so that a container living between two snapshots
//! is still named. Kernel half: ebpf/probes/src/cgroup_paths.rs.
pub mod maps;

use archscope_common::CgroupMkdirLayout;
use archscope_common::programs::Program;
use aya::{Ebpf, EbpfLoader};

use super::{LabelContext, LoadContext, MapFill, Unit};
use crate::collect::Family;
use crate::probes::{Feature, Hook, ProgramSpec};

pub const PROGRAMS: &[ProgramSpec] = &[ProgramSpec {
    name: Program::CgroupMkdir.name(),
    feature: Feature::CgroupPaths,
    hook: Hook::Tracepoint {
        category: "cgroup",
        name: "cgroup_mkdir",
    },
    required: true,
}];

/// New cgroups named between two snapshots (264 bytes each, preallocated: 528 KiB).
const ENTRIES: u32 = 2048;

#[derive(Default)]
pub struct CgroupPaths {
    layout: Option<CgroupMkdirLayout>,
    /// How many paths the last snapshot took.
    taken: Option<usize>,
}

impl Unit for CgroupPaths {
    fn feature(&self) -> Feature {
        Feature::CgroupPaths
    }

    fn configure(&mut self, cx: &LoadContext) -> Result<(), String> {
        let tracefs = cx.tracefs.clone()?;
        let hierarchy = cx.hierarchy.as_ref().map_err(Clone::clone)?;
        self.layout = Some(maps::layout(tracefs, hierarchy)?);
        Ok(())
    }

    fn set_globals<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        if let Some(l) = &self.layout {
            loader.override_global("CGROUP_MKDIR_LAYOUT", l, true);
        }
        // drained at every snapshot: room for the cgroups made between two
        loader.map_max_entries("CGROUP_PATHS", ENTRIES);
    }

    fn maps(&self) -> Vec<MapFill> {
        vec![MapFill {
            map: "cgroup_paths",
            capacity: ENTRIES,
            entries: self.taken,
        }]
    }

    /// Name the cgroups made since the last snapshot, before the walk of the tree, which
    /// cannot see those already removed.
    fn read(&mut self, ebpf: &mut Ebpf, cx: &mut LabelContext) -> Result<(), String> {
        let paths = maps::take(ebpf)?;
        self.taken = Some(paths.len());
        cx.cgroups.learn(paths);
        Ok(())
    }

    fn families(&mut self, _cx: &mut LabelContext) -> Vec<Family> {
        Vec::new()
    }

    fn clear(&mut self) {
        self.taken = None;
    }
}
