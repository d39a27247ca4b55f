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
    pub can_run: bool,
}

#[derive(Debug, Serialize)]
pub struct Item {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
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
        let why = report
            .items
            .iter()
            .filter(|i| !i.ok)
            .map(|i| i.detail.clone())
            .collect::<Vec<_>>();
        Err(NotReady(if why.is_empty() {
            "syscall tracing does not attach".into()
        } else {
            why.join("; ")
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
    let probes = Probes::load(cfg, arch, tracefs.as_ref().map_err(|e| e.to_string()));
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
        can_run: probes.feature_up(Feature::Syscalls) && table.is_some(),
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
    println!(
        "{}",
        if r.can_run {
            "result: the agent can run here"
        } else {
            "result: the agent cannot trace syscalls here"
        }
    );
}
