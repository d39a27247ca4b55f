//! `agent bench run | calibrate | compare | overhead | list`: the arguments, and the verbs
//! that fit in a few lines; running (`run.rs`) and comparing (`compare.rs`) have files.
mod compare;
mod run;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use crate::bench::{overhead, suite};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Run the suite (or the named benchmarks) and store one results document
    Run(RunArgs),
    /// Measure this machine's run-to-run spread: run the suite twice (or --runs times),
    /// compare the runs (A/A) and store the spread for later runs on this host
    Calibrate(CalibrateArgs),
    /// Compare two architectures (amd64, arm64, loong64, sw64), results files or directories
    Compare(CompareArgs),
    /// The agent's own cost: getppid untraced and traced, ns per syscall and the ratio
    Overhead(OverheadArgs),
    /// The benchmarks of the suite, with their units and versions
    List,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunOutput {
    Text,
    Json,
}

/// What a run is: which benchmarks, how many samples taken how; shared by run and
/// calibrate.
#[derive(Debug, clap::Args)]
pub struct SuiteArgs {
    /// Benchmarks by name or group (`memory`, `kernel`, `http.ping`); repeat or separate
    /// with commas [default: all]
    #[arg(
        long = "bench",
        short = 'b',
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub bench: Vec<String>,
    /// Small sizes and 5 repetitions: a run of seconds, for a first look and for CI
    #[arg(long)]
    pub quick: bool,
    /// Measured repetitions per benchmark in each round [default: 9, 5 with --quick]
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repetitions: Option<u32>,
    /// Unmeasured repetitions of each benchmark at the start of each round
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub warmup: u32,
    /// Independent rounds, each with its workloads prepared afresh; with 4 or more on
    /// both sides, compare takes each round's median as one sample
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: u32,
    /// Pause between rounds (e.g. 30s, 2m)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub pause: Duration,
    /// Pin the run (every thread it starts) to this CPU
    #[arg(long, value_name = "CPU")]
    pub pin: Option<u32>,
    /// Where results documents are stored [default: /var/lib/archscope/bench as root,
    /// else ~/.local/state/archscope/bench]
    #[arg(long, env = "ARCHSCOPE_BENCH_RESULTS_DIR", value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// The host's root directory, for the host identity
    #[arg(
        long,
        env = "ARCHSCOPE_HOST_ROOT",
        value_name = "DIR",
        default_value = "/"
    )]
    pub host_root: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// Seed of the shuffled order of repetitions [default: from the clock]
    #[arg(long, value_name = "N")]
    pub order_seed: Option<u64>,
    /// Do not store the document (print it with --output json)
    #[arg(long)]
    pub no_save: bool,
    /// `json` prints the results document on stdout
    #[arg(long, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
}

