//! The syscall feature's modes (`full`, `counts`, `off`) and the lifecycle of its per-thread
//! in-flight entries, on the running kernel: exact counts per cgroup from real workloads.
use archscope_tests::{Agent, Cgroup, Metrics, workload};

const CALLS: &str = "archscope_syscalls_total";
const ERRORS: &str = "archscope_syscall_errors_total";
const DUR_COUNT: &str = "archscope_syscall_duration_seconds_count";

fn value(m: &Metrics, name: &str, cg: &Cgroup, syscall: &str) -> Option<f64> {
    m.value(name, &[("cgroup", &cg.label), ("syscall", syscall)])
}

#[test]
fn counts_mode_counts_calls_and_errnos_without_latency() {
    let agent = Agent::start(&["--syscalls", "counts"]);
    let cg = Cgroup::new("mode-counts");
    workload(&cg, &["basic", "1000", "500"]);
    let m = agent.metrics();
    assert_eq!(value(&m, CALLS, &cg, "getppid"), Some(1000.0));
    assert_eq!(value(&m, CALLS, &cg, "openat"), Some(500.0));
    assert_eq!(
        m.value(
            ERRORS,
            &[
                ("cgroup", &cg.label),
                ("syscall", "openat"),
                ("errno", "ENOENT")
            ]
        ),
        Some(500.0)
    );
    // exit_group is counted at entry in this mode too
    assert_eq!(value(&m, CALLS, &cg, "exit_group"), Some(1.0));
    assert_eq!(
        m.find(DUR_COUNT, &[("cgroup", &cg.label)]).count(),
        0,
        "no latency in counts mode"
    );
}

#[test]
fn off_mode_attaches_no_syscall_program_and_is_ready() {
    let agent = Agent::start(&["--syscalls", "off"]);
    let cg = Cgroup::new("mode-off");
    workload(&cg, &["basic", "100", "0"]);
    let m = agent.metrics();
    assert_eq!(
        m.value("archscope_feature_up", &[("feature", "syscalls")]),
        Some(0.0)
    );
    assert_eq!(
        m.value("archscope_feature_up", &[("feature", "traffic")]),
        Some(1.0)
    );
    for p in [
        "archscope_sys_enter",
        "archscope_sys_exit",
        "archscope_sys_thread_exit",
    ] {
        assert_eq!(
            m.value("archscope_program_up", &[("program", p)]),
            Some(0.0),
            "{p}"
        );
    }
    assert_eq!(m.find(CALLS, &[("cgroup", &cg.label)]).count(), 0);
    assert_eq!(
        agent.get("/readyz").trim(),
        "ready",
        "switched off is not a failure"
    );
    let out = archscope_tests::agent_cmd()
        .args(["check", "--syscalls", "off"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("archscope_sys_enter [syscalls] raw_tracepoint/sys_enter: switched off in the configuration"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
}

/// execve from a thread other than the leader returns on the leader's thread id: the
/// call is counted once (at entry), and the new image's calls follow exactly.
#[test]
fn execve_from_a_thread_is_counted_once() {
    let agent = Agent::start(&[]);
    let cg = Cgroup::new("exec-thread");
    workload(&cg, &["exec-thread", "100", "200"]);
    let m = agent.metrics();
    assert_eq!(value(&m, CALLS, &cg, "getppid"), Some(300.0));
    assert_eq!(value(&m, CALLS, &cg, "execve"), Some(1.0));
    assert_eq!(value(&m, DUR_COUNT, &cg, "getppid"), Some(300.0));
}

/// Live threads in the system now.
fn live_threads() -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter_map(|e| std::fs::read_dir(e.path().join("task")).ok())
        .map(|d| d.count())
        .sum()
}

/// Every thread that made a traced call has an in-flight entry until it exits; then
/// `archscope_sys_thread_exit` removes it, so 300 short-lived threads leave none behind.
#[test]
fn in_flight_entries_leave_with_their_threads() {
    let agent = Agent::start(&[]);
    let entries = |m: &Metrics| {
        m.value(
            "archscope_kernel_map_entries",
            &[("map", "syscall_in_flight")],
        )
        .unwrap()
    };
    let before = entries(&agent.metrics());
    let cg = Cgroup::new("inflight-threads");
    workload(&cg, &["threads", "300", "10"]);
    let m = agent.metrics();
    let live = live_threads() as f64;
    assert_eq!(value(&m, CALLS, &cg, "getppid"), Some(3000.0));
    let after = entries(&m);
    // without the cleanup there would be 300 more; other processes' threads come and go
    assert!(after < before + 50.0, "{before} → {after} entries");
    assert!(
        after <= live + 50.0,
        "{after} entries for {live} live threads"
    );
    assert_eq!(
        m.value(
            "archscope_kernel_map_capacity",
            &[("map", "syscall_in_flight")],
        ),
        Some(65536.0)
    );
}
