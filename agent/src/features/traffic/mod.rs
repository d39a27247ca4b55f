//! TCP and UDP bytes and packets per cgroup, both directions, from cgroup_skb programs on
//! the cgroup2 root. Kernel half: ebpf/probes/src/net.rs (the skb programs).
pub mod families;
pub mod maps;

use std::collections::HashMap;

use archscope_common::Traffic as TrafficStats;
use archscope_common::programs::Program;
use aya::{Ebpf, EbpfLoader};

use super::{LabelContext, LoadContext, MapFill, Unit};
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

#[derive(Default)]
pub struct Traffic {
    capacity: u32,
    last: Option<HashMap<u64, TrafficStats>>,
}

impl Unit for Traffic {
    fn feature(&self) -> Feature {
        Feature::Traffic
    }

    fn programs(&self) -> &'static [ProgramSpec] {
        PROGRAMS
    }

    fn configure(&mut self, cx: &LoadContext) -> Result<(), String> {
        self.capacity = cx.cfg.cgroup_cache_entries as u32;
        super::sockets_name_their_cgroup(cx)?;
        cx.cgroup2.as_ref().map(|_| ()).map_err(Clone::clone)
    }

    fn set_globals<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        loader.map_max_entries("NET_TRAFFIC", self.capacity);
    }

    fn maps(&self) -> Vec<MapFill> {
        vec![MapFill {
            map: "net_traffic",
            capacity: self.capacity,
            entries: self.last.as_ref().map(HashMap::len),
        }]
    }

    fn read(&mut self, ebpf: &mut Ebpf, _cx: &mut LabelContext) -> Result<(), String> {
        self.last = Some(maps::read(ebpf)?);
        Ok(())
    }

    fn cgroup_ids(&self, out: &mut Vec<u64>) {
        out.extend(self.last.iter().flat_map(|m| m.keys().copied()));
    }

    fn families(&mut self, cx: &mut LabelContext) -> Vec<Family> {
        match &self.last {
            Some(m) => families::families(m, cx.cgroups, cx.labeler),
            None => Vec::new(),
        }
    }

    fn forget(&mut self, ebpf: &mut Ebpf, gone: &[u64]) -> Result<usize, String> {
        if self.last.is_none() {
            return Ok(0);
        }
        maps::forget_cgroups(ebpf, gone)
    }

    fn clear(&mut self) {
        self.last = None;
    }
}
