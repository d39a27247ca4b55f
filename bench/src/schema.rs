//! The results document: one self-describing JSON file per `agent bench run`, with a
//! versioned schema. Readers refuse documents of another major schema version and name the
//! field that is wrong in one line.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// `schema` of every results document; bump the number on an incompatible change.
pub const SCHEMA: &str = "archscope.bench.results/v2";
/// The schema before `sampling` and `calibration`: still read, as a sequential run.
pub const SCHEMA_V1: &str = "archscope.bench.results/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Results {
    pub schema: String,
    pub suite: Suite,
    pub agent_version: String,
    /// RFC 3339, UTC, when the run started.
    pub started_at: String,
    pub duration_seconds: f64,
    pub host: Host,
    pub settings: Settings,
    /// How the samples were taken (v1 documents: sequential, one round).
    #[serde(default)]
    pub sampling: Sampling,
    /// The machine's measured run-to-run spread, when `agent bench calibrate` left one
    /// for this host and these settings.
    #[serde(default)]
    pub calibration: Option<super::calibration::Carried>,
    pub benchmarks: Vec<Benchmark>,
}

/// How the repetitions were ordered in time: what compare needs to know to tell which
/// noise the samples carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sampling {
    /// `interleaved`: each pass runs one repetition of every benchmark, in an order
    /// shuffled per pass, so drift lands on all of them alike. `sequential`: all the
    /// repetitions of one benchmark, then the next (every v1 document).
    pub scheme: String,
    /// Independent rounds: the workloads are prepared afresh (buffers, threads, sockets)
    /// in each. A benchmark's `samples` hold rounds × `settings.repetitions` values,
    /// round by round.
    pub rounds: u32,
    /// The pause between rounds.
    pub pause_seconds: f64,
    /// The seed of the shuffled order (none for sequential runs).
    pub order_seed: Option<u64>,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            scheme: SEQUENTIAL.into(),
            rounds: 1,
            pause_seconds: 0.0,
            order_seed: None,
        }
    }
}

pub const INTERLEAVED: &str = "interleaved";
pub const SEQUENTIAL: &str = "sequential";

