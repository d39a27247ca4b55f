//! The scheduler feature's part of `agent bench overhead`: what it adds to a context
//! switch, against its floor. A round is a pipe ping-pong between two threads (two
//! switches per round trip), run three ways in an order that rotates from round to round:
//! untraced; with empty programs on the feature's hooks (`sched_switch`, `sched_wakeup`,
//! `sched_wakeup_new`, `sched_process_exit`); with the agent's scheduler programs alone (every other feature
//! off, so that the syscall programs do not weigh on the pipe's reads and writes). Both
//! threads are pinned to one CPU, so that every switch is from one to the other, never
//! through the idle task and a wakeup on another CPU, whose cost varies far more than the
//! programs'.
use std::collections::HashMap;

use anyhow::Context;
use archscope_common::{FloorProgram, SchedStats};
use aya::maps::{MapData, PerCpuHashMap};
use serde::Serialize;

use super::three_ways::{Samples, Way, rotate};
use super::workloads_os::pipe_round_trips;
use crate::arch::Arch;
use crate::config::{Config, SyscallMode};
use crate::features::cgroup_map::PerCpuSum;
use crate::probes::{Feature, Probes};
use crate::tracefs::Tracefs;

#[derive(Debug, Serialize)]
pub struct SchedOverhead {
    pub round_trips_per_round: u64,
    pub untraced_ns_per_round_trip: Vec<f64>,
    pub floor_ns_per_round_trip: Vec<f64>,
    pub traced_ns_per_round_trip: Vec<f64>,
    pub median_untraced_ns: f64,
    pub median_floor_ns: f64,
    pub median_traced_ns: f64,
    /// median traced / median untraced.
    pub ratio: f64,
    /// What the feature adds to one round trip (median traced − median untraced).
    pub overhead_ns_per_round_trip: f64,
    /// What the empty programs add (median floor − median untraced).
    pub floor_overhead_ns_per_round_trip: f64,
    /// overhead / floor overhead.
    pub cost_over_floor: f64,
    pub floor_programs: Vec<String>,
    pub programs: Vec<String>,
    /// Context switches of this process's cgroup the programs counted while attached (at
    /// least two per round trip).
    pub switches_counted: u64,
    pub round_trips_made: u64,
}

const FLOOR: [(&str, &str); 4] = [
    (FloorProgram::SchedSwitch.name(), "sched_switch"),
    (FloorProgram::SchedWakeup.name(), "sched_wakeup"),
    (FloorProgram::SchedWakeupNew.name(), "sched_wakeup_new"),
    (FloorProgram::SchedThreadExit.name(), "sched_process_exit"),
];

pub fn run(
    arch: Arch,
    tracefs: &Result<Tracefs, String>,
    rounds: u32,
    trips: u64,
) -> anyhow::Result<SchedOverhead> {
    let cgroup = super::overhead::own_cgroup_id();
    let pipe_round_trips = |trips| pinned_round_trips(trips);
    pipe_round_trips(trips / 10 + 1)?; // warm the threads and pipes once
    let (mut counted, mut programs) = (0u64, Vec::new());
    let samples = rotate(rounds, |way| match way {
        Way::Untraced => pipe_round_trips(trips),
        Way::Floor => {
            let attached = super::overhead::attach_floor(&FLOOR)?;
            let ns = pipe_round_trips(trips)?;
            drop(attached);
            Ok(ns)
        }
        Way::Traced => {
            let probes = load_scheduler_only(arch, tracefs)?;
            programs = probes
                .status
                .iter()
                .filter(|s| s.result.is_ok())
                .map(|s| format!("{} ({})", s.name, s.hook))
                .collect();
            let before = switches(&probes, cgroup)?;
            let ns = pipe_round_trips(trips)?;
            counted += switches(&probes, cgroup)? - before;
            Ok(ns)
        }
    })?;
    let (mu, mf, mt) = samples.medians();
    Ok(SchedOverhead {
        round_trips_per_round: trips,
        cost_over_floor: samples.cost_over_floor(),
        untraced_ns_per_round_trip: samples.untraced,
        floor_ns_per_round_trip: samples.floor,
        traced_ns_per_round_trip: samples.traced,
        median_untraced_ns: mu,
        median_floor_ns: mf,
        median_traced_ns: mt,
        ratio: mt / mu,
        overhead_ns_per_round_trip: mt - mu,
        floor_overhead_ns_per_round_trip: mf - mu,
        floor_programs: FLOOR
            .iter()
            .map(|(n, h)| format!("{n} (raw_tracepoint/{h})"))
            .collect(),
        programs,
        switches_counted: counted,
        round_trips_made: trips * u64::from(rounds),
    })
}

