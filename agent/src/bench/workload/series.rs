//! What a workload compare reads: the workload's series per container, at the window
//! boundaries, from either source; and the per-pod, per-window increases made from them.
//! Both sources fill one [`Observed`], so every figure is computed once, the same way.
use std::collections::BTreeMap;

use crate::collect::model::Kind;
use crate::collect::names::{self, MetricDef};

/// One family the compare reads, summed over the pod's cgroups by `by` (and `le` for a
/// histogram's buckets). The names come from the metric catalogue.
pub struct Selection {
    pub def: &'static MetricDef,
    /// Extra label matchers (equality).
    pub matchers: &'static [(&'static str, &'static str)],
    pub by: &'static [&'static str],
}

impl Selection {
    /// The sample name: `_total` for a counter, `_bucket` for a histogram.
    pub fn sample_name(&self) -> String {
        let base = self.def.prometheus_name();
        match self.def.kind {
            Kind::Histogram => format!("{base}_bucket"),
            _ => base,
        }
    }

    pub fn histogram(&self) -> bool {
        self.def.kind == Kind::Histogram
    }

    /// The grouping labels after `instance` and `pod`: `by`, then `le` for buckets.
    pub fn group(&self) -> Vec<&'static str> {
        let mut g = self.by.to_vec();
        if self.histogram() {
            g.push("le");
        }
        g
    }
}

pub const SYSCALLS: usize = 0;
pub const SYSCALL_ERRORS: usize = 1;
pub const SYSCALL_DURATION: usize = 2;
pub const CPU_TIME: usize = 3;
pub const RUNQUEUE: usize = 4;
pub const TCP_CONNECT: usize = 5;
pub const TCP_SRTT: usize = 6;
pub const TCP_RETRANSMITS: usize = 7;
pub const TCP_SEGMENTS_SENT: usize = 8;
pub const CYCLES: usize = 9;
pub const INSTRUCTIONS: usize = 10;
pub const CACHE_MISSES: usize = 11;

const PMU: &[MetricDef; archscope_common::PMU_SLOTS] = &names::CGROUP_PMU;

/// Indexed by the constants above.
pub static SELECTIONS: [Selection; 12] = [
    sel(&names::SYSCALLS, &["syscall"]),
    sel(&names::SYSCALL_ERRORS, &["syscall"]),
    sel(&names::SYSCALL_DURATION, &["syscall"]),
    sel(&names::CPU_TIME, &[]),
    sel(&names::RUNQUEUE_LATENCY, &[]),
    sel(&names::TCP_CONNECT_DURATION, &[]),
    sel(&names::TCP_SRTT, &[]),
    sel(&names::TCP_RETRANSMITS, &[]),
    Selection {
        def: &names::NETWORK_PACKETS,
        matchers: &[("protocol", "tcp"), ("direction", "transmit")],
        by: &[],
    },
    sel(&PMU[archscope_common::PmuEvent::Cycles as usize], &[]),
    sel(&PMU[archscope_common::PmuEvent::Instructions as usize], &[]),
    sel(&PMU[archscope_common::PmuEvent::CacheMisses as usize], &[]),
];

const fn sel(def: &'static MetricDef, by: &'static [&'static str]) -> Selection {
    Selection {
        def,
        matchers: &[],
        by,
    }
}

/// One container's series of one selection: the values of its `group()` labels. Kept per
/// cgroup, not summed per pod, so that a container that goes away or restarts (its series
/// ends, a new one starts) is not read as the pod's counter going down.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeriesKey {
    pub instance: String,
    pub pod: String,
    pub cgroup: String,
    pub sel: usize,
    pub labels: Vec<String>,
}

impl SeriesKey {
    pub fn container(&self) -> ContainerKey {
        ContainerKey {
            instance: self.instance.clone(),
            cgroup: self.cgroup.clone(),
            sel: self.sel,
            labels: self.labels.clone(),
        }
    }
}

/// One container's series of one selection whatever its identity labels: the agent
/// exports a cgroup without its pod's labels until its metadata comes, then with them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContainerKey {
    pub instance: String,
    pub cgroup: String,
    pub sel: usize,
    pub labels: Vec<String>,
}

/// What an agent said about itself at the last boundary it answered.
#[derive(Debug, Clone, Default)]
pub struct AgentState {
    pub goarch: String,
    /// `archscope_feature_up` by feature.
    pub features: BTreeMap<String, bool>,
    /// `archscope_pmu_counter_available` by event.
    pub pmu_events: BTreeMap<String, bool>,
}

