//! archscope's agent as a library: the `agent` binary (src/main.rs) and the fuzz targets
//! (tests/fuzz) use it.
pub mod arch;
pub mod bench;
pub mod btf;
pub mod cli;
pub mod collect;
pub mod config;
pub mod errors;
pub mod export;
pub mod features;
pub mod identity;
pub mod mounts;
pub mod node;
pub mod pmu;
pub mod privileges;
pub mod probes;
pub mod server;
pub mod tracefs;

/// Bad input or missing privilege: one line, exit status 2 (one type with the suite's).
pub use archscope_bench::UsageError;

impl From<config::ConfigError> for UsageError {
    fn from(e: config::ConfigError) -> Self {
        UsageError(e.to_string())
    }
}

pub fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
