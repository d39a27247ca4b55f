//! Pod names, owning workloads and pod labels from the Kubernetes API.
//!
//! No Kubernetes API server runs on this machine (no kubelet, kind or docker), so the
//! agent talks to a stand-in that answers the three requests the source makes (pods by
//! field selector, a ReplicaSet, a Job) with objects in the API's own JSON, through a
//! kubeconfig like any cluster's. The cgroups are real: kubepods paths in cgroup2 with
//! processes making known syscalls.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use archscope_tests::kube_api::{Api, pod, serve, serve_on};
use archscope_tests::{Agent, Metrics, cgroup2_root, skip_under_emulation, workload_cmd};
use serde_json::json;

/// A kubeconfig in `dir` for the stand-in API on `port`, with a bearer token.
fn kubeconfig(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    archscope_tests::node::kubeconfig(dir, &format!("http://127.0.0.1:{port}"))
}

const NODE: &str = "node-a";

/// A kubepods cgroup (cgroupfs driver layout) with the workload run inside it.
struct PodCgroup(std::path::PathBuf);

impl PodCgroup {
    fn new(uid: &str, cid: &str) -> PodCgroup {
        let dir = cgroup2_root().join(format!("kubepods/burstable/pod{uid}/{cid}"));
        std::fs::create_dir_all(&dir).unwrap();
        PodCgroup(dir)
    }

    fn run(&self, getppid: &str) {
        let procs = self.0.join("cgroup.procs");
        let st = workload_cmd()
            .arg(&procs)
            .args(["basic", getppid, "0"])
            .status()
            .unwrap();
        assert!(st.success());
    }
}

impl Drop for PodCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
        let _ = std::fs::remove_dir(self.0.parent().unwrap());
    }
}

fn labels_of(m: &Metrics, cid: &str) -> Option<BTreeMap<String, String>> {
    m.find(
        "archscope_syscalls_total",
        &[("container_id", cid), ("syscall", "getppid")],
    )
    .next()
    .map(|s| {
        let mut l = s.labels.clone();
        l.insert("value".into(), s.value.to_string());
        l
    })
}

#[test]
fn pods_and_workloads_from_the_api() {
    if skip_under_emulation() {
        return; // API client timeouts are wall-clock; the logic is not arch-specific
    }
    let id = std::process::id();
    let uid_web = format!("6a1f0c2e-0000-4000-8000-{id:012}");
    let uid_job = format!("7b2e1d3f-0000-4000-8000-{id:012}");
    let cid = |n: u64| format!("{:064x}", (id as u128) << 8 | n as u128);
    let (cid_web, cid_job) = (cid(1), cid(2));
    let api = Api::new(vec![
        pod(
            &uid_web,
            "web-7d9f-xk2p",
            "shop",
            NODE,
            ("ReplicaSet", "web-7d9f"),
            json!({"app": "web", "app.kubernetes.io/name": "webapp", "team": "x"}),
        ),
        pod(
            &uid_job,
            "report-28001-q8z",
            "batch",
            NODE,
            ("Job", "report-28001"),
            json!({}),
        ),
        pod(
            "9c3f2e40-0000-4000-8000-000000000003",
            "elsewhere",
            "shop",
            "node-b",
            ("ReplicaSet", "web-7d9f"),
            json!({"app": "web"}),
        ),
    ]);
    let port = serve(api.clone());
    let dir = std::env::temp_dir().join(format!("archscope-kube-{id}"));
    let kubeconfig = kubeconfig(&dir, port);
    let (web, job) = (
        PodCgroup::new(&uid_web, &cid_web),
        PodCgroup::new(&uid_job, &cid_job),
    );
    let kc = kubeconfig.display().to_string();
    let agent = Agent::start_with_env(
        &["--containerd-socket=", "--kubeconfig", &kc],
        &[("NODE_NAME", NODE)],
    );
    web.run("100");
    job.run("50");
    let deadline = Instant::now() + Duration::from_secs(30);
    let m = loop {
        let m = agent.metrics();
        let done = |cid: &str| labels_of(&m, cid).is_some_and(|l| !l["workload"].is_empty());
        if done(&cid_web) && done(&cid_job) {
            break m;
        }
        assert!(Instant::now() < deadline, "no workload labels after 30 s");
        std::thread::sleep(Duration::from_millis(300));
    };
    let w = labels_of(&m, &cid_web).unwrap();
    assert_eq!(
        (
            &*w["pod"],
            &*w["namespace"],
            &*w["workload"],
            &*w["workload_kind"],
            &*w["value"]
        ),
        ("web-7d9f-xk2p", "shop", "web", "Deployment", "100")
    );
    assert_eq!(w["runtime"], "cri");
    let j = labels_of(&m, &cid_job).unwrap();
    assert_eq!(
        (
            &*j["pod"],
            &*j["namespace"],
            &*j["workload"],
            &*j["workload_kind"],
            &*j["value"]
        ),
        ("report-28001-q8z", "batch", "report", "CronJob", "50")
    );
    // One info series per pod of this node, with only the allowed labels.
    let info: Vec<_> = m.find("archscope_kubernetes_pod_labels", &[]).collect();
    assert_eq!(info.len(), 2, "{info:?}");
    let web_info = m
        .find(
            "archscope_kubernetes_pod_labels",
            &[("pod", "web-7d9f-xk2p")],
        )
        .next()
        .unwrap();
    assert_eq!(web_info.labels["label_app"], "web");
    assert_eq!(web_info.labels["label_app_kubernetes_io_name"], "webapp");
    assert!(!web_info.labels.contains_key("label_team"));
    assert_eq!(
        m.value("archscope_metadata_source_up", &[("source", "kubernetes")]),
        Some(1.0)
    );
    // The agent asked for this node's pods only, and looked each owner up once.
    let seen = api.seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .filter(|s| s.starts_with("/api/v1/pods"))
            .all(|s| s.contains("spec.nodeName%3Dnode-a")),
        "{seen:?}"
    );
    assert_eq!(
        seen.iter().filter(|s| *s == "rs shop/web-7d9f").count(),
        1,
        "{seen:?}"
    );
    assert_eq!(
        seen.iter()
            .filter(|s| *s == "job batch/report-28001")
            .count(),
        1,
        "{seen:?}"
    );
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn kubeconfig_without_node_name_is_a_usage_error() {
    let out = archscope_tests::agent_cmd()
        .args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig",
            "/nonexistent",
        ])
        .env_remove("NODE_NAME")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("NODE_NAME"), "{err}");
}

