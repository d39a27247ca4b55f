//! Loading and attaching the kernel programs. Every program is optional: one that fails
//! to load or attach disables only its feature, with the reason kept for `agent check`,
//! the log (once) and the `archscope_program_up` metric.
pub mod cgroup;
pub mod cgroup_paths;
pub mod net;
pub mod pmu;
pub mod syscalls;

use archscope_common::Program;
use aya::programs::{CgroupAttachMode, CgroupSkb, CgroupSkbAttachType, RawTracePoint, TracePoint};
use aya::{Ebpf, EbpfLoader};

use crate::arch::Arch;
use crate::config::{Config, SyscallMode};
use crate::errors::chain;
use crate::pmu::Pmu;
use crate::tracefs::Tracefs;

/// The eBPF object built from ebpf/probes, embedded at build time.
pub static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/archscope"));

archscope_common::named_enum! {
    /// A family of programs that is switched on or off as a whole.
    pub enum Feature {
        Syscalls = "syscalls",
        /// TCP connection lifecycle and retransmits.
        Tcp = "tcp",
        /// TCP/UDP bytes and packets.
        Traffic = "traffic",
        /// Hardware counters per cgroup (sched_switch reading the per-CPU counters).
        Pmu = "pmu",
        /// New cgroups' paths as they are made, so that short-lived containers are named.
        CgroupPaths = "cgroup_paths",
    }
}

/// Where a program attaches.
#[derive(Debug, Clone, Copy)]
pub enum Hook {
    /// A raw tracepoint: the tracepoint's own arguments, no record copy.
    RawTracepoint { name: &'static str },
    Tracepoint {
        category: &'static str,
        name: &'static str,
    },
    /// cgroup_skb on the cgroup2 root, beside other programs there (allow-multi).
    CgroupSkb { egress: bool },
}

impl std::fmt::Display for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hook::RawTracepoint { name } => write!(f, "raw_tracepoint/{name}"),
            Hook::Tracepoint { category, name } => write!(f, "tracepoint/{category}:{name}"),
            Hook::CgroupSkb { egress: true } => f.write_str("cgroup_skb/egress"),
            Hook::CgroupSkb { egress: false } => f.write_str("cgroup_skb/ingress"),
        }
    }
}

/// A program in the object, the hook it needs, and the feature it serves.
pub struct ProgramSpec {
    pub name: &'static str,
    pub feature: Feature,
    pub hook: Hook,
    /// Without this program the feature is off; without a non-required one it is degraded.
    pub required: bool,
}

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
    ProgramSpec {
        name: Program::SchedSwitch.name(),
        feature: Feature::Pmu,
        hook: Hook::Tracepoint {
            category: "sched",
            name: "sched_switch",
        },
        required: true,
    },
    ProgramSpec {
        name: Program::CgroupMkdir.name(),
        feature: Feature::CgroupPaths,
        hook: Hook::Tracepoint {
            category: "cgroup",
            name: "cgroup_mkdir",
        },
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
    /// The cgroup hierarchy events are charged to (`Err`: v1 asked for and impossible).
    pub hierarchy: Result<cgroup::Hierarchy, String>,
    /// Sizes of the maps read at export time, for their fill gauges.
    pub map_capacity: MapCapacity,
    logger: Option<aya_log::EbpfLogger<&'static dyn log::Log>>,
}

