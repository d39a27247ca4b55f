//! `agent bench overhead`: what the agent's syscall tracing costs a process, measured in
//! one run against its floor. Each round runs the getppid loop three ways, in an order
//! that rotates from round to round so drift spreads over all three: untraced; with empty
//! programs on exactly the hooks the syscall feature uses (the floor: what merely
//! attaching costs); with the agent's programs in the chosen mode. Reported: ns per call
//! each way, traced/untraced, and the cost over the floor, (traced − untraced) /
//! (floor − untraced). The traced rounds' calls must show up in the agent's own maps
//! (checked, and reported).
use std::os::unix::fs::MetadataExt;

use anyhow::Context;
use archscope_common::FloorProgram;
use serde::Serialize;

use super::three_ways::{Samples, Way, rotate};
use super::workloads_os::getppid_loop;
use crate::UsageError;
use crate::arch::Arch;
use crate::config::{Config, SyscallMode};
use crate::features::syscalls::maps as syscalls;
use crate::probes::{Feature, OBJECT, Probes};
use crate::tracefs::Tracefs;

#[derive(Debug, Serialize)]
pub struct Overhead {
    pub schema: &'static str,
    pub arch: String,
    pub kernel: String,
    /// The syscall mode measured (`full` or `counts`).
    pub mode: &'static str,
    pub rounds: u32,
    pub calls_per_round: u64,
    pub untraced_ns_per_call: Vec<f64>,
    pub floor_ns_per_call: Vec<f64>,
    pub traced_ns_per_call: Vec<f64>,
    pub median_untraced_ns: f64,
    pub median_floor_ns: f64,
    pub median_traced_ns: f64,
    /// median traced / median untraced.
    pub ratio: f64,
    /// What tracing adds to one syscall (median traced − median untraced).
    pub overhead_ns_per_call: f64,
    /// What the empty programs add (median floor − median untraced).
    pub floor_overhead_ns_per_call: f64,
    /// overhead / floor overhead: 1.0 would be tracing for free beyond the hooks.
    pub cost_over_floor: f64,
    /// The hooks of the floor's empty programs.
    pub floor_programs: Vec<String>,
    /// getppid calls of this process's cgroup that the programs counted while attached.
    pub traced_calls_counted: u64,
    pub traced_calls_made: u64,
    pub programs: Vec<String>,
    /// The scheduler feature's cost to context switches, measured the same way.
    pub scheduler: Option<super::overhead_sched::SchedOverhead>,
    /// Why the scheduler rows are missing.
    pub scheduler_error: Option<String>,
}

/// The cgroup v2 id (inode of its directory) of this process.
pub(super) fn own_cgroup_id() -> Option<u64> {
    let root = crate::mounts::find("cgroup2")?;
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    std::fs::metadata(root.join(rel.trim_start_matches('/')))
        .ok()
        .map(|m| m.ino())
}

fn counted(p: &Probes, cgroup: Option<u64>) -> anyhow::Result<u64> {
    let ebpf = p.ebpf.as_ref().context("no eBPF object")?;
    let maps = syscalls::read(ebpf).map_err(anyhow::Error::msg)?;
    Ok(maps
        .stats
        .iter()
        .filter(|(k, _)| {
            k.nr == libc::SYS_getppid as u32 && cgroup.is_none_or(|c| c == k.cgroup_id)
        })
        .map(|(_, v)| v.calls)
        .sum())
}

/// The floor's empty programs and their hooks (the syscall feature's hot hooks).
const FLOOR: [(&str, &str); 2] = [
    (FloorProgram::SysEnter.name(), "sys_enter"),
    (FloorProgram::SysExit.name(), "sys_exit"),
];

/// The same object with only these empty programs attached to their raw tracepoints
/// (its maps at their smallest).
pub(super) fn attach_floor(floor: &[(&str, &str)]) -> anyhow::Result<aya::Ebpf> {
    let mut loader = aya::EbpfLoader::new();
    for m in [
        "SYSCALL_STATS",
        "SYSCALL_ERRNOS",
        "SYSCALL_IN_FLIGHT",
        "TCP_STATS",
        "NET_TRAFFIC",
        "PMU_STATS",
        "SCHED_STATS",
        "SCHED_RUNNABLE",
    ] {
        loader.map_max_entries(m, 1);
    }
    let mut ebpf = loader.load(OBJECT).context("loading the eBPF object")?;
    for &(name, hook) in floor {
        let p: &mut aya::programs::RawTracePoint = ebpf
            .program_mut(name)
            .with_context(|| format!("{name} not in the object"))?
            .try_into()?;
        p.load().with_context(|| format!("loading {name}"))?;
        p.attach(hook)
            .with_context(|| format!("attaching {name}"))?;
    }
    Ok(ebpf)
}

