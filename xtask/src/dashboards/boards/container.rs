//! Container drill-down.
use super::{CONTAINER, IO, RUNQ, p, quantile, rate, traffic, ts};
use crate::dashboards::Kind::Heatmap;
use crate::dashboards::Var::{Arch, Container, Namespace, Node, Pod};
use crate::dashboards::{Board, panel, row};

pub fn container() -> Board {
    let calls = rate("archscope_syscalls_total", CONTAINER);
    let errors = rate("archscope_syscall_errors_total", CONTAINER);
    let ratio = |a: &str, b: &str| {
        format!(
            "sum by (namespace, pod, container) ({}) / sum by (namespace, pod, container) ({})",
            rate(a, CONTAINER),
            rate(b, CONTAINER)
        )
    };
    Board {
        uid: "archscope-container",
        title: "archscope / Container drill-down",
        description: "One workload's syscalls, errors, latency, CPU and run-queue waits, network and hardware counters.",
        vars: &[Arch, Node, Namespace, Pod, Container],
        panels: vec![
            row("Syscalls"),
            ts(
                "Syscalls/s by container",
                "ops",
                &[(
                    &format!("sum by (namespace, pod, container) ({calls})"),
                    "{{namespace}}/{{pod}}/{{container}}",
                )],
            ),
            ts(
                "Top syscalls",
                "ops",
                &[(
                    &format!("topk(10, sum by (syscall) ({calls}))"),
                    "{{syscall}}",
                )],
            ),
            ts(
                "Errors/s by errno",
                "ops",
                &[(&format!("sum by (errno) ({errors})"), "{{errno}}")],
            ),
            ts(
                "Errors/s by syscall and errno",
                "ops",
                &[(
                    &format!("topk(10, sum by (syscall, errno) ({errors}))"),
                    "{{syscall}} {{errno}}",
                )],
            ),
            ts(
                "Error ratio",
                "percentunit",
                &[(&format!("sum({errors}) / sum({calls})"), "errors / calls")],
            ),
            ts(
                "Latency p50 / p99 by syscall (top 10 by p99)",
                "s",
                &[
                    (
                        &format!("topk(10, {})", p("0.99", CONTAINER, "syscall, ")),
                        "p99 {{syscall}}",
                    ),
                    (
                        &format!("topk(10, {})", p("0.5", CONTAINER, "syscall, ")),
                        "p50 {{syscall}}",
                    ),
                ],
            ),
            panel(
                Heatmap,
                "Syscall latency heatmap",
                "s",
                &[(
                    &format!(
                        "sum by (le) ({})",
                        rate("archscope_syscall_duration_seconds_bucket", CONTAINER)
                    ),
                    "{{le}}",
                )],
            )
            .wide(),
            row("Scheduler"),
            ts(
                "CPU time by container",
                "percentunit",
                &[(
                    &format!(
                        "sum by (namespace, pod, container) ({})",
                        rate("archscope_cpu_seconds_total", CONTAINER)
                    ),
                    "{{namespace}}/{{pod}}/{{container}}",
                )],
            ),
            ts(
                "Run-queue latency p50 / p99 by container",
                "s",
                &[
                    (
                        &quantile(RUNQ, "0.99", CONTAINER, "namespace, pod, container, "),
                        "p99 {{namespace}}/{{pod}}/{{container}}",
                    ),
                    (
                        &quantile(RUNQ, "0.5", CONTAINER, "namespace, pod, container, "),
                        "p50 {{namespace}}/{{pod}}/{{container}}",
                    ),
                ],
            ),
            ts(
                "Context switches/s by kind",
                "ops",
                &[(
                    &format!(
                        "sum by (kind) ({})",
                        rate("archscope_context_switches_total", CONTAINER)
                    ),
                    "{{kind}}",
                )],
            ),
            panel(
                Heatmap,
                "Run-queue latency heatmap",
                "s",
                &[(
                    &format!("sum by (le) ({})", rate(RUNQ, CONTAINER)),
                    "{{le}}",
                )],
            )
            .wide(),
            row("Network"),
            ts(
                "TCP bytes/s",
                "Bps",
                &[
                    (
                        &format!(
                            "sum by (pod) ({})",
                            rate(IO, &traffic(CONTAINER, "tcp", "transmit"))
                        ),
                        "sent {{pod}}",
                    ),
                    (
                        &format!(
                            "sum by (pod) ({})",
                            rate(IO, &traffic(CONTAINER, "tcp", "receive"))
                        ),
                        "received {{pod}}",
                    ),
                ],
            ),
            ts(
                "TCP retransmits/s",
                "ops",
                &[(
                    &format!(
                        "sum by (pod) ({})",
                        rate("archscope_tcp_retransmits_total", CONTAINER)
                    ),
                    "{{pod}}",
                )],
            ),
            ts(
                "UDP bytes/s",
                "Bps",
                &[
                    (
                        &format!(
                            "sum by (pod) ({})",
                            rate(IO, &traffic(CONTAINER, "udp", "transmit"))
                        ),
                        "sent {{pod}}",
                    ),
                    (
                        &format!(
                            "sum by (pod) ({})",
                            rate(IO, &traffic(CONTAINER, "udp", "receive"))
                        ),
                        "received {{pod}}",
                    ),
                ],
            ),
            row("Hardware counters"),
            ts(
                "IPC",
                "none",
                &[(
                    &ratio(
                        "archscope_cgroup_cpu_instructions_total",
                        "archscope_cgroup_cpu_cycles_total",
                    ),
                    "{{pod}}/{{container}}",
                )],
            ),
            ts(
                "Cache miss rate",
                "percentunit",
                &[(
                    &ratio(
                        "archscope_cgroup_cpu_cache_misses_total",
                        "archscope_cgroup_cpu_cache_references_total",
                    ),
                    "{{pod}}/{{container}}",
                )],
            ),
        ],
    }
}
