//! Container identity with a real containerd and runc: a container in a kubepods cgroup,
//! with the CRI labels Kubernetes sets, makes known syscalls; /metrics names its container,
//! pod and namespace; after the container is removed its series end after the grace period.
use std::time::{Duration, Instant};

use archscope_tests::containerd::{Container, Containerd, rootfs};
use archscope_tests::{Agent, Cgroup, Metrics, workload};

fn series_for(
    m: &Metrics,
    container_id: &str,
    syscall: &str,
) -> Option<std::collections::BTreeMap<String, String>> {
    m.find(
        "archscope_syscalls_total",
        &[("container_id", container_id), ("syscall", syscall)],
    )
    .next()
    .map(|s| {
        let mut l = s.labels.clone();
        l.insert("value".into(), s.value.to_string());
        l
    })
}

#[test]
fn container_series_carry_pod_identity_and_end_after_grace() {
    container_lifecycle(&[], 1);
}

/// The same on cgroup v1: the agent keys events by the task's cgroup in the memory
/// controller's v1 hierarchy, where runc (cgroupfs driver) places the container beside
/// its cgroup2 path. The labels then come from the v1 path alone.
#[test]
fn container_identity_on_cgroup_v1() {
    if !std::path::Path::new("/sys/fs/cgroup/memory/cgroup.procs").exists() {
        // Only where a v1 memory hierarchy is mounted (this project's CI host has one).
        eprintln!("skipped: no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory");
        return;
    }
    container_lifecycle(&["--cgroup-mode", "v1"], 2);
}

