//! `agent bench` as the agent holds it: the suite itself is the archscope-bench crate
//! (bench/), re-exported here; this module adds what needs the agent: the running agent
//! serves the latest results (HTTP API and `archscope_bench_*` series) through [`Latest`],
//! the host identity of a run, comparison across a cluster, and the agent's own overhead.
pub mod cluster;
pub mod host;
pub mod overhead;
mod overhead_sched;
#[cfg(test)]
mod tests;
mod three_ways;
pub mod workload;

pub use archscope_bench::{
    calibration, compare, report_html, report_markdown, report_table, runner, schema, stats, suite,
    workloads_os,
};

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use crate::collect::model::{Family, Series, Value, label};
use crate::collect::names;
use schema::Results;

/// The results directory as the running agent sees it: the newest document (re-read when
/// the directory changes) and at most one run at a time.
pub struct Latest {
    pub dir: PathBuf,
    pub host_root: PathBuf,
    cache: Mutex<Option<(SystemTime, Option<Results>)>>,
    pub running: tokio::sync::Mutex<()>,
}

impl Latest {
    pub fn new(dir: PathBuf, host_root: PathBuf) -> Latest {
        Latest {
            dir,
            host_root,
            cache: Mutex::new(None),
            running: tokio::sync::Mutex::new(()),
        }
    }

    /// The newest results in the directory, if any.
    pub fn get(&self) -> Option<Results> {
        let stamp = std::fs::metadata(&self.dir)
            .and_then(|m| m.modified())
            .ok()?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, r)) = cache.as_ref()
            && *t == stamp
        {
            return r.clone();
        }
        let r = schema::latest_in(&self.dir, None)
            .ok()
            .flatten()
            .map(|(_, r)| r);
        *cache = Some((stamp, r.clone()));
        r
    }

    /// `archscope_bench_*` series of the newest results (none without results).
    pub fn families(&self) -> Vec<Family> {
        self.get().map(|r| families(&r)).unwrap_or_default()
    }
}

pub fn families(r: &Results) -> Vec<Family> {
    let arch = label(r.host.goarch.as_str());
    let fam = |def: &names::MetricDef, series: Vec<Series>| Family {
        series,
        ..def.family_empty()
    };
    let per = |f: &dyn Fn(&schema::Benchmark) -> Option<f64>, with_unit: bool| {
        r.benchmarks
            .iter()
            .filter_map(|b| {
                let mut labels = vec![
                    ("benchmark", label(b.name.as_str())),
                    ("arch", arch.clone()),
                ];
                if with_unit {
                    labels.push(("unit", label(b.unit.as_str())));
                    labels.push((
                        "higher_is_better",
                        label(if b.higher_is_better { "true" } else { "false" }),
                    ));
                }
                f(b).map(|v| Series {
                    labels,
                    value: Value::Gauge(v),
                })
            })
            .collect::<Vec<_>>()
    };
    let started = humantime::parse_rfc3339(&r.started_at)
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64());
    vec![
        fam(&names::BENCH_MEDIAN, per(&|b| Some(b.median()), true)),
        fam(
            &names::BENCH_CV,
            per(&|b| Some(stats::cv(&b.samples)), false),
        ),
        fam(
            &names::BENCH_REPETITIONS,
            per(&|b| Some(b.samples.len() as f64), false),
        ),
        fam(&names::BENCH_IPC, per(&|b| b.pmu.ipc, false)),
        fam(&names::BENCH_CACHE_MPKI, per(&|b| b.pmu.cache_mpki, false)),
        fam(
            &names::BENCH_RUN_TIMESTAMP,
            vec![Series {
                labels: vec![
                    ("arch", arch.clone()),
                    ("suite_version", label(r.suite.version.as_str())),
                    ("host", label(r.host.hostname.as_str())),
                ],
                value: Value::Gauge(started),
            }],
        ),
    ]
}