pub fn run(
    mode: SyscallMode,
    rounds: u32,
    calls: u64,
    tracefs: Option<&std::path::Path>,
) -> anyhow::Result<Overhead> {
    crate::privileges::require_for_run().map_err(UsageError::from)?;
    let arch = Arch::running().context("unsupported architecture")?;
    let tracefs = Tracefs::find_or_mount(tracefs).map_err(|e| e.to_string());
    let cfg = Config {
        syscalls: mode,
        ..Config::default()
    };
    let cgroup = own_cgroup_id();
    // warm the loop and the caches once
    getppid_loop(calls / 10 + 1);
    let (mut counted_total, mut programs) = (0u64, Vec::new());
    let samples = rotate(rounds, |way| {
        Ok(match way {
            Way::Untraced => getppid_loop(calls),
            Way::Floor => {
                let attached = attach_floor(&FLOOR)?;
                let ns = getppid_loop(calls);
                drop(attached); // detaches
                ns
            }
            Way::Traced => {
                let (p, ns, n) = traced_round(&cfg, arch, &tracefs, cgroup, calls)?;
                programs = p;
                counted_total += n;
                ns
            }
        })
    })?;
    let (mu, mf, mt) = samples.medians();
    let sched = super::overhead_sched::run(arch, &tracefs, rounds, calls / 50 + 1);
    if let Err(e) = &sched {
        tracing::warn!("scheduler overhead not measured: {e:#}");
    }
    Ok(Overhead {
        schema: "archscope.bench.overhead/v3",
        arch: arch.goarch().into(),
        kernel: sysinfo::System::kernel_version().unwrap_or_default(),
        mode: mode.name(),
        rounds,
        calls_per_round: calls,
        cost_over_floor: samples.cost_over_floor(),
        untraced_ns_per_call: samples.untraced,
        floor_ns_per_call: samples.floor,
        traced_ns_per_call: samples.traced,
        median_untraced_ns: mu,
        median_floor_ns: mf,
        median_traced_ns: mt,
        ratio: mt / mu,
        overhead_ns_per_call: mt - mu,
        floor_overhead_ns_per_call: mf - mu,
        floor_programs: FLOOR
            .iter()
            .map(|(n, h)| format!("{n} (raw_tracepoint/{h})"))
            .collect(),
        traced_calls_counted: counted_total,
        traced_calls_made: calls * u64::from(rounds),
        programs,
        scheduler_error: sched.as_ref().err().map(|e| format!("{e:#}")),
        scheduler: sched.ok(),
    })
}

/// One traced loop: the agent's programs attached as `agent run` attaches them.
fn traced_round(
    cfg: &Config,
    arch: Arch,
    tracefs: &Result<Tracefs, String>,
    cgroup: Option<u64>,
    calls: u64,
) -> anyhow::Result<(Vec<String>, f64, u64)> {
    // Hardware counters stay off: only the tracing cost is measured.
    let no_pmu = Err("not used by the overhead benchmark".to_string());
    let probes = Probes::load(
        cfg,
        Some(arch),
        tracefs.as_ref().map_err(Clone::clone),
        no_pmu,
    );
    if !probes.feature_up(Feature::Syscalls) {
        anyhow::bail!(
            "syscall tracing could not be attached: {}",
            probes.blockers(Feature::Syscalls).join("; ")
        );
    }
    let programs = probes
        .status
        .iter()
        .filter(|s| s.result.is_ok())
        .map(|s| format!("{} ({})", s.name, s.hook))
        .collect();
    let before = counted(&probes, cgroup)?;
    let ns = getppid_loop(calls);
    let n = counted(&probes, cgroup)? - before;
    Ok((programs, ns, n))
}

pub fn text(o: &Overhead) -> String {
    let sched = match (&o.scheduler, &o.scheduler_error) {
        (Some(s), _) => super::overhead_sched::text(s),
        (None, Some(e)) => format!("scheduler: not measured: {e}\n"),
        (None, None) => String::new(),
    };
    let samples = Samples {
        untraced: o.untraced_ns_per_call.clone(),
        floor: o.floor_ns_per_call.clone(),
        traced: o.traced_ns_per_call.clone(),
    };
    let syscalls = format!(
        "getppid, syscalls = {}, {} rounds of {} calls, {} kernel {}\n{}\
         counted    {} of {} traced calls ({})\n",
        o.mode,
        o.rounds,
        o.calls_per_round,
        o.arch,
        o.kernel,
        samples.rows("ns/call", &o.floor_programs),
        o.traced_calls_counted,
        o.traced_calls_made,
        o.programs.join(", ")
    );
    syscalls + &sched
}