/// The API server unreachable when the agent starts, then up: counting goes on with the
/// labels the cgroup path gives, the source is reported down with its failed refreshes,
/// and the pod's names arrive once the server answers.
#[test]
fn api_unreachable_then_back() {
    if skip_under_emulation() {
        return;
    }
    let id = std::process::id();
    let uid = format!("8d3f2e4a-0000-4000-8000-{id:012}");
    let cid = format!("{:064x}", (id as u128) << 8 | 9);
    let api = Api::new(vec![pod(
        &uid,
        "api-5c8d-q1",
        "shop",
        NODE,
        ("ReplicaSet", "web-7d9f"),
        json!({}),
    )]);
    // a port nobody listens on yet: connections are refused
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::env::temp_dir().join(format!("archscope-kube-outage-{id}"));
    let kc = kubeconfig(&dir, port).display().to_string();
    let cg = PodCgroup::new(&uid, &cid);
    let agent = Agent::start_with_env(
        &["--containerd-socket=", "--kubeconfig", &kc],
        &[("NODE_NAME", NODE)],
    );
    cg.run("100");
    let source = [("source", "kubernetes")];
    let m = agent.wait_for("the source reported down", |m| {
        m.value("archscope_metadata_source_up", &source) == Some(0.0)
            && m.value("archscope_metadata_source_errors_total", &source) >= Some(1.0)
            && labels_of(m, &cid).is_some()
    });
    let l = labels_of(&m, &cid).unwrap();
    let pod = l.get("pod").map_or("", String::as_str);
    assert_eq!((&*l["value"], pod), ("100", ""), "{l:?}");

    serve_on(port, api);
    let m = agent.wait_for("pod names after the API came back", |m| {
        labels_of(m, &cid).is_some_and(|l| l.get("pod").is_some_and(|p| p == "api-5c8d-q1"))
    });
    let l = labels_of(&m, &cid).unwrap();
    assert_eq!(
        (&*l["namespace"], &*l["workload"], &*l["value"]),
        ("shop", "web", "100")
    );
    assert_eq!(m.value("archscope_metadata_source_up", &source), Some(1.0));
    drop(agent);
    let _ = std::fs::remove_dir_all(dir);
}