impl Sampling {
    /// "interleaved, 3 rounds × 9 repetitions, 30 s apart"
    pub fn describe(&self, repetitions: u32) -> String {
        let mut s = format!("{}, ", self.scheme);
        if self.rounds > 1 {
            s.push_str(&format!(
                "{} rounds × {repetitions} repetitions, {} s apart",
                self.rounds, self.pause_seconds
            ));
        } else {
            s.push_str(&format!("{repetitions} repetitions"));
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub hostname: String,
    /// `uname -m`: x86_64, aarch64, loongarch64, sw_64.
    pub arch: String,
    /// amd64, arm64, loong64, sw64 (the `kubernetes.io/arch` value).
    pub goarch: String,
    pub cpu_vendor: String,
    pub cpu_model: String,
    pub cpus: u32,
    pub sockets: u32,
    pub cores_per_socket: u32,
    pub threads_per_core: u32,
    /// Maximum frequency (cpufreq), else `cpu MHz` of cpuinfo; 0 when unknown.
    pub cpu_mhz: f64,
    pub numa_nodes: u32,
    pub l2_bytes: u64,
    pub l3_bytes: u64,
    pub memory_bytes: u64,
    pub kernel: String,
    pub os: String,
    /// Hypervisor or emulator as the kernel reports it (`hypervisor` cpu flag, DMI);
    /// empty on bare metal or when unknown.
    pub virtualization: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub quick: bool,
    pub repetitions: u32,
    pub warmup: u32,
    /// The CPU the run was pinned to, if any.
    pub pinned_cpu: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Benchmark {
    /// `syscall.getppid`, `memory.read`, …: stable across versions.
    pub name: String,
    /// Bumped whenever the workload changes so that its numbers change.
    pub version: u32,
    /// kernel, memory, compute, crypto, compression, network.
    pub category: String,
    pub unit: String,
    pub higher_is_better: bool,
    pub description: String,
    /// Sizes and counts that define one repetition.
    pub params: BTreeMap<String, serde_json::Value>,
    /// One value per measured repetition (warm-up excluded), in run order.
    pub samples: Vec<f64>,
    pub pmu: Pmu,
}

/// Hardware counters over the measured repetitions, per operation. Every event that the
/// PMU did not offer is in `unavailable` with the reason; none is ever reported as zero.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pmu {
    /// Event name → count per operation (cycles, instructions, cache_references,
    /// cache_misses, branch_misses).
    pub per_op: BTreeMap<String, f64>,
    /// Instructions per cycle, when both counted.
    pub ipc: Option<f64>,
    /// Cache misses per 1000 instructions, when both counted.
    pub cache_mpki: Option<f64>,
    /// Event name → why it could not be counted.
    pub unavailable: BTreeMap<String, String>,
}

impl Benchmark {
    pub fn median(&self) -> f64 {
        super::stats::median(&self.samples)
    }

    /// The median of each round, in order.
    pub fn round_medians(&self, rounds: u32) -> Vec<f64> {
        let per = (self.samples.len() / rounds.max(1) as usize).max(1);
        self.samples.chunks(per).map(super::stats::median).collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("{path}: {msg}")]
    Read { path: String, msg: String },
}

impl Results {
    /// Parse a results document; an error names the file and the field (serde's path).
    pub fn from_json(text: &str, origin: &str) -> Result<Results, SchemaError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| SchemaError::Read {
                path: origin.into(),
                msg: format!("not JSON: {e}"),
            })?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) if value.get("sampling").is_none() => {
                return Err(SchemaError::Read {
                    path: origin.into(),
                    msg: "sampling: missing".into(),
                });
            }
            Some(SCHEMA) | Some(SCHEMA_V1) => {}
            Some(other) => {
                return Err(SchemaError::Read {
                    path: origin.into(),
                    msg: format!("schema: `{other}` is not {SCHEMA}"),
                });
            }
            None => {
                return Err(SchemaError::Read {
                    path: origin.into(),
                    msg: "schema: missing (not an archscope bench results document)".into(),
                });
            }
        }
        let mut r: Results = serde_path(value).map_err(|msg| SchemaError::Read {
            path: origin.into(),
            msg,
        })?;
        // a v1 document is a v2 one of a sequential run without calibration (the defaults):
        // read, it is v2, and so it is served and written again
        if r.schema == SCHEMA_V1 {
            if r.sampling != Sampling::default() || r.calibration.is_some() {
                return Err(SchemaError::Read {
                    path: origin.into(),
                    msg: format!("schema: {SCHEMA_V1} has no sampling or calibration"),
                });
            }
            r.schema = SCHEMA.into();
        }
        if r.sampling.rounds == 0 {
            return Err(SchemaError::Read {
                path: origin.into(),
                msg: "sampling.rounds: 0 (a run has at least one round)".into(),
            });
        }
        for (i, b) in r.benchmarks.iter().enumerate() {
            if b.samples.len() % r.sampling.rounds as usize != 0 {
                return Err(SchemaError::Read {
                    path: origin.into(),
                    msg: format!(
                        "benchmarks[{i}].samples: {} values do not split into {} rounds ({})",
                        b.samples.len(),
                        r.sampling.rounds,
                        b.name
                    ),
                });
            }
            if b.samples.is_empty() {
                return Err(SchemaError::Read {
                    path: origin.into(),
                    msg: format!("benchmarks[{i}].samples: empty ({})", b.name),
                });
            }
            if let Some(v) = b.samples.iter().find(|v| !v.is_finite() || **v <= 0.0) {
                return Err(SchemaError::Read {
                    path: origin.into(),
                    msg: format!("benchmarks[{i}].samples: {v} is not a positive number"),
                });
            }
        }
        Ok(r)
    }

    pub fn read(path: &Path) -> Result<Results, SchemaError> {
        let text = std::fs::read_to_string(path).map_err(|e| SchemaError::Read {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        Results::from_json(&text, &path.display().to_string())
    }

    pub fn benchmark(&self, name: &str) -> Option<&Benchmark> {
        self.benchmarks.iter().find(|b| b.name == name)
    }

    /// `<goarch>-<hostname>-<started_at>.json`, safe as a file name.
    pub fn file_name(&self) -> String {
        let clean = |s: &str| {
            s.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        };
        format!(
            "{}-{}-{}.json",
            clean(&self.host.goarch),
            clean(&self.host.hostname),
            clean(&self.started_at)
        )
    }

    /// Write into `dir` (created if needed); returns the file.
    /// Two runs that start in the same second (quick ones, one after the other) get
    /// `-2`, `-3`… rather than one replacing the other.
    pub fn save(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let name = self.file_name();
        let stem = name.trim_end_matches(".json");
        let mut path = dir.join(&name);
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = dir.join(format!("{stem}-{n}.json"));
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_string_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }
}

/// Deserialize with the failing field's path in the message (`benchmarks[2].unit: …`).
fn serde_path(value: serde_json::Value) -> Result<Results, String> {
    // serde_json reports no path for a Value; walk the top-level fields ourselves so that
    // the common mistakes name their field.
    match serde_json::from_value::<Results>(value.clone()) {
        Ok(r) => Ok(r),
        Err(e) => {
            if let Some(list) = value.get("benchmarks").and_then(|b| b.as_array()) {
                for (i, b) in list.iter().enumerate() {
                    if let Err(e) = serde_json::from_value::<Benchmark>(b.clone()) {
                        return Err(format!("benchmarks[{i}]: {e}"));
                    }
                }
            }
            for (key, check) in [
                (
                    "host",
                    check::<Host> as fn(&serde_json::Value) -> Result<(), String>,
                ),
                ("suite", check::<Suite>),
                ("settings", check::<Settings>),
                ("sampling", check::<Sampling>),
            ] {
                if key == "sampling" && value.get(key).is_none() {
                    continue;
                }
                match value.get(key) {
                    Some(v) => check(v).map_err(|e| format!("{key}: {e}"))?,
                    None => return Err(format!("{key}: missing")),
                }
            }
            Err(e.to_string())
        }
    }
}

fn check<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<(), String> {
    serde_json::from_value::<T>(v.clone())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The newest results document in `dir` (by `started_at`), optionally of one architecture
/// (goarch). Unreadable files are skipped with a warning.
pub fn latest_in(dir: &Path, goarch: Option<&str>) -> Result<Option<(PathBuf, Results)>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut best: Option<(PathBuf, Results)> = None;
    for e in entries.flatten() {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Ok(r) = Results::read(&p) else {
            tracing::debug!("skipping {}: not a results document", p.display());
            continue;
        };
        if goarch.is_some_and(|g| g != r.host.goarch) {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(_, b)| r.started_at > b.started_at)
        {
            best = Some((p, r));
        }
    }
    Ok(best)
}

/// Where results go without `--results-dir`: `$ARCHSCOPE_BENCH_RESULTS_DIR`, else
/// /var/lib/archscope/bench for root, else `$XDG_STATE_HOME/archscope/bench`
/// (`~/.local/state/archscope/bench`).
pub fn default_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ARCHSCOPE_BENCH_RESULTS_DIR") {
        return d.into();
    }
    default_dir_without_env()
}

/// [`default_dir`] without the environment variable (the agent's config resolves that).
pub fn default_dir_without_env() -> PathBuf {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/archscope/bench");
    }
    std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(std::env::temp_dir)
        .join("archscope/bench")
}
