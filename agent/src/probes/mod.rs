//! Loading and attaching the kernel programs. Every program is optional: one that fails
//! to load or attach disables only its feature, with the reason kept for `agent check`,
//! the log (once) and the `archscope_program_up` metric.
pub mod pmu;
pub mod syscalls;

use aya::{Ebpf, EbpfLoader, programs::TracePoint};

use crate::arch::Arch;
use crate::config::Config;
use crate::pmu::Pmu;
use crate::tracefs::Tracefs;

/// The eBPF object built from ebpf/probes, embedded at build time.
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/archscope"));

/// A family of programs that is switched on or off as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    Syscalls,
    /// Hardware counters per cgroup (sched_switch reading the per-CPU counters).
    Pmu,
}

impl Feature {
    pub const ALL: [Feature; 2] = [Feature::Syscalls, Feature::Pmu];

    pub fn name(self) -> &'static str {
        match self {
            Feature::Syscalls => "syscalls",
            Feature::Pmu => "pmu",
        }
    }
}

/// A program in the object, the hook it needs, and the feature it serves.
pub struct ProgramSpec {
    pub name: &'static str,
    pub feature: Feature,
    pub category: &'static str,
    pub tracepoint: &'static str,
    /// Without this program the feature is off; without a non-required one it is degraded.
    pub required: bool,
}

pub const PROGRAMS: &[ProgramSpec] = &[
    ProgramSpec {
        name: "archscope_sys_enter",
        feature: Feature::Syscalls,
        category: "raw_syscalls",
        tracepoint: "sys_enter",
        required: true,
    },
    ProgramSpec {
        name: "archscope_sys_exit",
        feature: Feature::Syscalls,
        category: "raw_syscalls",
        tracepoint: "sys_exit",
        required: false,
    },
    ProgramSpec {
        name: "archscope_sched_switch",
        feature: Feature::Pmu,
        category: "sched",
        tracepoint: "sched_switch",
        required: true,
    },
];

#[derive(Debug, Clone)]
pub struct ProgramStatus {
    pub name: &'static str,
    pub feature: Feature,
    pub hook: String,
    /// `Ok(())` when loaded and attached; otherwise why not.
    pub result: Result<(), String>,
}

pub struct Probes {
    pub ebpf: Option<Ebpf>,
    pub status: Vec<ProgramStatus>,
    /// Why the object itself could not be loaded (then every program failed).
    pub object_error: Option<String>,
    /// 32-bit compat syscalls: `Ok(Some(..))` told apart, `Ok(None)` no such ABI here,
    /// `Err` the flag could not be located (they would carry native names).
    pub compat: Result<Option<archscope_common::CompatLayout>, String>,
    logger: Option<aya_log::EbpfLogger<&'static dyn log::Log>>,
}

impl Probes {
    /// Load the object with the layouts found in tracefs and the configured map sizes, then
    /// load and attach each program. Never fails as a whole: failures are in `status`.
    /// `pmu` holds the open per-CPU counters, or why there are none.
    pub fn load(
        cfg: &Config,
        arch: Option<Arch>,
        tracefs: Result<&Tracefs, String>,
        pmu: Result<&Pmu, String>,
    ) -> Probes {
        let syscall_layout = tracefs
            .clone()
            .and_then(|t| syscalls::layout(t).map_err(|e| e.to_string()));
        let compat = syscalls::compat_layout(arch);
        let mut loader = EbpfLoader::new();
        if let Ok(l) = &syscall_layout {
            loader.override_global("RAW_SYSCALLS_LAYOUT", l, true);
        }
        if let Ok(Some(c)) = &compat {
            loader.override_global("COMPAT_LAYOUT", c, true);
        }
        let pmu_config = archscope_common::PmuConfig {
            slots: pmu.as_ref().map_or(0, |p| p.slot_mask()),
            _pad: 0,
        };
        loader.override_global("PMU_CONFIG", &pmu_config, true);
        loader
            .map_max_entries("SYSCALL_STATS", cfg.syscall_map_entries)
            .map_max_entries("SYSCALL_ERRNOS", cfg.syscall_map_entries)
            .map_max_entries("SYSCALL_IN_FLIGHT", cfg.inflight_map_entries)
            // preallocated: without counters it would only hold memory
            .map_max_entries(
                "PMU_STATS",
                if pmu.is_ok() { cfg.pmu_map_entries } else { 1 },
            );
        let mut ebpf = match loader.load(OBJECT) {
            Ok(e) => e,
            Err(e) => {
                let why = format!("loading the eBPF object failed: {}", chain(&e));
                let status = PROGRAMS
                    .iter()
                    .map(|p| status(p, Err(why.clone())))
                    .collect();
                return Probes {
                    compat,
                    ebpf: None,
                    status,
                    object_error: Some(why),
                    logger: None,
                };
            }
        };
        // Kernel-side diagnostics (first occurrence of each loss kind) go to our log.
        let logger = aya_log::EbpfLogger::init(&mut ebpf)
            .inspect_err(|e| tracing::debug!("aya-log unavailable: {e}"))
            .ok();
        // The counters' fds go into the arrays before the program can read them.
        let pmu_ready = pmu.and_then(|p| pmu::fill_arrays(&mut ebpf, p));
        let mut out = Vec::new();
        for p in PROGRAMS {
            let prereq = match p.feature {
                Feature::Syscalls => syscall_layout.as_ref().map(|_| ()).map_err(Clone::clone),
                Feature::Pmu => pmu_ready.clone(),
            };
            let r = prereq.and_then(|()| attach(&mut ebpf, p));
            if let Err(why) = &r {
                tracing::warn!(
                    program = p.name,
                    feature = p.feature.name(),
                    "disabled: {why}"
                );
            }
            out.push(status(p, r));
        }
        if let Err(e) = &compat {
            tracing::warn!("32-bit compat syscalls cannot be told apart: {e}");
        }
        Probes {
            compat,
            ebpf: Some(ebpf),
            status: out,
            object_error: None,
            logger,
        }
    }

    /// Is the feature collecting (all its required programs attached)?
    pub fn feature_up(&self, f: Feature) -> bool {
        PROGRAMS
            .iter()
            .zip(&self.status)
            .filter(|(p, _)| p.feature == f && p.required)
            .all(|(_, s)| s.result.is_ok())
    }

    /// Forward kernel-side log records; called off the hot path (each snapshot).
    pub fn flush_logs(&mut self) {
        if let Some(l) = &mut self.logger {
            l.flush();
        }
    }
}

fn status(p: &ProgramSpec, result: Result<(), String>) -> ProgramStatus {
    ProgramStatus {
        name: p.name,
        feature: p.feature,
        hook: format!("tracepoint/{}:{}", p.category, p.tracepoint),
        result,
    }
}

fn attach(ebpf: &mut Ebpf, p: &ProgramSpec) -> Result<(), String> {
    let prog = ebpf
        .program_mut(p.name)
        .ok_or_else(|| format!("program {} not in the object", p.name))?;
    let tp: &mut TracePoint = prog.try_into().map_err(|e| chain(&e))?;
    tp.load()
        .map_err(|e| format!("verifier rejected it: {}", chain(&e)))?;
    tp.attach(p.category, p.tracepoint)
        .map_err(|e| format!("attach failed: {}", chain(&e)))?;
    Ok(())
}

/// An error and its causes on one line; a verifier log is cut to its last line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    let s = s.trim().replace('\n', " | ");
    if s.len() > 400 {
        format!("{}…", &s[..s.floor_char_boundary(400)])
    } else {
        s
    }
}
