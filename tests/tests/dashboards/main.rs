//! The Grafana dashboards against a real Prometheus (Debian's package) scraping a real
//! agent every second while a containerd container with Kubernetes labels works, beside a
//! sidecar in its pod making loopback TCP traffic; a stand-in Kubernetes API names the
//! pod's workload. Every query of every panel, with its variables filled in from what
//! Prometheus returns, must return data (at least one finite value). Generic over
//! dashboards/*.json.
//!
//! SKIP lists the only panels allowed to lack data, each with its reason: metrics of
//! hardware this host lacks, traffic or bench results the test does not make.
use std::path::{Path, PathBuf};

use archscope_tests::containerd::{Container, Containerd, rootfs};
use archscope_tests::prometheus::{Prometheus, wait_for};
use archscope_tests::{Agent, skip_under_emulation};
use serde_json::Value;

mod procs;
use procs::Procs;

const NET: &str = "the TCP traffic is the sidecar's, not container `app`'s; no UDP";
const PMU: &str = "this host has no hardware PMU: the agent exports no hardware series here (proven on the arm64 guest by tests/tests/pmu.rs)";
const BENCH: &str = "the test's agent serves no `agent bench` results (tests/tests/bench.rs covers archscope_bench_*)";

/// (dashboard uid, panel title, why it may be empty)
const SKIP: &[(&str, &str, &str)] = &[
    ("archscope-node", "IPC by node", PMU),
    ("archscope-container", "TCP bytes/s", NET),
    ("archscope-container", "TCP retransmits/s", NET),
    ("archscope-container", "UDP bytes/s", NET),
    ("archscope-container", "IPC", PMU),
    ("archscope-container", "Cache miss rate", PMU),
    ("archscope-arch", "IPC", PMU),
    ("archscope-arch", "Workload IPC", PMU),
    ("archscope-arch", "Cache misses per 1,000 instructions", PMU),
    ("archscope-arch", "Cycles/s per pod", PMU),
    (
        "archscope-arch",
        "Median by benchmark and architecture (unit in the legend)",
        BENCH,
    ),
    (
        "archscope-arch",
        "Variation (CV) by benchmark and architecture",
        BENCH,
    ),
    ("archscope-agent", "Hardware counters available", PMU),
    ("archscope-hardware", "IPC by pod", PMU),
    ("archscope-hardware", "IPC by node", PMU),
    ("archscope-hardware", "Cache misses/s by node", PMU),
];

/// Variables allowed to have no values (then Grafana's "All", `.*`, is used).
const SKIP_VARS: &[(&str, &str)] = &[("benchmark", BENCH)];

/// The test pod's controller as the stand-in API reports it: a DaemonSet, the top of its
/// ownership chain (the agent asks for nothing more), on node `NODE`.
const WORKLOAD: &str = "web";
const NODE: &str = "node-a";

/// Values the test's pods decide: (board, variable, its first value).
const EXPECT_VARS: &[(&str, &str, &str)] = &[
    ("archscope-arch", "namespace", "shop"),
    ("archscope-arch", "workload", WORKLOAD),
];

/// Grafana's `$__rate_interval` for a 1 s scrape interval is 4 s; a little more is safe.
const RATE_INTERVAL: &str = "10s";

/// At least one finite value in a query result.
fn has_data(data: &Value) -> bool {
    let finite = |v: &Value| {
        v.as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .is_some_and(f64::is_finite)
    };
    match data["resultType"].as_str() {
        Some("scalar") => finite(&data["result"][1]),
        _ => data["result"].as_array().is_some_and(|r| {
            r.iter().any(|s| {
                finite(&s["value"][1])
                    || s["values"]
                        .as_array()
                        .is_some_and(|vs| vs.iter().any(|v| finite(&v[1])))
            })
        }),
    }
}

/// Replace `$__rate_interval`, `${name}` and `$name` (longest names first).
fn fill(expr: &str, vars: &[(String, String)]) -> String {
    let mut out = expr.replace("$__rate_interval", RATE_INTERVAL);
    let mut vars: Vec<&(String, String)> = vars.iter().collect();
    vars.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, value) in vars {
        out = out.replace(&format!("${{{name}}}"), value);
        out = out.replace(&format!("${name}"), value);
    }
    out
}

