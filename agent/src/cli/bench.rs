//! `agent bench run | compare | overhead | list`.
use std::path::PathBuf;
use std::time::Duration;

use crate::UsageError;
use crate::bench::{cluster, compare, overhead, report_html, report_markdown, report_table};
use crate::bench::{runner, schema, suite};

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Run the suite (or the named benchmarks) and store one results document
    Run(RunArgs),
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

#[derive(Debug, clap::Args)]
pub struct RunArgs {
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
    /// Measured repetitions per benchmark [default: 9, 5 with --quick]
    #[arg(long, short = 'n', value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repetitions: Option<u32>,
    /// Unmeasured repetitions before them
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub warmup: u32,
    /// Pin the run (every thread it starts) to this CPU
    #[arg(long, value_name = "CPU")]
    pub pin: Option<u32>,
    /// Where results documents are stored [default: /var/lib/archscope/bench as root,
    /// else ~/.local/state/archscope/bench]
    #[arg(long, env = "ARCHSCOPE_BENCH_RESULTS_DIR", value_name = "DIR")]
    pub results_dir: Option<PathBuf>,
    /// Do not store the document (print it with --output json)
    #[arg(long)]
    pub no_save: bool,
    /// `json` prints the results document on stdout
    #[arg(long, value_enum, default_value_t = RunOutput::Text)]
    pub output: RunOutput,
    /// The host's root directory, for the host identity
    #[arg(
        long,
        env = "ARCHSCOPE_HOST_ROOT",
        value_name = "DIR",
        default_value = "/"
    )]
    pub host_root: PathBuf,
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

fn overhead_mode(s: &str) -> Result<crate::config::SyscallMode, String> {
    match crate::config::SyscallMode::parse(s).map_err(|e| e.to_string())? {
        crate::config::SyscallMode::Off => Err("off has nothing to measure: full or counts".into()),
        m => Ok(m),
    }
}

pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    crate::init_logging("warn");
    match args.command {
        BenchCommand::Run(a) => run(a),
        BenchCommand::Compare(a) => compare_cmd(a),
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

fn run(a: RunArgs) -> anyhow::Result<()> {
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
        pin: a.pin,
        host: anyhow::Context::context(crate::bench::host::read(&a.host_root), "host identity")?,
    };
    let results = runner::run(&defs, &opts, runner::Progress::Auto)?;
    if !a.no_save {
        let dir = a.results_dir.unwrap_or_else(schema::default_dir);
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

fn compare_cmd(a: CompareArgs) -> anyhow::Result<()> {
    let dir = a.results_dir.clone().unwrap_or_else(schema::default_dir);
    let (sa, sb) = if a.cluster {
        let ga = compare::goarch(&a.a).ok_or_else(|| {
            UsageError(format!(
                "compare --cluster: `{}` is not an architecture",
                a.a
            ))
        })?;
        let gb = compare::goarch(&a.b).ok_or_else(|| {
            UsageError(format!(
                "compare --cluster: `{}` is not an architecture",
                a.b
            ))
        })?;
        cluster::sides(
            ga,
            gb,
            &cluster::ClusterOptions {
                agents: a.agents.clone(),
                no_kubernetes: a.no_kubernetes,
                namespace: a.namespace.clone(),
                selector: a.selector.clone(),
                port: a.port,
                run: a.run,
                quick: a.quick,
                timeout: a.timeout,
            },
        )?
    } else {
        compare::check_arg(&a.a)?;
        compare::check_arg(&a.b)?;
        (compare::resolve(&a.a, &dir)?, compare::resolve(&a.b, &dir)?)
    };
    let c = compare::compare(
        &sa,
        &sb,
        &compare::Options {
            resamples: a.resamples as usize,
            seed: a.seed,
        },
    );
    if c.rows.is_empty() {
        return Err(UsageError(format!(
            "compare: {} and {} have no benchmark in common",
            sa.origin, sb.origin
        ))
        .into());
    }
    let tty = a.output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let colour = match a.color.as_str() {
        "always" => true,
        "never" => false,
        _ => tty,
    };
    let text = match a.format {
        Format::Table => report_table::render(&c, colour),
        Format::Markdown => report_markdown::render(&c),
        Format::Json => serde_json::to_string_pretty(&c)? + "\n",
        Format::Html => report_html::render(&c),
    };
    match &a.output {
        Some(p) => {
            std::fs::write(p, text)
                .map_err(|e| UsageError(format!("output: cannot write {}: {e}", p.display())))?;
            eprintln!("bench: report in {}", p.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
