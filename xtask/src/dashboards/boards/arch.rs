//! Cross-architecture comparison: live per-arch figures beside bench results.
use super::{BY_ARCH, rate, ts};
use crate::dashboards::Kind::Table;
use crate::dashboards::Var::{Arch, Benchmark};
use crate::dashboards::{Board, panel, row};

pub fn arch() -> Board {
    let per_arch = |m: &str| format!("sum by (arch) ({} {BY_ARCH})", rate(m, ""));
    Board {
        uid: "archscope-arch",
        title: "archscope / Cross-architecture comparison",
        description: "Live per-architecture figures beside benchmark results.",
        vars: &[Arch, Benchmark],
        panels: vec![
            row("Live, per architecture"),
            panel(
                Table,
                "Nodes per architecture and CPU",
                "none",
                &[(
                    r#"count by (arch, cpu_vendor, cpu_model) (archscope_node_info{arch=~"$arch"})"#,
                    "",
                )],
            ),
            ts(
                "Syscalls/s per node",
                "ops",
                &[(
                    &format!(
                        r#"{} / on (arch) count by (arch) (archscope_node_info{{arch=~"$arch"}})"#,
                        per_arch("archscope_syscalls_total")
                    ),
                    "{{arch}}",
                )],
            ),
            ts(
                "Syscall latency p99",
                "s",
                &[(
                    &format!(
                        "histogram_quantile(0.99, sum by (arch, le) ({} {BY_ARCH}))",
                        rate("archscope_syscall_duration_seconds_bucket", "")
                    ),
                    "{{arch}}",
                )],
            ),
            ts(
                "Mean syscall latency",
                "s",
                &[(
                    &format!(
                        "{} / {}",
                        per_arch("archscope_syscall_duration_seconds_sum"),
                        per_arch("archscope_syscall_duration_seconds_count")
                    ),
                    "{{arch}}",
                )],
            ),
            ts(
                "Error ratio",
                "percentunit",
                &[(
                    &format!(
                        "{} / {}",
                        per_arch("archscope_syscall_errors_total"),
                        per_arch("archscope_syscalls_total")
                    ),
                    "{{arch}}",
                )],
            ),
            ts(
                "Agent CPU per node",
                "percentunit",
                &[(
                    &format!(
                        r#"{} / on (arch) count by (arch) (archscope_node_info{{arch=~"$arch"}})"#,
                        per_arch("archscope_agent_cpu_seconds_total")
                    ),
                    "{{arch}}",
                )],
            ),
            ts(
                "IPC",
                "none",
                &[(
                    &format!(
                        "{} / {}",
                        per_arch("archscope_cpu_instructions_total"),
                        per_arch("archscope_cpu_cycles_total")
                    ),
                    "{{arch}}",
                )],
            ),
            row("Benchmarks (agent bench)"),
            ts(
                "Median by benchmark and architecture (unit in the legend)",
                "none",
                &[(
                    r#"archscope_bench_median{benchmark=~"$benchmark", arch=~"$arch"}"#,
                    "{{benchmark}} {{arch}} ({{unit}})",
                )],
            ),
            panel(
                Table,
                "Variation (CV) by benchmark and architecture",
                "percentunit",
                &[(
                    r#"archscope_bench_cv{benchmark=~"$benchmark", arch=~"$arch"}"#,
                    "",
                )],
            ),
        ],
    }
}
