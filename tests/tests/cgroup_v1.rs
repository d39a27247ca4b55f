//! cgroup v1 hosts: with `--cgroup-mode v1` the agent charges events to the task's cgroup
//! in one v1 hierarchy (here memory), read through BTF offsets. A process placed in a v1
//! memory cgroup while it stays in the cgroup2 root proves the v1 path is what counts.
use std::path::PathBuf;

use archscope_tests::{Agent, workload_cmd};

struct V1Cgroup(PathBuf);

impl Drop for V1Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn counts_land_in_the_v1_cgroup() {
    let mem = PathBuf::from("/sys/fs/cgroup/memory");
    if !mem.join("cgroup.procs").exists() {
        eprintln!("skipped: no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory");
        return;
    }
    let name = format!("archscope-test-{}-v1", std::process::id());
    let cg = V1Cgroup(mem.join(&name));
    std::fs::create_dir(&cg.0).unwrap();
    let agent = Agent::start(&["--cgroup-mode", "v1", "--cgroup-v1-controller", "memory"]);
    let procs = cg.0.join("cgroup.procs");
    let st = workload_cmd()
        .arg(&procs)
        .args(["basic", "1000", "250"])
        .status()
        .unwrap();
    assert!(st.success());
    let label = format!("/{name}");
    let m = agent.metrics();
    let calls = |s: &str| {
        m.value(
            "archscope_syscalls_total",
            &[("cgroup", &label), ("syscall", s)],
        )
    };
    assert_eq!(calls("getppid"), Some(1000.0));
    assert_eq!(calls("openat"), Some(250.0));
    assert_eq!(
        m.value(
            "archscope_syscall_errors_total",
            &[
                ("cgroup", &label),
                ("syscall", "openat"),
                ("errno", "ENOENT")
            ]
        ),
        Some(250.0)
    );
    // Sockets carry only a cgroup v2 id, so the network features are off in v1 mode.
    assert_eq!(
        m.value("archscope_feature_up", &[("feature", "tcp")]),
        Some(0.0)
    );
    assert_eq!(
        m.value("archscope_feature_up", &[("feature", "syscalls")]),
        Some(1.0)
    );
}
