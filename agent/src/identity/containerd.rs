//! Container metadata from containerd's API over its unix socket: name, image and the CRI
//! labels (pod, namespace, container name, pod uid). A background task keeps a bounded
//! map fresh; the snapshot only reads it and asks for a refresh when it meets an unknown
//! container id. containerd being absent or restarting costs labels, never collection.
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use std::time::Instant;

use containerd_client::events::ContainerCreate;
use containerd_client::services::v1::containers_client::ContainersClient;
use containerd_client::services::v1::events_client::EventsClient;
use containerd_client::services::v1::{
    GetContainerRequest, ListContainersRequest, SubscribeRequest,
};
use containerd_client::tonic::{Code, Request, transport::Channel};
use containerd_client::with_namespace;
use tokio::sync::mpsc;

use super::source::{Shared, refresh_loop};

/// A batch of single-container lookups gives up after this (the snapshot waiting on it
/// has its own, shorter bound).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Lookups queued at most; an id that finds the queue full is left to the next list.
const LOOKUP_QUEUE: usize = 256;

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

/// A shared, bounded view of containerd's containers.
#[derive(Clone)]
pub struct ContainerdSource {
    shared: Shared<ContainerMeta>,
    refresh: mpsc::Sender<()>,
    lookups: mpsc::Sender<String>,
}

impl ContainerdSource {
    /// Start the refresher on the current tokio runtime.
    pub fn spawn(socket: PathBuf, capacity: usize, interval: Duration) -> ContainerdSource {
        let (tx, rx) = mpsc::channel(1);
        let shared = Shared::new(capacity);
        let (lookups, asked) = mpsc::channel(LOOKUP_QUEUE);
        tokio::spawn(lookup_loop(socket.clone(), shared.clone(), asked));
        tokio::spawn(watch_creates(socket.clone(), lookups.clone()));
        let fetch = async move || list_all(&socket).await;
        let timeout = Duration::from_secs(5);
        tokio::spawn(refresh_loop(
            "containerd",
            shared.clone(),
            rx,
            interval,
            timeout,
            true,
            fetch,
        ));
        ContainerdSource {
            shared,
            refresh: tx,
            lookups,
        }
    }

    /// Look up the containers of `ids` that the map does not hold, one by one, and wait
    /// for the answers until `until` (a snapshot's bound).
    pub fn resolve(&self, ids: &[&str], until: Instant) {
        let unknown = self.shared.unknown(ids);
        if unknown.is_empty() {
            return;
        }
        let asks = &self.shared.asks;
        for id in asks.take_new(unknown.iter().copied(), Instant::now()) {
            if let Err(e) = self.lookups.try_send(id) {
                let id = match e {
                    mpsc::error::TrySendError::Full(id) | mpsc::error::TrySendError::Closed(id) => {
                        id
                    }
                };
                asks.answer(&id);
            }
        }
        asks.wait(unknown.iter().copied(), until);
    }

    pub fn get(&self, container_id: &str) -> Option<ContainerMeta> {
        self.shared.get(container_id)
    }

    pub fn shared(&self) -> &Shared<ContainerMeta> {
        &self.shared
    }

    /// Ask for a refresh (an unknown container appeared). One pending request is enough;
    /// further ones while it is queued are coalesced.
    pub fn request_refresh(&self) {
        let _ = self.refresh.try_send(());
    }
}

/// Answer the snapshots' lookups, in batches (all that are queued), one connection each.
async fn lookup_loop(
    socket: PathBuf,
    shared: Shared<ContainerMeta>,
    mut asked: mpsc::Receiver<String>,
) {
    use std::sync::atomic::Ordering::Relaxed;
    while let Some(first) = asked.recv().await {
        let mut ids = vec![first];
        while let Ok(id) = asked.try_recv() {
            ids.push(id);
        }
        shared.stats.lookups.fetch_add(ids.len() as u64, Relaxed);
        match tokio::time::timeout(LOOKUP_TIMEOUT, lookup(&socket, &ids)).await {
            Ok(Ok(found)) => {
                for (id, meta) in found {
                    shared.insert(id, meta);
                }
                // it answered: up, whatever the last list said
                shared.stats.up.store(1, Relaxed);
            }
            Ok(Err(e)) => {
                shared.stats.up.store(0, Relaxed);
                tracing::debug!("containerd lookup of {} containers: {e}", ids.len());
            }
            Err(_) => {
                shared.stats.up.store(0, Relaxed);
                tracing::debug!("containerd lookup of {} containers timed out", ids.len());
            }
        }
        for id in &ids {
            shared.asks.answer(id);
        }
    }
}

/// Look up every container as it is created: one that lives a second and is removed at
/// once (`--rm`) may be gone before a snapshot meets its cgroup, and containerd can no
/// longer say whose it was. The subscription is made again after any failure.
async fn watch_creates(socket: PathBuf, lookups: mpsc::Sender<String>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match subscribe_creates(&socket, &lookups).await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(e) => {
                tracing::debug!("containerd events: {e}");
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
        if lookups.is_closed() {
            return;
        }
        tokio::time::sleep(backoff).await;
    }
}

async fn subscribe_creates(
    socket: &std::path::Path,
    lookups: &mpsc::Sender<String>,
) -> Result<(), String> {
    use prost::Message;
    let mut client = EventsClient::new(connect(socket).await?);
    let req = SubscribeRequest {
        filters: vec![r#"topic=="/containers/create""#.to_string()],
    };
    let mut events = client
        .subscribe(req)
        .await
        .map_err(|e| format!("subscribing: {}", e.message()))?
        .into_inner();
    while let Some(envelope) = events
        .message()
        .await
        .map_err(|e| format!("event stream: {}", e.message()))?
    {
        let Some(any) = envelope.event else { continue };
        if let Ok(c) = ContainerCreate::decode(any.value.as_slice()) {
            // a full queue leaves it to the snapshot's own lookup
            let _ = lookups.try_send(c.id);
        }
    }
    Ok(())
}

/// The containers of `ids` that containerd knows, in any of its namespaces.
async fn lookup(
    socket: &std::path::Path,
    ids: &[String],
) -> Result<Vec<(String, ContainerMeta)>, String> {
    let mut client = ContainersClient::new(connect(socket).await?);
    let mut found = Vec::new();
    for id in ids {
        for ns in NAMESPACES {
            let req = with_namespace!(GetContainerRequest { id: id.clone() }, *ns);
            match client.get(req).await {
                Ok(resp) => {
                    if let Some(c) = resp.into_inner().container {
                        let meta = ContainerMeta::from_labels(&c.id, c.image.clone(), &c.labels);
                        found.push((c.id, meta));
                    }
                    break;
                }
                Err(s) if s.code() == Code::NotFound => continue,
                Err(s) => return Err(format!("getting {id} in namespace {ns}: {}", s.message())),
            }
        }
    }
    Ok(found)
}

/// A channel to containerd's socket; a missing socket is named as such.
async fn connect(socket: &std::path::Path) -> Result<Channel, String> {
    if !socket.exists() {
        return Err(format!(
            "no socket at {} (containerd not running, or another --containerd-socket)",
            socket.display()
        ));
    }
    containerd_client::connect(socket).await.map_err(|e| {
        format!(
            "connecting to {}: {}",
            socket.display(),
            crate::errors::chain(&e)
        )
    })
}

async fn list_all(socket: &std::path::Path) -> Result<Vec<(String, ContainerMeta)>, String> {
    let mut client = ContainersClient::new(connect(socket).await?);
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