/// The workload's series at the window boundaries `times` (Unix seconds).
#[derive(Debug, Default)]
pub struct Observed {
    pub times: Vec<f64>,
    /// Per agent (Prometheus' `instance`, or the agent's URL): whether it answered at
    /// each boundary (its `archscope_node_info` was there).
    pub up: BTreeMap<String, Vec<bool>>,
    pub agents: BTreeMap<String, AgentState>,
    pub values: BTreeMap<SeriesKey, Vec<Option<f64>>>,
    /// Containers of pods at the boundaries where their agent exported them without a
    /// workload label (the pod not known yet): once a container shows with the workload's
    /// labels, these are its counts before, so its past is neither lost nor put in one
    /// window.
    pub unlabelled: BTreeMap<ContainerKey, Vec<Option<f64>>>,
    /// The agents source: whether a cgroup path is a pod's, parsed once per path.
    pub pod_cgroups: BTreeMap<String, bool>,
    /// `--rate-query`: each pod's request rate over the window ending at each boundary.
    pub rate: BTreeMap<String, Vec<Option<f64>>>,
    /// Per agent, when the values of each boundary were scraped (Unix seconds), where
    /// known: a window's length is the time between its two scrapes, not the step.
    pub scraped: BTreeMap<String, Vec<Option<f64>>>,
}

impl Observed {
    pub fn new(times: Vec<f64>) -> Observed {
        Observed {
            times,
            ..Observed::default()
        }
    }

    pub fn set_up(&mut self, instance: &str, at: usize) {
        let n = self.times.len();
        self.up
            .entry(instance.to_string())
            .or_insert_with(|| vec![false; n])[at] = true;
    }

    pub fn set_scraped(&mut self, instance: &str, at: usize, t: f64) {
        let n = self.times.len();
        self.scraped
            .entry(instance.to_string())
            .or_insert_with(|| vec![None; n])[at] = Some(t);
    }

    /// Seconds between the scrapes that window `i` of `instance` lies between.
    pub fn elapsed(&self, instance: &str, i: usize) -> f64 {
        let nominal = self.times[i + 1] - self.times[i];
        match self.scraped.get(instance).map(|s| (s[i], s[i + 1])) {
            Some((Some(a), Some(b))) if b > a => b - a,
            _ => nominal,
        }
    }

    pub fn set_unlabelled(&mut self, key: ContainerKey, at: usize, v: f64) {
        let n = self.times.len();
        let slot = &mut self.unlabelled.entry(key).or_insert_with(|| vec![None; n])[at];
        *slot = Some(slot.unwrap_or(0.0) + v);
    }

    /// Keeps only the unlabelled values of the workload's containers.
    pub fn drop_other_unlabelled(&mut self) {
        let ours: std::collections::BTreeSet<ContainerKey> =
            self.values.keys().map(SeriesKey::container).collect();
        self.unlabelled.retain(|k, _| ours.contains(k));
    }

    /// The workload's series missing at a boundary before one where they show: their
    /// containers may have been exported there without the workload's labels.
    pub fn late(&self) -> Vec<&SeriesKey> {
        self.values
            .iter()
            .filter(|(_, v)| {
                let last = v.iter().rposition(Option::is_some);
                last.is_some_and(|l| v[..l].iter().any(Option::is_none))
            })
            .map(|(k, _)| k)
            .collect()
    }

    pub fn set(&mut self, key: SeriesKey, at: usize, v: f64) {
        let n = self.times.len();
        let slot = &mut self.values.entry(key).or_insert_with(|| vec![None; n])[at];
        *slot = Some(slot.unwrap_or(0.0) + v);
    }
}

/// One series and its values at the boundaries.
type Column<'a> = (&'a SeriesKey, Vec<Option<f64>>);

/// One pod over one window: every series' increase, summed over its containers.
#[derive(Debug, Clone)]
pub struct PodWindow {
    pub instance: String,
    pub pod: String,
    pub index: usize,
    pub secs: f64,
    /// The pod had series at the window's start: it ran the whole window, so its
    /// per-second figures hold (a pod that started inside it did not).
    pub whole: bool,
    pub inc: BTreeMap<(usize, Vec<String>), f64>,
    pub rate: Option<f64>,
}

