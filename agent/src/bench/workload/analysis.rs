//! The comparison: per figure, each side's samples (pods × windows), the ratio of B's
//! median to A's with a bootstrap interval, Mann–Whitney's p, the verdict against the
//! same equivalence band as the micro-benchmark compare, and the ranked differences.
use std::collections::BTreeMap;

use serde::Serialize;

use super::figures::{self, Figure, Totals};
use super::series::{self as sel, Observed, PodWindow, windows};
use crate::bench::stats;
use archscope_bench::verdict::{self, Verdict};

pub const SCHEMA: &str = "archscope.bench.workload/v1";

/// What one sample is, and why windows rather than scrapes.
pub const SAMPLE_UNIT: &str = "one pod over one window: the figure of the window's increases \
(counts, CPU time, histogram buckets) between the scrapes at its two ends. Scrape points are \
never samples: consecutive scrapes share most of their history, so they would count the same \
events many times; windows do not overlap, each event is in one sample only. Windows of one \
pod are still a time series: a load that drifts through the window moves them together.";

pub struct Options {
    pub resamples: usize,
    pub seed: u64,
    pub margin: f64,
}

/// Where B stands against A on one figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Higher,
    Lower,
    Equivalent,
    Inconclusive,
}

impl Direction {
    fn of(v: Verdict) -> Direction {
        match v {
            Verdict::Faster => Direction::Higher,
            Verdict::Slower => Direction::Lower,
            Verdict::Equivalent => Direction::Equivalent,
            Verdict::Inconclusive => Direction::Inconclusive,
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Direction::Higher => "higher",
            Direction::Lower => "lower",
            Direction::Equivalent => "equivalent",
            Direction::Inconclusive => "inconclusive",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SideStats {
    pub n: usize,
    pub median: f64,
    pub samples: Vec<f64>,
}

#[derive(Debug, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub figure: Figure,
    pub label: String,
    pub unit: &'static str,
    pub a: SideStats,
    pub b: SideStats,
    /// median(B) / median(A); absent when a median is 0.
    pub ratio: Option<f64>,
    pub ratio_ci95: Option<[f64; 2]>,
    pub p_value: Option<f64>,
    pub direction: Direction,
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Pod {
    pub pod: String,
    /// The agent that reported it (Prometheus' `instance`, or the agent's URL).
    pub agent: String,
    pub windows: usize,
}

#[derive(Debug, Serialize)]
pub struct Side {
    pub arch: String,
    pub pods: Vec<Pod>,
    pub samples: usize,
    /// Calls and failed calls per syscall over the whole window, all pods (those made).
    pub syscalls: BTreeMap<String, Totals>,
    /// Why a group of figures is missing on this side (PMU, scheduler, tcp).
    pub missing: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub workload: String,
    pub source: String,
    pub window_seconds: f64,
    pub step_seconds: f64,
    pub start: f64,
    pub end: f64,
    pub sample_unit: &'static str,
    pub margin: f64,
    pub resamples: usize,
    pub seed: u64,
    pub a: Side,
    pub b: Side,
    pub rows: Vec<Row>,
    /// The differences beyond the band, largest first ("getppid p99 8.3× on arm64").
    pub differences: Vec<String>,
    pub warnings: Vec<String>,
}

/// Samples per figure of the windows on one side.
fn samples<'a>(ws: impl Iterator<Item = &'a PodWindow>) -> BTreeMap<Figure, Vec<f64>> {
    let mut m: BTreeMap<Figure, Vec<f64>> = BTreeMap::new();
    for w in ws {
        for (f, v) in figures::of_window(w) {
            m.entry(f).or_default().push(v);
        }
    }
    m
}

fn side_stats(xs: Vec<f64>) -> SideStats {
    SideStats {
        n: xs.len(),
        median: if xs.is_empty() {
            f64::NAN
        } else {
            stats::median(&xs)
        },
        samples: xs,
    }
}

fn row(figure: Figure, a: Vec<f64>, b: Vec<f64>, o: &Options) -> Row {
    let (a, b) = (side_stats(a), side_stats(b));
    let mut r = Row {
        label: figure.label(),
        unit: figure.measure.unit(),
        figure,
        ratio: None,
        ratio_ci95: None,
        p_value: None,
        direction: Direction::Inconclusive,
        note: None,
        a,
        b,
    };
    if r.a.n < 2 || r.b.n < 2 {
        r.note = Some(format!("too few samples ({} against {})", r.a.n, r.b.n));
        return r;
    }
    let p = stats::mann_whitney_u(&r.a.samples, &r.b.samples).p_value;
    r.p_value = Some(p);
    if r.a.median == 0.0 && r.b.median == 0.0 {
        r.direction = if p < verdict::ALPHA {
            Direction::Inconclusive
        } else {
            Direction::Equivalent
        };
        r.note = Some("both medians are 0".into());
        return r;
    }
    if r.a.median == 0.0 || r.b.median == 0.0 {
        // no ratio, but a difference all the same: none on one side, some on the other
        let zero = if r.a.median == 0.0 { "A" } else { "B" };
        if p < verdict::ALPHA {
            r.direction = if r.b.median > r.a.median {
                Direction::Higher
            } else {
                Direction::Lower
            };
        }
        r.note = Some(format!("median 0 on {zero}: no ratio"));
        return r;
    }
    let ci = stats::bootstrap_ratio_ci(&r.a.samples, &r.b.samples, o.resamples, o.seed, 0.95);
    r.ratio = Some(r.b.median / r.a.median);
    if ci.0.is_finite() && ci.1.is_finite() {
        r.ratio_ci95 = Some([ci.0, ci.1]);
        r.direction = Direction::of(verdict::decide(p, ci, o.margin));
    } else {
        r.note = Some("a resample's median is 0: no interval".into());
    }
    r
}

/// "getppid p99 8.30× on arm64", "IPC 0.62× of amd64 on arm64": the differences beyond
/// the band, the largest (in either direction) first.
/// A difference with a median of 0 on one side has no ratio and ranks first.
pub fn differences(rows: &[Row], a: &str, b: &str) -> Vec<String> {
    let value = super::report::value;
    let mut d: Vec<(f64, String)> = rows
        .iter()
        .filter(|r| matches!(r.direction, Direction::Higher | Direction::Lower))
        .map(|r| match r.ratio {
            Some(x) => (
                x.ln().abs(),
                format!("{} {} on {b} (of {a})", r.label, times(x)),
            ),
            None => (
                f64::INFINITY,
                format!(
                    "{} {} on {b}, {} on {a}",
                    r.label,
                    value(r.b.median, r.unit),
                    value(r.a.median, r.unit)
                ),
            ),
        })
        .collect();
    d.sort_by(|x, y| y.0.total_cmp(&x.0));
    d.into_iter().map(|(_, s)| s).collect()
}

/// "8.30×", "0.62×".
pub fn times(x: f64) -> String {
    if x >= 10.0 {
        format!("{x:.1}×")
    } else {
        format!("{x:.2}×")
    }
}

/// Context the report carries besides the samples.
pub struct Frame {
    pub workload: String,
    pub source: String,
    pub step: f64,
}

pub fn analyse(arch: [&str; 2], obs: &Observed, frame: Frame, o: &Options) -> Report {
    let ws = windows(obs);
    let of_side = |x: &str| -> Vec<&PodWindow> {
        ws.iter()
            .filter(|w| obs.agents.get(&w.instance).map(|s| s.goarch.as_str()) == Some(x))
            .collect()
    };
    let (windows_a, windows_b) = (of_side(arch[0]), of_side(arch[1]));
    let (mut samples_a, mut samples_b) = (
        samples(windows_a.iter().copied()),
        samples(windows_b.iter().copied()),
    );
    let mut keys: Vec<Figure> = samples_a.keys().chain(samples_b.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    let (a, b) = (
        side_info(arch[0], obs, windows_a),
        side_info(arch[1], obs, windows_b),
    );
    // a syscall neither side made in the window (its series older than the window) has
    // nothing to compare
    let made = |name: &str| [&a, &b].iter().any(|s| s.syscalls.contains_key(name));
    let rows: Vec<Row> = keys
        .into_iter()
        .filter(|f| f.group != "syscall" || made(&f.subject))
        .map(|f| {
            let (xa, xb) = (
                samples_a.remove(&f).unwrap_or_default(),
                samples_b.remove(&f).unwrap_or_default(),
            );
            let mut r = row(f, xa, xb, o);
            for (side, other) in [(&a, &b), (&b, &a)] {
                if r.figure.group == "syscall" && !side.syscalls.contains_key(&r.figure.subject) {
                    r.note = Some(format!(
                        "no {} calls on {} in the window; {} made them",
                        r.figure.subject, side.arch, other.arch
                    ));
                }
            }
            r
        })
        .collect();
    let mut warnings = Vec::new();
    for s in [&a, &b] {
        if s.pods.is_empty() {
            warnings.push(format!(
                "no pod of {} on {} nodes in the window",
                frame.workload, s.arch
            ));
        } else if s.pods.len() == 1 {
            warnings.push(format!(
                "one pod on {}: its samples are its windows, a time series of one pod",
                s.arch
            ));
        }
    }
    Report {
        schema: SCHEMA,
        differences: differences(&rows, arch[0], arch[1]),
        workload: frame.workload,
        source: frame.source,
        window_seconds: obs.times.last().copied().unwrap_or(0.0)
            - obs.times.first().copied().unwrap_or(0.0),
        step_seconds: frame.step,
        start: obs.times.first().copied().unwrap_or(0.0),
        end: obs.times.last().copied().unwrap_or(0.0),
        sample_unit: SAMPLE_UNIT,
        margin: o.margin,
        resamples: o.resamples,
        seed: o.seed,
        a,
        b,
        rows,
        warnings,
    }
}

fn side_info(arch: &str, obs: &Observed, ws: Vec<&PodWindow>) -> Side {
    let mut pods: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for w in &ws {
        *pods
            .entry((w.pod.as_str(), w.instance.as_str()))
            .or_default() += 1;
    }
    let agents: Vec<(&String, &super::series::AgentState)> = obs
        .agents
        .iter()
        .filter(|(_, s)| s.goarch == arch)
        .collect();
    // counts, not figures: a pod there for part of a window has counts and no rates
    let counted = |sels: &[usize]| {
        ws.iter()
            .any(|w| w.inc.iter().any(|((s, _), v)| sels.contains(s) && *v > 0.0))
    };
    let has = |group: &str| match group {
        "pmu" => counted(&[sel::CYCLES]),
        "scheduler" => counted(&[sel::CPU_TIME, sel::RUNQUEUE]),
        _ => counted(&[sel::TCP_CONNECT, sel::TCP_SRTT, sel::TCP_SEGMENTS_SENT]),
    };
    let mut missing = BTreeMap::new();
    for (group, feature) in [("pmu", "pmu"), ("scheduler", "scheduler"), ("tcp", "tcp")] {
        if has(group) {
            continue;
        }
        let mut why: Vec<String> = agents
            .iter()
            .filter_map(|(url, s)| match s.features.get(feature) {
                Some(false) => Some(format!("the {feature} feature is off on {url} (see `agent check`)")),
                None => Some(format!("{url} does not export the {feature} feature")),
                _ if group == "pmu" && s.pmu_events.get("cycles") != Some(&true) => Some(format!(
                    "the PMU does not count cycles on {url} (no hardware counters, e.g. a VM without a virtual PMU)"
                )),
                _ => None,
            })
            .collect();
        if why.is_empty() {
            why.push(format!(
                "the workload's pods showed no {group} counts in the window"
            ));
        }
        missing.insert(group.to_string(), why.join("; "));
    }
    // cycles without instructions: e.g. arm64 under qemu's TCG counts one and not the other
    if has("pmu") && !counted(&[sel::INSTRUCTIONS]) {
        let why: Vec<String> = agents
            .iter()
            .filter(|(_, s)| s.pmu_events.get("instructions") != Some(&true))
            .map(|(url, _)| format!("the PMU counts cycles but not instructions on {url}"))
            .collect();
        let why = if why.is_empty() {
            "the workload's pods showed no instructions in the window".to_string()
        } else {
            why.join("; ")
        };
        missing.insert("IPC and cache-miss".to_string(), why);
    }
    Side {
        arch: arch.to_string(),
        samples: ws.len(),
        syscalls: figures::totals(ws.iter().copied())
            .into_iter()
            .filter(|(_, t)| t.calls > 0.0)
            .collect(),
        pods: pods
            .into_iter()
            .map(|((pod, agent), windows)| Pod {
                pod: pod.to_string(),
                agent: agent.to_string(),
                windows,
            })
            .collect(),
        missing,
    }
}