/// `label_values(selector, label)` → the label's values among the selected series.
fn variable_values(prom: &Prometheus, query: &str) -> Vec<String> {
    let inner = query
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unsupported variable query {query}"));
    let (selector, label) = inner
        .rsplit_once(',')
        .expect("label_values(selector, label)");
    let label = label.trim();
    let data = prom.query(&format!("group by ({label}) ({selector})"));
    let mut values: Vec<String> = data["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["metric"][label].as_str().map(String::from))
        .filter(|v| !v.is_empty())
        .collect();
    values.sort();
    values
}

/// Fill the board's variables in order: each takes the first value Prometheus returns
/// under the variables before it.
fn fill_variables(prom: &Prometheus, board: &Value, uid: &str) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    for v in board["templating"]["list"].as_array().unwrap() {
        let name = v["name"].as_str().unwrap().to_string();
        if v["type"] == "datasource" {
            continue;
        }
        let query = v["query"]["query"]
            .as_str()
            .or(v["query"].as_str())
            .unwrap();
        let values = variable_values(prom, &fill(query, &vars));
        let value = match values.first() {
            Some(first) => first.clone(),
            None => match SKIP_VARS.iter().find(|(n, _)| *n == name) {
                Some((_, why)) => {
                    eprintln!("skip variable {uid}/${name} (All): {why}");
                    v["allValue"].as_str().unwrap_or(".*").to_string()
                }
                None => panic!("{uid}: variable ${name} has no values ({query})"),
            },
        };
        eprintln!("{uid}: ${name} = {value}");
        vars.push((name, value));
    }
    vars
}

/// What every board must offer, checked without Prometheus.
fn check_conventions(uid: &str, board: &Value) {
    let names: Vec<&str> = board["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for n in ["datasource", "arch"] {
        assert!(names.contains(&n), "{uid}: no ${n} variable");
    }
    let mut titles = std::collections::BTreeSet::new();
    for p in board["panels"].as_array().unwrap() {
        if p["type"] == "row" {
            continue;
        }
        let title = p["title"].as_str().unwrap();
        // SKIP names panels by title
        assert!(titles.insert(title), "{uid}: two panels {title}");
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{uid}: {title}");
        for t in p["targets"].as_array().unwrap() {
            let expr = t["expr"].as_str().unwrap();
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{uid}: {expr}");
            for (i, _) in expr.match_indices('$') {
                let var: String = expr[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    var.starts_with("__") || names.contains(&var.as_str()),
                    "{uid}: {expr}: ${var} is not a variable of the board"
                );
            }
            for (i, _) in expr.match_indices("rate(") {
                let window = expr[i..].split_once('[').map(|(_, w)| w);
                assert!(
                    window.is_some_and(|w| w.starts_with("$__rate_interval]")),
                    "{uid}: {expr}: rate() windows must be $__rate_interval"
                );
            }
        }
    }
}

/// The test container's pod cgroup (`kubepods/burstable/pod<uid>`, where `Container` puts
/// it) and the pod's uid.
fn test_pod() -> (PathBuf, String) {
    let args = Container::run_args(Path::new("/"), "id", &[]);
    let i = args.iter().position(|a| a == "--cgroup").unwrap();
    let pod = args[i + 1].rsplit_once('/').unwrap().0;
    (pod.into(), pod.rsplit_once("/pod").unwrap().1.into())
}

/// The stand-in Kubernetes API listing the test's pod on `NODE`, owned by DaemonSet
/// `WORKLOAD`; the path of a kubeconfig for it.
fn kube_api(uid: &str) -> String {
    let pod = archscope_tests::kube_api::pod(
        uid,
        "web-7d9f",
        "shop",
        NODE,
        ("DaemonSet", WORKLOAD),
        serde_json::json!({}),
    );
    let port = archscope_tests::kube_api::serve(archscope_tests::kube_api::Api::new(vec![pod]));
    let dir = std::env::temp_dir().join(format!("archscope-dash-{}", std::process::id()));
    let server = format!("http://127.0.0.1:{port}");
    archscope_tests::node::kubeconfig(&dir, &server)
        .display()
        .to_string()
}

