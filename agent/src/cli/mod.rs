//! Command line: one file per verb.
pub mod bench;
pub mod check;
pub mod install;
pub mod node;
pub mod run;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Overrides;

#[derive(Debug, Parser)]
#[command(
    name = "agent",
    version,
    about = "archscope: eBPF observability for mixed-architecture clusters"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Load the eBPF programs and serve Prometheus metrics
    Run(RunArgs),
    /// Preflight: can the agent run here, and which features will work?
    Check(CheckArgs),
    /// What this node is: architecture, CPU, topology, caches, NUMA, OS
    Node(node::NodeArgs),
    /// Benchmarks to compare architectures: run, compare, overhead
    Bench(bench::BenchArgs),
    /// Deployment files: Kubernetes manifests, the systemd unit
    Install(install::InstallArgs),
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// TOML config file (keys as the long flags, with `_` for `-`)
    #[arg(long, short = 'c', env = "ARCHSCOPE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}
