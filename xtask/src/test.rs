//! `cargo xtask test`: the whole suite, in the order that fails fastest.
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cross::Target;
use crate::{cargo, status, target_dir};

pub fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    if let Some(dir) = build_cache()? {
        eprintln!(
            "xtask test: build cache {} (CI: dependencies compiled by earlier runs on this machine are reused; XTASK_BUILD_CACHE=off for a cold run)",
            dir.display()
        );
    }
    let mut stages = Stages::default();
    let result = steps(&mut stages);
    // the time of every stage, passed or not: CI has 90 minutes, the project aims at 40
    eprintln!("xtask test: stage times");
    for (name, d) in &stages.times {
        eprintln!("  {:>6.0} s  {name}", d.as_secs_f64());
    }
    eprintln!("  {:>6.0} s  in all", started.elapsed().as_secs_f64());
    result?;
    eprintln!("xtask test: all steps passed");
    Ok(())
}

/// Where CI keeps its builds between runs on one machine, as CI systems cache cargo's
/// target directory: a fresh clone then compiles the workspace's own crates and reuses the
/// dependencies. Only under CI (`CI` set), never over an explicit CARGO_TARGET_DIR or with
/// `XTASK_BUILD_CACHE=off`; the first run on a machine is a cold one. Every stage's cargo
/// inherits it but the offline build's, which proves the bundle from scratch in its own.
pub const BUILD_CACHE_VAR: &str = "XTASK_BUILD_CACHE_DIR";

/// Emptied when it grows past this (each new clone path adds the workspace's own crates).
const BUILD_CACHE_MAX_KIB: u64 = 40 << 20;

