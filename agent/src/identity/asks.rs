//! Questions a snapshot puts to a metadata source about ids its map does not hold yet (a
//! container or pod that appeared since the last list), and a bounded wait for the
//! answers: a new container is labelled in the first snapshot that shows it, and a scrape
//! never waits longer than its bound. An id the source does not know is asked again only
//! after [`RETRY`], so it costs one lookup per period, not one per scrape.
use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long an answered id is not asked again.
pub const RETRY: Duration = Duration::from_secs(30);

/// Ids remembered as asked; past this the oldest half is forgotten.
const ASKED_CAPACITY: usize = 16_384;

#[derive(Default)]
pub struct Asks {
    state: Mutex<AskState>,
    answered: Condvar,
}

#[derive(Default)]
struct AskState {
    /// Asked and not answered yet.
    pending: HashSet<String>,
    /// When each id was last asked.
    asked: HashMap<String, Instant>,
}

impl Asks {
    /// Of `ids`, those to ask now (neither pending nor asked within [`RETRY`]); they become
    /// pending.
    pub fn take_new<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
        now: Instant,
    ) -> Vec<String> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.asked.len() >= ASKED_CAPACITY {
            let mut ages: Vec<Instant> = s.asked.values().copied().collect();
            ages.sort_unstable();
            let cut = ages[ages.len() / 2];
            s.asked.retain(|_, t| *t > cut);
        }
        let mut new = Vec::new();
        for id in ids {
            let recent = s
                .asked
                .get(id)
                .is_some_and(|t| now.duration_since(*t) < RETRY);
            if recent || s.pending.contains(id) {
                continue;
            }
            s.asked.insert(id.to_string(), now);
            s.pending.insert(id.to_string());
            new.push(id.to_string());
        }
        new
    }

    /// The source answered `id` (found or not), or it could not be asked.
    pub fn answer(&self, id: &str) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.pending.remove(id) {
            self.answered.notify_all();
        }
    }

    /// A whole list was taken: the pending questions about ids it holds are answered.
    pub fn answer_found(&self, found: impl Fn(&str) -> bool) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let before = s.pending.len();
        s.pending.retain(|id| !found(id));
        if s.pending.len() != before {
            self.answered.notify_all();
        }
    }

    /// A whole list was taken, or could not be: every pending question has its answer.
    pub fn answer_all(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if !s.pending.is_empty() {
            s.pending.clear();
            self.answered.notify_all();
        }
    }

    /// Wait until none of `ids` is pending, or until `until`. Returns whether all were
    /// answered in time.
    pub fn wait<'a>(&self, ids: impl IntoIterator<Item = &'a str> + Clone, until: Instant) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if !ids.clone().into_iter().any(|id| s.pending.contains(id)) {
                return true;
            }
            let now = Instant::now();
            if now >= until {
                return false;
            }
            s = self
                .answered
                .wait_timeout(s, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn an_id_is_asked_once_per_retry_period() {
        let a = Asks::default();
        let t0 = Instant::now();
        assert_eq!(a.take_new(["a", "b"], t0), ["a", "b"]);
        // pending: not asked twice
        assert!(a.take_new(["a"], t0).is_empty());
        a.answer("a");
        // answered (not found, say): not asked again within the period...
        assert!(a.take_new(["a"], t0 + RETRY / 2).is_empty());
        // ... and asked again after it
        assert_eq!(a.take_new(["a"], t0 + RETRY), ["a"]);
    }

    #[test]
    fn the_wait_ends_with_the_answers_or_at_its_bound() {
        let a = Arc::new(Asks::default());
        let now = Instant::now();
        a.take_new(["x", "y"], now);
        let answering = Arc::clone(&a);
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            answering.answer("x");
            answering.answer_all();
        });
        assert!(a.wait(["x", "y"], Instant::now() + Duration::from_secs(10)));
        t.join().unwrap();
        // unanswered: the wait gives up at its bound
        a.take_new(["z"], now);
        let started = Instant::now();
        assert!(!a.wait(["z"], started + Duration::from_millis(50)));
        assert!(started.elapsed() >= Duration::from_millis(50));
        // an id nobody asked about is never waited for
        assert!(a.wait(["never-asked"], Instant::now()));
    }
}