fn container_lifecycle(mode: &[&str], seed: u128) {
    let Some(containerd) = Containerd::start() else {
        return;
    };
    let socket = containerd.socket.display().to_string();
    let mut flags = vec![
        "--containerd-socket",
        &socket,
        "--container-grace-period",
        "2s",
    ];
    flags.extend_from_slice(mode);
    let agent = Agent::start(&flags);
    let uid = "3f1c2a7e-5b6d-4e8f-9a0b-1c2d3e4f5a6b";
    let cid = format!(
        "{:064x}",
        (std::process::id() as u128 * 4 + seed) * 0x9e37_79b9_7f4a_7c15
    );
    let cgroup = format!("kubepods/burstable/pod{uid}/{cid}");
    let root = rootfs(&containerd.dir);
    let root_s = root.display().to_string();
    let labels = [
        "io.kubernetes.pod.name=web-7d9f",
        "io.kubernetes.pod.namespace=shop",
        "io.kubernetes.container.name=app",
    ];
    let mut args = vec!["run", "-d", "--cgroup", &cgroup];
    for l in &labels {
        args.extend(["--label", l]);
    }
    let uid_label = format!("io.kubernetes.pod.uid={uid}");
    args.extend(["--label", &uid_label, "--rootfs", &root_s, &cid]);
    args.extend(["/archscope-workload", "-", "on-signal", "1000", "500"]);
    let out = containerd.ctr(&args);
    assert!(
        out.status.success(),
        "ctr run: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // runc's own set-up runs in the container's cgroup too (a couple of getppid calls):
    // take the counts once the workload waits, then let it work and compare.
    let value = |m: &Metrics, s: &str| {
        series_for(m, &cid, s).map_or(0.0, |l| l["value"].parse::<f64>().unwrap())
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let before = loop {
        let m = agent.metrics();
        // The names arrive with the metadata refresh that the first sight of the unknown
        // container triggers.
        if m.find(
            "archscope_syscalls_total",
            &[("container_id", &cid), ("pod", "web-7d9f")],
        )
        .next()
        .is_some()
        {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no labelled series for the container"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        containerd
            .ctr(&["task", "kill", "-s", "SIGUSR1", &cid])
            .status
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let labels = loop {
        let m = agent.metrics();
        if value(&m, "openat") - value(&before, "openat") >= 500.0 {
            assert_eq!(value(&m, "getppid") - value(&before, "getppid"), 1000.0);
            assert_eq!(value(&m, "openat") - value(&before, "openat"), 500.0);
            break series_for(&m, &cid, "getppid").unwrap();
        }
        assert!(Instant::now() < deadline, "the workload did not run");
        std::thread::sleep(Duration::from_millis(300));
    };
    assert_eq!(labels["container"], "app");
    assert_eq!(labels["namespace"], "shop");
    assert_eq!(labels["runtime"], "cri");
    // runc (cgroupfs driver) nests a relative v1 path under its caller's own v1 cgroup,
    // which on this CI host is not the root: only the tail is the container's.
    assert!(
        labels["cgroup"].ends_with(&format!("/{cgroup}")),
        "{}",
        labels["cgroup"]
    );
    assert_eq!(labels["workload"], "");
    let m = agent.metrics();
    assert_eq!(
        m.value("archscope_metadata_source_up", &[("source", "containerd")]),
        Some(1.0)
    );

    // Remove the container: its cgroup goes, and after the grace period so do its series.
    assert!(
        containerd
            .ctr(&["task", "kill", "-s", "SIGKILL", &cid])
            .status
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while containerd.ctr(&["task", "delete", &cid]).status.code() != Some(0) {
        assert!(Instant::now() < deadline, "task did not stop");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        containerd
            .ctr(&["container", "delete", &cid])
            .status
            .success()
    );
    let gone_at = Instant::now();
    loop {
        let m = agent.metrics();
        if series_for(&m, &cid, "getppid").is_none() {
            break;
        }
        assert!(
            gone_at.elapsed() < Duration::from_secs(30),
            "series still there 30 s after removal"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        gone_at.elapsed() >= Duration::from_secs(1),
        "series dropped before the grace period"
    );
}

/// containerd stops and comes back: the agent keeps counting, labels a container it has
/// not seen from its cgroup path alone meanwhile, reports the source down with its failed
/// refreshes, and names containers again once containerd answers.
#[test]
fn containerd_outage_and_recovery() {
    let Some(mut containerd) = Containerd::start() else {
        return;
    };
    let socket = containerd.socket.display().to_string();
    let agent = Agent::start(&["--containerd-socket", &socket]);
    let up = |m: &Metrics| m.value("archscope_metadata_source_up", &[("source", "containerd")]);
    let errors = |m: &Metrics| {
        m.value(
            "archscope_metadata_source_errors_total",
            &[("source", "containerd")],
        )
        .unwrap_or(0.0)
    };
    agent.wait_for("containerd up", |m| up(m) == Some(1.0));

    containerd.stop();
    // A container the cache has never seen, its cgroup laid out as runc makes it: its
    // first sight asks containerd for a refresh, which fails.
    let base = Cgroup::new("outage");
    let id = format!(
        "{:064x}",
        std::process::id() as u128 * 0x5851_f42d_4c95_7f2d + 7
    );
    let cg = base.nested(&format!(
        "kubepods/besteffort/pod7e3f9a1c-2b4d-4f6e-8a0c-1d2e3f4a5b6c/{id}"
    ));
    workload(&cg, &["basic", "1000", "0"]);
    let m = agent.wait_for("the source reported down", |m| {
        up(m) == Some(0.0) && errors(m) >= 1.0 && series_for(m, &id, "getppid").is_some()
    });
    let s = series_for(&m, &id, "getppid").unwrap();
    assert_eq!(s["value"], "1000", "counting goes on without metadata");
    assert_eq!(s.get("pod").map_or("", String::as_str), "", "{s:?}");
    assert_eq!(s["runtime"], "cri", "{s:?}");
    agent.get("/healthz"); // panics unless 200

    containerd.restart();
    let root = rootfs(&containerd.dir);
    let c = Container::start(&containerd, &root, &["basic", "10", "0"]);
    let m = agent.wait_for("a container named after the restart", |m| {
        m.find(
            "archscope_syscalls_total",
            &[("container_id", &c.id), ("pod", "web-7d9f")],
        )
        .next()
        .is_some()
    });
    assert_eq!(up(&m), Some(1.0));
    // the outage's container is still counted, unchanged
    assert_eq!(series_for(&m, &id, "getppid").unwrap()["value"], "1000");
}
