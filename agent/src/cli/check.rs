//! `agent check`: what this machine offers and which programs load and attach here.
//! Exit 0 when the agent can run (syscall tracing works), 1 otherwise.
use std::path::Path;

use serde::Serialize;

use super::{CheckArgs, Output};
use crate::arch::{Arch, syscalls::SyscallTable};
use crate::config::Config;
use crate::probes::{Feature, Probes};
use crate::tracefs::Tracefs;
use crate::{UsageError, mounts, privileges};

#[derive(Debug, thiserror::Error)]
#[error("the agent cannot run here: {0}")]
pub struct NotReady(pub String);

#[derive(Debug, Serialize)]
pub struct Report {
    pub kernel: String,
    pub arch: String,
    pub syscall_table: Option<String>,
    pub syscall_table_entries: usize,
    pub items: Vec<Item>,
    pub programs: Vec<ProgramReport>,
    /// Each feature: collecting, switched off, or down with the reason.
    pub features: Vec<FeatureReport>,
    /// Hardware counters: per event whether it counts here, and why not.
    pub pmu_events: Vec<PmuEventReport>,
    pub can_run: bool,
    /// Why the agent cannot run: only what keeps syscall tracing off (its required
    /// programs with the verifier's or the kernel's words, the table, the hierarchy),
    /// never an optional feature's gap such as a missing PMU.
    pub blockers: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct PmuEventReport {
    pub event: &'static str,
    pub available: bool,
    pub cpus_open: usize,
    pub cpus_total: usize,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Item {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct FeatureReport {
    pub name: &'static str,
    pub up: bool,
    /// Why it is not up: the first required program's reason, or `switched off`.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ProgramReport {
    pub name: &'static str,
    pub feature: &'static str,
    pub hook: String,
    pub attached: bool,
    pub error: Option<String>,
}

pub fn check(args: CheckArgs) -> anyhow::Result<()> {
    let cfg = Config::resolve(&args.run.overrides, args.run.config.as_deref())
        .map_err(UsageError::from)?;
    crate::init_logging("error");
    let report = build(&cfg);
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Output::Text => print_text(&report),
    }
    if report.can_run {
        Ok(())
    } else {
        Err(NotReady(if report.blockers.is_empty() {
            "syscall tracing does not attach".into()
        } else {
            report.blockers.join("; ")
        })
        .into())
    }
}

pub fn build(cfg: &Config) -> Report {
    let arch = Arch::running();
    let table = arch.map(SyscallTable::for_arch);
    let kernel = sysinfo::System::kernel_version().unwrap_or_else(|_| "unknown".into());
    let mut items = Vec::new();
    let btf = Path::new("/sys/kernel/btf/vmlinux");
    items.push(Item {
        name: "btf",
        ok: btf.exists(),
        detail: if btf.exists() {
            btf.display().to_string()
        } else {
            "no /sys/kernel/btf/vmlinux (CO-RE features will be off)".into()
        },
    });
    let tracefs = Tracefs::find_or_mount(cfg.tracefs.as_deref());
    items.push(Item {
        name: "tracefs",
        ok: tracefs.is_ok(),
        detail: match &tracefs {
            Ok(t) => t.root.display().to_string(),
            Err(e) => e.to_string(),
        },
    });
    let bpffs = mounts::find("bpf");
    items.push(Item {
        name: "bpffs",
        ok: true, // optional: the agent pins nothing
        detail: bpffs.map_or(
            "not mounted (optional: the agent pins nothing)".into(),
            |p| p.display().to_string(),
        ),
    });
    let cgroup2 = mounts::find("cgroup2");
    items.push(Item {
        name: "cgroup2",
        ok: cgroup2.is_some(),
        detail: cgroup2.map_or(
            "not mounted: series would carry cgroup ids, not paths".into(),
            |p| p.display().to_string(),
        ),
    });
    let missing = privileges::missing(privileges::RUN);
    items.push(Item {
        name: "capabilities",
        ok: missing.is_empty(),
        detail: if missing.is_empty() {
            privileges::relevant().join(" ")
        } else {
            missing.join("; ")
        },
    });
    let memlock = privileges::raise_memlock();
    items.push(Item {
        name: "memlock",
        ok: true, // map creation below shows whether it mattered
        detail: memlock.map_or_else(|e| e, String::from),
    });
    let mut pmu = crate::pmu::Pmu::open(Path::new("/"), arch.map_or("", |a| a.uname()));
    if let Ok(p) = &mut pmu {
        p.read(); // baseline
        spin(std::time::Duration::from_millis(100));
        p.read();
    }
    let probes = Probes::load(
        cfg,
        arch,
        tracefs.as_ref().map_err(|e| e.to_string()),
        pmu.as_ref().map_err(Clone::clone),
    );
    let (pmu_item, pmu_events) = pmu_report(&pmu, probes.feature_up(Feature::Pmu));
    items.push(pmu_item);
    items.push(Item {
        name: "compat",
        ok: true, // a gap in labelling, not a reason the agent cannot run
        detail: match &probes.compat {
            Ok(Some(c)) => format!(
                "32-bit compat syscalls counted as compat_<nr> ({} at task_struct+{} & {:#x})",
                arch.and_then(crate::arch::compat::flag)
                    .map_or("", |f| f.define),
                c.offset,
                c.mask
            ),
            Ok(None) => "no 32-bit ABI on this architecture".into(),
            Err(e) => format!(
                "32-bit compat syscalls cannot be told apart ({e}); they would carry native names"
            ),
        },
    });
    items.push(Item {
        name: "hierarchy",
        ok: probes.hierarchy.is_ok(),
        detail: match &probes.hierarchy {
            Ok(h) => format!("events charged to {}", h.describe()),
            Err(e) => e.clone(),
        },
    });
    let mut blockers = Vec::new();
    if !probes.switched_off(Feature::Syscalls) {
        blockers.extend(probes.blockers(Feature::Syscalls));
    }
    if table.is_none() {
        blockers.push(format!("no syscall table for {}", std::env::consts::ARCH));
    }
    if let Err(e) = &probes.hierarchy {
        blockers.push(e.clone());
    }
    let features = Feature::ALL
        .iter()
        .map(|&f| FeatureReport {
            name: f.name(),
            up: probes.feature_up(f),
            // the first required program's reason (or "switched off …")
            reason: probes.failed_required(f).next().map(|(_, e)| e.to_string()),
        })
        .collect();
    let programs = probes
        .status
        .iter()
        .map(|s| ProgramReport {
            name: s.name,
            feature: s.feature.name(),
            hook: s.hook.clone(),
            attached: s.result.is_ok(),
            error: s.result.clone().err(),
        })
        .collect();
    Report {
        kernel,
        arch: arch.map_or(std::env::consts::ARCH.to_string(), |a| {
            a.uname().to_string()
        }),
        syscall_table: table.as_ref().map(|t| t.arch.uname().to_string()),
        syscall_table_entries: table.as_ref().map_or(0, |t| t.len()),
        items,
        programs,
        features,
        pmu_events,
        can_run: blockers.is_empty(),
        blockers,
    }
}

fn print_text(r: &Report) {
    let mark = |ok: bool| if ok { "ok  " } else { "FAIL" };
    println!("archscope agent check");
    println!("  {} kernel        {} ({})", mark(true), r.kernel, r.arch);
    match &r.syscall_table {
        Some(t) => println!(
            "  {} syscalls      {t} table, {} entries",
            mark(true),
            r.syscall_table_entries
        ),
        None => println!("  {} syscalls      no table for {}", mark(false), r.arch),
    }
    for i in &r.items {
        println!("  {} {:<13} {}", mark(i.ok), i.name, i.detail);
    }
    for e in r
        .pmu_events
        .iter()
        .filter(|_| r.items.iter().any(|i| i.name == "pmu" && i.ok))
    {
        println!(
            "  {} counter       {:<24} {}/{} CPUs{}",
            mark(e.available),
            e.event,
            e.cpus_open,
            e.cpus_total,
            e.reason
                .as_ref()
                .map_or(String::new(), |r| format!(": {r}"))
        );
    }
    for p in &r.programs {
        let what = match &p.error {
            None => "loaded and attached".to_string(),
            Some(e) => e.clone(),
        };
        println!(
            "  {} program       {} [{}] {}: {}",
            mark(p.attached),
            p.name,
            p.feature,
            p.hook,
            what
        );
    }
    for f in &r.features {
        println!(
            "  {} feature       {}: {}",
            mark(f.up || f.reason.as_deref() == Some(crate::probes::OFF_BY_CONFIG)),
            f.name,
            f.reason.as_deref().unwrap_or("collecting")
        );
    }
    println!(
        "{}",
        if r.can_run {
            "result: the agent can run here"
        } else {
            "result: the agent cannot trace syscalls here"
        }
    );
    for b in &r.blockers {
        println!("  because {b}");
    }
}

/// Keep this CPU busy so the counters have something to count.
fn spin(d: std::time::Duration) {
    let until = std::time::Instant::now() + d;
    let mut x = 0u64;
    while std::time::Instant::now() < until {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}

fn pmu_report(
    pmu: &Result<crate::pmu::Pmu, String>,
    feature_up: bool,
) -> (Item, Vec<PmuEventReport>) {
    let p = match pmu {
        Err(why) => {
            let item = Item {
                name: "pmu",
                ok: false,
                detail: format!("hardware counters are off: {why}"),
            };
            let events = archscope_common::PmuEvent::ALL
                .iter()
                .map(|e| PmuEventReport {
                    event: e.name(),
                    available: false,
                    cpus_open: 0,
                    cpus_total: 0,
                    reason: Some(why.clone()),
                })
                .collect();
            return (item, events);
        }
        Ok(p) => p,
    };
    let status = p.status();
    let events: Vec<PmuEventReport> = status
        .iter()
        .map(|s| PmuEventReport {
            event: s.event.name(),
            available: s.state.is_ok(),
            cpus_open: s.cpus_open,
            cpus_total: s.cpus_total,
            reason: s.state.clone().err(),
        })
        .collect();
    let mut pmus: Vec<String> = p
        .plan
        .cpus
        .iter()
        .map(|c| {
            let uarch = c
                .pmu_name
                .as_deref()
                .map_or(String::new(), |n| format!(", {n}"));
            format!("{} ({} table, {}{uarch})", c.pmu, c.table, c.model)
        })
        .collect();
    pmus.dedup();
    let working = events.iter().filter(|e| e.available).count();
    let item = Item {
        name: "pmu",
        ok: working > 0,
        detail: format!(
            "{}: {working} of {} events count; per container {}",
            pmus.join(", "),
            events.len(),
            if feature_up {
                "via sched_switch"
            } else {
                "off (see program archscope_sched_switch)"
            }
        ),
    };
    (item, events)
}
