//! Runs the selected workloads: optional CPU pinning, then rounds. A round prepares every
//! workload afresh (buffers, threads, sockets), warms each up, then makes passes: each
//! pass runs one repetition of every benchmark, in an order shuffled per pass, so that
//! drift during the run (frequency, neighbours, the host) lands on all benchmarks alike
//! instead of on the few that ran while it lasted. Hardware counters around each
//! repetition; progress on the terminal; the results document.
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

use super::pmu::{Counters, Tally};
use super::schema::{Benchmark, INTERLEAVED, Results, SCHEMA, Sampling, Settings, Suite};
use super::suite::{Ctx, Def, Rep, RunOnce, SUITE_VERSION};

pub struct Options {
    pub quick: bool,
    /// Measured repetitions of each benchmark per round.
    pub repetitions: u32,
    pub warmup: u32,
    pub rounds: u32,
    pub pause: Duration,
    /// The seed of the shuffled order (a run's own, from the clock, unless given).
    pub order_seed: u64,
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

/// A seed for the order that differs from run to run.
pub fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// The order of one pass: Fisher–Yates over `0..n`.
pub fn shuffled(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = ((u128::from(rng.next_u64()) * (i as u128 + 1)) >> 64) as usize;
        order.swap(i, j);
    }
    order
}

/// Every benchmark's run order in a run of `rounds` × (`warmup` + `repetitions`) passes:
/// `None` marks a warm-up pass. The runner follows it; the tests check it.
pub fn schedule(
    n: usize,
    rounds: u32,
    warmup: u32,
    repetitions: u32,
    seed: u64,
) -> Vec<(u32, Option<u32>, Vec<usize>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut passes = Vec::new();
    for round in 0..rounds {
        for _ in 0..warmup {
            passes.push((round, None, shuffled(n, &mut rng)));
        }
        for rep in 0..repetitions {
            passes.push((round, Some(rep), shuffled(n, &mut rng)));
        }
    }
    passes
}

struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new(progress: Progress, total: u64) -> (Bar, bool) {
        let bar = match progress {
            Progress::Auto if std::io::IsTerminal::is_terminal(&std::io::stderr()) => {
                let b = ProgressBar::new(total);
                b.set_style(
                    ProgressStyle::with_template(
                        "{spinner} [{bar:30}] {pos}/{len} {msg} ({elapsed})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                Some(b)
            }
            _ => None,
        };
        let plain = matches!(progress, Progress::Auto) && bar.is_none();
        (Bar(bar), plain)
    }

    /// The benchmark about to run.
    fn at(&self, msg: &'static str) {
        if let Some(b) = &self.0 {
            b.set_message(msg);
        }
    }

    fn inc(&self) {
        if let Some(b) = &self.0 {
            b.inc(1);
        }
    }

    fn line(&self, plain: bool, line: String) {
        match &self.0 {
            Some(b) => b.println(line),
            None if plain => eprintln!("{line}"),
            None => {}
        }
    }
}

type Params = std::collections::BTreeMap<String, serde_json::Value>;

/// One workload, prepared, with the parameters that define it.
fn prepare(def: &Def, ctx: &Ctx) -> anyhow::Result<(RunOnce, Params)> {
    let (once, mut p) = (def.prepare)(ctx).with_context(|| format!("{}: preparing", def.name))?;
    p.insert("op".into(), def.op.into());
    Ok((once, p))
}

/// The workloads of a round: the resident ones prepared once for it, the others (large
/// buffers) prepared for each repetition and dropped after it. Each workload's parameters
/// are kept from its first preparation.
struct Round<'a> {
    defs: &'a [&'static Def],
    ctx: &'a Ctx,
    resident: Vec<Option<RunOnce>>,
}