/// The round trips in a thread pinned to this process's first CPU; the echo thread it
/// starts inherits the pinning.
fn pinned_round_trips(trips: u64) -> anyhow::Result<f64> {
    std::thread::spawn(move || {
        // SAFETY: local cpu_set_t values, filled and read by the kernel and libc macros.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            let size = std::mem::size_of::<libc::cpu_set_t>();
            if libc::sched_getaffinity(0, size, &mut set) != 0 {
                anyhow::bail!("sched_getaffinity: {}", std::io::Error::last_os_error());
            }
            let cpu = (0..libc::CPU_SETSIZE as usize)
                .find(|&c| libc::CPU_ISSET(c, &set))
                .context("no CPU to run on")?;
            let mut one: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut one);
            if libc::sched_setaffinity(0, size, &one) != 0 {
                anyhow::bail!("sched_setaffinity: {}", std::io::Error::last_os_error());
            }
        }
        pipe_round_trips(trips)
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the ping-pong thread panicked"))?
}

fn load_scheduler_only(arch: Arch, tracefs: &Result<Tracefs, String>) -> anyhow::Result<Probes> {
    let cfg = Config {
        syscalls: SyscallMode::Off,
        features_off: Feature::ALL
            .into_iter()
            .filter(|f| *f != Feature::Scheduler)
            .collect(),
        ..Config::default()
    };
    let no_pmu = Err("not used by the overhead benchmark".to_string());
    let probes = Probes::load(
        &cfg,
        Some(arch),
        tracefs.as_ref().map_err(Clone::clone),
        no_pmu,
    );
    if !probes.feature_up(Feature::Scheduler) {
        anyhow::bail!(
            "the scheduler programs could not be attached: {}",
            probes.blockers(Feature::Scheduler).join("; ")
        );
    }
    Ok(probes)
}

/// Voluntary and involuntary switches counted for `cgroup` (every cgroup's if unknown).
fn switches(p: &Probes, cgroup: Option<u64>) -> anyhow::Result<u64> {
    let ebpf = p.ebpf.as_ref().context("no eBPF object")?;
    let map: PerCpuHashMap<&MapData, u64, SchedStats> =
        PerCpuHashMap::try_from(ebpf.map("SCHED_STATS").context("SCHED_STATS missing")?)?;
    let mut sums: HashMap<u64, SchedStats> = HashMap::new();
    for item in map.iter() {
        let (k, per_cpu) = item?;
        let s = sums.entry(k).or_insert(SchedStats::ZERO);
        per_cpu.iter().for_each(|v| PerCpuSum::add(s, v));
    }
    Ok(sums
        .iter()
        .filter(|(k, _)| cgroup.is_none_or(|c| c == **k))
        .map(|(_, v)| v.voluntary + v.involuntary)
        .sum())
}

pub fn text(o: &SchedOverhead) -> String {
    let samples = Samples {
        untraced: o.untraced_ns_per_round_trip.clone(),
        floor: o.floor_ns_per_round_trip.clone(),
        traced: o.traced_ns_per_round_trip.clone(),
    };
    format!(
        "\ncontext switches (pipe round trips between two threads on one CPU), scheduler \
         feature alone, {} rounds of {}\n{}\
         counted    {} switches in {} traced round trips ({})\n",
        o.untraced_ns_per_round_trip.len(),
        o.round_trips_per_round,
        samples.rows("ns/round trip", &o.floor_programs),
        o.switches_counted,
        o.round_trips_made,
        o.programs.join(", ")
    )
}