fn build_cache() -> anyhow::Result<Option<std::path::PathBuf>> {
    let off = std::env::var("XTASK_BUILD_CACHE").is_ok_and(|v| v == "off");
    if std::env::var_os("CI").is_none() || std::env::var_os("CARGO_TARGET_DIR").is_some() || off {
        return Ok(None);
    }
    let dir = crate::vm::cache_dir()
        .parent()
        .map(|p| p.join("target"))
        .unwrap_or_else(|| target_dir().join("cache"));
    let du = crate::vm::output(std::process::Command::new("du").arg("-sk").arg(&dir))?;
    let kib: u64 = du
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if kib > BUILD_CACHE_MAX_KIB {
        eprintln!(
            "xtask test: build cache over {} GiB: emptied",
            BUILD_CACHE_MAX_KIB >> 20
        );
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    // SAFETY: single-threaded here; every stage's command inherits them.
    unsafe {
        std::env::set_var("CARGO_TARGET_DIR", &dir);
        std::env::set_var(BUILD_CACHE_VAR, &dir);
        // line numbers in backtraces are all CI reads; full debug info only slows every
        // compile and link of the test stages
        if std::env::var_os("CARGO_PROFILE_DEV_DEBUG").is_none() {
            std::env::set_var("CARGO_PROFILE_DEV_DEBUG", "line-tables-only");
        }
    }
    Ok(Some(dir))
}

/// Runs the stages in order and keeps the time of each.
#[derive(Default)]
struct Stages {
    times: Vec<(String, Duration)>,
}

impl Stages {
    fn call(&mut self, name: &str, f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
        eprintln!("==> {name}");
        let t = Instant::now();
        let r = f();
        self.times.push((name.to_string(), t.elapsed()));
        r.map_err(|e| anyhow::anyhow!("{name} failed: {e:#}"))
    }

    fn step(&mut self, name: &str, cmd: &mut std::process::Command) -> anyhow::Result<()> {
        self.call(name, || status(cmd))
    }
}

fn steps(stages: &mut Stages) -> anyhow::Result<()> {
    stages.step(
        "formatting",
        cargo().args(["fmt", "--all", "--", "--check"]),
    )?;
    // one eBPF object for every build below (each would otherwise make its own)
    stages.call("eBPF object, built once for every stage", || {
        let object = crate::ebpf::build_shared()?;
        eprintln!("eBPF object: {}", object.display());
        Ok(())
    })?;
    stages.step("eBPF lints (bpfel)", &mut crate::ebpf::clippy())?;
    // Every host stage selects the same packages (the workspace but the eBPF crate), so
    // each dependency is resolved with one feature set and compiled once for all of them.
    let workspace = ["--workspace", "--exclude", "archscope-probes"];
    stages.step(
        "lints",
        cargo()
            .arg("clippy")
            .args(workspace)
            .args(["--all-targets", "--", "-D", "warnings"]),
    )?;
    stages.step(
        "build (agent, tools, tests)",
        cargo()
            .arg("build")
            .args(workspace)
            .args(["--bins", "--tests"]),
    )?;
    stages.step(
        "unit tests",
        cargo()
            .arg("test")
            .args(workspace)
            .args(["--lib", "--bins"]),
    )?;
    // The integration tests load programs into the running kernel: root (or CAP_BPF +
    // CAP_PERFMON) required.
    let agent = target_dir().join("debug/agent");
    stages.step(
        "kernel integration tests",
        cargo()
            .arg("test")
            .args(workspace)
            .args(["--test", "*", "--no-fail-fast"])
            .env("XTASK_AGENT_BIN", &agent),
    )?;
    // each parser of host and user text under libFuzzer from its seeds, briefly
    // (`cargo xtask fuzz` runs each for ten minutes)
    stages.step(
        "fuzzing (20 s per target)",
        std::process::Command::new(std::env::current_exe()?).args([
            "fuzz",
            "--dev",
            "--seconds",
            "20",
        ]),
    )?;
    // Every guest's build first (one cargo at a time: two cores), then the guests side by
    // side: each kernel of the matrix with its kernel-facing tests, then arm64 again with one
    // CPU under -icount for the PMU.
    let at_once = crate::guests::at_once()?;
    let mut prepared = Vec::new();
    for t in [Target::Aarch64, Target::Loongarch64, Target::X86_64] {
        stages.call(
            &format!("{} guests: build and initramfs", t.goarch()),
            || {
                prepared.push(crate::vm::prepare(t, Some("all"))?);
                Ok(())
            },
        )?;
    }
    stages.call(
        &format!("kernel integration tests in the guests (qemu, {at_once} at once)"),
        || crate::guests::boot_all(&prepared, true, at_once),
    )?;
    // the arm64 build and initramfs just booted, now as a networked node beside the host
    let arm64 = prepared
        .iter()
        .find(|p| p.t == Target::Aarch64)
        .context("no arm64 guest prepared")?;
    stages.call(
        "cross-architecture workload compare (host and arm64 guest, real Prometheus)",
        || crate::node_guest::compare(arm64),
    )?;
    // a full release build from the vendored bundle: its own command, `cargo xtask
    // test-offline`, so it can be run (and timed) alone
    stages.step(
        "offline bundle build (no network, no eBPF toolchain)",
        std::process::Command::new(std::env::current_exe()?).arg("test-offline"),
    )?;
    Ok(())
}

/// The host integration suite with every agent the tests start holding only the
/// capabilities the DaemonSet and the systemd unit grant.
pub fn least_privilege() -> anyhow::Result<()> {
    step(
        "build agent",
        cargo().args(["build", "-p", "archscope-agent"]),
    )?;
    let caps = std::env::var("XTASK_AGENT_CAPS").unwrap_or_else(|_| "bpf,perfmon,net_admin".into());
    step(
        &format!("kernel integration tests, agent with only {caps}"),
        cargo()
            .args(["test", "--no-fail-fast", "-p", "archscope-tests"])
            .env("XTASK_AGENT_BIN", target_dir().join("debug/agent"))
            .env("XTASK_AGENT_CAPS", &caps),
    )
}

fn step(name: &str, cmd: &mut std::process::Command) -> anyhow::Result<()> {
    eprintln!("==> {name}");
    if let Err(e) = status(cmd) {
        bail!("{name} failed: {e}");
    }
    Ok(())
}
