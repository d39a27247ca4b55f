//! `agent bench compare amd64 arm64 --workload shop/checkout`, for real: one Deployment's
//! two pods, one on this host (amd64) and one in the arm64 guest under qemu, each a
//! kubepods cgroup running the same workload (built for its arch) with exactly known
//! syscalls, each named by its node's agent through the stand-in Kubernetes API. A real
//! Prometheus scrapes both agents (the guest's through qemu's forwarded port). The compare
//! runs against the agents directly and against Prometheus, and both must find the two
//! pods, count every call and see what emulation guarantees: getppid far slower in the
//! guest. The guest boot is what `cargo xtask vm-compare` (a stage of `cargo xtask test`)
//! prepares, hence `#[ignore]` here; the bad-input tests run with the others.
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use archscope_tests::kube_api::{self, Api};
use archscope_tests::node::{self, Guest, Pod, PodWorkload};
use archscope_tests::prometheus::{Prometheus, wait_for};
use archscope_tests::{Agent, agent_cmd};
use serde_json::{Value, json};

const NS: &str = "shop";
const DEPLOYMENT: &str = "checkout";
const REPLICASET: &str = "checkout-5d4f7b9c6";
const HOST_POD: &str = "checkout-5d4f7b9c6-x7k2p";
const GUEST_POD: &str = "checkout-5d4f7b9c6-q9m4t";
/// 20 batches a second apart of 500 getppid and 50 failing openat: 10,000 and 1,000.
const WORK: PodWorkload = PodWorkload {
    batches: 20,
    getppid_per_batch: 500,
    openat_missing_per_batch: 50,
    interval_ms: 1000,
};
/// Windows of 2 s: the 20 s of batches give each pod about ten samples.
const STEP: u64 = 2;

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

fn row<'a>(r: &'a Value, label: &str) -> &'a Value {
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["label"] == label)
        .unwrap_or_else(|| panic!("no row {label}: {r:#}"))
}

/// What both sources must agree on: the pods, every call, and the emulated side slower.
fn check(r: &Value, source: &str) {
    let ctx = format!("{source}: {r:#}");
    assert_eq!(r["schema"], "archscope.bench.workload/v1");
    assert_eq!(r["workload"], format!("{NS}/{DEPLOYMENT}"));
    for (side, arch, pod) in [("a", "amd64", HOST_POD), ("b", "arm64", GUEST_POD)] {
        let s = &r[side];
        assert_eq!(s["arch"], arch, "{ctx}");
        let pods: Vec<&str> = s["pods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pod"].as_str().unwrap())
            .collect();
        assert_eq!(pods, [pod], "{ctx}");
        let calls = |name: &str| {
            let t = &s["syscalls"][name];
            (t["calls"].as_f64(), t["errors"].as_f64())
        };
        let (g, o) = (
            WORK.batches * WORK.getppid_per_batch,
            WORK.batches * WORK.openat_missing_per_batch,
        );
        assert_eq!(
            calls("getppid"),
            (Some(g as f64), Some(0.0)),
            "{arch}: {ctx}"
        );
        assert_eq!(
            calls("openat"),
            (Some(o as f64), Some(o as f64)),
            "{arch}: {ctx}"
        );
    }
    let fail = row(r, "openat failure ratio");
    assert_eq!(
        (fail["a"]["median"].as_f64(), fail["b"]["median"].as_f64()),
        (Some(1.0), Some(1.0)),
        "{ctx}"
    );
    let p50 = row(r, "getppid p50");
    assert_eq!(p50["direction"], "higher", "{ctx}");
    assert!(p50["ratio"].as_f64().unwrap() > 2.0, "{ctx}");
    let first = r["differences"][0].as_str().unwrap_or_default();
    assert!(first.contains("on arm64 (of amd64)"), "{ctx}");
    assert!(
        r["differences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().starts_with("getppid p50 ")),
        "{ctx}"
    );
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
    let prom = Prometheus::start_all(&[&host.addr, &guest_addr]);
    // both agents scraped, both pods named with their Deployment
    wait_for(120, "both pods in Prometheus", || {
        let q = format!(
            "count by (pod) (archscope_syscalls_total{{namespace=\"{NS}\",workload=\"{DEPLOYMENT}\"}})"
        );
        prom.query(&q)["result"]
            .as_array()
            .is_some_and(|r| r.len() == 2)
    });
    let ready_wall = unix_now();
    let s = STEP as f64;

    // the agents read directly for 13 windows: from just before the first batch to past
    // the last (20 batches a second apart)
    let agents_json = dir.join("agents.json");
    let (h, g) = (
        format!("http://{}", host.addr),
        format!("http://{guest_addr}"),
    );
    let mut c = compare(&[
        "--agent", &h, "--agent", &g, "--window", "26s", "--format", "json", "-o",
    ]);
    let mut child = c.arg(&agents_json).stderr(Stdio::piped()).spawn().unwrap();
    let log = wait_first_boundary(&mut child);
    let first_boundary = Instant::now();
    // just after the step boundary the Prometheus window below starts on
    let start = (ready_wall / s).ceil() * s;
    std::thread::sleep(Duration::from_secs_f64((start + 0.5 - unix_now()).max(0.0)));
    api.go();
    host_pod.go();
    host_pod.wait_done(Duration::from_secs(120));
    guest.wait_for_line(node::DONE, Duration::from_secs(300));
    let (done, done_wall) = (Instant::now(), unix_now());
    let st = child.wait().unwrap();
    let log = log.join().unwrap();
    assert!(st.success(), "{log}");
    assert!(
        done < first_boundary + Duration::from_secs(25),
        "the workload outlasted the agents' window: {log}"
    );
    let from_agents: Value =
        serde_json::from_str(&std::fs::read_to_string(&agents_json).unwrap()).unwrap();
    check(&from_agents, "agents");

    // Prometheus, over whole windows from that boundary to the first past the scrapes
    // after the last batch; every format reads the same windows (--end)
    let end = ((done_wall + 1.5) / s).ceil() * s;
    std::thread::sleep(Duration::from_secs_f64((end + 1.0 - unix_now()).max(0.0)));
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
        for (arch, addr) in [("amd64", &host.addr), ("arm64", &guest_addr)] {
            let text = ureq::get(&format!("http://{addr}/metrics"))
                .call()
                .unwrap()
                .into_body()
                .with_config()
                .limit(1 << 30)
                .read_to_string()
                .unwrap();
            std::fs::write(keep.with_extension(format!("{arch}.metrics")), text).unwrap();
        }
    }
    drop(guest);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The HTML report in headless Chromium: every row, the chart, no network.
