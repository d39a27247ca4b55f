//! Syscalls per cgroup: calls, errors by errno and latency, counted at exit (at entry for
//! the calls that may not return). Kernel half: ebpf/probes/src/syscalls.rs.
pub mod families;
pub mod maps;

use archscope_common::programs::Program;
use archscope_common::{CompatLayout, SyscallConfig};
use aya::{Ebpf, EbpfLoader};

use super::{LabelContext, LoadContext, MapFill, Unit};
use crate::collect::Family;
use crate::config::SyscallMode;
use crate::probes::{Feature, Hook, OFF_BY_CONFIG, ProgramSpec};

pub const PROGRAMS: &[ProgramSpec] = &[
    ProgramSpec {
        name: Program::SysEnter.name(),
        feature: Feature::Syscalls,
        hook: Hook::RawTracepoint { name: "sys_enter" },
        required: true,
    },
    // Calls are counted at exit, so without it only the calls that may not return count:
    // the feature is off, not degraded.
    ProgramSpec {
        name: Program::SysExit.name(),
        feature: Feature::Syscalls,
        hook: Hook::RawTracepoint { name: "sys_exit" },
        required: true,
    },
    // Without it the in-flight entries of exited threads stay until the map is full;
    // from then on calls still count (at entry), failures and latency do not.
    ProgramSpec {
        name: Program::SysThreadExit.name(),
        feature: Feature::Syscalls,
        hook: Hook::RawTracepoint {
            name: "sched_process_exit",
        },
        required: false,
    },
];

#[derive(Default)]
pub struct Syscalls {
    config: Option<SyscallConfig>,
    /// 32-bit compat syscalls: `Ok(Some(..))` told apart, `Ok(None)` no such ABI here,
    /// `Err` the flag could not be located (they would carry native names).
    pub compat: Option<Result<Option<CompatLayout>, String>>,
    /// Stats and errno maps' entries, in-flight map's entries.
    capacity: (u32, u32),
    last: Option<maps::SyscallMaps>,
}

impl Unit for Syscalls {
    fn feature(&self) -> Feature {
        Feature::Syscalls
    }

    fn configure(&mut self, cx: &LoadContext) -> Result<(), String> {
        self.config = Some(maps::config(cx.cfg.syscalls, cx.arch));
        let compat = maps::compat_layout(cx.arch);
        if let Err(e) = &compat {
            tracing::warn!("32-bit compat syscalls cannot be told apart: {e}");
        }
        self.compat = Some(compat);
        let off = cx.cfg.syscalls == SyscallMode::Off;
        // preallocated: switched off, they would only hold memory
        self.capacity = if off {
            (1, 1)
        } else {
            (cx.cfg.syscall_map_entries, cx.cfg.inflight_map_entries)
        };
        if off {
            Err(OFF_BY_CONFIG.to_string())
        } else {
            Ok(())
        }
    }

    fn set_globals<'a>(&'a self, loader: &mut EbpfLoader<'a>) {
        if let Some(c) = &self.config {
            loader.override_global("SYSCALL_CONFIG", c, true);
        }
        if let Some(Ok(Some(c))) = &self.compat {
            loader.override_global("COMPAT_LAYOUT", c, true);
        }
        loader
            .map_max_entries("SYSCALL_STATS", self.capacity.0)
            .map_max_entries("SYSCALL_ERRNOS", self.capacity.0)
            .map_max_entries("SYSCALL_IN_FLIGHT", self.capacity.1);
    }

    fn maps(&self) -> Vec<MapFill> {
        let last = self.last.as_ref();
        vec![
            MapFill {
                map: "syscall_stats",
                capacity: self.capacity.0,
                entries: last.map(|m| m.stats.len()),
            },
            MapFill {
                map: "syscall_errnos",
                capacity: self.capacity.0,
                entries: last.map(|m| m.errnos.len()),
            },
            MapFill {
                map: "syscall_in_flight",
                capacity: self.capacity.1,
                entries: last.map(|m| m.in_flight),
            },
        ]
    }

    fn read(&mut self, ebpf: &mut Ebpf, _cx: &mut LabelContext) -> Result<(), String> {
        self.last = Some(maps::read(ebpf)?);
        Ok(())
    }

    fn cgroup_ids(&self, out: &mut Vec<u64>) {
        if let Some(m) = &self.last {
            out.extend(m.stats.keys().map(|k| k.cgroup_id));
            out.extend(m.errnos.keys().map(|k| k.cgroup_id));
        }
    }

    fn families(&mut self, cx: &mut LabelContext) -> Vec<Family> {
        match &self.last {
            Some(m) => families::families(m, cx.table, cx.cgroups, cx.labeler).into(),
            None => Vec::new(),
        }
    }

    fn forget(&mut self, ebpf: &mut Ebpf, gone: &[u64]) -> Result<usize, String> {
        match &self.last {
            Some(m) => maps::forget_cgroups(ebpf, gone, m),
            None => Ok(0),
        }
    }

    fn clear(&mut self) {
        self.last = None;
    }
}
