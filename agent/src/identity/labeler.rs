//! Identity labels of a cgroup: what its path says, completed by containerd's metadata
//! and the Kubernetes API's (pod names without containerd, owning workloads).
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::cgroup_path::{self, PathIdentity};
use super::containerd::ContainerdSource;
use super::kubernetes::KubernetesSource;
use crate::collect::model::{Labels, label};

/// Labels every per-cgroup series carries, in this order. Names follow cAdvisor's where
/// they overlap (`container`, `pod`, `namespace`); empty when unknown. `runtime` is
/// `host` for the host's own processes, with `service` naming their systemd unit.
pub const IDENTITY_LABELS: [&str; 9] = [
    "cgroup",
    "container_id",
    "container",
    "pod",
    "namespace",
    "workload",
    "workload_kind",
    "runtime",
    "service",
];

/// Parsed paths, bounded: cleared when full (cheap to rebuild, one regex pass per path).
const PARSED_CAPACITY: usize = 65_536;

pub struct Labeler {
    containerd: Option<ContainerdSource>,
    kubernetes: Option<KubernetesSource>,
    parsed: HashMap<Arc<str>, PathIdentity>,
    /// The labels each live cgroup was last exported with: metadata can be added to them
    /// (it came late) but never taken away (containerd forgot an exited container, or a
    /// source is down), so a series keeps one label set until its cgroup retires.
    exported: HashMap<Arc<str>, Labels>,
    /// Times a cgroup's exported labels changed during its life.
    pub label_changes: u64,
}

impl Labeler {
    pub fn new(containerd: Option<ContainerdSource>) -> Self {
        Labeler {
            containerd,
            kubernetes: None,
            parsed: HashMap::new(),
            exported: HashMap::new(),
            label_changes: 0,
        }
    }

    pub fn with_kubernetes(mut self, k: Option<KubernetesSource>) -> Self {
        self.kubernetes = k;
        self
    }

    pub fn containerd(&self) -> Option<&ContainerdSource> {
        self.containerd.as_ref()
    }

    pub fn kubernetes(&self) -> Option<&KubernetesSource> {
        self.kubernetes.as_ref()
    }

    /// Forget a cgroup that is gone.
    pub fn forget(&mut self, path: &str) {
        self.parsed.remove(path);
        self.exported.remove(path);
    }

    fn parse(&mut self, path: &Arc<str>) -> PathIdentity {
        if self.parsed.len() >= PARSED_CAPACITY {
            self.parsed.clear();
        }
        self.parsed
            .entry(path.clone())
            .or_insert_with(|| cgroup_path::parse(path))
            .clone()
    }

    /// Before a snapshot labels `paths`: ask the sources about the containers and pods
    /// among them that they do not know yet, and wait for the answers until `until`, so a
    /// new container has its labels in the first snapshot that shows it.
    pub fn prepare(&mut self, paths: &[Arc<str>], until: Instant) {
        let open: Vec<&Arc<str>> = paths
            .iter()
            .filter(|p| !self.exported.get(*p).is_some_and(complete))
            .collect();
        let ids: Vec<PathIdentity> = open.into_iter().map(|p| self.parse(p)).collect();
        let containers: Vec<&str> = ids
            .iter()
            .filter_map(|p| p.container_id.as_deref())
            .collect();
        if let Some(c) = &self.containerd
            && !containers.is_empty()
        {
            c.resolve(&containers, until);
        }
        let Some(k) = &self.kubernetes else {
            return;
        };
        let uids: Vec<String> = ids
            .iter()
            .filter_map(|p| {
                let from_meta = || {
                    let c = self.containerd.as_ref()?;
                    Some(c.get(p.container_id.as_deref()?)?.pod_uid)
                };
                p.pod_uid
                    .as_ref()
                    .map(|u| u.replace('_', "-"))
                    .or_else(from_meta)
            })
            .filter(|u| !u.is_empty())
            .collect();
        if !uids.is_empty() {
            k.resolve(&uids.iter().map(String::as_str).collect::<Vec<_>>(), until);
        }
    }

    /// The identity labels of the cgroup at `path` (a resolved path, or `id:<n>`): what
    /// is known now, over what it was exported with before (see `exported`).
    pub fn labels(&mut self, path: Arc<str>) -> Labels {
        let fresh = self.fresh_labels(path.clone());
        if self.exported.len() >= PARSED_CAPACITY && !self.exported.contains_key(&path) {
            self.exported.clear();
        }
        match self.exported.get_mut(&path) {
            Some(prev) => {
                if settle(prev, fresh) {
                    self.label_changes += 1;
                }
                prev.clone()
            }
            None => {
                self.exported.insert(path, fresh.clone());
                fresh
            }
        }
    }

