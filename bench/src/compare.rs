//! `compare A B`: for each benchmark both sides ran, the medians, the ratio B/A with a 95 %
//! bootstrap interval, the Mann–Whitney U p-value and a verdict for B against A; the
//! geometric mean of the speed-ups per category; warnings when the numbers deserve doubt.
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::schema::{Host, Pmu, Results, latest_in};
use super::stats;
use crate::UsageError;

pub const COMPARE_SCHEMA: &str = "archscope.bench.compare/v1";
/// Warn above this coefficient of variation.
pub const MAX_CV: f64 = 0.03;
/// Warn below this many repetitions.
pub const MIN_REPS: usize = 5;
pub const ALPHA: f64 = 0.05;

/// Architecture names people use → the `kubernetes.io/arch` (GOARCH) name.
pub fn goarch(name: &str) -> Option<&'static str> {
    Some(match name {
        "amd64" | "x86_64" | "x86-64" => "amd64",
        "arm64" | "aarch64" => "arm64",
        "loong64" | "loongarch64" => "loong64",
        "sw64" | "sw_64" => "sw64",
        _ => return None,
    })
}

/// One side of a comparison, with where it came from.
pub struct Side {
    pub label: String,
    pub origin: String,
    pub results: Results,
}

/// An architecture (latest results of it in `dir`), a results file, or a directory (its
/// latest results).
pub fn resolve(arg: &str, dir: &Path) -> Result<Side, UsageError> {
    check_arg(arg)?;
    let p = PathBuf::from(arg);
    if p.is_file() {
        let r = Results::read(&p).map_err(|e| UsageError(e.to_string()))?;
        return Ok(side(r, p.display().to_string()));
    }
    if p.is_dir() {
        return match latest_in(&p, None).map_err(UsageError)? {
            Some((f, r)) => Ok(side(r, f.display().to_string())),
            None => Err(UsageError(format!(
                "compare: {}: no results documents in this directory",
                p.display()
            ))),
        };
    }
    let Some(g) = goarch(arg) else {
        return Err(UsageError(format!(
            "compare: `{arg}` is neither an architecture (amd64, arm64, loong64, sw64 or \
             x86_64, aarch64, loongarch64, sw_64) nor a results file or directory"
        )));
    };
    // a missing directory holds no results either
    match latest_in(dir, Some(g)).ok().flatten() {
        Some((f, r)) => Ok(side(r, f.display().to_string())),
        None => Err(UsageError(format!(
            "compare: no {g} results in {} (run `agent bench run` on a {g} node, or name a \
             file, or use --cluster)",
            dir.display()
        ))),
    }
}

/// An argument is an existing path or an architecture name.
pub fn check_arg(arg: &str) -> Result<(), UsageError> {
    if Path::new(arg).exists() || goarch(arg).is_some() {
        return Ok(());
    }
    Err(UsageError(format!(
        "compare: `{arg}` is neither an architecture (amd64, arm64, loong64, sw64 or \
         x86_64, aarch64, loongarch64, sw_64) nor a results file or directory"
    )))
}

pub fn side(results: Results, origin: String) -> Side {
    Side {
        label: results.host.goarch.clone(),
        origin,
        results,
    }
}

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub schema: &'static str,
    pub a: SideInfo,
    pub b: SideInfo,
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
    pub p_value: f64,
    pub u_statistic: f64,
    pub test_method: stats::MwuMethod,
    /// B against A: `faster`, `slower` or `no significant difference`.
    pub verdict: &'static str,
    pub cv_a: f64,
    pub cv_b: f64,
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
    pub categories: Vec<CategorySummary>,
}

#[derive(Debug, Serialize)]
pub struct CategorySummary {
    pub category: String,
    pub benchmarks: usize,
    pub geomean_speedup: f64,
}

