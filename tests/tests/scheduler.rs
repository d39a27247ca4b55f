//! The scheduler feature on the running kernel: run-queue waits, context switches and CPU
//! time per cgroup, held against the kernel's own per-task and per-cgroup figures.
//!
//! One agent runs the three cases in turn (then one with the feature off). With several agents starting and stopping
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

/// Kernel losses of one reason, all cgroups.
fn lost(m: &Metrics, reason: &str) -> u64 {
    m.value("archscope_kernel_losses_total", &[("reason", reason)])
        .unwrap_or(0.0) as u64
}

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
    drop(agent);
    switched_off_it_loads_nothing();
}

/// `--features-off scheduler`: no program, no series, and the agent says so.
fn switched_off_it_loads_nothing() {
    let agent = Agent::start(&["--features-off", "scheduler"]);
    let m = agent.metrics();
    let up = |name: &str, label: &str, value: &str| m.value(name, &[(label, value)]);
    assert_eq!(
        up("archscope_feature_up", "feature", "scheduler"),
        Some(0.0)
    );
    assert_eq!(up("archscope_feature_up", "feature", "syscalls"), Some(1.0));
    for p in [
        "archscope_runq_switch",
        "archscope_runq_wakeup",
        "archscope_runq_wakeup_new",
        "archscope_runq_thread_exit",
    ] {
        assert_eq!(up("archscope_program_up", "program", p), Some(0.0), "{p}");
    }
    assert_eq!(m.find(CPU, &[]).count(), 0);
    assert_eq!(m.find(SWITCHES, &[]).count(), 0);
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
    let m = agent.metrics();
    let (before, kernel_before) = (figures(&m, &cg), kernel_switches(pid));
    let unseen_before = lost(&m, "sched_switch_unseen");
    sigusr1(pid);
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "slept");
    wait_until_in_sigwait(pid);
    let m = agent.metrics();
    let (after, kernel_after) = (figures(&m, &cg), kernel_switches(pid));
    let unseen = lost(&m, "sched_switch_unseen") - unseen_before;
    sigusr1(pid);
    assert!(child.wait().unwrap().success());

    let voluntary = kernel_after[0] - kernel_before[0];
    let involuntary = kernel_after[1] - kernel_before[1];
    let waits = after[0] - before[0];
    eprintln!(
        "{voluntary} voluntary and {involuntary} involuntary switches, {waits} waits; \
         switches the kernel ran no program for (any thread): {unseen}"
    );
    // each sleep blocks: a voluntary switch. Whether parking again (and the wake from
    // the first park) falls inside the window depends on where the kernel's count stood
    // when /proc showed the task in sigwait: the guests saw 200 voluntary with 1 or 0
    // involuntary, and the agent matched the kernel every time. The exact checks are
    // those against the kernel's own counts, below.
    assert!(
        voluntary >= SLEEPS,
        "the kernel's switches: {voluntary} voluntary, {involuntary} involuntary"
    );
    assert_eq!(after[1] - before[1], voluntary, "voluntary switches");
    assert_eq!(after[2] - before[2], involuntary, "involuntary switches");
    // one wait per switch; a wait is missing only where the kernel did not run the
    // program as the thread came on a CPU, which the agent counts as a loss
    let switches = voluntary + involuntary;
    assert!(
        waits <= switches && switches - waits <= unseen,
        "{waits} waits for {switches} switches, {unseen} unseen"
    );
}

/// Nanoseconds each CPU spent, by `/proc/stat`, in interrupts and softirqs and stolen by
/// the hypervisor: time a thread on it is off its own CPU clock without waiting to run.
/// (In USER_HZ ticks: 10 ms steps.)
fn interrupted_ns() -> Vec<f64> {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    stat.lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .map(|line| {
            // cpuN user nice system idle iowait irq softirq steal
            let f: Vec<f64> = line
                .split_whitespace()
                .skip(1)
                .map(|v| v.parse().unwrap())
                .collect();
            (f[5] + f[6] + f[7]) * 1e9 / 100.0
        })
        .collect()
}

