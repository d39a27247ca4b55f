//! Cardinality budget: at most N series per metric, and fewer under memory pressure.
//!
//! Label sets are admitted while a metric has room. When it is full, a new label set takes
//! the place of the least recently active admitted one, if that one has not changed for
//! `IDLE_BEFORE_REPLACED` (in no case within the current snapshot); the one replaced is shed into the overflow series (every label
//! `__overflow__`). Otherwise the new label set is folded into the overflow. Either way a
//! label set in the overflow stays there until its cgroup is gone: moving back out would
//! make the overflow counter go backwards. Under memory pressure (`squeeze`) each metric's
//! budget shrinks to three quarters of what it holds and the least recently active are
//! shed even if still active.
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use super::model::{Family, LabelHasher, Labels, Series, Value, label};
use super::names::OVERFLOW;

/// A metric's budget never shrinks below this under memory pressure.
const MIN_SQUEEZED: usize = 64;

/// How long an admitted series must stay unchanged before a newcomer may take its place:
/// longer than a few scrape intervals, so a slow but live series is not traded away.
pub const IDLE_BEFORE_REPLACED: Duration = Duration::from_secs(300);

#[derive(Debug)]
pub struct Budget {
    max: usize,
    idle_before_replaced: Duration,
    /// When the current snapshot was taken.
    now: Instant,
    metrics: HashMap<&'static str, Metric>,
    pressure: bool,
    /// Admitted label sets moved into the overflow: [for room, for memory].
    shed: [u64; 2],
}

#[derive(Debug, Default)]
struct Metric {
    /// The budget in force: `max`, or less under memory pressure.
    limit: Option<usize>,
    admitted: HashMap<Labels, Activity, LabelHasher>,
    overflow: HashSet<Labels, LabelHasher>,
}

#[derive(Debug, Clone, Copy)]
struct Activity {
    mark: u64,
    changed_at: Instant,
}

/// What one `apply` did to a family.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Label sets in the overflow series now.
    pub folded: usize,
    /// Admitted label sets shed this time.
    pub shed: usize,
}

/// A number that changes when the value does (counters and histograms only grow).
fn mark(v: &Value) -> u64 {
    match v {
        Value::Counter(c) => *c,
        Value::Gauge(g) => g.to_bits(),
        Value::Histogram { count, .. } => *count,
    }
}

impl Budget {
    pub fn new(max: usize, idle_before_replaced: Duration) -> Self {
        Budget {
            max,
            idle_before_replaced,
            now: Instant::now(),
            metrics: HashMap::new(),
            pressure: false,
            shed: [0; 2],
        }
    }

    /// Start a snapshot taken at `now` (later than the previous one).
    pub fn next_snapshot(&mut self, now: Instant) {
        self.now = now;
    }

    /// Apply the budget to a family in place.
    pub fn apply(&mut self, f: &mut Family) -> Applied {
        let now = self.now;
        // strictly before: a series changed in this snapshot is never idle
        let idle_before = now.checked_sub(self.idle_before_replaced);
        let m = self.metrics.entry(f.name).or_default();
        let limit = m.limit.unwrap_or(self.max).min(self.max);
        let mut kept = Vec::with_capacity(f.series.len().min(limit + 1));
        let mut fresh = Vec::new();
        let mut overflow: Option<Series> = None;
        let mut folded = 0;
        for s in f.series.drain(..) {
            if let Some(a) = m.admitted.get_mut(&s.labels) {
                let mark = mark(&s.value);
                if mark != a.mark {
                    *a = Activity {
                        mark,
                        changed_at: now,
                    };
                }
                kept.push(s);
            } else if m.overflow.contains(&s.labels) {
                fold(&mut overflow, s);
                folded += 1;
            } else {
                fresh.push(s);
            }
        }
        // Least recently changed first; only those idle long enough give way to
        // newcomers, but memory pressure takes any.
        let mut by_age: Vec<(Instant, Labels)> = Vec::new();
        if m.admitted.len() > limit || !fresh.is_empty() && m.admitted.len() >= limit {
            by_age = m
                .admitted
                .iter()
                .map(|(l, a)| (a.changed_at, l.clone()))
                .collect();
            // newest first, so `pop` takes the least recently changed (ties: by labels)
            by_age.sort_unstable_by(|a, b| b.cmp(a));
        }
        let mut shed = 0;
        while m.admitted.len() > limit {
            let Some((_, l)) = by_age.pop() else { break };
            m.admitted.remove(&l);
            m.overflow.insert(l);
            self.shed[1] += 1;
            shed += 1;
        }
        for s in fresh {
            if m.admitted.len() >= limit {
                match by_age.last() {
                    Some((at, _)) if idle_before.is_some_and(|t| *at < t) => {
                        let (_, l) = by_age.pop().expect("just seen");
                        m.admitted.remove(&l);
                        m.overflow.insert(l);
                        self.shed[0] += 1;
                        shed += 1;
                    }
                    _ => {
                        m.overflow.insert(s.labels.clone());
                        fold(&mut overflow, s);
                        folded += 1;
                        continue;
                    }
                }
            }
            let a = Activity {
                mark: mark(&s.value),
                changed_at: now,
            };
            m.admitted.insert(s.labels.clone(), a);
            kept.push(s);
        }
        if shed > 0 {
            for s in std::mem::take(&mut kept) {
                if m.overflow.contains(&s.labels) {
                    fold(&mut overflow, s);
                    folded += 1;
                } else {
                    kept.push(s);
                }
            }
        }
        kept.extend(overflow);
        f.series = kept;
        Applied { folded, shed }
    }

    /// Memory pressure on or off. On: every metric's budget becomes three quarters of what
    /// it holds (at least `MIN_SQUEEZED`), applied from the next snapshot on; each further
    /// call under pressure shrinks again. Off: budgets return to the configured maximum
    /// (shed label sets stay in the overflow).
    pub fn squeeze(&mut self, pressure: bool) {
        self.pressure = pressure;
        for m in self.metrics.values_mut() {
            m.limit = pressure.then(|| (m.admitted.len() * 3 / 4).max(MIN_SQUEEZED));
        }
    }

    pub fn under_pressure(&self) -> bool {
        self.pressure
    }

    /// Admitted label sets shed into the overflow so far: (to make room, for memory).
    pub fn shed_total(&self) -> (u64, u64) {
        (self.shed[0], self.shed[1])
    }

    /// Label sets the budget remembers (admitted and overflowed), for the fill gauge.
    pub fn tracked(&self) -> usize {
        self.metrics
            .values()
            .map(|m| m.admitted.len() + m.overflow.len())
            .sum()
    }

    /// Forget label sets that mention a label value (a cgroup that is gone), so the
    /// budget is not spent on the dead.
    pub fn release(&mut self, key: &str, value: &str) {
        let dead = |l: &Labels| l.iter().any(|(k, v)| *k == key && &**v == value);
        for m in self.metrics.values_mut() {
            m.admitted.retain(|l, _| !dead(l));
            m.overflow.retain(|l| !dead(l));
        }
    }
}

fn fold(overflow: &mut Option<Series>, s: Series) {
    match overflow {
        Some(o) => o.value.add(&s.value),
        None => {
            let labels = s
                .labels
                .iter()
                .map(|(k, _)| (*k, label(OVERFLOW)))
                .collect();
            *overflow = Some(Series {
                labels,
                value: s.value,
            });
        }
    }
}

#[cfg(test)]
#[path = "budget_test.rs"]
mod tests;
