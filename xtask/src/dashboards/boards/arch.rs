//! Cross-architecture comparison: live per-arch figures beside bench results, and one
//! workload across architectures (`workload.rs`).
use super::{BY_ARCH, rate, ts, workload};
use crate::dashboards::Kind::Table;
use crate::dashboards::Var::{Arch, Benchmark, Workload, WorkloadNamespace};
use crate::dashboards::{Board, panel, row};

pub fn arch() -> Board {
    let per_arch = |m: &str| format!("sum by (arch) ({} {BY_ARCH})", rate(m, ""));
    let mut panels = vec![
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
    ];
    // last, so the panels above keep their ids
    panels.extend(workload::panels());
    Board {
        uid: "archscope-arch",
        title: "archscope / Cross-architecture comparison",
        description: "Live per-architecture figures beside benchmark results, and one workload's figures per architecture.",
        vars: &[Arch, Benchmark, WorkloadNamespace, Workload],
        panels,
    }
}