/// Two busy threads pinned to one CPU never sleep: at every instant each is on the CPU or
/// waiting for it. So the cgroup's waits and CPU time cover both threads' wall time, and
/// its waits are at least the time both were kept off the CPU (by their own CPU clocks,
/// less what interrupts and the hypervisor took meanwhile).
fn pinned_threads_wait_at_least_as_long_as_they_were_kept_off(agent: &Agent) {
    let cg = Cgroup::new("contend");
    let interrupted_before = interrupted_ns();
    // in the cgroup from exec on: a process that moved itself later would end in it the
    // stint that ran its exec and start-up, which the agent charges whole to the cgroup
    // the task is in when it leaves the CPU and the kernel's cpu.stat does not (arm64
    // 5.10 guest: 67 ms more than cpu.stat)
    let mut cmd = workload_cmd();
    cmd.args(["-", "contend", "500"]);
    cg.enter_on_exec(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let (cpu, wall_ns, off_ns) = (v[0] as usize, v[1], v[2]);
    let interrupted = interrupted_ns()[cpu] - interrupted_before[cpu];
    let m = agent.metrics();
    let waited = m.value(WAIT_SUM, &[("cgroup", &cg.label)]).unwrap() * 1e9;
    let on_cpu = m.value(CPU, &[("cgroup", &cg.label)]).unwrap() * 1e9;
    let [waits, _, involuntary] = figures(&m, &cg);
    eprintln!(
        "threads' wall {:.1} ms, kept off {:.1} ms; cgroup waited {:.1} ms in {waits} waits \
         ({involuntary} preemptions), on a CPU {:.1} ms; interrupts and steal {:.0} ms",
        wall_ns / 1e6,
        off_ns / 1e6,
        waited / 1e6,
        on_cpu / 1e6,
        interrupted / 1e6
    );
    // each thread is kept off about half of its 500 ms
    assert!(
        off_ns > 300e6,
        "the threads were not made to wait: {off_ns} ns"
    );
    assert!(involuntary > 0, "no preemption seen");
    // the threads' windows lie inside their lives, which the cgroup's time covers whole;
    // beyond them: the process's own start and the threads' join (its CPU time by the
    // cgroup's cpu.stat, less the threads' in their windows; long under emulation), and
    // the few waits around them
    let outside_ns = (cpu_stat_seconds(&cg) * 1e9 - (wall_ns - off_ns)).max(0.0);
    let covered = waited + on_cpu;
    assert!(
        covered >= wall_ns && covered <= wall_ns + outside_ns + 0.1 * wall_ns,
        "waits {waited} + on-CPU {on_cpu} ns vs the threads' wall time {wall_ns} ns \
         ({outside_ns} ns of CPU outside it)"
    );
    // 10 ms: /proc/stat's step
    assert!(
        waited + interrupted + 10e6 >= off_ns,
        "waits {waited} ns < {off_ns} ns kept off the CPU ({interrupted} ns interrupted)"
    );
}

/// The cgroup's CPU time by its own `cpu.stat`.
fn cpu_stat_seconds(cg: &Cgroup) -> f64 {
    let stat = std::fs::read_to_string(cg.dir.join("cpu.stat")).unwrap();
    stat.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .unwrap()
        .parse::<f64>()
        .unwrap()
        / 1e6
}

/// A busy second in a fresh cgroup: its CPU time agrees with the cgroup's `cpu.stat`.
fn cpu_seconds_agree_with_the_cgroups_cpu_stat(agent: &Agent) {
    let cg = Cgroup::new("busy");
    let mut cmd = workload_cmd();
    cmd.args(["-", "busy", "1000"]);
    cg.enter_on_exec(&mut cmd);
    assert!(cmd.status().unwrap().success());
    let usage = cpu_stat_seconds(&cg);
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