fn dashboards() -> Vec<(PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dashboards");
    let mut out: Vec<(PathBuf, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, v)
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 5, "dashboards missing in {}", dir.display());
    out
}

#[test]
fn every_panel_has_data_in_prometheus() {
    if skip_under_emulation() {
        return;
    }
    let boards = dashboards();
    for (p, b) in &boards {
        check_conventions(&p.display().to_string(), b);
    }
    let Some(containerd) = Containerd::start() else {
        panic!("containerd missing: run `cargo xtask setup`");
    };
    let socket = containerd.socket.display().to_string();
    let (pod, uid) = test_pod();
    let kubeconfig = kube_api(&uid);
    // OTLP to a closed port: the export counters exist and the failures count
    let agent = Agent::start_with_env(
        &[
            "--containerd-socket",
            &socket,
            "--kubeconfig",
            &kubeconfig,
            "--otlp-endpoint",
            "http://127.0.0.1:9",
            "--otlp-interval",
            "1s",
            // a budget well above the agent's RSS: the limit is drawn, nothing is shed
            "--memory-limit",
            "1GiB",
        ],
        &[("NODE_NAME", NODE)],
    );
    // made first so it goes last, with the pod's cgroup
    let _sidecar = Procs::sidecar(&pod);
    // getppid ×50 and a failing openat ×10 every 100 ms
    let _container = Container::start(
        &containerd,
        &rootfs(&containerd.dir),
        &["steady", "50", "10"],
    );
    let _service = Procs::host_service();
    let prom = Prometheus::start(&agent.addr);
    // labelled container and sidecar series, and enough 1 s scrapes for every rate window
    let sel = format!(r#"pod="web-7d9f", workload="{WORKLOAD}""#);
    for q in [
        format!(r#"archscope_syscalls_total{{{sel}, syscall="getppid"}}"#),
        format!("archscope_tcp_connect_duration_seconds_count{{{sel}}}"),
    ] {
        wait_for(60, &q, || {
            has_data(&prom.query(&format!("count_over_time({q}[10s]) >= 6")))
        });
    }
    let (mut checked, mut skipped, mut missing) = (0, 0, Vec::new());
    for (path, board) in &boards {
        let uid = board["uid"].as_str().unwrap();
        let vars = fill_variables(&prom, board, uid);
        for (_, name, want) in EXPECT_VARS.iter().filter(|(u, _, _)| *u == uid) {
            let var = (name.to_string(), want.to_string());
            assert!(
                vars.contains(&var),
                "{uid}: ${name} is not {want}: {vars:?}"
            );
        }
        for panel in board["panels"].as_array().unwrap() {
            let title = panel["title"].as_str().unwrap();
            let Some(targets) = panel["targets"].as_array() else {
                continue;
            };
            let skip = SKIP.iter().find(|(u, t, _)| *u == uid && *t == title);
            for t in targets {
                let expr = fill(t["expr"].as_str().unwrap(), &vars);
                let data = has_data(&prom.query(&expr));
                match (skip, data) {
                    (Some((_, _, why)), false) => {
                        eprintln!("skip {uid} / {title}: {why}");
                        skipped += 1;
                    }
                    (Some(_), true) => {
                        eprintln!("NOTE {uid} / {title} has data now: drop it from SKIP");
                        checked += 1;
                    }
                    (None, true) => checked += 1,
                    (None, false) => missing.push(format!("{} / {title}: {expr}", path.display())),
                }
            }
        }
    }
    eprintln!("dashboards: {checked} queries with data, {skipped} skipped");
    assert!(
        missing.is_empty(),
        "queries without data:\n{}",
        missing.join("\n")
    );
    let _ = std::fs::remove_file(kubeconfig);
}