impl<'a> Round<'a> {
    fn new(
        defs: &'a [&'static Def],
        ctx: &'a Ctx,
        params: &mut [Option<Params>],
    ) -> anyhow::Result<Self> {
        let mut resident = Vec::new();
        for (def, slot) in defs.iter().zip(params.iter_mut()) {
            if !def.resident {
                resident.push(None);
                continue;
            }
            let (once, p) = prepare(def, ctx)?;
            slot.get_or_insert(p);
            resident.push(Some(once));
        }
        Ok(Round {
            defs,
            ctx,
            resident,
        })
    }

    /// A fresh instance of benchmark `i` when it is not resident: prepared before its
    /// counters start, so that they count the repetition alone.
    fn fresh(&self, i: usize, params: &mut Option<Params>) -> anyhow::Result<Option<RunOnce>> {
        if self.resident[i].is_some() {
            return Ok(None);
        }
        let (once, p) = prepare(self.defs[i], self.ctx)?;
        params.get_or_insert(p);
        Ok(Some(once))
    }

    /// Run benchmark `i` once: the fresh instance, or else its resident one.
    fn run(&mut self, i: usize, fresh: &mut Option<RunOnce>) -> anyhow::Result<Rep> {
        match (fresh.as_mut(), self.resident[i].as_mut()) {
            (Some(once), _) | (None, Some(once)) => once(),
            (None, None) => anyhow::bail!("{}: not prepared", self.defs[i].name),
        }
    }
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
    let passes = schedule(defs.len(), o.rounds, o.warmup, o.repetitions, o.order_seed);
    let (bar, plain) = Bar::new(progress, (passes.len() * defs.len()) as u64);
    anyhow::ensure!(
        o.rounds >= 1 && o.repetitions >= 1,
        "a run has at least one round and one repetition"
    );
    // Counters before any workload is prepared, so that the threads each starts inherit
    // them; they count only while a repetition runs, into its benchmark's tally.
    let mut pmu = Counters::open();
    let mut tallies: Vec<Tally> = defs.iter().map(|_| Tally::default()).collect();
    let mut params: Vec<Option<Params>> = vec![None; defs.len()];
    let mut samples: Vec<Vec<Vec<f64>>> = defs
        .iter()
        .map(|d| vec![Vec::new(); d.metrics.len()])
        .collect();
    let mut round: Option<(u32, Round)> = None;
    for (r, rep, order) in &passes {
        if round.as_ref().is_none_or(|(n, _)| n != r) {
            // the previous round's buffers and threads go before the next ones are made
            drop(round.take());
            if *r > 0 {
                bar.line(plain, format!("bench: round {r}/{} done", o.rounds));
                std::thread::sleep(o.pause);
            }
            round = Some((*r, Round::new(defs, &ctx, &mut params)?));
        }
        let Some((_, workloads)) = round.as_mut() else {
            unreachable!("a round was just prepared")
        };
        for &i in order {
            let def = defs[i];
            bar.at(def.name);
            let mut fresh = workloads.fresh(i, &mut params[i])?;
            match rep {
                None => {
                    workloads
                        .run(i, &mut fresh)
                        .with_context(|| format!("{}: warm-up", def.name))?;
                }
                Some(_) => {
                    pmu.start();
                    let out = match workloads.run(i, &mut fresh) {
                        Ok(out) => out,
                        Err(e) => {
                            pmu.stop(&mut tallies[i], 0.0);
                            return Err(e.context(format!("{}: repetition", def.name)));
                        }
                    };
                    pmu.stop(&mut tallies[i], out.ops);
                    for (s, v) in samples[i].iter_mut().zip(out.values) {
                        s.push(v);
                    }
                }
            }
            bar.inc();
        }
    }
    drop(round);
    let mut benchmarks = Vec::new();
    for (i, def) in defs.iter().enumerate() {
        let summary = pmu.summary(&tallies[i]);
        for (m, s) in def.metrics.iter().zip(std::mem::take(&mut samples[i])) {
            let b = Benchmark {
                name: m.name.into(),
                version: def.version,
                category: def.category.into(),
                unit: m.unit.into(),
                higher_is_better: m.higher_is_better,
                description: def.description.into(),
                params: params[i].clone().unwrap_or_default(),
                samples: s,
                pmu: summary.clone(),
            };
            bar.line(
                plain,
                format!(
                    "bench: {:<22} median {:>10} {:<8} cv {:.1} %",
                    b.name,
                    super::report_table::num(b.median()),
                    b.unit,
                    super::stats::cv(&b.samples) * 100.0
                ),
            );
            benchmarks.push(b);
        }
    }
    if let Some(b) = bar.0 {
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
        sampling: Sampling {
            scheme: INTERLEAVED.into(),
            rounds: o.rounds,
            pause_seconds: o.pause.as_secs_f64(),
            order_seed: Some(o.order_seed),
        },
        calibration: None,
        benchmarks,
    })
}