    fn fresh_labels(&mut self, path: Arc<str>) -> Labels {
        let p = self.parse(&path);
        let meta = p.container_id.as_deref().and_then(|id| {
            let c = self.containerd.as_ref()?;
            let m = c.get(id);
            if m.is_none() {
                c.request_refresh();
            }
            m
        });
        // The pod uid from the path (systemd slices spell its dashes as underscores) or
        // from containerd's CRI labels.
        let uid = p
            .pod_uid
            .as_deref()
            .map(|u| u.replace('_', "-"))
            .or_else(|| meta.as_ref().map(|m| m.pod_uid.clone()))
            .filter(|u| !u.is_empty());
        let pod = uid.as_deref().and_then(|u| {
            let k = self.kubernetes.as_ref()?;
            let m = k.get(u);
            if m.is_none() {
                k.request_refresh();
            }
            m
        });
        let empty = || label("");
        let first = |a: Option<&str>, b: Option<&str>| {
            a.filter(|s| !s.is_empty()).or(b).map_or_else(empty, label)
        };
        let runtime = match (p.runtime, p.is_container(), path.starts_with("id:")) {
            (Some(r), _, _) => label(r),
            (None, false, false) if p.pod_uid.is_none() => label("host"),
            _ => empty(),
        };
        let labels: Labels = vec![
            ("cgroup", path),
            (
                "container_id",
                p.container_id.clone().map_or_else(empty, label),
            ),
            (
                "container",
                meta.as_ref().map_or_else(empty, |m| label(m.name.as_str())),
            ),
            (
                "pod",
                first(
                    meta.as_ref().map(|m| m.pod.as_str()),
                    pod.as_ref().map(|m| m.name.as_str()),
                ),
            ),
            (
                "namespace",
                first(
                    meta.as_ref().map(|m| m.namespace.as_str()),
                    pod.as_ref().map(|m| m.namespace.as_str()),
                ),
            ),
            (
                "workload",
                pod.as_ref()
                    .map_or_else(empty, |m| label(m.workload.as_str())),
            ),
            (
                "workload_kind",
                pod.as_ref()
                    .map_or_else(empty, |m| label(m.workload_kind.as_str())),
            ),
            ("runtime", runtime),
            ("service", p.service.clone().map_or_else(empty, label)),
        ];
        debug_assert!(labels.iter().map(|(k, _)| *k).eq(IDENTITY_LABELS));
        labels
    }
}

/// Every identity label a container can have from metadata is set.
fn complete(l: &Labels) -> bool {
    l.iter()
        .filter(|(k, _)| matches!(*k, "container" | "pod" | "namespace"))
        .all(|(_, v)| !v.is_empty())
}

/// Bring `prev` up to `fresh`, keeping what `fresh` lacks. Returns whether a label
/// changed (an empty one was filled, or a value differs).
fn settle(prev: &mut Labels, fresh: Labels) -> bool {
    let mut changed = false;
    for ((_, old), (_, new)) in prev.iter_mut().zip(fresh) {
        if !new.is_empty() && *old != new {
            *old = new;
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_without_metadata() {
        let mut l = Labeler::new(None);
        let id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let got = l.labels(label(format!(
            "/kubepods/burstable/pod12345678-1234-1234-1234-123456789abc/{id}"
        )));
        let keys: Vec<_> = got.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys, IDENTITY_LABELS);
        assert_eq!(&*got[1].1, id);
        assert_eq!(&*got[7].1, "cri");
        let host = l.labels(label("/system.slice/sshd.service"));
        assert_eq!((&*host[7].1, &*host[8].1), ("host", "sshd"));
        let unknown = l.labels(label("id:42"));
        assert_eq!(&*unknown[7].1, "");
    }

    #[test]
    fn exported_labels_gain_metadata_and_never_lose_it() {
        let l = |pairs: &[(&'static str, &str)]| -> Labels {
            pairs.iter().map(|(k, v)| (*k, label(*v))).collect()
        };
        let mut prev = l(&[("cgroup", "/p/c"), ("container", ""), ("pod", "")]);
        // metadata arrived: one change
        assert!(settle(
            &mut prev,
            l(&[("cgroup", "/p/c"), ("container", "web"), ("pod", "shop-1")])
        ));
        // the source forgot the container (it exited): the labels stay
        assert!(!settle(
            &mut prev,
            l(&[("cgroup", "/p/c"), ("container", ""), ("pod", "")])
        ));
        assert_eq!(
            prev,
            l(&[("cgroup", "/p/c"), ("container", "web"), ("pod", "shop-1")])
        );
        let same = prev.clone();
        assert!(!settle(&mut prev, same));
    }
}
