//! The five boards. Metric names: agent/src/collect/names/ (syscalls, identity, health);
//! network (`archscope_network_io_bytes_total`, `archscope_tcp_*`), PMU (`archscope_cpu_*`,
//! `archscope_cgroup_cpu_*` hardware counters, `archscope_pmu_counter_available`),
//! sensors and bench (`archscope_bench_*`) follow the same pattern for features on their
//! way; tests/tests/dashboards/main.rs lists the panels that wait for them.
use super::Kind::Timeseries;
use super::{Board, Panel, panel};

const NODE: &str = r#"instance=~"$node""#;
const POD: &str = r#"instance=~"$node", namespace=~"$namespace", pod=~"$pod""#;
const CONTAINER: &str =
    r#"instance=~"$node", namespace=~"$namespace", pod=~"$pod", container=~"$container""#;
/// Carries a node's `arch` onto per-instance series.
const BY_ARCH: &str = r#"* on (instance) group_left (arch) archscope_node_info{arch=~"$arch"}"#;

/// Payload bytes per protocol and direction (`archscope_network_io_bytes_total`).
const IO: &str = "archscope_network_io_bytes_total";

fn traffic(sel: &str, protocol: &str, direction: &str) -> String {
    format!(r#"{sel}, protocol="{protocol}", direction="{direction}""#)
}

fn rate(metric: &str, sel: &str) -> String {
    format!("rate({metric}{{{sel}}}[$__rate_interval])")
}

fn p(q: &str, sel: &str, by: &str) -> String {
    quantile("archscope_syscall_duration_seconds_bucket", q, sel, by)
}

/// Run-queue latency buckets (the scheduler feature).
const RUNQ: &str = "archscope_runqueue_latency_seconds_bucket";

fn quantile(buckets: &str, q: &str, sel: &str, by: &str) -> String {
    format!(
        "histogram_quantile({q}, sum by ({by}le) ({}))",
        rate(buckets, sel)
    )
}

fn ts(title: &'static str, unit: &'static str, targets: &[(&str, &'static str)]) -> Panel {
    panel(Timeseries, title, unit, targets)
}

mod agent;
mod arch;
mod container;
mod node;
mod workload;

pub fn all() -> Vec<Board> {
    vec![
        node::node(),
        container::container(),
        arch::arch(),
        agent::agent(),
        node::hardware(),
    ]
}
