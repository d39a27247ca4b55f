//! `agent bench run` and `agent bench calibrate`.
use std::path::{Path, PathBuf};

use super::{CalibrateArgs, RunArgs, RunOutput, SuiteArgs};
use crate::UsageError;
use crate::bench::calibration::{self, Calibration};
use crate::bench::schema::Results;
use crate::bench::suite::Def;
use crate::bench::{compare, runner, schema, suite};

/// The run a `SuiteArgs` describes: the benchmarks, the options and the results directory.
fn plan(
    a: &SuiteArgs,
    order_seed: Option<u64>,
) -> anyhow::Result<(Vec<&'static Def>, runner::Options, PathBuf)> {
    let defs = suite::select(&a.bench).map_err(UsageError)?;
    if let Some(cpu) = a.pin {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpu as usize >= n {
            return Err(UsageError(format!(
                "pin: CPU {cpu} is not one of this machine's 0..{n}"
            ))
            .into());
        }
    }
    let opts = runner::Options {
        quick: a.quick,
        repetitions: a.repetitions.unwrap_or(if a.quick { 5 } else { 9 }),
        warmup: a.warmup,
        rounds: a.rounds,
        pause: a.pause,
        order_seed: order_seed.unwrap_or_else(runner::clock_seed),
        pin: a.pin,
        host: anyhow::Context::context(crate::bench::host::read(&a.host_root), "host identity")?,
    };
    let dir = a.results_dir.clone().unwrap_or_else(schema::default_dir);
    Ok((defs, opts, dir))
}

/// One run, carrying this host's calibration when there is one for its settings.
fn run_once(defs: &[&'static Def], opts: &runner::Options, dir: &Path) -> anyhow::Result<Results> {
    let mut results = runner::run(defs, opts, runner::Progress::Auto)?;
    results.calibration = calibration::find(dir, &results);
    if let Some(c) = &results.calibration {
        eprintln!(
            "bench: this host's calibration of {} ({}) goes with the results",
            c.made_at, c.file
        );
    }
    Ok(results)
}

pub fn run(a: RunArgs) -> anyhow::Result<()> {
    let (defs, opts, dir) = plan(&a.suite, a.order_seed)?;
    let results = run_once(&defs, &opts, &dir)?;
    if !a.no_save {
        let path = results
            .save(&dir)
            .map_err(|e| UsageError(format!("results-dir: cannot write {}: {e}", dir.display())))?;
        eprintln!("bench: results in {}", path.display());
    }
    if a.output == RunOutput::Json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    Ok(())
}

/// Runs the suite `--runs` times, one after another, and compares every pair (A/A): the
/// spread is what the machine makes of no difference at all. The runs are kept in
/// `calibration/runs/`, not with the results (they would stand for the host's latest run).
pub fn calibrate(a: CalibrateArgs) -> anyhow::Result<()> {
    let (defs, mut opts, dir) = plan(&a.suite, None)?;
    let mut runs = Vec::new();
    if let Some(from) = &a.from {
        runs = kept_runs(from)?;
    }
    for i in (0..a.runs).filter(|_| a.from.is_none()) {
        if i > 0 {
            std::thread::sleep(a.between);
        }
        eprintln!("bench calibrate: run {}/{}", i + 1, a.runs);
        opts.order_seed = runner::clock_seed();
        let r = runner::run(&defs, &opts, runner::Progress::Auto)?;
        let kept = dir.join("calibration/runs");
        r.save(&kept).map_err(|e| {
            UsageError(format!("results-dir: cannot write {}: {e}", kept.display()))
        })?;
        runs.push(r);
    }
    let made_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let o = compare::Options {
        resamples: 10_000,
        seed: 0x5EED,
        margin: a.margin,
    };
    let mut c: Calibration = calibration::measure(&runs, &o, made_at).map_err(UsageError)?;
    let path = c
        .save(&dir)
        .map_err(|e| UsageError(format!("results-dir: cannot write {}: {e}", dir.display())))?;
    print!("{}", calibration::text(&c, a.margin));
    eprintln!("bench: calibration in {}", path.display());
    Ok(())
}

/// Every results document in `dir`, oldest first (`calibrate --from`).
fn kept_runs(dir: &Path) -> anyhow::Result<Vec<Results>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| UsageError(format!("from: {}: {e}", dir.display())))?;
    let mut runs = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "json") {
            runs.push(Results::read(&p).map_err(|e| UsageError(format!("from: {e}")))?);
        }
    }
    runs.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    if runs.len() < 2 {
        return Err(UsageError(format!(
            "from: {} holds {} results documents; a calibration compares two or more",
            dir.display(),
            runs.len()
        ))
        .into());
    }
    Ok(runs)
}