/// Entries each exported kernel map holds at most (as configured at load).
#[derive(Debug, Clone, Copy, Default)]
pub struct MapCapacity {
    pub syscall_stats: u32,
    pub syscall_errnos: u32,
    pub syscall_in_flight: u32,
    pub tcp_stats: u32,
    pub net_traffic: u32,
    pub pmu_stats: u32,
    pub cgroup_paths: u32,
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
        let syscall_config = syscalls::config(cfg.syscalls, arch);
        let compat = syscalls::compat_layout(arch);
        let tcp_layout = tracefs
            .clone()
            .map_err(|e| e.to_string())
            .and_then(|t| net::tcp_layout(t, arch));
        let cgroup2 =
            crate::mounts::find("cgroup2").ok_or_else(|| "cgroup2 is not mounted".to_string());
        let hierarchy = cgroup::choose(cfg);
        let mkdir_layout = match (&tracefs, &hierarchy) {
            (Ok(t), Ok(h)) => cgroup_paths::layout(t, h),
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        };
        let mut loader = EbpfLoader::new();
        if let Ok(l) = &mkdir_layout {
            loader.override_global("CGROUP_MKDIR_LAYOUT", l, true);
        }
        if let Ok(cgroup::Hierarchy {
            v1: Some((_, l)), ..
        }) = &hierarchy
        {
            loader.override_global("CGROUP_V1_LAYOUT", l, true);
        }
        if let Ok(l) = &tcp_layout {
            loader.override_global("TCP_LAYOUT", l, true);
        }
        loader.override_global("SYSCALL_CONFIG", &syscall_config, true);
        if let Ok(Some(c)) = &compat {
            loader.override_global("COMPAT_LAYOUT", c, true);
        }
        let pmu_config = archscope_common::PmuConfig {
            slots: pmu.as_ref().map_or(0, |p| p.slot_mask()),
            _pad: 0,
        };
        loader.override_global("PMU_CONFIG", &pmu_config, true);
        let fault = archscope_common::FaultInjection {
            reject: cfg.inject_verifier_reject,
            _pad: 0,
        };
        if fault.reject != 0 {
            tracing::warn!(
                "fault injection: the verifier will reject program(s) {:#x} (--inject-verifier-reject)",
                fault.reject
            );
        }
        loader.override_global("FAULT_INJECTION", &fault, true);
        let map_capacity = MapCapacity {
            syscall_stats: syscalls::map_entries(cfg),
            syscall_errnos: syscalls::map_entries(cfg),
            syscall_in_flight: if cfg.syscalls == SyscallMode::Off {
                1
            } else {
                cfg.inflight_map_entries
            },
            tcp_stats: cfg.cgroup_cache_entries as u32,
            net_traffic: cfg.cgroup_cache_entries as u32,
            // preallocated: without counters it would only hold memory
            pmu_stats: if pmu.is_ok() { cfg.pmu_map_entries } else { 1 },
            // drained at every snapshot: room for the cgroups made between two
            cgroup_paths: CGROUP_PATHS_ENTRIES,
        };
        loader
            .map_max_entries("SYSCALL_STATS", map_capacity.syscall_stats)
            .map_max_entries("SYSCALL_ERRNOS", map_capacity.syscall_errnos)
            .map_max_entries("SYSCALL_IN_FLIGHT", map_capacity.syscall_in_flight)
            .map_max_entries("TCP_STATS", map_capacity.tcp_stats)
            .map_max_entries("NET_TRAFFIC", map_capacity.net_traffic)
            .map_max_entries("PMU_STATS", map_capacity.pmu_stats)
            .map_max_entries("CGROUP_PATHS", map_capacity.cgroup_paths);
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
                    hierarchy,
                    ebpf: None,
                    status,
                    object_error: Some(why),
                    map_capacity,
                    logger: None,
                };
            }
        };
        // Kernel-side diagnostics (first occurrence of each loss kind) go to our log.
        let logger = aya_log::EbpfLogger::init(&mut ebpf)
            .inspect_err(|e| tracing::debug!("aya-log unavailable: {e}"))
            .ok();
        // Sockets carry only their cgroup v2 id: in v1 mode it would not name a container.
        let v2_only = match &hierarchy {
            Ok(cgroup::Hierarchy { v1: Some(_), .. }) => {
                Err("cgroup v1 mode: sockets carry only a cgroup v2 id".to_string())
            }
            _ => Ok(()),
        };
        // The counters' fds go into the arrays before the program can read them.
        let pmu_ready = pmu.and_then(|p| pmu::fill_arrays(&mut ebpf, p));
        let mut out = Vec::new();
        for p in PROGRAMS {
            let prereq = match p.feature {
                Feature::Syscalls => match cfg.syscalls {
                    SyscallMode::Off => Err(OFF_BY_CONFIG.to_string()),
                    _ => Ok(()),
                },
                Feature::Tcp => v2_only
                    .clone()
                    .and(tcp_layout.as_ref().map(|_| ()).map_err(Clone::clone)),
                Feature::Traffic => v2_only
                    .clone()
                    .and(cgroup2.as_ref().map(|_| ()).map_err(Clone::clone)),
                Feature::Pmu => pmu_ready.clone(),
                Feature::CgroupPaths => mkdir_layout.as_ref().map(|_| ()).map_err(Clone::clone),
            };
            let r = prereq.and_then(|()| attach(&mut ebpf, p, cgroup2.as_deref().ok()));
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
            hierarchy,
            ebpf: Some(ebpf),
            status: out,
            object_error: None,
            map_capacity,
            logger,
        }
    }

    /// Was the feature switched off in the configuration (not a failure)?
    pub fn switched_off(&self, f: Feature) -> bool {
        PROGRAMS.iter().zip(&self.status).any(|(p, s)| {
            p.feature == f && s.result.as_ref().err().is_some_and(|e| e == OFF_BY_CONFIG)
        })
    }

    /// Required programs of `f` that failed, with why: what keeps the feature off (a
    /// feature switched off in the configuration says so here too).
    pub fn failed_required(&self, f: Feature) -> impl Iterator<Item = (&'static str, &str)> {
        PROGRAMS
            .iter()
            .zip(&self.status)
            .filter(move |(p, _)| p.feature == f && p.required)
            .filter_map(|(p, s)| s.result.as_ref().err().map(|e| (p.name, e.as_str())))
    }

    /// `program: reason` for each of [`Probes::failed_required`].
    pub fn blockers(&self, f: Feature) -> Vec<String> {
        self.failed_required(f)
            .map(|(name, e)| format!("{name}: {e}"))
            .collect()
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

/// New cgroups named between two snapshots (264 bytes each, preallocated: 528 KiB).
const CGROUP_PATHS_ENTRIES: u32 = 2048;

/// The reason given for the programs of a feature the configuration switched off.
pub const OFF_BY_CONFIG: &str = "switched off in the configuration";

fn status(p: &ProgramSpec, result: Result<(), String>) -> ProgramStatus {
    ProgramStatus {
        name: p.name,
        feature: p.feature,
        hook: p.hook.to_string(),
        result,
    }
}

fn attach(
    ebpf: &mut Ebpf,
    p: &ProgramSpec,
    cgroup2: Option<&std::path::Path>,
) -> Result<(), String> {
    let prog = ebpf
        .program_mut(p.name)
        .ok_or_else(|| format!("program {} not in the object", p.name))?;
    let rejected = |e: aya::programs::ProgramError| rejection(p.name, &e);
    let failed = |e: aya::programs::ProgramError| format!("attach failed: {}", chain(&e));
    match p.hook {
        Hook::RawTracepoint { name } => {
            let tp: &mut RawTracePoint = prog.try_into().map_err(|e| chain(&e))?;
            tp.load().map_err(rejected)?;
            tp.attach(name).map_err(failed)?;
        }
        Hook::Tracepoint { category, name } => {
            let tp: &mut TracePoint = prog.try_into().map_err(|e| chain(&e))?;
            tp.load().map_err(rejected)?;
            tp.attach(category, name).map_err(failed)?;
        }
        Hook::CgroupSkb { egress } => {
            let root = cgroup2.ok_or("cgroup2 is not mounted")?;
            let dir = std::fs::File::open(root)
                .map_err(|e| format!("opening {}: {e}", root.display()))?;
            let skb: &mut CgroupSkb = prog.try_into().map_err(|e| chain(&e))?;
            skb.load().map_err(rejected)?;
            let kind = if egress {
                CgroupSkbAttachType::Egress
            } else {
                CgroupSkbAttachType::Ingress
            };
            // Since 5.7 aya attaches through a bpf_link, which always shares the cgroup
            // with other programs and takes no flags; before, ask for allow-multi so
            // systemd's own cgroup programs are not displaced.
            use aya::util::KernelVersion;
            let links = KernelVersion::current().is_ok_and(|v| v >= KernelVersion::new(5, 7, 0));
            let mode = if links {
                CgroupAttachMode::Single
            } else {
                CgroupAttachMode::AllowMultiple
            };
            skb.attach(&dir, kind, mode).map_err(failed)?;
        }
    }
    Ok(())
}

/// One line for `agent check` and the metric's log: the verifier's verdict (the last line
/// of its log before the statistics); the whole log goes to the debug log.
fn rejection(program: &str, e: &aya::programs::ProgramError) -> String {
    let aya::programs::ProgramError::LoadError {
        io_error,
        verifier_log,
    } = e
    else {
        return format!("verifier rejected it: {}", chain(e));
    };
    let log = verifier_log.to_string();
    tracing::debug!("{program}: verifier log:\n{log}");
    let stats = ["processed ", "verification time", "stack depth"];
    let verdict = log
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !stats.iter().any(|s| l.starts_with(s)))
        .unwrap_or("no verifier log");
    format!("verifier rejected it ({io_error}): {verdict}")
}

#[cfg(test)]
mod tests {
    use archscope_common::{FloorProgram, Program};

    fn sorted(mut names: Vec<&str>) -> Vec<&str> {
        names.sort_unstable();
        names
    }

    /// aya names a program after its function in ebpf/probes, so nothing but this test
    /// ties those functions to `Program`'s names.
    #[test]
    fn programs_match_the_object() {
        let object = aya_obj::Object::parse(super::OBJECT).expect("the embedded eBPF object");
        let listed = sorted(Program::ALL.iter().map(|p| p.name()).collect());
        let floor = FloorProgram::ALL.iter().map(|p| p.name());
        assert_eq!(
            sorted(object.programs.keys().map(String::as_str).collect()),
            sorted(listed.iter().copied().chain(floor).collect()),
            "the object's programs are `Program`'s and `FloorProgram`'s"
        );
        assert_eq!(
            sorted(super::PROGRAMS.iter().map(|p| p.name).collect()),
            listed,
            "the table loads every program once"
        );
    }
}
