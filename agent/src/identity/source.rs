//! What the metadata sources (containerd, the Kubernetes API) share: a bounded map kept
//! fresh by a background task that lists everything every `interval` or when asked (an
//! unknown id appeared), and the health counters exported per source. The snapshot only
//! reads the map; a source that is down costs labels, never collection.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

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

/// A source's map by id, bounded by `capacity`, and the snapshots' open questions.
pub struct Shared<V> {
    pub map: Arc<RwLock<HashMap<String, V>>>,
    pub stats: Arc<SourceStats>,
    pub capacity: usize,
    pub asks: Arc<Asks>,
}

impl<V> Clone for Shared<V> {
    fn clone(&self) -> Self {
        Shared {
            map: Arc::clone(&self.map),
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

    pub fn values(&self) -> Vec<V> {
        let m = self.map.read().unwrap_or_else(|e| e.into_inner());
        m.values().cloned().collect()
    }
}

/// List with `fetch` (given `timeout`) until `rx` closes; replace the map on success,
/// keep the last one on failure. State changes are logged once; every failure counts.
/// A list answers the snapshots' open questions: those about ids it holds when the
/// source also looks ids up one by one (`per_id_lookups`; those answer the rest), else all.
pub async fn refresh_loop<V>(
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
                *shared.map.write().unwrap_or_else(|e| e.into_inner()) = kept;
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
