//! TCP per cgroup: connections opened, closed, reset, open and failed, connect latency,
//! smoothed RTT and retransmits. Kernel half: ebpf/probes/src/net.rs (the tcp programs).
pub mod families;
pub mod maps;

use archscope_common::programs::Program;
use archscope_common::{TcpLayout, TcpStats};
use aya::EbpfLoader;

use super::cgroup_map::{CgroupMap, ReadMap};
use super::{LabelContext, LoadContext, Unit};
use crate::collect::Family;
use crate::probes::{Feature, Hook, ProgramSpec};

pub const PROGRAMS: &[ProgramSpec] = &[
    ProgramSpec {
        name: Program::TcpState.name(),
        feature: Feature::Tcp,
        hook: Hook::Tracepoint {
            category: "sock",
            name: "inet_sock_set_state",
        },
        required: true,
    },
    ProgramSpec {
        name: Program::TcpRetransmit.name(),
        feature: Feature::Tcp,
        hook: Hook::Tracepoint {
            category: "tcp",
            name: "tcp_retransmit_skb",
        },
        required: false,
    },
];

pub struct Tcp {
    layout: Option<TcpLayout>,
    map: CgroupMap<TcpStats>,
}

impl Default for Tcp {
    fn default() -> Self {
        Tcp {
            layout: None,
            map: CgroupMap::new("TCP_STATS", "tcp_stats"),
        }
    }
}

impl Unit for Tcp {
    fn feature(&self) -> Feature {
        Feature::Tcp
    }

    fn configure(&mut self, cx: &LoadContext) -> Result<(), String> {
        self.map.capacity = cx.cfg.cgroup_cache_entries as u32;
        super::sockets_name_their_cgroup(cx)?;
        let tracefs = cx.tracefs.clone()?;
        self.layout = Some(maps::tcp_layout(tracefs, cx.arch)?);
        Ok(())
    }

    fn set_globals<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        if let Some(l) = &self.layout {
            loader.override_global("TCP_LAYOUT", l, true);
        }
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
