//! `agent`: parse the command line and dispatch; nothing else.
use std::process::ExitCode;

use archscope_agent::{UsageError, bench, cli, errors};
use clap::Parser;

fn main() -> ExitCode {
    // The child that `agent bench`'s process.spawn benchmark execs: exit at once.
    if std::env::var_os(bench::workloads_os::NOOP_ENV).is_some() {
        return ExitCode::SUCCESS;
    }
    // process.spawn's spawner: the forks, timed from a process of the agent's start size.
    if let Some(n) = std::env::var_os(bench::workloads_os::SPAWNER_ENV) {
        return ExitCode::from(bench::workloads_os::spawner_main(&n.to_string_lossy()));
    }
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version print and succeed; a bad flag is one line, exit 2.
            if !e.use_stderr() {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let text = e.render().to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("bad arguments");
            eprintln!(
                "agent: {} (see `agent --help`)",
                first.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        cli::Command::Run(a) => cli::run::run(a),
        cli::Command::Check(a) => cli::check::check(a),
        cli::Command::Node(a) => cli::node::node(a),
        cli::Command::Bench(a) => cli::bench::bench(a),
        cli::Command::Install(a) => cli::install::install(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(u) = e.downcast_ref::<UsageError>() {
                eprintln!("agent: {u}");
                ExitCode::from(2)
            } else if let Some(c) = e.downcast_ref::<cli::check::NotReady>() {
                eprintln!("agent: {c}");
                ExitCode::from(1)
            } else {
                eprintln!("agent: {}", errors::chain(e.as_ref()));
                ExitCode::from(1)
            }
        }
    }
}
