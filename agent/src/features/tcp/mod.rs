//! TCP per cgroup: connections opened, closed, reset, open and failed, connect latency,
//! smoothed RTT and retransmits. Kernel half: ebpf/probes/src/net.rs (the tcp programs).
pub mod families;
pub mod maps;

use std::collections::HashMap;

use archscope_common::programs::Program;
use archscope_common::{TcpLayout, TcpStats};
use aya::{Ebpf, EbpfLoader};

use super::{LabelContext, LoadContext, MapFill, Unit};
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

#[derive(Default)]
pub struct Tcp {
    layout: Option<TcpLayout>,
    capacity: u32,
    last: Option<HashMap<u64, TcpStats>>,
}

impl Unit for Tcp {
    fn feature(&self) -> Feature {
        Feature::Tcp
    }

    fn programs(&self) -> &'static [ProgramSpec] {
        PROGRAMS
    }

    fn configure(&mut self, cx: &LoadContext) -> Result<(), String> {
        self.capacity = cx.cfg.cgroup_cache_entries as u32;
        super::sockets_name_their_cgroup(cx)?;
        let tracefs = cx.tracefs.clone()?;
        self.layout = Some(maps::tcp_layout(tracefs, cx.arch)?);
        Ok(())
    }

    fn set_globals<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        if let Some(l) = &self.layout {
            loader.override_global("TCP_LAYOUT", l, true);
        }
        loader.map_max_entries("TCP_STATS", self.capacity);
    }

    fn maps(&self) -> Vec<MapFill> {
        vec![MapFill {
            map: "tcp_stats",
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
