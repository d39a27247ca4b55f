//! `compare A B`: for each benchmark both sides ran, the medians, the ratio B/A with a 95 %
//! bootstrap interval, the Mann–Whitney U p-value and a verdict for B against A that
//! weighs the difference against the machine's noise (the equivalence band: a margin, or
//! the measured run-to-run spread when larger); the geometric mean of the speed-ups per
//! category with its interval; warnings when the numbers deserve doubt.
use serde::Serialize;

use super::calibration::Carried;
use super::schema::{Benchmark, Host, Pmu, Results, SEQUENTIAL, Sampling};
pub use super::side::{Side, check_arg, distinguish, goarch, resolve, side};
use super::stats;
use super::verdict::{self, ALPHA, Band, Verdict};
pub use super::wording::{pmu_text, verdict_text};

pub const COMPARE_SCHEMA: &str = "archscope.bench.compare/v2";
/// Warn above this coefficient of variation.
pub const MAX_CV: f64 = 0.03;
/// Warn below this many samples.
pub const MIN_REPS: usize = 5;

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub schema: &'static str,
    pub a: SideInfo,
    pub b: SideInfo,
    /// The margin asked for (the band where no calibration is larger).
    pub margin: f64,
    /// What one sample is: `repetitions`, or `round medians` when both sides ran rounds.
    pub sample_unit: &'static str,
    pub rows: Vec<Row>,
    pub summary: Summary,
    pub warnings: Vec<String>,
    pub method: Method,
}

#[derive(Debug, Serialize)]
pub struct Method {
    pub ratio: &'static str,
    pub ci: String,
    pub test: &'static str,
    pub verdict: String,
}

#[derive(Debug, Serialize)]
pub struct SideInfo {
    pub label: String,
    pub origin: String,
    pub started_at: String,
    pub suite_version: String,
    pub agent_version: String,
    pub quick: bool,
    pub repetitions: u32,
    pub sampling: Sampling,
    /// "interleaved, 9 repetitions", for the reports.
    pub sampling_text: String,
    pub calibration: Option<Carried>,
    pub host: Host,
}