/// The increases per pod and window. A window counts for a pod when its agent answered
/// at both ends and the pod had a series at the end. Where a series is absent, its
/// container's values without the workload's labels stand in (`unlabelled`). A series
/// still absent at the start (its agent answering) is new: it starts from 0, as the
/// agent's series start with the cgroup's first counts; absent at the end but there
/// later, it has not started yet (0).
/// A value of a container below the one before is a reset (the agent restarted between
/// the scrapes): then every series of that container counts from 0, so a histogram's
/// buckets stay consistent with each other.
pub fn windows(o: &Observed) -> Vec<PodWindow> {
    let mut by_pod: BTreeMap<(&str, &str), Vec<Column<'_>>> = BTreeMap::new();
    for (k, v) in &o.values {
        let before = o.unlabelled.get(&k.container());
        let col = (0..v.len())
            .map(|i| v[i].or_else(|| before.and_then(|b| b[i])))
            .collect();
        by_pod
            .entry((k.instance.as_str(), k.pod.as_str()))
            .or_default()
            .push((k, col));
    }
    let mut out = Vec::new();
    for ((instance, pod), series) in by_pod {
        let Some(up) = o.up.get(instance) else {
            continue;
        };
        for i in 0..o.times.len().saturating_sub(1) {
            if !(up[i] && up[i + 1]) || series.iter().all(|(_, v)| v[i + 1].is_none()) {
                continue;
            }
            let reset: Vec<&str> = series
                .iter()
                .filter(|(_, v)| matches!((v[i], v[i + 1]), (Some(a), Some(b)) if b < a))
                .map(|(k, _)| k.cgroup.as_str())
                .collect();
            let mut inc = BTreeMap::new();
            for (k, v) in &series {
                let d = match (v[i], v[i + 1]) {
                    (_, Some(end)) if reset.contains(&k.cgroup.as_str()) => end,
                    (start, Some(end)) => end - start.unwrap_or(0.0),
                    (_, None) if v[i + 2..].iter().any(Option::is_some) => 0.0,
                    (_, None) => continue,
                };
                *inc.entry((k.sel, k.labels.clone())).or_insert(0.0) += d;
            }
            out.push(PodWindow {
                instance: instance.to_string(),
                pod: pod.to_string(),
                index: i,
                secs: o.elapsed(instance, i),
                whole: series.iter().any(|(_, v)| v[i].is_some()),
                inc,
                rate: o.rate.get(pod).and_then(|r| r[i + 1]),
            });
        }
    }
    out
}

/// The q-quantile of a histogram's cumulative bucket counts `(le, count)`, as Prometheus'
/// `histogram_quantile` reads it: linear within the bucket the rank falls in, from 0 for
/// the first; the last finite bound when it falls in `+Inf`. None without observations or
/// without a `+Inf` bucket.
pub fn quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let mut b: Vec<(f64, f64)> = buckets.to_vec();
    b.sort_by(|x, y| x.0.total_cmp(&y.0));
    // as histogram_quantile: counts made non-decreasing first
    let mut most = 0.0f64;
    for slot in b.iter_mut() {
        most = most.max(slot.1);
        slot.1 = most;
    }
    if most <= 0.0 || !b.last()?.0.is_infinite() {
        return None;
    }
    let rank = q * most;
    let (mut lower, mut below) = (0.0, 0.0);
    for &(le, count) in &b {
        if count >= rank {
            if le.is_infinite() {
                return Some(lower);
            }
            let within = count - below;
            let frac = if within > 0.0 {
                (rank - below) / within
            } else {
                1.0
            };
            return Some(lower + (le - lower) * frac);
        }
        (lower, below) = (le, count);
    }
    Some(lower)
}

/// A histogram's buckets in a window: `(le, increase)` of the series whose labels before
/// `le` are `labels`.
pub fn buckets(w: &PodWindow, sel: usize, labels: &[String]) -> Vec<(f64, f64)> {
    w.inc
        .iter()
        .filter(|((s, l), _)| {
            *s == sel && l.len() == labels.len() + 1 && l[..labels.len()] == *labels
        })
        .filter_map(|((_, l), v)| Some((parse_value(l.last()?)?, *v)))
        .collect()
}

/// A sample value or bucket bound as Prometheus writes it (`+Inf`, `NaN`, `1e-06`).
pub fn parse_value(s: &str) -> Option<f64> {
    match s {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        _ => s.parse().ok(),
    }
}

#[cfg(test)]
mod tests;
