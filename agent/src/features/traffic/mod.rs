//! TCP and UDP bytes and packets per cgroup, both directions, from cgroup_skb programs on
//! the cgroup2 root. Kernel half: ebpf/probes/src/net.rs (the skb programs).
pub mod families;

use archscope_common::Traffic as TrafficStats;
use archscope_common::programs::Program;
use aya::EbpfLoader;

use super::cgroup_map::{CgroupMap, ReadMap};
use super::{LabelContext, LoadContext, Unit};
use crate::collect::Family;
use crate::probes::{Feature, Hook, ProgramSpec};

pub const PROGRAMS: &[ProgramSpec] = &[
    ProgramSpec {
        name: Program::SkbEgress.name(),
        feature: Feature::Traffic,
        hook: Hook::CgroupSkb { egress: true },
        required: true,
    },
    ProgramSpec {
        name: Program::SkbIngress.name(),
        feature: Feature::Traffic,
        hook: Hook::CgroupSkb { egress: false },
        required: true,
    },
];

pub struct Traffic {
    map: CgroupMap<TrafficStats>,
}

impl Default for Traffic {
    fn default() -> Self {
        Traffic {
            map: CgroupMap::new("NET_TRAFFIC", "net_traffic"),
        }
    }
}

impl Unit for Traffic {
    fn feature(&self) -> Feature {
        Feature::Traffic
    }

    fn configure(&mut self, cx: &LoadContext) -> Result<(), String> {
        self.map.capacity = cx.cfg.cgroup_cache_entries as u32;
        super::sockets_name_their_cgroup(cx)?;
        cx.cgroup2.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    fn set_globals<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        loader.map_max_entries(self.map.object_name(), self.map.capacity);
    }

    fn cgroup_map(&self) -> Option<&dyn ReadMap> {
        Some(&self.map)
    }

    fn cgroup_map_mut(&mut self) -> Option<&mut dyn ReadMap> {
        Some(&mut self.map)
    }

    fn families(&mut self, cx: &mut LabelContext) -> Vec<Family> {
        match &self.map.last {
            Some(m) => families::families(m, cx.cgroups, cx.labeler),
            None => Vec::new(),
        }
    }
}
