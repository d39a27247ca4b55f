//! Runs the selected workloads: optional CPU pinning, a warm-up, N measured repetitions
//! with hardware counters around each, progress on the terminal; builds the results
//! document.
use std::time::{Instant, SystemTime};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::pmu::Counters;
use super::schema::{Benchmark, Results, SCHEMA, Settings, Suite};
use super::suite::{Ctx, Def, SUITE_VERSION};

pub struct Options {
    pub quick: bool,
    pub repetitions: u32,
    pub warmup: u32,
    pub pin: Option<u32>,
    /// The machine the run is made on (the agent reads it: `bench::host`).
    pub host: super::schema::Host,
}

/// Progress: a bar on a terminal, a plain line per benchmark otherwise, or nothing.
pub enum Progress {
    Auto,
    Quiet,
}

/// Pin this thread (and so every thread and child it starts later) to one CPU.
fn pin(cpu: u32) -> anyhow::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_SET writes inside it; sched_setaffinity reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu as usize, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(crate::UsageError(format!(
                "pin: cannot pin to CPU {cpu}: {}",
                std::io::Error::last_os_error()
            ))
            .into());
        }
    }
    Ok(())
}

pub fn run(defs: &[&'static Def], o: &Options, progress: Progress) -> anyhow::Result<Results> {
    let host = o.host.clone();
    if let Some(cpu) = o.pin {
        pin(cpu)?;
    }
    let ctx = Ctx {
        quick: o.quick,
        llc_bytes: if host.l3_bytes > 0 {
            host.l3_bytes
        } else {
            host.l2_bytes
        },
    };
    let started = Instant::now();
    let started_at = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let total = defs.len() as u64 * u64::from(o.warmup + o.repetitions);
    let bar = match progress {
        Progress::Auto if std::io::IsTerminal::is_terminal(&std::io::stderr()) => {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            Some(b)
        }
        _ => None,
    };
    let plain = matches!(progress, Progress::Auto) && bar.is_none();
    let mut benchmarks = Vec::new();
    for (i, def) in defs.iter().enumerate() {
        if let Some(b) = &bar {
            b.set_message(def.name);
        }
        // Counters first, so that the threads the workload starts inherit them.
        let mut pmu = Counters::open();
        let (mut once, mut params) =
            (def.prepare)(&ctx).with_context(|| format!("{}: preparing", def.name))?;
        params.insert("op".into(), def.op.into());
        for _ in 0..o.warmup {
            once().with_context(|| format!("{}: warm-up", def.name))?;
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); def.metrics.len()];
        for _ in 0..o.repetitions {
            pmu.start();
            let rep = once();
            let rep = match rep {
                Ok(r) => r,
                Err(e) => {
                    pmu.stop(0.0);
                    return Err(e.context(format!("{}: repetition", def.name)));
                }
            };
            pmu.stop(rep.ops);
            for (s, v) in samples.iter_mut().zip(rep.values) {
                s.push(v);
            }
            if let Some(b) = &bar {
                b.inc(1);
            }
        }
        drop(once);
        let summary = pmu.summary();
        for (m, s) in def.metrics.iter().zip(samples) {
            let b = Benchmark {
                name: m.name.into(),
                version: def.version,
                category: def.category.into(),
                unit: m.unit.into(),
                higher_is_better: m.higher_is_better,
                description: def.description.into(),
                params: params.clone(),
                samples: s,
                pmu: summary.clone(),
            };
            let line = format!(
                "bench: [{}/{}] {:<22} median {:>10} {:<8} cv {:.1} %",
                i + 1,
                defs.len(),
                b.name,
                super::report_table::num(b.median()),
                b.unit,
                super::stats::cv(&b.samples) * 100.0
            );
            if let Some(bar) = &bar {
                bar.println(line);
            } else if plain {
                eprintln!("{line}");
            }
            benchmarks.push(b);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(Results {
        schema: SCHEMA.into(),
        suite: Suite {
            name: "archscope-bench".into(),
            version: SUITE_VERSION.into(),
        },
        agent_version: env!("CARGO_PKG_VERSION").into(),
        started_at,
        duration_seconds: (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        host,
        settings: Settings {
            quick: o.quick,
            repetitions: o.repetitions,
            warmup: o.warmup,
            pinned_cpu: o.pin,
        },
        benchmarks,
    })
}
