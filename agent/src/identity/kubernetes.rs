//! Pod metadata from the Kubernetes API: for the pods of this node only
//! (`spec.nodeName=$NODE_NAME`), their name, namespace, the labels the operator allows,
//! and the owning workload found through ownerReferences (a ReplicaSet's Deployment, a
//! Job's CronJob). A background task keeps a bounded map by pod uid fresh, like the
//! containerd source; the API being unreachable costs labels, never collection.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, ListParams};
use tokio::sync::mpsc;

use super::source::{Shared, refresh_loop};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodMeta {
    pub name: String,
    pub namespace: String,
    /// The controller at the top of the ownership chain (`Deployment`, `StatefulSet`,
    /// `DaemonSet`, `CronJob`, `Job`, …); empty for a bare pod.
    pub workload_kind: String,
    pub workload: String,
    /// The allowed pod labels that are set, as (key, value).
    pub labels: Vec<(String, String)>,
}

/// Where the API is: the in-cluster service account, or a kubeconfig file.
#[derive(Debug, Clone)]
pub enum Endpoint {
    InCluster,
    Kubeconfig(std::path::PathBuf),
}

#[derive(Clone)]
pub struct KubernetesSource {
    shared: Shared<PodMeta>,
    refresh: mpsc::Sender<()>,
    /// Allowed pod label keys and their Prometheus names (`app.kubernetes.io/name` →
    /// `label_app_kubernetes_io_name`), fixed at start-up.
    pub label_keys: Arc<Vec<(String, &'static str)>>,
}

impl KubernetesSource {
    /// Start the refresher on the current tokio runtime.
    pub fn spawn(
        endpoint: Endpoint,
        node: String,
        allowed_labels: Vec<String>,
        capacity: usize,
        interval: Duration,
    ) -> KubernetesSource {
        let (tx, rx) = mpsc::channel(1);
        let shared = Shared::new(capacity);
        let label_keys = allowed_labels
            .iter()
            .map(|k| (k.clone(), prometheus_label(k)))
            .collect();
        let (mut client_cache, mut owners) = (None::<kube::Client>, Owners::default());
        let fetch = async move || {
            if client_cache.is_none() {
                client_cache = Some(client(&endpoint).await?);
            }
            let c = client_cache.clone().expect("set above");
            list_node_pods(&c, &node, &allowed_labels, &mut owners).await
        };
        let timeout = Duration::from_secs(10);
        tokio::spawn(refresh_loop(
            "kubernetes",
            shared.clone(),
            rx,
            interval,
            timeout,
            false,
            fetch,
        ));
        KubernetesSource {
            shared,
            refresh: tx,
            label_keys: Arc::new(label_keys),
        }
    }

    pub fn get(&self, pod_uid: &str) -> Option<PodMeta> {
        self.shared.get(pod_uid)
    }

    pub fn shared(&self) -> &Shared<PodMeta> {
        &self.shared
    }

    /// Every known pod, sorted (for the pod-labels info series).
    pub fn pods(&self) -> Vec<PodMeta> {
        let mut v = self.shared.values();
        v.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        v
    }

    /// An unknown pod appeared; coalesced like the containerd source's.
    pub fn request_refresh(&self) {
        let _ = self.refresh.try_send(());
    }

    /// Ask for this node's pods again when `uids` holds pods the map does not, and wait
    /// for that list until `until` (a snapshot's bound). The API has no lookup by uid;
    /// the node's pod list is what it answers cheaply.
    pub fn resolve(&self, uids: &[&str], until: std::time::Instant) {
        let unknown = self.shared.unknown(uids);
        if unknown.is_empty() {
            return;
        }
        let asks = &self.shared.asks;
        let new = asks.take_new(unknown.iter().copied(), std::time::Instant::now());
        if !new.is_empty() {
            use std::sync::atomic::Ordering::Relaxed;
            self.shared
                .stats
                .lookups
                .fetch_add(new.len() as u64, Relaxed);
            self.request_refresh();
        }
        asks.wait(unknown.iter().copied(), until);
    }
}

/// `label_` + the key with every character Prometheus does not allow as `_`. Leaked
/// once per configured key (at most 32, at start-up) so series can borrow it.
fn prometheus_label(key: &str) -> &'static str {
    let mut s = String::from("label_");
    s.extend(
        key.chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
    );
    Box::leak(s.into_boxed_str())
}

