//! `agent bench calibrate`: the machine's run-to-run spread. Whole runs of the suite made
//! one after another on one machine are compared with each other (A/A); the largest
//! difference their intervals cannot rule out is the benchmark's spread here. It is
//! stored per host in the results directory (`calibration/<goarch>-<host>.json`); `agent
//! bench run` carries it in its document, and compare widens its band to it.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::compare::{Options, sample_unit};
use super::schema::Results;
use super::stats;

pub const CALIBRATION_SCHEMA: &str = "archscope.bench.calibration/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    pub schema: String,
    pub hostname: String,
    pub goarch: String,
    /// RFC 3339, when the last run ended.
    pub made_at: String,
    pub suite_version: String,
    /// The settings the runs had: a run with other settings does not use this spread.
    pub quick: bool,
    pub repetitions: u32,
    pub rounds: u32,
    /// `started_at` of each run compared.
    pub runs: Vec<String>,
    /// Benchmark → spread as a fraction (0.07 is 7 %): over every pair of runs, the
    /// farthest bound of the 95 % interval of their ratio, away from 1.
    pub spread: BTreeMap<String, f64>,
}

/// What a results document carries of the calibration it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carried {
    pub file: String,
    pub made_at: String,
    pub runs: u32,
    pub spread: BTreeMap<String, f64>,
}

/// Where the calibration of a host is kept in a results directory.
pub fn file_for(dir: &Path, goarch: &str, hostname: &str) -> PathBuf {
    let clean: String = hostname
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join("calibration")
        .join(format!("{goarch}-{clean}.json"))
}

/// The spread of each benchmark over the runs (at least two, same machine and settings).
pub fn measure(runs: &[Results], o: &Options, made_at: String) -> Result<Calibration, String> {
    let [first, ..] = runs else {
        return Err("calibrate: no runs".into());
    };
    if runs.len() < 2 {
        return Err("calibrate: needs two runs or more to compare".into());
    }
    let mut spread: BTreeMap<String, f64> = BTreeMap::new();
    for (i, a) in runs.iter().enumerate() {
        for b in &runs[i + 1..] {
            let use_rounds = a.sampling.rounds > 1 && b.sampling.rounds > 1;
            for ba in &a.benchmarks {
                let Some(bb) = b.benchmark(&ba.name) else {
                    continue;
                };
                let (sa, sb) = (
                    sample_unit(ba, a, use_rounds),
                    sample_unit(bb, b, use_rounds),
                );
                let (lo, hi) = stats::bootstrap_ratio_ci(&sa, &sb, o.resamples, o.seed, 0.95);
                let far = hi.ln().max(-lo.ln()).max(0.0).exp() - 1.0;
                let s = spread.entry(ba.name.clone()).or_insert(0.0);
                *s = s.max(far);
            }
        }
    }
    Ok(Calibration {
        schema: CALIBRATION_SCHEMA.into(),
        hostname: first.host.hostname.clone(),
        goarch: first.host.goarch.clone(),
        made_at,
        suite_version: first.suite.version.clone(),
        quick: first.settings.quick,
        repetitions: first.settings.repetitions,
        rounds: first.sampling.rounds,
        runs: runs.iter().map(|r| r.started_at.clone()).collect(),
        spread,
    })
}

impl Calibration {
    pub fn save(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = file_for(dir, &self.goarch, &self.hostname);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }

    pub fn read(path: &Path) -> Result<Calibration, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let c: Calibration =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if c.schema != CALIBRATION_SCHEMA {
            return Err(format!(
                "{}: schema: `{}` is not {CALIBRATION_SCHEMA}",
                path.display(),
                c.schema
            ));
        }
        Ok(c)
    }

    /// Why this calibration does not describe a run with these results' settings, if so.
    pub fn mismatch(&self, r: &Results) -> Option<String> {
        let want = (
            &r.host.hostname,
            &r.suite.version,
            r.settings.quick,
            r.settings.repetitions,
            r.sampling.rounds,
        );
        let have = (
            &self.hostname,
            &self.suite_version,
            self.quick,
            self.repetitions,
            self.rounds,
        );
        (want != have).then(|| {
            format!(
                "made for host {}, suite {}, quick {}, {} repetitions × {} rounds; this run is \
                 host {}, suite {}, quick {}, {} × {}",
                have.0, have.1, have.2, have.3, have.4, want.0, want.1, want.2, want.3, want.4
            )
        })
    }
}

/// The calibration for a run, from `dir`: none when there is none, or when it was made
/// with other settings (logged, so the user knows to calibrate again).
pub fn find(dir: &Path, r: &Results) -> Option<Carried> {
    let path = file_for(dir, &r.host.goarch, &r.host.hostname);
    if !path.exists() {
        return None;
    }
    let c = match Calibration::read(&path) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("calibration not used: {e}");
            return None;
        }
    };
    if let Some(why) = c.mismatch(r) {
        tracing::warn!(
            "calibration {} not used: {why} (run `agent bench calibrate` with this run's settings)",
            path.display()
        );
        return None;
    }
    Some(Carried {
        file: path.display().to_string(),
        made_at: c.made_at,
        runs: c.runs.len() as u32,
        spread: c.spread,
    })
}

/// What the suite can tell apart on this machine, one line per benchmark.
pub fn text(c: &Calibration, margin: f64) -> String {
    let mut out = format!(
        "calibration of {} ({}), {} runs compared pairwise:\n",
        c.hostname,
        c.goarch,
        c.runs.len()
    );
    out.push_str(&format!(
        "  {:<22} {:>10}  {:>12}\n",
        "benchmark", "spread", "detectable"
    ));
    for (name, s) in &c.spread {
        out.push_str(&format!(
            "  {:<22} {:>10}  {:>12}\n",
            name,
            format!("{:.1} %", s * 100.0),
            format!("> {:.1} %", s.max(margin) * 100.0)
        ));
    }
    out.push_str(&format!(
        "a difference smaller than the larger of the spread and the margin ({:.0} %) reads \
         \"equivalent\", never \"faster\" or \"slower\"\n",
        margin * 100.0
    ));
    out
}
