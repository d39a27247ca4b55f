//! Loading and attaching the kernel programs. Every program is optional: one that fails
//! to load or attach disables only its feature, with the reason kept for `agent check`,
//! the log (once) and the `archscope_program_up` metric.
pub mod cgroup;

use aya::maps::{MapData, PerCpuArray};
use aya::programs::{CgroupAttachMode, CgroupSkb, CgroupSkbAttachType, RawTracePoint, TracePoint};
use aya::{Ebpf, EbpfLoader};

use crate::arch::Arch;
use crate::config::Config;
use crate::errors::chain;
use crate::features::{self, Features, LoadContext};
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
        /// Run-queue latency, CPU time and context switches per cgroup.
        Scheduler = "scheduler",
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
    /// Every program of every feature, in the order of `features::programs()`.
    pub status: Vec<ProgramStatus>,
    /// Why the object itself could not be loaded (then every program failed).
    pub object_error: Option<String>,
    /// 32-bit compat syscalls: `Ok(Some(..))` told apart, `Ok(None)` no such ABI here,
    /// `Err` the flag could not be located (they would carry native names).
    pub compat: Result<Option<archscope_common::CompatLayout>, String>,
    /// The cgroup hierarchy events are charged to (`Err`: v1 asked for and impossible).
    pub hierarchy: Result<cgroup::Hierarchy, String>,
    pub features: Features,
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
        let cgroup2 =
            crate::mounts::find("cgroup2").ok_or_else(|| "cgroup2 is not mounted".to_string());
        let hierarchy = cgroup::choose(cfg);
        let cx = LoadContext {
            cfg,
            arch,
            tracefs,
            pmu,
            hierarchy: &hierarchy,
            cgroup2: &cgroup2,
        };
        let mut features = Features::default();
        let mut ready: Vec<Result<(), String>> = features
            .units_mut()
            .into_iter()
            .map(|u| {
                let r = u.configure(&cx);
                if cfg.features_off.contains(&u.feature()) {
                    Err(OFF_BY_CONFIG.to_string())
                } else {
                    r
                }
            })
            .collect();
        let compat = features
            .syscalls
            .compat
            .clone()
            .unwrap_or_else(|| Err("not configured".to_string()));
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
        let loaded = {
            let mut loader = EbpfLoader::new();
            for u in features.units() {
                u.set_globals(&mut loader);
            }
            if let Ok(cgroup::Hierarchy {
                v1: Some((_, l)), ..
            }) = &hierarchy
            {
                loader.override_global("CGROUP_V1_LAYOUT", l, true);
            }
            loader.override_global("FAULT_INJECTION", &fault, true);
            loader.load(OBJECT)
        };
        let mut ebpf = match loaded {
            Ok(e) => e,
            Err(e) => {
                let why = format!("loading the eBPF object failed: {}", chain(&e));
                let status = features::programs()
                    .map(|p| status(p, Err(why.clone())))
                    .collect();
                return Probes {
                    compat,
                    hierarchy,
                    ebpf: None,
                    status,
                    object_error: Some(why),
                    features,
                    logger: None,
                };
            }
        };
        // Kernel-side diagnostics (first occurrence of each loss kind) go to our log.
        let logger = aya_log::EbpfLogger::init(&mut ebpf)
            .inspect_err(|e| tracing::debug!("aya-log unavailable: {e}"))
            .ok();
        for (u, r) in features.units_mut().into_iter().zip(&mut ready) {
            if r.is_ok() {
                *r = u.prepare(&mut ebpf, &cx);
            }
        }
        let mut out = Vec::new();
        for p in features::programs() {
            let prereq = ready[p.feature as usize].clone();
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
        Probes {
            compat,
            hierarchy,
            ebpf: Some(ebpf),
            status: out,
            object_error: None,
            features,
            logger,
        }
    }

    /// Was the feature switched off in the configuration (not a failure)?
    pub fn switched_off(&self, f: Feature) -> bool {
        features::programs().zip(&self.status).any(|(p, s)| {
            p.feature == f && s.result.as_ref().err().is_some_and(|e| e == OFF_BY_CONFIG)
        })
    }

    /// Required programs of `f` that failed, with why: what keeps the feature off (a
    /// feature switched off in the configuration says so here too).
    pub fn failed_required(&self, f: Feature) -> impl Iterator<Item = (&'static str, &str)> {
        features::programs()
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
        features::programs()
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

/// The kernel-side loss counters of every family, summed over CPUs.
pub fn read_losses(ebpf: &Ebpf) -> Result<[u64; archscope_common::LOSS_KINDS], String> {
    let mut out = [0u64; archscope_common::LOSS_KINDS];
    let losses: PerCpuArray<&MapData, u64> =
        PerCpuArray::try_from(ebpf.map("LOSSES").ok_or("LOSSES missing")?)
            .map_err(|e| e.to_string())?;
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = losses
            .get(&(i as u32), 0)
            .map(|v| v.iter().sum())
            .unwrap_or(0);
    }
    Ok(out)
}

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
            sorted(crate::features::programs().map(|p| p.name).collect()),
            listed,
            "the table loads every program once"
        );
    }
}