#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// Whole runs to compare with each other
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(2..=20))]
    pub runs: u32,
    /// Pause between the runs (e.g. 30s)
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub between: Duration,
    /// The margin the detectable differences are printed against, in percent
    #[arg(long, value_name = "PERCENT", default_value = "5", value_parser = margin)]
    pub margin: f64,
    /// Compare the results documents in DIR (e.g. an earlier calibration's
    /// `calibration/runs`) instead of running the suite
    #[arg(long, value_name = "DIR")]
    pub from: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Markdown,
    Json,
    Html,
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Side A: architecture (amd64/x86_64, arm64/aarch64, loong64/loongarch64, sw64/sw_64),
    /// results file or directory
    pub a: String,
    /// Side B, as A; the verdicts say how B does against A
    pub b: String,
    #[arg(long, env = "ARCHSCOPE_BENCH_RESULTS_DIR", value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write the report to this file instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Bootstrap resamples for the confidence intervals
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub resamples: u64,
    /// Seed of the bootstrap's generator (same seed, same intervals)
    #[arg(long, default_value_t = 0x5EED)]
    pub seed: u64,
    /// The equivalence band in percent: a difference inside it reads "equivalent", never
    /// faster or slower; a side's calibrated spread widens it
    #[arg(long, value_name = "PERCENT", default_value = "5", value_parser = margin)]
    pub margin: f64,
    /// Colour in the table: auto (on a terminal), always, never
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
    /// A and B are architectures: take them from agents across the cluster
    #[arg(long)]
    pub cluster: bool,
    /// An agent's base URL (repeatable), e.g. http://10.0.0.7:9435
    #[arg(long = "agent", value_name = "URL")]
    pub agents: Vec<String>,
    /// Do not ask the Kubernetes API (use only --agent)
    #[arg(long)]
    pub no_kubernetes: bool,
    /// Namespace of the agent's pods
    #[arg(long, default_value = "archscope")]
    pub namespace: String,
    /// Label selector of the agent's pods
    #[arg(long, default_value = "app.kubernetes.io/name=archscope")]
    pub selector: String,
    /// The agents' HTTP port
    #[arg(long, default_value_t = 9435)]
    pub port: u16,
    /// Ask the agents to run the suite now (with --quick: the short one)
    #[arg(long)]
    pub run: bool,
    #[arg(long)]
    pub quick: bool,
    /// Per-agent timeout (e.g. 30s, 20m)
    #[arg(long, default_value = "30m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Compare a live workload (`<namespace>/<workload>`, as the agents label its pods)
    /// across the architectures A and B, instead of benchmark results
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub workload: Option<String>,
    /// With --workload: read the agents' series from this Prometheus server's HTTP API
    /// (e.g. http://prometheus:9090); without it the agents are read directly
    #[arg(long, value_name = "URL")]
    pub prometheus: Option<String>,
    /// With --workload: how far back (Prometheus) or how long to read the agents
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = humantime::parse_duration)]
    pub window: Duration,
    /// With --workload and --prometheus: where the window ends, RFC 3339
    /// (2026-12-04T15:00:00Z) or Unix seconds [default: now]
    #[arg(long, value_name = "TIME", value_parser = end_time)]
    pub end: Option<f64>,
    /// With --workload: the length of one window, one sample per pod [default: a twelfth
    /// of --window, 5m for 1h]
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub step: Option<Duration>,
    /// With --workload and --prometheus: the workload's request rate per pod, a PromQL
    /// expression with a `pod` label and `$step` for its range, e.g.
    /// 'sum by (pod) (rate(http_requests_total{namespace="shop"}[$step]))'
    #[arg(long, value_name = "PROMQL")]
    pub rate_query: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct OverheadArgs {
    /// The syscall mode to measure: full or counts
    #[arg(long, default_value = "full", value_parser = overhead_mode)]
    pub syscalls: crate::config::SyscallMode,
    /// Rounds of untraced, floor and traced loops
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub rounds: u32,
    /// getppid calls per round
    #[arg(long, default_value_t = 2_000_000, value_parser = clap::value_parser!(u64).range(1000..))]
    pub calls: u64,
    #[arg(long, env = "ARCHSCOPE_TRACEFS", value_name = "DIR")]
    pub tracefs: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
}

/// `5`, `5%`, `2.5 %` → 0.05, 0.05, 0.025; from 0 to 50 %.
pub fn margin(s: &str) -> Result<f64, String> {
    let n = s.trim().trim_end_matches('%').trim();
    match n.parse::<f64>() {
        Ok(v) if (0.0..=50.0).contains(&v) => Ok(v / 100.0),
        _ => Err(format!(
            "`{s}` is not a percentage from 0 to 50 (e.g. 5 or 2.5%)"
        )),
    }
}

/// RFC 3339 or Unix seconds → Unix seconds.
fn end_time(s: &str) -> Result<f64, String> {
    if let Ok(secs) = s.parse::<f64>() {
        return if secs.is_finite() && secs >= 0.0 {
            Ok(secs)
        } else {
            Err(format!("`{s}` is not a time"))
        };
    }
    humantime::parse_rfc3339_weak(s)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs_f64())
        .ok_or_else(|| format!("`{s}` is neither RFC 3339 (2026-12-04T15:00:00Z) nor Unix seconds"))
}

fn overhead_mode(s: &str) -> Result<crate::config::SyscallMode, String> {
    match crate::config::SyscallMode::parse(s).map_err(|e| e.to_string())? {
        crate::config::SyscallMode::Off => Err("off has nothing to measure: full or counts".into()),
        m => Ok(m),
    }
}

pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    crate::init_logging("warn");
    match args.command {
        BenchCommand::Run(a) => run::run(a),
        BenchCommand::Calibrate(a) => run::calibrate(a),
        BenchCommand::Compare(a) => compare::compare(a),
        BenchCommand::Overhead(a) => {
            let o = overhead::run(a.syscalls, a.rounds, a.calls, a.tracefs.as_deref())?;
            match a.output {
                RunOutput::Json => println!("{}", serde_json::to_string_pretty(&o)?),
                RunOutput::Text => print!("{}", overhead::text(&o)),
            }
            Ok(())
        }
        BenchCommand::List => {
            for d in suite::SUITE {
                for m in d.metrics {
                    println!(
                        "{:<22} v{}  {:<12} {:<8} {:<7} {}",
                        m.name,
                        d.version,
                        d.category,
                        m.unit,
                        if m.higher_is_better {
                            "higher"
                        } else {
                            "lower"
                        },
                        d.description
                    );
                }
            }
            Ok(())
        }
    }
}
