//! `agent bench overhead`: what the agent's syscall tracing costs a process, measured in
//! one run: the getppid loop untraced, then with the agent's syscall programs attached,
//! alternating for several rounds; ns per syscall each way and their ratio. The traced
//! rounds' calls must show up in the agent's own maps (checked, and reported).
use std::os::unix::fs::MetadataExt;

use anyhow::Context;
use serde::Serialize;

use super::stats::median;
use super::workloads_os::getppid_loop;
use crate::UsageError;
use crate::arch::Arch;
use crate::config::Config;
use crate::probes::{Feature, Probes, syscalls};
use crate::tracefs::Tracefs;

#[derive(Debug, Serialize)]
pub struct Overhead {
    pub schema: &'static str,
    pub arch: String,
    pub kernel: String,
    pub rounds: u32,
    pub calls_per_round: u64,
    pub untraced_ns_per_call: Vec<f64>,
    pub traced_ns_per_call: Vec<f64>,
    pub median_untraced_ns: f64,
    pub median_traced_ns: f64,
    /// median traced / median untraced.
    pub ratio: f64,
    /// What tracing adds to one syscall (median traced − median untraced).
    pub overhead_ns_per_call: f64,
    /// getppid calls of this process's cgroup that the programs counted while attached.
    pub traced_calls_counted: u64,
    pub traced_calls_made: u64,
    pub programs: Vec<String>,
}

/// The cgroup v2 id (inode of its directory) of this process.
fn own_cgroup_id() -> Option<u64> {
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

pub fn run(rounds: u32, calls: u64, tracefs: Option<&std::path::Path>) -> anyhow::Result<Overhead> {
    crate::privileges::require_for_run().map_err(UsageError::from)?;
    let arch = Arch::running().context("unsupported architecture")?;
    let tracefs = Tracefs::find_or_mount(tracefs).map_err(|e| e.to_string());
    let cfg = Config::default();
    let cgroup = own_cgroup_id();
    // warm the loop and the caches once
    getppid_loop(calls / 10 + 1);
    let (mut untraced, mut traced) = (Vec::new(), Vec::new());
    let (mut counted_total, mut programs) = (0u64, Vec::new());
    for _ in 0..rounds {
        untraced.push(getppid_loop(calls));
        // Hardware counters stay off: only the tracing cost is measured.
        let no_pmu = Err("not used by the overhead benchmark".to_string());
        let probes = Probes::load(
            &cfg,
            Some(arch),
            tracefs.as_ref().map_err(Clone::clone),
            no_pmu,
        );
        if !probes.feature_up(Feature::Syscalls) {
            let why: Vec<String> = probes
                .status
                .iter()
                .filter_map(|s| s.result.as_ref().err().map(|e| format!("{}: {e}", s.name)))
                .collect();
            anyhow::bail!("syscall tracing could not be attached: {}", why.join("; "));
        }
        programs = probes
            .status
            .iter()
            .filter(|s| s.result.is_ok())
            .map(|s| format!("{} ({})", s.name, s.hook))
            .collect();
        let before = counted(&probes, cgroup)?;
        traced.push(getppid_loop(calls));
        counted_total += counted(&probes, cgroup)? - before;
        drop(probes); // detaches
    }
    let (mu, mt) = (median(&untraced), median(&traced));
    Ok(Overhead {
        schema: "archscope.bench.overhead/v1",
        arch: arch.goarch().into(),
        kernel: sysinfo::System::kernel_version().unwrap_or_default(),
        rounds,
        calls_per_round: calls,
        untraced_ns_per_call: untraced,
        traced_ns_per_call: traced,
        median_untraced_ns: mu,
        median_traced_ns: mt,
        ratio: mt / mu,
        overhead_ns_per_call: mt - mu,
        traced_calls_counted: counted_total,
        traced_calls_made: calls * u64::from(rounds),
        programs,
    })
}

pub fn text(o: &Overhead) -> String {
    format!(
        "getppid, {} rounds of {} calls, {} kernel {}\n\
         untraced   {:>8.1} ns/call  (rounds: {})\n\
         traced     {:>8.1} ns/call  (rounds: {})\n\
         ratio      {:>8.3}\n\
         overhead   {:>8.1} ns/call\n\
         counted    {} of {} traced calls ({})\n",
        o.rounds,
        o.calls_per_round,
        o.arch,
        o.kernel,
        o.median_untraced_ns,
        join(&o.untraced_ns_per_call),
        o.median_traced_ns,
        join(&o.traced_ns_per_call),
        o.ratio,
        o.overhead_ns_per_call,
        o.traced_calls_counted,
        o.traced_calls_made,
        o.programs.join(", ")
    )
}

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}
