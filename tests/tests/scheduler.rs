//! The scheduler feature on the running kernel: run-queue waits, context switches and CPU
//! time per cgroup, held against the kernel's own per-task and per-cgroup figures.
//!
//! One agent runs the three cases in turn. With several agents starting and stopping
//! beside one another (as parallel tests each with its own agent do), a program on
//! `sched_switch` was seen to miss switches while another program attached or detached
//! on the same tracepoint: a CPU-time stint went missing or ran long. One agent per node,
//! as deployed, attaches once.
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use archscope_tests::process::{status_number, wait_until_in_sigwait};
use archscope_tests::{Agent, Cgroup, Metrics, workload_cmd};

const WAITS: &str = "archscope_runqueue_latency_seconds_count";
const WAIT_SUM: &str = "archscope_runqueue_latency_seconds_sum";
const SWITCHES: &str = "archscope_context_switches_total";
const CPU: &str = "archscope_cpu_seconds_total";

/// The cgroup's waits, voluntary and involuntary switches.
fn figures(m: &Metrics, cg: &Cgroup) -> [u64; 3] {
    let at = |name: &str, kind: Option<&str>| {
        let mut want = vec![("cgroup", cg.label.as_str())];
        want.extend(kind.map(|k| ("kind", k)));
        m.value(name, &want).unwrap_or(0.0) as u64
    };
    [
        at(WAITS, None),
        at(SWITCHES, Some("voluntary")),
        at(SWITCHES, Some("involuntary")),
    ]
}

/// The kernel's own count of the task's voluntary and involuntary switches.
fn kernel_switches(pid: u32) -> [u64; 2] {
    [
        status_number(pid, "voluntary_ctxt_switches"),
        status_number(pid, "nonvoluntary_ctxt_switches"),
    ]
}

fn sigusr1(pid: u32) {
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGUSR1) }, 0);
}

/// A single-threaded workload sleeps N times between two parked states. What the agent
/// counts: a wait for every time the task came on the CPU after being woken or
/// preempted, charged when it leaves the CPU again; so between two parked states, one
/// wait per switch away from the task. The kernel counts those switches itself.
#[test]
fn scheduler_figures_match_the_kernels() {
    let agent = Agent::start(&[]);
    each_sleep_is_one_wait_and_switches_match_the_kernel(&agent);
    pinned_threads_wait_at_least_as_long_as_they_were_kept_off(&agent);
    cpu_seconds_agree_with_the_cgroups_cpu_stat(&agent);
}

fn each_sleep_is_one_wait_and_switches_match_the_kernel(agent: &Agent) {
    const SLEEPS: u64 = 200;
    let cg = Cgroup::new("sleeps");
    let mut child = workload_cmd()
        .arg(cg.procs())
        .args(["sleeps", &SLEEPS.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_until_in_sigwait(pid);
    let (before, kernel_before) = (figures(&agent.metrics(), &cg), kernel_switches(pid));
    sigusr1(pid);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "slept");
    wait_until_in_sigwait(pid);
    let (after, kernel_after) = (figures(&agent.metrics(), &cg), kernel_switches(pid));
    sigusr1(pid);
    assert!(child.wait().unwrap().success());

    let voluntary = kernel_after[0] - kernel_before[0];
    let involuntary = kernel_after[1] - kernel_before[1];
    // each sleep, and parking again
    assert_eq!(voluntary, SLEEPS + 1, "the kernel's voluntary switches");
    assert_eq!(after[1] - before[1], voluntary, "voluntary switches");
    assert_eq!(after[2] - before[2], involuntary, "involuntary switches");
    assert_eq!(after[0] - before[0], voluntary + involuntary, "waits");
}

/// Two busy threads pinned to one CPU: each is kept off it only while runnable, so the
/// cgroup's waits add up to at least the time both were kept off.
fn pinned_threads_wait_at_least_as_long_as_they_were_kept_off(agent: &Agent) {
    let cg = Cgroup::new("contend");
    let out = workload_cmd()
        .arg(cg.procs())
        .args(["contend", "500"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let off_ns: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let m = agent.metrics();
    let waited = m.value(WAIT_SUM, &[("cgroup", &cg.label)]).unwrap() * 1e9;
    let [waits, _, involuntary] = figures(&m, &cg);
    eprintln!(
        "kept off {:.1} ms, waited {:.1} ms in {waits} waits, {involuntary} preemptions",
        off_ns / 1e6,
        waited / 1e6
    );
    // each thread is kept off about half of its 500 ms
    assert!(
        off_ns > 300e6,
        "the threads were not made to wait: {off_ns} ns"
    );
    assert!(involuntary > 0, "no preemption seen");
    // 10 µs for the clock reads around the work
    assert!(
        waited + 10e3 >= off_ns,
        "waits {waited} ns < {off_ns} ns kept off the CPU"
    );
}

/// A busy second in a fresh cgroup: its CPU time agrees with the cgroup's `cpu.stat`.
fn cpu_seconds_agree_with_the_cgroups_cpu_stat(agent: &Agent) {
    let cg = Cgroup::new("busy");
    let mut cmd = workload_cmd();
    cmd.args(["-", "busy", "1000"]);
    cg.enter_on_exec(&mut cmd);
    assert!(cmd.status().unwrap().success());
    let stat = std::fs::read_to_string(cg.dir.join("cpu.stat")).unwrap();
    let usage: f64 = stat
        .lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .unwrap()
        .parse::<f64>()
        .unwrap()
        / 1e6;
    let m = agent.metrics();
    let cpu = m.value(CPU, &[("cgroup", &cg.label)]).unwrap();
    let losses: Vec<_> = m
        .find("archscope_kernel_losses_total", &[])
        .filter(|s| s.value > 0.0)
        .map(|s| format!("{}={}", s.labels["reason"], s.value))
        .collect();
    eprintln!("cpu.stat {usage:.6} s, agent {cpu:.6} s, kernel losses {losses:?}");
    assert!(usage > 0.1, "the workload barely ran: {usage} s");
    assert!(
        (cpu - usage).abs() <= 0.02 * usage,
        "agent {cpu} s vs cpu.stat {usage} s"
    );
}
