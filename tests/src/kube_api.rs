//! A stand-in for the Kubernetes API server: no API server runs on this machine (no
//! kubelet, kind or docker), so the agents talk to this one, which answers the requests
//! their Kubernetes source makes (pods by field selector, a ReplicaSet, a Job) with
//! objects in the API's own JSON, through a kubeconfig like any cluster's. It also
//! answers [`crate::node::GO_PATH`], the signal that starts a guest node's pod.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};

/// A JSON response (the workspace builds axum without its `json` feature).
type Json = ([(axum::http::HeaderName, &'static str); 1], String);

fn js(v: Value) -> Json {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
}

/// A pod on `node`, controlled by `owner` (kind, name).
pub fn pod(
    uid: &str,
    name: &str,
    ns: &str,
    node: &str,
    owner: (&str, &str),
    labels: Value,
) -> Value {
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

/// A ReplicaSet or Job named `<controller>-<suffix>`, as Kubernetes names them, owned by
/// `<controller>` of kind `owner_kind`.
fn owned(kind: &str, api: &str, name: &str, ns: &str, owner_kind: &str) -> Value {
    let owner = name.rsplit_once('-').map_or(name, |(o, _)| o);
    json!({
        "apiVersion": api, "kind": kind,
        "metadata": {
            "name": name, "namespace": ns, "uid": "11111111-1111-1111-1111-111111111111",
            "ownerReferences": [{
                "apiVersion": "apps/v1", "kind": owner_kind, "name": owner,
                "uid": "22222222-2222-2222-2222-222222222222", "controller": true
            }]
        }
    })
}

#[derive(Clone, Default)]
pub struct Api {
    pub pods: Arc<Vec<Value>>,
    /// Every request's path and query, for the assertions on what an agent asked.
    pub seen: Arc<Mutex<Vec<String>>>,
    go: Arc<AtomicBool>,
    /// Uids of pods not listed yet: the API server has not got to them.
    hidden: Arc<Mutex<Vec<String>>>,
}

impl Api {
    pub fn new(pods: Vec<Value>) -> Api {
        Api {
            pods: Arc::new(pods),
            ..Api::default()
        }
    }

    /// The pod with `uid` is left out of lists until [`Api::reveal`].
    pub fn hide(&self, uid: &str) {
        self.hidden.lock().unwrap().push(uid.to_string());
    }

    pub fn reveal(&self, uid: &str) {
        self.hidden.lock().unwrap().retain(|u| u != uid);
    }

    /// From now on [`crate::node::GO_PATH`] answers 200.
    pub fn go(&self) {
        self.go.store(true, Ordering::SeqCst);
    }
}

async fn list_pods(State(api): State<Api>, RawQuery(q): RawQuery) -> Json {
    let q = q.unwrap_or_default();
    api.seen.lock().unwrap().push(format!("/api/v1/pods?{q}"));
    // Honour the field selector as the API server does.
    let decoded = q.replace("%3D", "=").replace("%2F", "/");
    let node = decoded
        .split('&')
        .find_map(|kv| kv.strip_prefix("fieldSelector=spec.nodeName="));
    let hidden = api.hidden.lock().unwrap().clone();
    let items: Vec<Value> = api
        .pods
        .iter()
        .filter(|p| node.is_none_or(|n| p["spec"]["nodeName"] == n))
        .filter(|p| !hidden.iter().any(|u| p["metadata"]["uid"] == u.as_str()))
        .cloned()
        .collect();
    js(json!({
        "apiVersion": "v1", "kind": "PodList",
        "metadata": { "resourceVersion": "1" }, "items": items
    }))
}

async fn replicaset(State(api): State<Api>, Path((ns, name)): Path<(String, String)>) -> Json {
    api.seen.lock().unwrap().push(format!("rs {ns}/{name}"));
    js(owned("ReplicaSet", "apps/v1", &name, &ns, "Deployment"))
}

async fn job(State(api): State<Api>, Path((ns, name)): Path<(String, String)>) -> Json {
    api.seen.lock().unwrap().push(format!("job {ns}/{name}"));
    js(owned("Job", "batch/v1", &name, &ns, "CronJob"))
}

async fn go(State(api): State<Api>) -> StatusCode {
    if api.go.load(Ordering::SeqCst) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// The stand-in on a free loopback port; its port.
pub fn serve(api: Api) -> u16 {
    serve_on(0, api)
}

/// The stand-in on loopback `port` (0: any free one), on its own runtime thread.
pub fn serve_on(port: u16, api: Api) -> u16 {
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
                .route(crate::node::GO_PATH, get(go))
                .with_state(api);
            let l = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    port
}
