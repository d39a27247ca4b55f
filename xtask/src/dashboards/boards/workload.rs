//! The cross-architecture board's workload row: one workload (`$namespace`, `$workload`)
//! with a series per `goarch`, so its amd64 and arm64 pods sit side by side. Rates are per
//! pod (divided by the workload's pods on that architecture), so unequal replica counts
//! still compare; ratios and quantiles need no such division.
use super::{RUNQ, rate, traffic, ts};
use crate::dashboards::{Panel, row};

/// The one workload the row shows (single-select variables, hence `=`).
const WL: &str = r#"namespace="$namespace", workload="$workload""#;
/// Carries a node's `goarch` onto per-instance series (the arch board's join, by `goarch`
/// for the legend); `$arch` still picks the nodes.
const BY_GOARCH: &str = r#"* on (instance) group_left (goarch) archscope_node_info{arch=~"$arch"}"#;

const CALLS: &str = "archscope_syscalls_total";
const CPU: &str = "archscope_cpu_seconds_total";
const CYCLES: &str = "archscope_cgroup_cpu_cycles_total";
const INSTRUCTIONS: &str = "archscope_cgroup_cpu_instructions_total";

const PER_POD: &str = "Divided by the workload's pods on each architecture.";

/// `metric`'s rate over `sel`, each series labelled with its node's `goarch`.
fn joined(metric: &str, sel: &str) -> String {
    format!("{} {BY_GOARCH}", rate(metric, sel))
}

/// The workload's rate of `metric` per architecture.
fn per_arch(metric: &str) -> String {
    format!("sum by (goarch) ({})", joined(metric, WL))
}

fn ratio(a: &str, b: &str) -> String {
    format!("{} / {}", per_arch(a), per_arch(b))
}

/// `expr` (by `goarch`, perhaps more) divided by the workload's pods on that
/// architecture, counted among the series of `metric`.
fn per_pod(expr: &str, metric: &str) -> String {
    format!(
        "{expr} / on (goarch) group_left count by (goarch) (sum by (goarch, pod) ({}))",
        joined(metric, WL)
    )
}

/// p99 and p50 targets of a histogram's buckets, a series per architecture.
fn p99_p50(buckets: &str) -> [(String, &'static str); 2] {
    let q = |q: &str| {
        format!(
            "histogram_quantile({q}, sum by (goarch, le) ({}))",
            joined(buckets, WL)
        )
    };
    [(q("0.99"), "p99 {{goarch}}"), (q("0.5"), "p50 {{goarch}}")]
}

fn one(title: &'static str, unit: &'static str, expr: &str) -> Panel {
    ts(title, unit, &[(expr, "{{goarch}}")])
}

fn two(title: &'static str, unit: &'static str, t: [(String, &'static str); 2]) -> Panel {
    ts(title, unit, &[(&t[0].0, t[0].1), (&t[1].0, t[1].1)])
}

/// The row and its panels, for the end of the arch board.
pub fn panels() -> Vec<Panel> {
    let top_calls = per_pod(
        &format!("sum by (goarch, syscall) ({})", joined(CALLS, WL)),
        CALLS,
    );
    let tx = traffic(WL, "tcp", "transmit");
    vec![
        row("Workload across architectures"),
        ts(
            "Syscalls/s per pod, top 10 syscalls per architecture",
            "ops",
            &[(
                &format!("topk by (goarch) (10, {top_calls})"),
                "{{goarch}} {{syscall}}",
            )],
        )
        .describe(PER_POD),
        one(
            "Syscall failure ratio",
            "percentunit",
            &ratio("archscope_syscall_errors_total", CALLS),
        ),
        two(
            "Syscall latency p50 / p99",
            "s",
            p99_p50("archscope_syscall_duration_seconds_bucket"),
        ),
        one("Syscalls per CPU-second", "short", &ratio(CALLS, CPU)),
        two(
            "TCP connect latency p50 / p99",
            "s",
            p99_p50("archscope_tcp_connect_duration_seconds_bucket"),
        ),
        one(
            "TCP smoothed RTT p50",
            "s",
            &format!(
                "histogram_quantile(0.5, sum by (goarch, le) ({}))",
                joined("archscope_tcp_smoothed_rtt_seconds_bucket", WL)
            ),
        ),
        one(
            "TCP retransmit ratio (retransmits / segments sent)",
            "percentunit",
            &format!(
                "{} / sum by (goarch) ({})",
                per_arch("archscope_tcp_retransmits_total"),
                joined("archscope_network_packets_total", &tx)
            ),
        ),
        one("Workload IPC", "none", &ratio(INSTRUCTIONS, CYCLES)),
        one(
            "Cache misses per 1,000 instructions",
            "none",
            &format!(
                "1000 * {}",
                ratio("archscope_cgroup_cpu_cache_misses_total", INSTRUCTIONS)
            ),
        ),
        one(
            "Cycles/s per pod",
            "hertz",
            &per_pod(&per_arch(CYCLES), CYCLES),
        )
        .describe(PER_POD),
        two("Run-queue latency p50 / p99", "s", p99_p50(RUNQ)),
        one(
            "CPU seconds/s per pod",
            "percentunit",
            &per_pod(&per_arch(CPU), CPU),
        )
        .describe(PER_POD),
    ]
}