#[derive(Debug, Serialize)]
pub struct Row {
    pub benchmark: String,
    pub category: String,
    pub unit: String,
    pub higher_is_better: bool,
    pub median_a: f64,
    pub median_b: f64,
    /// median_b / median_a, in the benchmark's unit.
    pub ratio: f64,
    pub ci95: [f64; 2],
    /// How much faster B is than A (ratio, inverted when lower is better): > 1 is faster.
    pub speedup: f64,
    pub speedup_ci95: [f64; 2],
    pub p_value: f64,
    pub u_statistic: f64,
    pub test_method: stats::MwuMethod,
    pub band: Band,
    /// B against A: faster, slower, equivalent (within the band) or inconclusive.
    pub verdict: Verdict,
    pub cv_a: f64,
    pub cv_b: f64,
    /// The samples compared (repetitions or round medians).
    pub compared_a: Vec<f64>,
    pub compared_b: Vec<f64>,
    /// Every repetition, in run order.
    pub samples_a: Vec<f64>,
    pub samples_b: Vec<f64>,
    pub pmu_a: Pmu,
    pub pmu_b: Pmu,
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Summary {
    /// Geometric mean of the speed-ups of B over A across all benchmarks.
    pub geomean_speedup: f64,
    pub geomean_ci95: [f64; 2],
    pub categories: Vec<CategorySummary>,
}

#[derive(Debug, Serialize)]
pub struct CategorySummary {
    pub category: String,
    pub benchmarks: usize,
    pub geomean_speedup: f64,
    pub geomean_ci95: [f64; 2],
}

pub struct Options {
    pub resamples: usize,
    pub seed: u64,
    /// The band without calibration: 0.05 is ±5 %.
    pub margin: f64,
}

/// Rounds a side needs for its round medians to be the samples: with fewer, Mann–Whitney
/// cannot reach p < 0.05 (three against three gives 0.1 at best).
pub const MIN_ROUNDS: u32 = 4;

/// Whether round medians are compared: both sides ran at least [`MIN_ROUNDS`] rounds.
pub fn rounds_compared(a: &Results, b: &Results) -> bool {
    a.sampling.rounds >= MIN_ROUNDS && b.sampling.rounds >= MIN_ROUNDS
}

/// The samples compared for a benchmark: its round medians when `rounds`, else every
/// repetition.
pub fn sample_unit(b: &Benchmark, r: &Results, rounds: bool) -> Vec<f64> {
    if rounds {
        b.round_medians(r.sampling.rounds)
    } else {
        b.samples.clone()
    }
}

fn side_warnings(s: &Side, warnings: &mut Vec<String>) {
    let r = &s.results;
    if !r.host.virtualization.is_empty() {
        warnings.push(format!(
            "{} ran under virtualization ({}): {}",
            s.label,
            r.host.virtualization,
            if r.host.virtualization.starts_with("qemu") {
                "an emulator's speed is not the hardware's"
            } else {
                "neighbours and the hypervisor add noise"
            }
        ));
    }
    if r.settings.quick {
        warnings.push(format!("{} is a --quick run (small sizes)", s.label));
    }
    if r.sampling.scheme == SEQUENTIAL {
        warnings.push(format!(
            "{} took its repetitions one benchmark after another (sequential): drift during \
             the run lands on some benchmarks only",
            s.label
        ));
    }
    if r.calibration.is_none() {
        warnings.push(format!(
            "{} carries no calibration: the band is the margin alone (`agent bench \
             calibrate` measures this machine's run-to-run spread)",
            s.label
        ));
    }
}

pub fn compare(a: &Side, b: &Side, o: &Options) -> Comparison {
    let mut warnings = Vec::new();
    let (ra, rb) = (&a.results, &b.results);
    if ra.suite.version != rb.suite.version {
        warnings.push(format!(
            "suite versions differ: {} has {}, {} has {}",
            a.label, ra.suite.version, b.label, rb.suite.version
        ));
    }
    side_warnings(a, &mut warnings);
    side_warnings(b, &mut warnings);
    let rounds = rounds_compared(ra, rb);
    let in_rounds = |r: &Results| r.sampling.rounds > 1;
    if !rounds && (in_rounds(ra) || in_rounds(rb)) {
        warnings.push(format!(
            "round medians need {MIN_ROUNDS} rounds or more on both sides ({} has {}, {} has \
             {}): every repetition is compared",
            a.label, ra.sampling.rounds, b.label, rb.sampling.rounds
        ));
    }
    let spread = |s: &Side, name: &str| {
        s.results
            .calibration
            .as_ref()
            .and_then(|c| c.spread.get(name).copied())
    };
    let mut rows = Vec::new();
    for ba in &ra.benchmarks {
        let Some(bb) = rb.benchmark(&ba.name) else {
            warnings.push(format!("{}: only {} ran it", ba.name, a.label));
            continue;
        };
        let mut w = Vec::new();
        if ba.version != bb.version {
            w.push(format!(
                "benchmark versions differ ({} v{}, {} v{})",
                a.label, ba.version, b.label, bb.version
            ));
        }
        if ba.unit != bb.unit {
            w.push(format!(
                "units differ ({} vs {}): not compared",
                ba.unit, bb.unit
            ));
            warnings.push(format!("{}: {}", ba.name, w.join("; ")));
            continue;
        }
        let (xa, xb) = (sample_unit(ba, ra, rounds), sample_unit(bb, rb, rounds));
        for (s, x) in [(a, &xa), (b, &xb)] {
            if x.len() < MIN_REPS {
                w.push(format!(
                    "too few samples on {} ({} < {MIN_REPS})",
                    s.label,
                    x.len()
                ));
            }
            let cv = stats::cv(x);
            if cv > MAX_CV {
                w.push(format!(
                    "high variance on {} (CV {:.1} % > {:.0} %)",
                    s.label,
                    cv * 100.0,
                    MAX_CV * 100.0
                ));
            }
        }
        let (ma, mb) = (stats::median(&xa), stats::median(&xb));
        let ratio = mb / ma;
        let (lo, hi) = stats::bootstrap_ratio_ci(&xa, &xb, o.resamples, o.seed, 0.95);
        let mwu = stats::mann_whitney_u(&xa, &xb);
        let (speedup, sp_ci) = if ba.higher_is_better {
            (ratio, (lo, hi))
        } else {
            (1.0 / ratio, (1.0 / hi, 1.0 / lo))
        };
        let band = verdict::band(
            o.margin,
            [
                (a.label.as_str(), spread(a, &ba.name)),
                (b.label.as_str(), spread(b, &ba.name)),
            ],
        );
        let verdict = verdict::decide(mwu.p_value, sp_ci, band.width);
        for x in &w {
            warnings.push(format!("{}: {x}", ba.name));
        }
        rows.push(Row {
            benchmark: ba.name.clone(),
            category: ba.category.clone(),
            unit: ba.unit.clone(),
            higher_is_better: ba.higher_is_better,
            median_a: ma,
            median_b: mb,
            ratio,
            ci95: [lo, hi],
            speedup,
            speedup_ci95: [sp_ci.0, sp_ci.1],
            p_value: mwu.p_value,
            u_statistic: mwu.u1,
            test_method: mwu.method,
            band,
            verdict,
            cv_a: stats::cv(&xa),
            cv_b: stats::cv(&xb),
            compared_a: xa,
            compared_b: xb,
            samples_a: ba.samples.clone(),
            samples_b: bb.samples.clone(),
            pmu_a: ba.pmu.clone(),
            pmu_b: bb.pmu.clone(),
            warnings: w,
        });
    }
    for bb in &rb.benchmarks {
        if ra.benchmark(&bb.name).is_none() {
            warnings.push(format!("{}: only {} ran it", bb.name, b.label));
        }
    }
    let summary = summarize(&rows, o);
    Comparison {
        schema: COMPARE_SCHEMA,
        a: info(a),
        b: info(b),
        margin: o.margin,
        sample_unit: if rounds {
            "round medians"
        } else {
            "repetitions"
        },
        rows,
        summary,
        warnings,
        method: Method {
            ratio: "median_b / median_a",
            ci: format!(
                "95 % percentile bootstrap of the ratio of medians, {} resamples, ChaCha8 seed {}; \
                 geometric means: the same bootstrap over every benchmark at once",
                o.resamples, o.seed
            ),
            test: "Mann-Whitney U, two-sided; exact without ties for n <= 8, else normal approximation with tie and continuity correction (scipy's method=\"auto\")",
            verdict: format!(
                "B against A: faster or slower when p < {ALPHA} and the whole interval of the \
                 speed-up lies beyond the band (the margin {}, or a side's calibrated \
                 run-to-run spread when larger); equivalent when it lies inside; else \
                 inconclusive",
                verdict::percent(o.margin)
            ),
        },
    }
}

fn info(s: &Side) -> SideInfo {
    let r = &s.results;
    SideInfo {
        label: s.label.clone(),
        origin: s.origin.clone(),
        started_at: r.started_at.clone(),
        suite_version: r.suite.version.clone(),
        agent_version: r.agent_version.clone(),
        quick: r.settings.quick,
        repetitions: r.settings.repetitions,
        sampling_text: r.sampling.describe(r.settings.repetitions),
        sampling: r.sampling.clone(),
        calibration: r.calibration.clone(),
        host: r.host.clone(),
    }
}

fn summarize(rows: &[Row], o: &Options) -> Summary {
    let geomean = |of: &[&Row]| {
        let speedups: Vec<f64> = of.iter().map(|r| r.speedup).collect();
        let pairs: Vec<stats::Pair> = of
            .iter()
            .map(|r| stats::Pair {
                a: &r.compared_a,
                b: &r.compared_b,
                higher_is_better: r.higher_is_better,
            })
            .collect();
        let (lo, hi) = stats::bootstrap_geomean_ci(&pairs, o.resamples, o.seed, 0.95);
        (stats::geomean(&speedups), [lo, hi])
    };
    let mut cats: Vec<String> = Vec::new();
    for r in rows {
        if !cats.contains(&r.category) {
            cats.push(r.category.clone());
        }
    }
    let categories = cats
        .into_iter()
        .map(|c| {
            let of: Vec<&Row> = rows.iter().filter(|r| r.category == c).collect();
            let (g, ci) = geomean(&of);
            CategorySummary {
                benchmarks: of.len(),
                geomean_speedup: g,
                geomean_ci95: ci,
                category: c,
            }
        })
        .collect();
    let all: Vec<&Row> = rows.iter().collect();
    let (g, ci) = if all.is_empty() {
        (f64::NAN, [f64::NAN; 2])
    } else {
        geomean(&all)
    };
    Summary {
        geomean_speedup: g,
        geomean_ci95: ci,
        categories,
    }
}
