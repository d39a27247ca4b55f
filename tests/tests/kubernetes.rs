//! Pod names, owning workloads and pod labels from the Kubernetes API.
//!
//! No Kubernetes API server runs on this machine (no kubelet, kind or docker), so the
//! agent talks to a stand-in that answers the three requests the source makes (pods by
//! field selector, a ReplicaSet, a Job) with objects in the API's own JSON, through a
//! kubeconfig like any cluster's. The cgroups are real: kubepods paths in cgroup2 with
//! processes making known syscalls.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use archscope_tests::{Agent, Metrics, cgroup2_root, skip_under_emulation, workload_cmd};
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use serde_json::{Value, json};

const NODE: &str = "node-a";

/// A JSON response (the workspace builds axum without its `json` feature).
type Json = ([(axum::http::HeaderName, &'static str); 1], String);

fn js(v: Value) -> Json {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
}

fn pod(uid: &str, name: &str, ns: &str, node: &str, owner: (&str, &str), labels: Value) -> Value {
    json!({
        "metadata": {
            "name": name, "namespace": ns, "uid": uid, "labels": labels,
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": owner.0, "name": owner.1,
                "uid": "00000000-0000-0000-0000-000000000000", "controller": true
            }]
        },
        "spec": { "nodeName": node, "containers": [] }
    })
}

fn owned(kind: &str, api: &str, name: &str, ns: &str, owner: (&str, &str)) -> Value {
    json!({
        "apiVersion": api, "kind": kind,
        "metadata": {
            "name": name, "namespace": ns, "uid": "11111111-1111-1111-1111-111111111111",
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": owner.0, "name": owner.1,
                "uid": "22222222-2222-2222-2222-222222222222", "controller": true
            }]
        }
    })
}

#[derive(Clone, Default)]
struct Api {
    pods: Arc<Vec<Value>>,
    /// Every request's path and query, for the assertions on what the agent asked.
    seen: Arc<Mutex<Vec<String>>>,
}

async fn list_pods(State(api): State<Api>, RawQuery(q): RawQuery) -> Json {
    let q = q.unwrap_or_default();
    api.seen.lock().unwrap().push(format!("/api/v1/pods?{q}"));
    // Honour the field selector as the API server does.
    let decoded = q.replace("%3D", "=").replace("%2F", "/");
    let node = decoded
        .split('&')
        .find_map(|kv| kv.strip_prefix("fieldSelector=spec.nodeName="));
    let items: Vec<Value> = api
        .pods
        .iter()
        .filter(|p| node.is_none_or(|n| p["spec"]["nodeName"] == n))
        .cloned()
        .collect();
    js(json!({
        "apiVersion": "v1", "kind": "PodList",
        "metadata": { "resourceVersion": "1" }, "items": items
    }))
}

async fn replicaset(State(api): State<Api>, Path((ns, name)): Path<(String, String)>) -> Json {
    api.seen.lock().unwrap().push(format!("rs {ns}/{name}"));
    js(owned(
        "ReplicaSet",
        "apps/v1",
        &name,
        &ns,
        ("Deployment", "web"),
    ))
}

async fn job(State(api): State<Api>, Path((ns, name)): Path<(String, String)>) -> Json {
    api.seen.lock().unwrap().push(format!("job {ns}/{name}"));
    js(owned("Job", "batch/v1", &name, &ns, ("CronJob", "report")))
}

/// The stand-in API on a loopback port, on its own runtime thread.
fn serve(api: Api) -> u16 {
    serve_on(0, api)
}

/// The stand-in API on `port` (0: any free one).
fn serve_on(port: u16, api: Api) -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route("/api/v1/pods", get(list_pods))
                .route(
                    "/apis/apps/v1/namespaces/{ns}/replicasets/{name}",
                    get(replicaset),
                )
                .route("/apis/batch/v1/namespaces/{ns}/jobs/{name}", get(job))
                .with_state(api);
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    port
}

/// A kubeconfig in `dir` for the stand-in API on `port`, with a bearer token.
fn kubeconfig(dir: &std::path::Path, port: u16) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\n\
             clusters:\n- name: t\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             contexts:\n- name: t\n  context:\n    cluster: t\n    user: u\n\
             users:\n- name: u\n  user:\n    token: test-token\n"
        ),
    )
    .unwrap();
    path
}

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
    let api = Api {
        pods: Arc::new(vec![
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
        ]),
        seen: Arc::default(),
    };
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
    let api = Api {
        pods: Arc::new(vec![pod(
            &uid,
            "api-5c8d-q1",
            "shop",
            NODE,
            ("ReplicaSet", "web-7d9f"),
            json!({}),
        )]),
        seen: Arc::default(),
    };
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
