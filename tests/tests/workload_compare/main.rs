//! `agent bench compare amd64 arm64 --workload shop/checkout`, for real: one Deployment's
//! two pods, one on this host (amd64) and one in the arm64 guest under qemu, each a
//! kubepods cgroup running the same workload (built for its arch) with exactly known
//! syscalls, each named by its node's agent through the stand-in Kubernetes API. A real
//! Prometheus scrapes both agents (the guest's through qemu's forwarded port). The compare
//! runs against the agents directly and against Prometheus, and both must find the two
//! pods, count every call and see what emulation guarantees: getppid far slower in the
//! guest. The guest boot is what `cargo xtask vm-compare` (a stage of `cargo xtask test`)
//! prepares, hence `#[ignore]` here; bad input is workload_flags.rs.
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use archscope_tests::kube_api::{self, Api};
use archscope_tests::node::{self, Guest, Pod, PodWorkload};
use archscope_tests::prometheus::{Prometheus, wait_for};
use archscope_tests::{Agent, agent_cmd};
use serde_json::{Value, json};

mod report;
use report::{check, html_renders, row};

const NS: &str = "shop";
const DEPLOYMENT: &str = "checkout";
const REPLICASET: &str = "checkout-5d4f7b9c6";
const HOST_POD: &str = "checkout-5d4f7b9c6-x7k2p";
const GUEST_POD: &str = "checkout-5d4f7b9c6-q9m4t";
/// 32 batches a second apart of 500 getppid and 50 failing openat: 16,000 and 1,600.
const WORK: PodWorkload = PodWorkload {
    batches: 32,
    getppid_per_batch: 500,
    openat_missing_per_batch: 50,
    interval_ms: 1000,
};
/// Windows of 4 s: the 32 s of batches give each pod about eight samples.
const STEP: u64 = 4;
/// Prometheus scrapes every 2 s, with a timeout as long: a scrape of the guest's agent
/// under instruction emulation on a loaded machine can take over a second.
const SCRAPE: u32 = 2;
/// How long the agents are read: from before the first batch to past the last.
const AGENTS_WINDOW: u64 = 48;

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("archscope-wl-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn compare(extra: &[&str]) -> Command {
    let mut c = agent_cmd();
    c.args(["bench", "compare", "amd64", "arm64", "--workload"])
        .arg(format!("{NS}/{DEPLOYMENT}"))
        .args(["--step", &format!("{STEP}s")])
        .args(extra);
    c
}

