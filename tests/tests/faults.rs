//! What production does to an agent: a hook missing on the kernel, SIGTERM. The rest
//! keeps running, the loss is reported, and nothing is left behind in the kernel.
use std::process::Command;

use archscope_tests::{Agent, Cgroup, Metrics, skip_under_emulation, workload};

/// Ids of the programs or maps loaded in the kernel now (bpftool's view).
fn loaded(kind: &str) -> std::collections::BTreeSet<u64> {
    let out = Command::new("bpftool")
        .args([kind, "show", "--json"])
        .output()
        .expect("bpftool (`cargo xtask setup` installs it)");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_u64())
        .collect()
}

/// `agent check --tracefs DIR`: its report and exit status.
fn check_with_tracefs(dir: &str) -> (String, Option<i32>) {
    let out = archscope_tests::agent_cmd()
        .args(["check", "--tracefs", dir])
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

fn feature_up(m: &Metrics, feature: &str) -> Option<f64> {
    m.value("archscope_feature_up", &[("feature", feature)])
}

/// The tests of this file each run an agent; one at a time, so the objects that appear
/// while one runs are its own.
static ONE_AGENT: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn sigterm_detaches_programs_and_releases_maps() {
    if skip_under_emulation() {
        return; // no bpftool in the VM image
    }
    let _one = ONE_AGENT.lock().unwrap_or_else(|e| e.into_inner());
    let (progs_before, maps_before) = (loaded("prog"), loaded("map"));
    let agent = Agent::start(&[]);
    let ours = |now: &std::collections::BTreeSet<u64>, before: &std::collections::BTreeSet<u64>| {
        now.difference(before).copied().collect::<Vec<u64>>()
    };
    let progs = ours(&loaded("prog"), &progs_before);
    let maps = ours(&loaded("map"), &maps_before);
    assert!(progs.len() >= 6, "the agent's programs: {progs:?}");
    assert!(maps.len() >= 6, "the agent's maps: {maps:?}");
    let st = agent.stop();
    assert!(st.success(), "agent exit on SIGTERM: {st}");
    // Release follows the last fd's close; give the kernel's deferred frees a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (p, m) = (loaded("prog"), loaded("map"));
        let left_p: Vec<_> = progs.iter().filter(|i| p.contains(i)).collect();
        let left_m: Vec<_> = maps.iter().filter(|i| m.contains(i)).collect();
        if left_p.is_empty() && left_m.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "left in the kernel after SIGTERM: programs {left_p:?}, maps {left_m:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    eprintln!(
        "SIGTERM released {} programs and {} maps",
        progs.len(),
        maps.len()
    );
}

#[test]
fn a_missing_tracepoint_disables_only_its_feature() {
    let _one = ONE_AGENT.lock().unwrap_or_else(|e| e.into_inner());
    // A tracefs that has the syscall tracepoints but not the socket ones (as on a kernel
    // built without them): syscalls are counted, tcp is reported off with its reason.
    let real = std::path::Path::new("/sys/kernel/tracing/events/raw_syscalls");
    if !real.exists() {
        eprintln!("skipped: tracefs not at /sys/kernel/tracing");
        return;
    }
    let fake =
        std::env::temp_dir().join(format!("archscope-partial-tracefs-{}", std::process::id()));
    for tp in ["sys_enter", "sys_exit"] {
        let d = fake.join("events/raw_syscalls").join(tp);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(real.join(tp).join("format"), d.join("format")).unwrap();
    }
    let dir = fake.display().to_string();
    let agent = Agent::start(&["--tracefs", &dir]);
    let cg = Cgroup::new("faults-partial");
    workload(&cg, &["basic", "300", "0"]);
    let m = agent.metrics();
    assert_eq!(
        m.value(
            "archscope_syscalls_total",
            &[("cgroup", &cg.label), ("syscall", "getppid")]
        ),
        Some(300.0)
    );
    let up = |f: &str| feature_up(&m, f);
    assert_eq!(up("syscalls"), Some(1.0));
    assert_eq!(up("tcp"), Some(0.0));
    assert_eq!(up("traffic"), Some(1.0), "cgroup_skb needs no tracefs");
    assert_eq!(
        m.value(
            "archscope_program_up",
            &[("program", "archscope_tcp_state")]
        ),
        Some(0.0)
    );
    drop(agent);
    let (text, code) = check_with_tracefs(&dir);
    assert!(
        text.contains("archscope_tcp_state [tcp] tracepoint/sock:inet_sock_set_state: tracepoint sock:inet_sock_set_state not found"),
        "{text}"
    );
    assert_eq!(code, Some(0), "syscalls work, so the agent can run: {text}");
    let _ = std::fs::remove_dir_all(fake);
}

