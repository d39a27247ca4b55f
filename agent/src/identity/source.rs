//! What the metadata sources (containerd, the Kubernetes API) share: a bounded map kept
//! fresh by a background task that lists everything every `interval` or when asked (an
//! unknown id appeared), and the health counters exported per source. The snapshot only
//! reads the map; a source that is down costs labels, never collection.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::asks::Asks;

#[derive(Debug, Default)]
pub struct SourceStats {
    pub refreshes: AtomicU64,
    /// Ids asked about one at a time (met in a snapshot before a list had them).
    pub lookups: AtomicU64,
    pub errors: AtomicU64,
    pub up: AtomicU64,
    pub dropped: AtomicU64,
}

/// How long an entry a list no longer holds is kept: a container removed right after it
/// exited (`ctr run --rm`, a pod deleted at once) is still labelled by the next snapshots,
/// which may not have met it yet. Labels once exported stay with their series anyway.
pub const DEPARTED_KEPT: Duration = Duration::from_secs(300);

/// A source's map by id, bounded by `capacity`, and the snapshots' open questions.
pub struct Shared<V> {
    pub map: Arc<RwLock<HashMap<String, V>>>,
    /// Entries of the map that the last lists no longer had, and since when.
    departed: Arc<std::sync::Mutex<HashMap<String, Instant>>>,
    pub stats: Arc<SourceStats>,
    pub capacity: usize,
    pub asks: Arc<Asks>,
}

impl<V> Clone for Shared<V> {
    fn clone(&self) -> Self {
        Shared {
            map: Arc::clone(&self.map),
            departed: Arc::clone(&self.departed),
            stats: Arc::clone(&self.stats),
            capacity: self.capacity,
            asks: Arc::clone(&self.asks),
        }
    }
}

impl<V: Clone> Shared<V> {
    pub fn new(capacity: usize) -> Self {
        Shared {
            map: Arc::default(),
            departed: Arc::default(),
            stats: Arc::default(),
            capacity,
            asks: Arc::default(),
        }
    }

    pub fn get(&self, id: &str) -> Option<V> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Of `ids`, those the map does not hold.
    pub fn unknown<'a>(&self, ids: &[&'a str]) -> Vec<&'a str> {
        let m = self.map.read().unwrap_or_else(|e| e.into_inner());
        ids.iter()
            .copied()
            .filter(|id| !m.contains_key(*id))
            .collect()
    }

    pub fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    /// Add or update one entry (a single lookup's answer), within capacity.
    pub fn insert(&self, id: String, v: V) {
        let mut m = self.map.write().unwrap_or_else(|e| e.into_inner());
        if m.len() < self.capacity || m.contains_key(&id) {
            m.insert(id, v);
        } else {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Replace the map with a list's answer, keeping for [`DEPARTED_KEPT`] (within
    /// capacity) the entries it no longer holds.
    pub fn replace(&self, mut listed: HashMap<String, V>, now: Instant) {
        let mut m = self.map.write().unwrap_or_else(|e| e.into_inner());
        let mut departed = self.departed.lock().unwrap_or_else(|e| e.into_inner());
        departed.retain(|id, _| !listed.contains_key(id));
        for (id, v) in m.drain() {
            if listed.contains_key(&id) || listed.len() >= self.capacity {
                continue;
            }
            let since = *departed.entry(id.clone()).or_insert(now);
            if now.duration_since(since) < DEPARTED_KEPT {
                listed.insert(id, v);
            }
        }
        departed.retain(|id, _| listed.contains_key(id));
        *m = listed;
    }

    pub fn values(&self) -> Vec<V> {
        let m = self.map.read().unwrap_or_else(|e| e.into_inner());
        m.values().cloned().collect()
    }
}

/// List with `fetch` (given `timeout`) until `rx` closes; replace the map on success,
/// keep the last one on failure. State changes are logged once; every failure counts.
/// A list answers the snapshots' open questions: those about ids it holds when the
/// source also looks ids up one by one (`per_id_lookups`; those answer the rest), else all.
pub async fn refresh_loop<V: Clone>(
    name: &'static str,
    shared: Shared<V>,
    mut rx: mpsc::Receiver<()>,
    interval: Duration,
    timeout: Duration,
    per_id_lookups: bool,
    mut fetch: impl AsyncFnMut() -> Result<Vec<(String, V)>, String>,
) {
    let mut was_up = None;
    let stats = &shared.stats;
    loop {
        let result = tokio::time::timeout(timeout, fetch())
            .await
            .unwrap_or_else(|_| Err("timed out".into()));
        stats.refreshes.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(all) => {
                let total = all.len();
                let kept: HashMap<_, _> = all.into_iter().take(shared.capacity).collect();
                stats
                    .dropped
                    .store((total - kept.len()) as u64, Ordering::Relaxed);
                if per_id_lookups {
                    shared.asks.answer_found(|id| kept.contains_key(id));
                }
                shared.replace(kept, Instant::now());
                stats.up.store(1, Ordering::Relaxed);
                if was_up != Some(true) {
                    tracing::info!(source = name, entries = total, "metadata available");
                }
                was_up = Some(true);
            }
            Err(e) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                stats.up.store(0, Ordering::Relaxed);
                if was_up != Some(false) {
                    tracing::warn!(source = name, "metadata unavailable: {e}");
                }
                was_up = Some(false);
            }
        }
        if !per_id_lookups {
            shared.asks.answer_all();
        }
        tokio::select! {
            r = rx.recv() => if r.is_none() { return },
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::time::{Duration, Instant};

    use super::{DEPARTED_KEPT, Shared};

    fn listed(ids: &[&str]) -> HashMap<String, u32> {
        ids.iter().map(|id| (id.to_string(), 1)).collect()
    }

    #[test]
    fn a_list_keeps_departed_entries_for_a_while_within_capacity() {
        let s: Shared<u32> = Shared::new(3);
        let t0 = Instant::now();
        s.insert("looked-up".into(), 7);
        s.replace(listed(&["a", "b"]), t0);
        // the one only a lookup found stays, with its value
        assert_eq!(s.get("looked-up"), Some(7));
        assert_eq!(s.len(), 3);
        // still kept a little before the limit, gone after it
        s.replace(
            listed(&["a", "b"]),
            t0 + DEPARTED_KEPT - Duration::from_secs(1),
        );
        assert_eq!(s.get("looked-up"), Some(7));
        s.replace(listed(&["a", "b"]), t0 + DEPARTED_KEPT);
        assert_eq!(s.get("looked-up"), None);
        // listed entries come first: no room, nothing departed is kept
        s.insert("c".into(), 1);
        s.replace(listed(&["a", "b", "d"]), t0 + DEPARTED_KEPT);
        assert_eq!(s.get("c"), None);
        assert_eq!(s.len(), 3);
        // an id listed again is no longer departed: its clock starts over
        s.replace(listed(&["a"]), t0);
        s.replace(listed(&["a", "b"]), t0 + DEPARTED_KEPT);
        s.replace(listed(&["a"]), t0 + DEPARTED_KEPT + Duration::from_secs(1));
        assert_eq!(s.get("b"), Some(1));
    }
}