pub struct Options {
    pub resamples: usize,
    pub seed: u64,
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
    for s in [a, b] {
        if !s.results.host.virtualization.is_empty() {
            warnings.push(format!(
                "{} ran under virtualization ({}): {}",
                s.label,
                s.results.host.virtualization,
                if s.results.host.virtualization.starts_with("qemu") {
                    "an emulator's speed is not the hardware's"
                } else {
                    "neighbours and the hypervisor add noise"
                }
            ));
        }
        if s.results.settings.quick {
            warnings.push(format!("{} is a --quick run (small sizes)", s.label));
        }
    }
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
        for (s, bench) in [(a, ba), (b, bb)] {
            if bench.samples.len() < MIN_REPS {
                w.push(format!(
                    "too few repetitions on {} ({} < {MIN_REPS})",
                    s.label,
                    bench.samples.len()
                ));
            }
            let cv = stats::cv(&bench.samples);
            if cv > MAX_CV {
                w.push(format!(
                    "high variance on {} (CV {:.1} % > {:.0} %)",
                    s.label,
                    cv * 100.0,
                    MAX_CV * 100.0
                ));
            }
        }
        let (ma, mb) = (ba.median(), bb.median());
        let ratio = mb / ma;
        let (lo, hi) =
            stats::bootstrap_ratio_ci(&ba.samples, &bb.samples, o.resamples, o.seed, 0.95);
        let mwu = stats::mann_whitney_u(&ba.samples, &bb.samples);
        let speedup = if ba.higher_is_better {
            ratio
        } else {
            1.0 / ratio
        };
        let significant = mwu.p_value < ALPHA && (hi < 1.0 || lo > 1.0);
        let verdict = match (significant, speedup > 1.0) {
            (false, _) => "no significant difference",
            (true, true) => "faster",
            (true, false) => "slower",
        };
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
            p_value: mwu.p_value,
            u_statistic: mwu.u1,
            test_method: mwu.method,
            verdict,
            cv_a: stats::cv(&ba.samples),
            cv_b: stats::cv(&bb.samples),
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
    let summary = summarize(&rows);
    Comparison {
        schema: COMPARE_SCHEMA,
        a: info(a),
        b: info(b),
        rows,
        summary,
        warnings,
        method: Method {
            ratio: "median_b / median_a",
            ci: format!(
                "95 % percentile bootstrap of the ratio of medians, {} resamples, ChaCha8 seed {}",
                o.resamples, o.seed
            ),
            test: "Mann-Whitney U, two-sided; exact without ties for n <= 8, else normal approximation with tie and continuity correction (scipy's method=\"auto\")",
            verdict: format!(
                "B against A: faster/slower when p < {ALPHA} and the interval excludes 1"
            ),
        },
    }
}

fn info(s: &Side) -> SideInfo {
    SideInfo {
        label: s.label.clone(),
        origin: s.origin.clone(),
        started_at: s.results.started_at.clone(),
        suite_version: s.results.suite.version.clone(),
        agent_version: s.results.agent_version.clone(),
        quick: s.results.settings.quick,
        host: s.results.host.clone(),
    }
}

fn summarize(rows: &[Row]) -> Summary {
    let mut cats: Vec<String> = Vec::new();
    for r in rows {
        if !cats.contains(&r.category) {
            cats.push(r.category.clone());
        }
    }
    let categories = cats
        .into_iter()
        .map(|c| {
            let v: Vec<f64> = rows
                .iter()
                .filter(|r| r.category == c)
                .map(|r| r.speedup)
                .collect();
            CategorySummary {
                benchmarks: v.len(),
                geomean_speedup: stats::geomean(&v),
                category: c,
            }
        })
        .collect();
    let all: Vec<f64> = rows.iter().map(|r| r.speedup).collect();
    Summary {
        geomean_speedup: if all.is_empty() {
            f64::NAN
        } else {
            stats::geomean(&all)
        },
        categories,
    }
}

/// "1.23× faster", "1.05× slower", "no significant difference (1.01×)".
pub fn verdict_text(r: &Row) -> String {
    let x = if r.speedup >= 1.0 {
        r.speedup
    } else {
        1.0 / r.speedup
    };
    match r.verdict {
        "faster" => format!("{x:.2}× faster"),
        "slower" => format!("{x:.2}× slower"),
        _ => "no significant difference".into(),
    }
}

/// A short PMU context: `IPC 1.52, 3.1 cache-MPKI`, or why there is none.
pub fn pmu_text(p: &Pmu) -> String {
    let mut parts = Vec::new();
    if let Some(ipc) = p.ipc {
        parts.push(format!("IPC {ipc:.2}"));
    }
    if let Some(m) = p.cache_mpki {
        parts.push(format!("{m:.1} cache-MPKI"));
    } else if let Some(m) = p.per_op.get("cache_misses") {
        parts.push(format!("{} cache-miss/op", super::report_table::num(*m)));
    }
    if parts.is_empty()
        && let Some(c) = p.per_op.get("cycles")
    {
        parts.push(format!("{} cycles/op", super::report_table::num(*c)));
    }
    if parts.is_empty() {
        return if p.unavailable.is_empty() {
            "n/a".into()
        } else {
            "n/a (no PMU)".into()
        };
    }
    parts.join(", ")
}
