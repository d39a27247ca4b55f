//! cgroup v2 id → path. An id is the inode number of the cgroup's directory in the cgroup2
//! hierarchy, so unknown ids are resolved by walking that tree (at most once per snapshot,
//! never per event). The cache is bounded; ids whose cgroup is gone are kept for a grace
//! period so their final counts are still exported, then forgotten.
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Entry {
    path: Arc<str>,
    /// When the cgroup was first seen missing from the tree.
    gone_since: Option<Instant>,
    last_used: Instant,
}

#[derive(Debug)]
pub struct CgroupResolver {
    root: Option<PathBuf>,
    cache: HashMap<u64, Entry>,
    capacity: usize,
    grace: Duration,
    /// Ids not found in the tree, and since when (bounded by the ids in the maps).
    first_missed: HashMap<u64, Instant>,
    last_walk: Option<Instant>,
    pub walks: u64,
    pub evictions: u64,
}

impl CgroupResolver {
    pub fn new(root: Option<PathBuf>, capacity: usize, grace: Duration) -> Self {
        CgroupResolver {
            root,
            cache: HashMap::new(),
            capacity,
            grace,
            first_missed: HashMap::new(),
            last_walk: None,
            walks: 0,
            evictions: 0,
        }
    }

    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Resolve all `ids`, walking the tree once if any is unknown. Returns the ids (and
    /// last label) whose cgroup has been gone longer than the grace period: their data
    /// may be dropped.
    pub fn refresh(&mut self, ids: impl IntoIterator<Item = u64>) -> Vec<(u64, Arc<str>)> {
        let now = Instant::now();
        let ids: Vec<u64> = ids.into_iter().collect();
        let unknown = ids
            .iter()
            .any(|id| self.cache.get(id).is_none_or(|e| e.gone_since.is_some()));
        // Removed cgroups are only noticed by walking: do so at least twice per grace period.
        let stale = self
            .last_walk
            .is_none_or(|t| now.duration_since(t) >= (self.grace / 2).min(Duration::from_secs(10)));
        if (unknown || stale)
            && let Some(root) = self.root.clone()
        {
            self.walk(&root, now);
        }
        for id in &ids {
            if let Some(e) = self.cache.get_mut(id) {
                e.last_used = now;
            }
        }
        let expired: Vec<(u64, Arc<str>)> = self
            .cache
            .iter()
            .filter(|(_, e)| {
                e.gone_since
                    .is_some_and(|t| now.duration_since(t) >= self.grace)
            })
            .map(|(id, e)| (*id, e.path.clone()))
            .collect();
        // Ids never found in the tree (the cgroup was created and removed between two
        // snapshots) also age out after the grace period.
        let mut unresolved: Vec<u64> = Vec::new();
        for id in ids {
            if !self.cache.contains_key(&id) {
                unresolved.push(id);
            }
        }
        self.first_missed.retain(|id, _| unresolved.contains(id));
        let mut dropped = expired;
        for id in unresolved {
            let t = *self.first_missed.entry(id).or_insert(now);
            if now.duration_since(t) >= self.grace && !dropped.iter().any(|(d, _)| *d == id) {
                dropped.push((id, self.path(id)));
            }
        }
        dropped
    }

    /// Paths of cgroups made since the last snapshot, told by the kernel as they were made:
    /// a cgroup created and removed between two walks is named all the same. The next
    /// walk that misses one starts its grace period, as for any other.
    pub fn learn(&mut self, paths: Vec<(u64, String)>) {
        let now = Instant::now();
        for (id, path) in paths {
            self.cache.entry(id).or_insert(Entry {
                path: path.into(),
                gone_since: None,
                last_used: now,
            });
        }
        self.evict();
    }

    /// Forget ids that [`refresh`](Self::refresh) reported: until then they keep their
    /// path, so their last snapshot still shows them under it.
    pub fn remove(&mut self, ids: &[u64]) {
        for id in ids {
            self.cache.remove(id);
        }
    }

    /// Label value for `id`: its path relative to the cgroup2 root (`/` is the root),
    /// or `id:<n>` while it cannot be resolved.
    pub fn path(&self, id: u64) -> Arc<str> {
        match self.cache.get(&id) {
            Some(e) => e.path.clone(),
            None => format!("id:{id}").into(),
        }
    }

    fn walk(&mut self, root: &Path, now: Instant) {
        self.walks += 1;
        self.last_walk = Some(now);
        let mut found: HashMap<u64, Arc<str>> = HashMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(meta) = std::fs::metadata(&dir) else {
                continue;
            };
            let rel = dir
                .strip_prefix(root)
                .map(|r| format!("/{}", r.display()))
                .unwrap_or_default();
            found.insert(meta.ino(), rel.into());
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(e.path());
                }
            }
        }
        for (id, e) in self.cache.iter_mut() {
            if !found.contains_key(id) {
                e.gone_since.get_or_insert(now);
            }
        }
        for (id, path) in found {
            let e = self.cache.entry(id).or_insert(Entry {
                path: path.clone(),
                gone_since: None,
                last_used: now,
            });
            e.path = path;
            e.gone_since = None;
        }
        self.evict();
    }

    /// Keep the cache within capacity: drop the least recently used entries.
    fn evict(&mut self) {
        if self.cache.len() <= self.capacity {
            return;
        }
        let mut by_age: Vec<(Instant, u64)> = self
            .cache
            .iter()
            .map(|(id, e)| (e.last_used, *id))
            .collect();
        by_age.sort_unstable();
        let excess = self.cache.len() - self.capacity;
        for (_, id) in by_age.into_iter().take(excess) {
            self.cache.remove(&id);
            self.evictions += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_created_cgroup_and_expires_removed_one() {
        let Some(root) = crate::mounts::find("cgroup2") else {
            return;
        };
        let name = format!("archscope-unit-{}", std::process::id());
        let dir = root.join(&name);
        if std::fs::create_dir(&dir).is_err() {
            return; // not root: covered by the integration tests
        }
        let id = std::fs::metadata(&dir).unwrap().ino();
        let grace = Duration::from_millis(400);
        let mut r = CgroupResolver::new(Some(root), 1024, grace);
        assert!(r.refresh([id]).is_empty());
        assert_eq!(&*r.path(id), format!("/{name}"));
        std::fs::remove_dir(&dir).unwrap();
        // The tree is walked again after half the grace period: that walk notices the
        // removal, and the cgroup keeps its label for the grace period from then on.
        std::thread::sleep(grace / 2);
        assert!(r.refresh([id]).is_empty());
        assert_eq!(&*r.path(id), format!("/{name}"));
        std::thread::sleep(grace + Duration::from_millis(50));
        // ... then reported for dropping, still with its path for that last snapshot,
        // and forgotten when the caller has dropped its data
        assert_eq!(r.refresh([id]), vec![(id, Arc::from(format!("/{name}")))]);
        assert_eq!(&*r.path(id), format!("/{name}"));
        r.remove(&[id]);
        assert_eq!(&*r.path(id), format!("id:{id}"));
    }

    #[test]
    fn learned_paths_name_cgroups_the_walk_never_saw() {
        let mut r = CgroupResolver::new(None, 2, Duration::from_secs(60));
        r.learn(vec![(7, "/kubepods/pod1/abc".into())]);
        assert!(r.refresh([7]).is_empty());
        assert_eq!(&*r.path(7), "/kubepods/pod1/abc");
        // a path already known (from a walk) is not replaced by a later notice
        r.learn(vec![(7, "/elsewhere".into())]);
        assert_eq!(&*r.path(7), "/kubepods/pod1/abc");
        // bounded like the rest of the cache
        r.learn(vec![(8, "/a".into()), (9, "/b".into())]);
        assert_eq!(r.len(), 2);
    }

    #[test]
    fn cache_is_bounded() {
        let Some(root) = crate::mounts::find("cgroup2") else {
            return;
        };
        let mut r = CgroupResolver::new(Some(root), 16, Duration::from_secs(60));
        r.refresh([u64::MAX]);
        assert!(r.len() <= 16);
    }
}
