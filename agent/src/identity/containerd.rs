//! Container metadata from containerd's API over its unix socket: name, image and the CRI
//! labels (pod, namespace, container name, pod uid). A background task keeps a bounded
//! map fresh; the snapshot only reads it and asks for a refresh when it meets an unknown
//! container id. containerd being absent or restarting costs labels, never collection.
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use containerd_client::services::v1::ListContainersRequest;
use containerd_client::services::v1::containers_client::ContainersClient;
use containerd_client::tonic::Request;
use containerd_client::with_namespace;
use tokio::sync::mpsc;

/// The namespaces Kubernetes (CRI), Docker and plain `ctr` use.
pub const NAMESPACES: &[&str] = &["k8s.io", "moby", "default"];

const LABEL_POD: &str = "io.kubernetes.pod.name";
const LABEL_NAMESPACE: &str = "io.kubernetes.pod.namespace";
const LABEL_CONTAINER: &str = "io.kubernetes.container.name";
const LABEL_POD_UID: &str = "io.kubernetes.pod.uid";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerMeta {
    /// The Kubernetes container name, else the containerd id's namespace-local name.
    pub name: String,
    pub image: String,
    pub pod: String,
    pub namespace: String,
    pub pod_uid: String,
}

impl ContainerMeta {
    fn from_labels(id: &str, image: String, labels: &HashMap<String, String>) -> Self {
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        let name = labels
            .get(LABEL_CONTAINER)
            .cloned()
            .unwrap_or_else(|| id.chars().take(12).collect());
        ContainerMeta {
            name,
            image,
            pod: get(LABEL_POD),
            namespace: get(LABEL_NAMESPACE),
            pod_uid: get(LABEL_POD_UID),
        }
    }
}

#[derive(Debug, Default)]
pub struct SourceStats {
    pub refreshes: AtomicU64,
    pub errors: AtomicU64,
    pub up: AtomicU64,
    pub dropped: AtomicU64,
}

/// A shared, bounded view of containerd's containers.
#[derive(Clone)]
pub struct ContainerdSource {
    map: Arc<RwLock<HashMap<String, ContainerMeta>>>,
    refresh: mpsc::Sender<()>,
    pub stats: Arc<SourceStats>,
    pub capacity: usize,
}

impl ContainerdSource {
    /// Start the refresher on the current tokio runtime.
    pub fn spawn(socket: PathBuf, capacity: usize, interval: Duration) -> ContainerdSource {
        let (tx, rx) = mpsc::channel(1);
        let src = ContainerdSource {
            map: Arc::default(),
            refresh: tx,
            stats: Arc::default(),
            capacity,
        };
        tokio::spawn(refresher(src.clone(), socket, rx, interval));
        src
    }

    pub fn get(&self, container_id: &str) -> Option<ContainerMeta> {
        let m = self.map.read().unwrap_or_else(|e| e.into_inner());
        m.get(container_id).cloned()
    }

    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Ask for a refresh (an unknown container appeared). One pending request is enough;
    /// further ones while it is queued are coalesced.
    pub fn request_refresh(&self) {
        let _ = self.refresh.try_send(());
    }
}

async fn refresher(
    src: ContainerdSource,
    socket: PathBuf,
    mut rx: mpsc::Receiver<()>,
    interval: Duration,
) {
    let mut was_up = None;
    loop {
        let result = tokio::time::timeout(Duration::from_secs(5), list_all(&socket)).await;
        let result = result.unwrap_or_else(|_| Err("timed out".into()));
        src.stats.refreshes.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(all) => {
                let total = all.len();
                let kept: HashMap<_, _> = all.into_iter().take(src.capacity).collect();
                src.stats
                    .dropped
                    .store((total - kept.len()) as u64, Ordering::Relaxed);
                *src.map.write().unwrap_or_else(|e| e.into_inner()) = kept;
                src.stats.up.store(1, Ordering::Relaxed);
                if was_up != Some(true) {
                    tracing::info!(socket = %socket.display(), containers = total, "containerd metadata available");
                }
                was_up = Some(true);
            }
            Err(e) => {
                src.stats.errors.fetch_add(1, Ordering::Relaxed);
                src.stats.up.store(0, Ordering::Relaxed);
                // Logged on each change of state only; the metric counts every failure.
                if was_up != Some(false) {
                    tracing::warn!(socket = %socket.display(), "containerd metadata unavailable: {e}");
                }
                was_up = Some(false);
            }
        }
        tokio::select! {
            r = rx.recv() => if r.is_none() { return },
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

async fn list_all(socket: &std::path::Path) -> Result<Vec<(String, ContainerMeta)>, String> {
    let channel = containerd_client::connect(socket)
        .await
        .map_err(|e| crate::probes::chain(&e))?;
    let mut client = ContainersClient::new(channel);
    let mut out = Vec::new();
    for ns in NAMESPACES {
        let req = with_namespace!(ListContainersRequest { filters: vec![] }, *ns);
        let resp = client
            .list(req)
            .await
            .map_err(|e| format!("listing namespace {ns}: {}", e.message()))?;
        for c in resp.into_inner().containers {
            let meta = ContainerMeta::from_labels(&c.id, c.image.clone(), &c.labels);
            out.push((c.id, meta));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cri_labels() {
        let labels: HashMap<String, String> = [
            (LABEL_POD, "web-7d9f"),
            (LABEL_NAMESPACE, "shop"),
            (LABEL_CONTAINER, "nginx"),
            (LABEL_POD_UID, "0b7632a2-a56e-4278-987a-22de18008dbe"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let m = ContainerMeta::from_labels("abc", "docker.io/library/nginx:1".into(), &labels);
        assert_eq!(
            (m.name.as_str(), m.pod.as_str(), m.namespace.as_str()),
            ("nginx", "web-7d9f", "shop")
        );
        let bare = ContainerMeta::from_labels("0123456789abcdef00", String::new(), &HashMap::new());
        assert_eq!(bare.name, "0123456789ab");
        assert_eq!(bare.pod, "");
    }
}