async fn client(endpoint: &Endpoint) -> Result<kube::Client, String> {
    let config = match endpoint {
        Endpoint::InCluster => kube::Config::incluster().map_err(|e| e.to_string())?,
        Endpoint::Kubeconfig(path) => {
            let kc = kube::config::Kubeconfig::read_from(path).map_err(|e| e.to_string())?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .map_err(|e| e.to_string())?
        }
    };
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

async fn list_node_pods(
    c: &kube::Client,
    node: &str,
    allowed: &[String],
    owners: &mut Owners,
) -> Result<Vec<(String, PodMeta)>, String> {
    let pods: Api<Pod> = Api::all(c.clone());
    let lp = ListParams::default().fields(&format!("spec.nodeName={node}"));
    let list = pods.list(&lp).await.map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(list.items.len());
    owners.start_round();
    for p in list.items {
        let md = p.metadata;
        let (Some(uid), Some(name), Some(ns)) = (md.uid, md.name, md.namespace) else {
            continue;
        };
        let (workload_kind, workload) = match md.owner_references.as_deref().and_then(controller_of)
        {
            Some(o) => owners.resolve(c, &ns, o).await,
            None => (String::new(), String::new()),
        };
        let labels = md.labels.unwrap_or_default();
        let labels = allowed
            .iter()
            .filter_map(|k| labels.get(k).map(|v| (k.clone(), v.clone())))
            .collect();
        out.push((
            uid,
            PodMeta {
                name,
                namespace: ns,
                workload_kind,
                workload,
                labels,
            },
        ));
    }
    owners.end_round();
    Ok(out)
}

fn controller_of(refs: &[OwnerReference]) -> Option<&OwnerReference> {
    refs.iter().find(|r| r.controller == Some(true))
}

/// ReplicaSet → Deployment and Job → CronJob lookups, cached by (namespace, name) and
/// kept only while some pod still refers to them (bounded by the node's pods).
#[derive(Default)]
struct Owners {
    cache: HashMap<(String, String, String), (String, String)>,
    used: std::collections::HashSet<(String, String, String)>,
}

impl Owners {
    fn start_round(&mut self) {
        self.used.clear();
    }

    fn end_round(&mut self) {
        let used = std::mem::take(&mut self.used);
        self.cache.retain(|k, _| used.contains(k));
    }

    async fn resolve(
        &mut self,
        c: &kube::Client,
        ns: &str,
        o: &OwnerReference,
    ) -> (String, String) {
        let direct = (o.kind.clone(), o.name.clone());
        if o.kind != "ReplicaSet" && o.kind != "Job" {
            return direct;
        }
        let key = (o.kind.clone(), ns.to_string(), o.name.clone());
        self.used.insert(key.clone());
        if let Some(v) = self.cache.get(&key) {
            return v.clone();
        }
        let parent = if o.kind == "ReplicaSet" {
            let api: Api<ReplicaSet> = Api::namespaced(c.clone(), ns);
            api.get_opt(&o.name).await.map(|r| r.map(|r| r.metadata))
        } else {
            let api: Api<Job> = Api::namespaced(c.clone(), ns);
            api.get_opt(&o.name).await.map(|j| j.map(|j| j.metadata))
        };
        // An API error is not cached: the next refresh asks again.
        let Ok(parent) = parent else {
            return direct;
        };
        let resolved = parent
            .and_then(|m| m.owner_references)
            .as_deref()
            .and_then(controller_of)
            .map_or(direct, |p| (p.kind.clone(), p.name.clone()));
        self.cache.insert(key, resolved.clone());
        resolved
    }
}
