//! `agent bench calibrate`: the machine's run-to-run spread. Whole runs of the suite made
//! one after another on one machine are compared with each other (A/A); how far their
//! medians lie apart is the benchmark's spread here: the drift between runs that the
//! repetitions inside one run do not show (their own noise is in each interval already). It is
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
    pub warmup: u32,
    pub rounds: u32,
    /// `started_at` of each run compared.
    pub runs: Vec<String>,
    /// Benchmark → spread as a fraction (0.07 is 7 %): how far apart two runs' medians
    /// lie, |ln(ratio)| averaged over the pairs of runs (as a ratio, minus 1).
    pub spread: BTreeMap<String, f64>,
    /// Benchmark → the smallest difference compare can call here, as a fraction: the
    /// band (the spread, at least the margin calibrate was given) plus the half-width of
    /// a pair's interval, averaged over the pairs.
    #[serde(default)]
    pub detectable: BTreeMap<String, f64>,
}

/// What a calibration must share with a run to describe it.
#[derive(Debug, PartialEq)]
struct Settings<'a> {
    host: &'a str,
    suite: &'a str,
    quick: bool,
    repetitions: u32,
    warmup: u32,
    rounds: u32,
}

impl<'a> Settings<'a> {
    fn of(r: &'a Results) -> Self {
        Settings {
            host: &r.host.hostname,
            suite: &r.suite.version,
            quick: r.settings.quick,
            repetitions: r.settings.repetitions,
            warmup: r.settings.warmup,
            rounds: r.sampling.rounds,
        }
    }
}

impl std::fmt::Display for Settings<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "host {}, suite {}, quick {}, {} rounds × ({} warm-up + {} repetitions)",
            self.host, self.suite, self.quick, self.rounds, self.warmup, self.repetitions
        )
    }
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
    // per benchmark and pair of runs: |ln ratio of medians|, and the half-width of the
    // interval in logs; means over the pairs, so that more runs estimate them better
    let mut drift: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for (i, a) in runs.iter().enumerate() {
        for b in &runs[i + 1..] {
            let use_rounds = super::compare::rounds_compared(a, b);
            for ba in &a.benchmarks {
                let Some(bb) = b.benchmark(&ba.name) else {
                    continue;
                };
                let (sa, sb) = (
                    sample_unit(ba, a, use_rounds),
                    sample_unit(bb, b, use_rounds),
                );
                let apart = (stats::median(&sb) / stats::median(&sa)).ln().abs();
                let (lo, hi) = stats::bootstrap_ratio_ci(&sa, &sb, o.resamples, o.seed, 0.95);
                let half = (hi.ln() - lo.ln()) / 2.0;
                drift
                    .entry(ba.name.clone())
                    .or_default()
                    .push((apart, half));
            }
        }
    }
    let mut spread = BTreeMap::new();
    let mut detectable = BTreeMap::new();
    for (name, pairs) in drift {
        let apart: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let half: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let s = stats::mean(&apart).exp() - 1.0;
        let band = s.max(o.margin);
        detectable.insert(
            name.clone(),
            ((1.0 + band).ln() + stats::mean(&half)).exp() - 1.0,
        );
        spread.insert(name, s);
    }
    Ok(Calibration {
        schema: CALIBRATION_SCHEMA.into(),
        hostname: first.host.hostname.clone(),
        goarch: first.host.goarch.clone(),
        made_at,
        suite_version: first.suite.version.clone(),
        quick: first.settings.quick,
        repetitions: first.settings.repetitions,
        warmup: first.settings.warmup,
        rounds: first.sampling.rounds,
        runs: runs.iter().map(|r| r.started_at.clone()).collect(),
        spread,
        detectable,
    })
}

impl Calibration {
    fn settings(&self) -> Settings<'_> {
        Settings {
            host: &self.hostname,
            suite: &self.suite_version,
            quick: self.quick,
            repetitions: self.repetitions,
            warmup: self.warmup,
            rounds: self.rounds,
        }
    }

    /// Store it for its host. The spreads of benchmarks this calibration did not run are
    /// kept from the host's earlier one with the same settings (a `-b` subset does not
    /// erase the rest).
    pub fn save(&mut self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = file_for(dir, &self.goarch, &self.hostname);
        if let Ok(old) = Calibration::read(&path)
            && old.settings() == self.settings()
        {
            for (name, s) in old.spread {
                self.spread.entry(name).or_insert(s);
            }
            for (name, d) in old.detectable {
                self.detectable.entry(name).or_insert(d);
            }
        }
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
        let want = Settings::of(r);
        let have = self.settings();
        (want != have).then(|| format!("made for {have}; this run is {want}"))
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
        "  {:<22} {:>10} {:>8}  {:>12}\n",
        "benchmark", "spread", "band", "detectable"
    ));
    for (name, s) in &c.spread {
        let pct = |v: f64| format!("{:.1} %", v * 100.0);
        let d = c.detectable.get(name).copied().unwrap_or(f64::NAN);
        out.push_str(&format!(
            "  {:<22} {:>10} {:>8}  {:>12}\n",
            name,
            pct(*s),
            pct(s.max(margin)),
            format!("> {}", pct(d))
        ));
    }
    out.push_str(&format!(
        "spread: how far two runs' medians lie apart; band: the larger of it and the margin \
         ({:.0} %); compare calls a difference only when it is significant and its whole \
         interval lies beyond the band, so at this machine's noise only differences larger \
         than `detectable` can be called\n",
        margin * 100.0
    ));
    out
}
