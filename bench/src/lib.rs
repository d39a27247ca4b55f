//! `agent bench`, the suite: workloads that measure a machine (syscalls, context switches,
//! memory, compute, hashing, compression, HTTP), self-describing results documents,
//! statistics for comparing two runs, and reports (table, Markdown, JSON, HTML). The
//! agent crate holds what needs the agent itself: the verb, serving results, comparing
//! across a cluster and measuring the agent's own overhead.
pub mod calibration;
pub mod compare;
#[cfg(test)]
#[path = "honesty_test.rs"]
mod honesty_test;
mod pmu;
pub mod report_html;
pub mod report_markdown;
pub mod report_table;
pub mod runner;
pub mod schema;
mod side;
pub mod stats;
pub mod suite;
pub mod testing;
#[cfg(test)]
mod tests;
pub mod verdict;
mod wording;
mod workloads_cpu;
mod workloads_http;
mod workloads_lib;
pub mod workloads_os;

/// Bad input or missing privilege: one line, exit status 2 (the agent's too).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl From<String> for UsageError {
    fn from(s: String) -> Self {
        UsageError(s)
    }
}
