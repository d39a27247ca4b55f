//! Container identity with a real containerd and runc: a container in a kubepods cgroup,
//! with the CRI labels Kubernetes sets, makes known syscalls; /metrics names its container,
//! pod and namespace; after the container is removed its series end after the grace period.
use std::time::{Duration, Instant};

use archscope_tests::containerd::{Container, Containerd, rootfs};
use archscope_tests::process::wait_until_in_sigwait;
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

/// The pid of a container's task, from `ctr task ls`.
fn task_pid(containerd: &Containerd, id: &str) -> i32 {
    let tasks = containerd.ctr(&["task", "ls"]);
    String::from_utf8_lossy(&tasks.stdout)
        .lines()
        .find(|l| l.starts_with(id))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .expect("the container's pid in `ctr task ls`")
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
    // Labels from the first scrape: the first scrape that shows the container's series
    // already names its pod (the snapshot looks the new container up), and every scrape
    // after shows the one label set, until the series retire.
    let mut seen = LabelSets::default();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = agent.metrics();
        seen.add(&m, &cid);
        if let Some(first) = seen.sets.first() {
            assert_eq!(
                first.get("pod").map(String::as_str),
                Some("web-7d9f"),
                "the first scrape with the container's series lacks its labels: {first:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "no series for the container");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The first series may show while runc or the loader still make calls: the baseline
    // is taken once the workload waits for its signal, when all its earlier calls returned.
    wait_until_in_sigwait(task_pid(&containerd, &cid) as u32);
    let before = agent.metrics();
    seen.add(&before, &cid);
    assert!(
        containerd
            .ctr(&["task", "kill", "-s", "SIGUSR1", &cid])
            .status
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let labels = loop {
        let m = agent.metrics();
        seen.add(&m, &cid);
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
    let last = value(&agent.metrics(), "getppid");
    loop {
        let m = agent.metrics();
        seen.add(&m, &cid);
        // nor under the cgroup's bare id once its directory is gone
        let bare = m
            .find("archscope_syscalls_total", &[("syscall", "getppid")])
            .filter(|s| s.labels.get("cgroup").is_some_and(|c| c.starts_with("id:")))
            .find(|s| s.value == last);
        assert!(
            bare.is_none(),
            "the container's series under its id: {bare:?}"
        );
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
    assert_eq!(
        seen.sets.len(),
        1,
        "the container's series changed labels: {:?}",
        seen.sets
    );
}

/// The distinct identity label sets a container's series were seen with, in order.
#[derive(Default)]
struct LabelSets {
    sets: Vec<std::collections::BTreeMap<String, String>>,
}

impl LabelSets {
    fn add(&mut self, m: &Metrics, container_id: &str) {
        for s in m.find(
            "archscope_syscalls_total",
            &[("container_id", container_id)],
        ) {
            let mut identity = s.labels.clone();
            identity.remove("syscall");
            if !self.sets.contains(&identity) {
                self.sets.push(identity);
            }
        }
    }
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

/// A container whose series first show while containerd is down is counted under its
/// path's labels; when containerd is back its series gain the pod's labels once, that
/// change is counted, and they never lose them again.
#[test]
fn a_container_met_during_an_outage_gains_its_labels_once() {
    let Some(mut containerd) = Containerd::start() else {
        return;
    };
    let root = rootfs(&containerd.dir);
    // not a `Container`: containerd stops and restarts under it
    let id = Container::nth_id(1);
    let args = Container::run_args(&root, &id, &["on-signal", "1000", "0"]);
    let out = containerd.ctr(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid = task_pid(&containerd, &id);
    containerd.stop();
    let socket = containerd.socket.display().to_string();
    let agent = Agent::start(&["--containerd-socket", &socket]);
    // SAFETY: signalling the container's workload, which waits for it.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGUSR1) }, 0);
    let changes = |m: &Metrics| m.value("archscope_identity_label_changes_total", &[]);
    let mut seen = LabelSets::default();
    let m = agent.wait_for("the container's series without metadata", |m| {
        series_for(m, &id, "getppid").is_some_and(|s| s["value"] == "1000")
    });
    seen.add(&m, &id);
    let s = series_for(&m, &id, "getppid").unwrap();
    assert_eq!(s.get("pod").map_or("", String::as_str), "", "{s:?}");
    assert_eq!(changes(&m), Some(0.0));

    containerd.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    let m = loop {
        let m = agent.metrics();
        seen.add(&m, &id);
        if series_for(&m, &id, "getppid").is_some_and(|s| s["pod"] == "web-7d9f") {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no labels after containerd came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(series_for(&m, &id, "getppid").unwrap()["value"], "1000");
    assert_eq!(changes(&m), Some(1.0), "one change: the labels came");
    // and they stay, with containerd up or down
    containerd.stop();
    for _ in 0..5 {
        seen.add(&agent.metrics(), &id);
        std::thread::sleep(Duration::from_millis(200));
    }
    containerd.restart();
    assert_eq!(seen.sets.len(), 2, "{:?}", seen.sets);
    assert_eq!(changes(&agent.metrics()), Some(1.0));
    let _ = containerd.ctr(&["task", "kill", "-s", "SIGKILL", &id]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while containerd.ctr(&["task", "delete", &id]).status.code() != Some(0)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = containerd.ctr(&["container", "delete", &id]);
}