/// The kernel's verifier rejects two programs (`--inject-verifier-reject` makes their dead
/// branch live: a load from a plain number): the required `tcp_state` takes the tcp
/// feature down, the optional `sys_thread_exit` nothing that this test's calls need;
/// syscall counts and durations stay exact.
#[test]
fn a_program_the_verifier_rejects_disables_only_its_feature() {
    let _one = ONE_AGENT.lock().unwrap_or_else(|e| e.into_inner());
    let agent = Agent::start(&["--inject-verifier-reject", "tcp_state,sys_thread_exit"]);
    let cg = Cgroup::new("faults-verifier");
    workload(&cg, &["basic", "400", "0"]);
    let m = agent.metrics();
    let program_up = |p: &str| m.value("archscope_program_up", &[("program", p)]);
    assert_eq!(program_up("archscope_tcp_state"), Some(0.0));
    assert_eq!(program_up("archscope_sys_thread_exit"), Some(0.0));
    assert_eq!(program_up("archscope_sys_enter"), Some(1.0));
    assert_eq!(program_up("archscope_sys_exit"), Some(1.0));
    assert_eq!(program_up("archscope_tcp_retransmit"), Some(1.0));
    let up = |f: &str| feature_up(&m, f);
    assert_eq!(up("syscalls"), Some(1.0));
    assert_eq!(up("tcp"), Some(0.0));
    assert_eq!(up("traffic"), Some(1.0));
    // exact on the first scrape after the workload, on every kernel
    assert_eq!(
        m.value(
            "archscope_syscalls_total",
            &[("cgroup", &cg.label), ("syscall", "getppid")],
        ),
        Some(400.0)
    );
    assert_eq!(
        m.value(
            "archscope_syscall_duration_seconds_count",
            &[("cgroup", &cg.label), ("syscall", "getppid")]
        ),
        Some(400.0)
    );
    assert_eq!(m.find("archscope_tcp_connections_open", &[]).count(), 0);
    assert_eq!(agent.get("/readyz").trim(), "ready");
    drop(agent);
    let out = archscope_tests::agent_cmd()
        .args(["check", "--inject-verifier-reject", "tcp_state"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "archscope_tcp_state [tcp] tracepoint/sock:inet_sock_set_state: verifier rejected it ("
        ) && text.contains("invalid mem access"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
}

/// A required syscall program rejected: the feature is off (never half-counted), the agent
/// serves its health and is not ready.
#[test]
fn a_rejected_syscall_program_turns_the_feature_off() {
    let _one = ONE_AGENT.lock().unwrap_or_else(|e| e.into_inner());
    let agent = Agent::start_healthy(&["--inject-verifier-reject", "sys_exit"]);
    let cg = Cgroup::new("faults-sysexit");
    workload(&cg, &["basic", "100", "0"]);
    let m = agent.metrics();
    assert_eq!(feature_up(&m, "syscalls"), Some(0.0));
    assert_eq!(feature_up(&m, "traffic"), Some(1.0));
    assert_eq!(
        m.find("archscope_syscalls_total", &[("cgroup", &cg.label)])
            .count(),
        0
    );
    let ready = ureq::get(&format!("http://{}/readyz", agent.addr)).call();
    assert!(
        matches!(ready, Err(ureq::Error::StatusCode(503))),
        "{ready:?}"
    );
}

/// No tracefs at all (not mounted, or a directory without events): the tracepoint
/// programs (tcp) are off with their reason; the syscall raw tracepoints and the
/// cgroup_skb programs need no tracefs and count as usual.
#[test]
fn without_tracefs_the_agent_serves_what_needs_none() {
    if skip_under_emulation() {
        return;
    }
    let _one = ONE_AGENT.lock().unwrap_or_else(|e| e.into_inner());
    let empty = std::env::temp_dir().join(format!("archscope-no-tracefs-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let dir = empty.display().to_string();
    let agent = Agent::start(&["--tracefs", &dir]);
    let cg = Cgroup::new("faults-notracefs");
    workload(&cg, &["basic", "250", "0"]);
    let m = agent.metrics();
    let up = |f: &str| feature_up(&m, f);
    assert_eq!(up("syscalls"), Some(1.0), "raw tracepoints need no tracefs");
    assert_eq!(up("tcp"), Some(0.0));
    assert_eq!(up("traffic"), Some(1.0), "cgroup_skb needs no tracefs");
    assert_eq!(
        m.value(
            "archscope_syscalls_total",
            &[("cgroup", &cg.label), ("syscall", "getppid")]
        ),
        Some(250.0)
    );
    assert_eq!(
        m.value(
            "archscope_program_up",
            &[("program", "archscope_tcp_state")]
        ),
        Some(0.0)
    );
    assert_eq!(agent.get("/readyz").trim(), "ready");
    drop(agent);
    let (text, code) = check_with_tracefs(&dir);
    assert!(
        text.contains("tracepoint sock:inet_sock_set_state not found"),
        "{text}"
    );
    assert_eq!(code, Some(0), "{text}");
    let _ = std::fs::remove_dir_all(&empty);
}

/// The agent pins nothing: with bpffs unmounted (its own mount namespace) it loads,
/// attaches and counts as usual.
#[test]
fn bpffs_not_mounted_changes_nothing() {
    if skip_under_emulation() {
        return;
    }
    let _one = ONE_AGENT.lock().unwrap_or_else(|e| e.into_inner());
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "--propagation", "private", "--", "sh", "-c"])
        .arg("umount -l /sys/fs/bpf 2>/dev/null; grep -q ' bpf ' /proc/self/mounts && exit 99; exec \"$0\" \"$@\"")
        .arg(archscope_tests::agent_bin());
    let agent = Agent::start_via(cmd, &[]);
    let cg = Cgroup::new("faults-nobpffs");
    workload(&cg, &["basic", "200", "0"]);
    assert_eq!(
        agent.metrics().value(
            "archscope_syscalls_total",
            &[("cgroup", &cg.label), ("syscall", "getppid")]
        ),
        Some(200.0)
    );
}