fn html_renders(html: &Path, dir: &Path, r: &Value) {
    let text = std::fs::read_to_string(html).unwrap();
    // the sources' URLs are text in it; nothing is loaded from anywhere
    for external in ["src=", "href=", "url(", "@import", "<link", "<script"] {
        assert!(!text.contains(external), "not self-contained: {external}");
    }
    let dom = archscope_tests::chromium::dump_dom(html, &dir.join("profile"));
    let rows = dom.matches("<tr data-direction=").count();
    assert_eq!(rows, r["rows"].as_array().unwrap().len(), "{dom}");
    assert!(
        dom.contains("id=\"chart-ratios\"") && dom.contains("class=\"point\""),
        "{dom}"
    );
    assert!(dom.contains(GUEST_POD) && dom.contains(HOST_POD), "{dom}");
}

/// `agent bench compare … --workload` fails as bad input: exit 2, one line naming `want`.
fn usage_error(args: &[&str], want: &str) {
    let out = agent_cmd()
        .args(["bench", "compare"])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
}

#[test]
fn bad_workload_flags_are_usage_errors() {
    let p = ["--prometheus", "http://127.0.0.1:1"];
    // (A, B, --workload, further flags): each must name what is wrong
    let cases: &[(&str, &str, &str, &[&str], &str)] = &[
        ("amd64", "arm64", "checkout", &p, "--workload"),
        ("amd64", "arm64", "Shop/x", &p, "--workload"),
        ("amd64", "amd64", "shop/x", &p, "both amd64"),
        (
            "amd64",
            "riscv",
            "shop/x",
            &p,
            "`riscv` is not an architecture",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &[p[0], p[1], "--window", "1s"],
            "--window",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &[p[0], p[1], "--step", "500ms"],
            "--step: 500ms is below 1s",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &[p[0], p[1], "--window", "10s", "--step", "6s"],
            "--window",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &["--agent", "http://x", "--rate-query", "up"],
            "--rate-query needs --prometheus",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &["--prometheus", "ftp://x"],
            "--prometheus",
        ),
        ("amd64", "arm64", "shop/x", &["--no-kubernetes"], "--agent"),
        (
            "amd64",
            "arm64",
            "shop/x",
            &["--agent", "http://x", "--end", "0"],
            "--end needs --prometheus",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &[p[0], p[1], "--end", "yesterday"],
            "--end",
        ),
    ];
    for (a, b, w, extra, want) in cases {
        usage_error(&[&[*a, *b, "--workload", *w], *extra].concat(), want);
    }
    usage_error(
        &["amd64", "arm64", "--step", "5m"],
        "--step needs --workload",
    );
}

#[test]
fn an_unreachable_prometheus_is_an_error_that_names_it() {
    let out = agent_cmd()
        .args([
            "bench",
            "compare",
            "amd64",
            "arm64",
            "--workload",
            "shop/x",
            "--prometheus",
            "http://127.0.0.1:1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("http://127.0.0.1:1: unreachable"), "{err}");
}
