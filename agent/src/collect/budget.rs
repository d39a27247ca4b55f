//! Cardinality budget: at most N series per metric. The first N label sets seen are
//! admitted for good (so a series never flips between itself and the overflow); the rest
//! are summed into one series whose labels all read `__overflow__`, and counted.
use std::collections::{HashMap, HashSet};

use super::model::{Family, Labels, Series, label};
use super::names::OVERFLOW;

#[derive(Debug, Default)]
pub struct Budget {
    max: usize,
    admitted: HashMap<&'static str, HashSet<Labels>>,
}

impl Budget {
    pub fn new(max: usize) -> Self {
        Budget {
            max,
            admitted: HashMap::new(),
        }
    }

    /// Apply the budget to a family in place; returns how many label sets were folded.
    pub fn apply(&mut self, f: &mut Family) -> usize {
        let admitted = self.admitted.entry(f.name).or_default();
        let mut kept = Vec::with_capacity(f.series.len().min(self.max + 1));
        let mut overflow: Option<Series> = None;
        let mut folded = 0;
        for s in f.series.drain(..) {
            if admitted.contains(&s.labels)
                || admitted.len() < self.max && admitted.insert(s.labels.clone())
            {
                kept.push(s);
                continue;
            }
            folded += 1;
            match &mut overflow {
                Some(o) => o.value.add(&s.value),
                None => {
                    let labels = s
                        .labels
                        .iter()
                        .map(|(k, _)| (*k, label(OVERFLOW)))
                        .collect();
                    overflow = Some(Series {
                        labels,
                        value: s.value,
                    });
                }
            }
        }
        kept.extend(overflow);
        f.series = kept;
        folded
    }

    /// Forget admitted label sets that mention a label value (a cgroup that is gone), so
    /// the budget is not spent on the dead.
    pub fn release(&mut self, key: &str, value: &str) {
        for set in self.admitted.values_mut() {
            set.retain(|l| !l.iter().any(|(k, v)| *k == key && &**v == value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::model::Value;
    use crate::collect::names;

    fn fam(n: u64) -> Family {
        let mut f = names::SYSCALLS.family_empty();
        for i in 0..n {
            f.series.push(Series {
                labels: vec![("cgroup", label(format!("/c{i}")))],
                value: Value::Counter(i + 1),
            });
        }
        f
    }

    #[test]
    fn folds_excess_into_one_overflow_series_and_stays_stable() {
        let mut b = Budget::new(3);
        let mut f = fam(5);
        assert_eq!(b.apply(&mut f), 2);
        assert_eq!(f.series.len(), 4);
        assert_eq!(f.series[3].labels[0].1.as_ref(), OVERFLOW);
        assert_eq!(f.series[3].value, Value::Counter(4 + 5));
        // the same three stay admitted whatever order the next snapshot has
        let mut g = fam(5);
        g.series.reverse();
        assert_eq!(b.apply(&mut g), 2);
        let kept: Vec<_> = g.series.iter().map(|s| s.labels[0].1.to_string()).collect();
        assert_eq!(kept, ["/c2", "/c1", "/c0", OVERFLOW]);
    }

    #[test]
    fn release_frees_budget() {
        let mut b = Budget::new(1);
        let mut f = fam(2);
        assert_eq!(b.apply(&mut f), 1);
        b.release("cgroup", "/c0");
        let mut g = fam(2);
        g.series.remove(0);
        assert_eq!(b.apply(&mut g), 0);
    }
}