fn run_ok(mut c: Command) -> String {
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{c:?}: {err}");
    String::from_utf8(out.stdout).unwrap()
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Waits for a compare reading the agents to take its first boundary.
fn wait_first_boundary(child: &mut std::process::Child) -> std::thread::JoinHandle<String> {
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let mut all = String::new();
        for l in BufReader::new(err).lines().map_while(Result::ok) {
            if l.contains("boundary 1/") {
                let _ = tx.send(());
            }
            all.push_str(&l);
            all.push('\n');
        }
        all
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the compare took no first boundary");
    h
}

#[test]
#[ignore = "boots the arm64 guest: `cargo xtask vm-compare` runs it (a stage of `cargo xtask test`)"]
fn one_deployment_on_amd64_and_arm64() {
    let (kernel, initrd) = node::arm64_guest_artifacts().unwrap_or_else(|| {
        panic!(
            "{} and {} name the arm64 guest: run `cargo xtask vm-compare`",
            node::KERNEL_VAR,
            node::INITRD_VAR
        )
    });
    let dir = tmp("cross");
    let id = std::process::id();
    let (uid_host, uid_guest) = (
        format!("3c1f0c2e-0000-4000-8000-{id:012}"),
        format!("4d2e1d3f-0000-4000-8000-{id:012}"),
    );
    let labels = json!({"app": DEPLOYMENT});
    let api = Api::new(vec![
        kube_api::pod(
            &uid_host,
            HOST_POD,
            NS,
            "node-amd64",
            ("ReplicaSet", REPLICASET),
            labels.clone(),
        ),
        kube_api::pod(
            &uid_guest,
            GUEST_POD,
            NS,
            "node-arm64",
            ("ReplicaSet", REPLICASET),
            labels,
        ),
    ]);
    // the host's pod is not listed yet: its agent exports its container without the pod's
    // labels until after the workload has started (see `reveal` below)
    api.hide(&uid_host);
    let api_port = kube_api::serve(api.clone());

    // the guest boots while the host node starts
    let fwd = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let api_addr = format!("{}:{api_port}", node::GUEST_HOST_ADDR);
    let (cid_host, cid_guest) = (
        format!("{:064x}", (id as u128) << 8 | 1),
        format!("{:064x}", (id as u128) << 8 | 2),
    );
    let csv = WORK.csv();
    let params = [
        ("api", api_addr.as_str()),
        ("name", "node-arm64"),
        ("pod_uid", uid_guest.as_str()),
        ("container_id", cid_guest.as_str()),
        ("workload", csv.as_str()),
    ];
    let mut guest = Guest::spawn(
        node::arm64_guest_command(&kernel, &initrd, fwd, &params),
        &dir.join("guest.log"),
    );
    let kc = node::kubeconfig(&dir, &format!("http://127.0.0.1:{api_port}"))
        .display()
        .to_string();
    let host = Agent::start_with_env(
        &["--containerd-socket=", "--kubeconfig", &kc],
        &[("NODE_NAME", "node-amd64")],
    );
    let host_pod = Pod::start(&uid_host, &cid_host, WORK);
    guest.wait_for_line(node::READY, Duration::from_secs(900));

    let guest_addr = format!("127.0.0.1:{fwd}");
    // the host's agent is scraped by two jobs: the compare must count it once
    let prom = Prometheus::start_all(&[&host.addr, &guest_addr], SCRAPE, &[&host.addr]);
    // both agents scraped: the guest's pod named with its Deployment, the host's container
    // not yet
    let anonymous = format!("archscope_syscalls_total{{cgroup=~\".*{cid_host}\",workload=\"\"}}");
    wait_for(120, "both pods in Prometheus", || {
        let q = format!(
            "count by (pod) (archscope_syscalls_total{{namespace=\"{NS}\",workload=\"{DEPLOYMENT}\"}})"
        );
        let named = prom.query(&q)["result"].as_array().map(Vec::len);
        let host = prom.query(&format!("count({anonymous})"))["result"]
            .as_array()
            .map(Vec::len);
        named == Some(1) && host == Some(1)
    });
    let ready_wall = unix_now();
    let s = STEP as f64;

    // the agents read directly for 12 windows: from just before the first batch to past
    // the last (32 batches a second apart) and past the host's pod being labelled
    let agents_json = dir.join("agents.json");
    let (h, g) = (
        format!("http://{}", host.addr),
        format!("http://{guest_addr}"),
    );
    let agents_window = format!("{AGENTS_WINDOW}s");
    let mut c = compare(&[
        "--agent",
        &h,
        "--agent",
        &g,
        "--window",
        &agents_window,
        "--format",
        "json",
        "-o",
    ]);
    // the compare's last boundary is at least the window after this
    let spawned = Instant::now();
    let mut child = c.arg(&agents_json).stderr(Stdio::piped()).spawn().unwrap();
    let log = wait_first_boundary(&mut child);
    // just after the step boundary the Prometheus window below starts on
    let start = (ready_wall / s).ceil() * s;
    std::thread::sleep(Duration::from_secs_f64((start + 0.5 - unix_now()).max(0.0)));
    api.go();
    host_pod.go();
    // the API server lists the host's pod after 4 batches; its agent asks again within
    // 30 s (a periodic list, or the retry of an unknown pod), inside the window
    let (late_api, late_uid) = (api.clone(), uid_host.clone());
    let reveal = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(4));
        late_api.reveal(&late_uid);
    });
    host_pod.wait_done(Duration::from_secs(120));
    guest.wait_for_line(node::DONE, Duration::from_secs(300));
    let (done, done_wall) = (Instant::now(), unix_now());
    let st = child.wait().unwrap();
    let log = log.join().unwrap();
    reveal.join().unwrap();
    assert!(st.success(), "{log}");
    // the host's container made some of its calls before it was labelled: those count
    // for the pod too, so the counts below are exact only when they are kept
    let before = prom.query(&format!(
        "max_over_time({}[5m])",
        anonymous.replace("workload=\"\"", "workload=\"\",syscall=\"getppid\"")
    ));
    let before: f64 = before["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(
        (500.0..=16_000.0).contains(&before),
        "getppid of the host's container before its pod was known: {before}"
    );
    assert!(
        done + Duration::from_secs(1) < spawned + Duration::from_secs(AGENTS_WINDOW),
        "the workload outlasted the agents' window: {log}"
    );
    let from_agents: Value =
        serde_json::from_str(&std::fs::read_to_string(&agents_json).unwrap()).unwrap();
    check(&from_agents, "agents");

    // Prometheus, over whole windows from that boundary to the first past the scrapes
    // after the last batch and after the first that showed the host's pod by name; every
    // format reads the same windows (--end)
    let named = format!(
        "min_over_time(timestamp(archscope_syscalls_total{{pod=\"{HOST_POD}\",syscall=\"getppid\"}})[5m:1s])"
    );
    let named: f64 = prom.query(&named)["result"][0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("the host's pod by name in Prometheus");
    let end = ((done_wall.max(named) + SCRAPE as f64 + 0.5) / s).ceil() * s;
    wait_for(60, "both agents scraped past the window's end", || {
        let stamps =
            prom.query("min by (instance) (timestamp(archscope_node_info))")["result"].clone();
        let t: Vec<f64> = stamps
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["value"][1].as_str()?.parse().ok())
            .collect();
        t.len() == 2 && t.iter().all(|t| *t > end)
    });
    let (window, end) = (format!("{}s", end - start), format!("{end}"));
    let base = [
        "--prometheus",
        &prom.url,
        "--window",
        &window,
        "--end",
        &end,
    ];
    let out = run_ok(compare(&[&base[..], &["--format", "json"]].concat()));
    let from_prometheus: Value = serde_json::from_str(&out).unwrap();
    check(&from_prometheus, "prometheus");
    // --rate-query: any PromQL per pod stands for the workload's request rate; here the
    // getppid rate Prometheus computes, 500 a second on both sides
    let rate = format!(
        "sum by (pod) (rate(archscope_syscalls_total{{namespace=\"{NS}\",workload=\"{DEPLOYMENT}\",syscall=\"getppid\"}}[$step]))"
    );
    let out = run_ok(compare(
        &[&base[..], &["--format", "json", "--rate-query", &rate]].concat(),
    ));
    let with_rate: Value = serde_json::from_str(&out).unwrap();
    let requests = row(&with_rate, "requests/s per pod");
    for side in ["a", "b"] {
        let (n, median) = (
            requests[side]["n"].as_u64().unwrap(),
            requests[side]["median"].as_f64().unwrap(),
        );
        assert!(
            n >= 5 && (250.0..=1000.0).contains(&median),
            "{side}: {requests:#}"
        );
    }
    for (format, file) in [
        ("markdown", "report.md"),
        ("html", "report.html"),
        ("table", "report.txt"),
    ] {
        let p = dir.join(file).display().to_string();
        run_ok(compare(
            &[&base[..], &["--format", format, "-o", &p]].concat(),
        ));
    }
    html_renders(&dir.join("report.html"), &dir, &from_prometheus);
    // kept for docs/bench.md's example, with each agent's /metrics as it is now (the
    // exposition parser's real samples)
    if let Some(keep) = std::env::var_os("XTASK_KEEP_REPORT") {
        let keep = Path::new(&keep);
        std::fs::copy(dir.join("report.md"), keep).unwrap();
        // the samples behind every row
        std::fs::write(keep.with_extension("json"), from_prometheus.to_string()).unwrap();
        for (arch, addr) in [("amd64", &host.addr), ("arm64", &guest_addr)] {
            let text = archscope_tests::get_text(&format!("http://{addr}/metrics"), "text/plain");
            std::fs::write(keep.with_extension(format!("{arch}.metrics")), text).unwrap();
        }
    }
    drop(guest);
    let _ = std::fs::remove_dir_all(&dir);
}
