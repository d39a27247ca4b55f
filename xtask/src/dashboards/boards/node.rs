//! Node overview, and hardware beside service traffic.
use super::{IO, NODE, POD, RUNQ, p, quantile, rate, traffic, ts};
use crate::dashboards::Kind::{Stat, Table};
use crate::dashboards::Var::{Arch, Namespace, Node, Pod};
use crate::dashboards::{Board, panel, row};

pub fn node() -> Board {
    let calls = rate("archscope_syscalls_total", NODE);
    let errors = rate("archscope_syscall_errors_total", NODE);
    Board {
        uid: "archscope-node",
        title: "archscope / Node overview",
        description: "Syscall activity, errors and latency per node; what each node is.",
        vars: &[Arch, Node],
        panels: vec![
            panel(
                Stat,
                "Nodes",
                "none",
                &[(&format!("count(archscope_node_info{{{NODE}}})"), "")],
            ),
            panel(Stat, "Syscalls/s", "ops", &[(&format!("sum({calls})"), "")]),
            panel(
                Stat,
                "Failed syscalls/s",
                "ops",
                &[(&format!("sum({errors})"), "")],
            ),
            panel(
                Stat,
                "Containers seen",
                "none",
                &[(
                    &format!(
                        "count(count by (container_id) (archscope_syscalls_total{{{NODE}, container_id!=\"\"}}))"
                    ),
                    "",
                )],
            ),
            panel(
                Table,
                "Nodes: architecture, CPU, topology, OS",
                "none",
                &[(&format!("archscope_node_info{{{NODE}}}"), "")],
            )
            .wide(),
            ts(
                "Syscalls/s by node",
                "ops",
                &[(&format!("sum by (instance) ({calls})"), "{{instance}}")],
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
                "Failed syscalls/s by errno",
                "ops",
                &[(&format!("sum by (errno) ({errors})"), "{{errno}}")],
            ),
            ts(
                "Syscalls/s by runtime",
                "ops",
                &[(&format!("sum by (runtime) ({calls})"), "{{runtime}}")],
            ),
            ts(
                "Busiest namespaces",
                "ops",
                &[(
                    &format!(
                        "topk(10, sum by (namespace) ({}))",
                        rate(
                            "archscope_syscalls_total",
                            &format!("{NODE}, namespace!=\"\"")
                        )
                    ),
                    "{{namespace}}",
                )],
            ),
            ts(
                "Busiest host services",
                "ops",
                &[(
                    &format!(
                        "topk(10, sum by (service) ({}))",
                        rate(
                            "archscope_syscalls_total",
                            &format!("{NODE}, service!=\"\"")
                        )
                    ),
                    "{{service}}",
                )],
            ),
            ts(
                "Waiting for a CPU: top namespaces",
                "percentunit",
                &[(
                    &format!(
                        "topk(10, sum by (namespace) ({}))",
                        rate(
                            "archscope_runqueue_latency_seconds_sum",
                            &format!("{NODE}, namespace!=\"\"")
                        )
                    ),
                    "{{namespace}}",
                )],
            ),
            ts(
                "Run-queue latency p99: top pods",
                "s",
                &[(
                    &format!(
                        "topk(10, {})",
                        quantile(
                            RUNQ,
                            "0.99",
                            &format!("{NODE}, namespace!=\"\""),
                            "namespace, pod, "
                        )
                    ),
                    "{{namespace}}/{{pod}}",
                )],
            ),
            ts(
                "Syscall latency p50 / p99 by node",
                "s",
                &[
                    (&p("0.5", NODE, "instance, "), "p50 {{instance}}"),
                    (&p("0.99", NODE, "instance, "), "p99 {{instance}}"),
                ],
            ),
            ts(
                "TCP throughput by node",
                "Bps",
                &[
                    (
                        &format!(
                            "sum by (instance) ({})",
                            rate(IO, &traffic(NODE, "tcp", "transmit"))
                        ),
                        "sent {{instance}}",
                    ),
                    (
                        &format!(
                            "sum by (instance) ({})",
                            rate(IO, &traffic(NODE, "tcp", "receive"))
                        ),
                        "received {{instance}}",
                    ),
                ],
            ),
            ts(
                "IPC by node",
                "none",
                &[(
                    &format!(
                        "sum by (instance) ({}) / sum by (instance) ({})",
                        rate("archscope_cpu_instructions_total", NODE),
                        rate("archscope_cpu_cycles_total", NODE)
                    ),
                    "{{instance}}",
                )],
            ),
        ],
    }
}

pub fn hardware() -> Board {
    let by_pod = |m: &str| format!("sum by (namespace, pod) ({})", rate(m, POD));
    let by_pod_where = |m: &str, extra: &str| {
        format!(
            "sum by (namespace, pod) ({})",
            rate(m, &format!("{POD}, {extra}"))
        )
    };
    Board {
        uid: "archscope-hardware",
        title: "archscope / Hardware and service traffic",
        description: "Each service's traffic beside the hardware it runs on: IPC and cache misses where the node's PMU counts them.",
        vars: &[Arch, Node, Namespace, Pod],
        panels: vec![
            row("Service traffic"),
            ts(
                "Syscalls/s by pod",
                "ops",
                &[(&by_pod("archscope_syscalls_total"), "{{namespace}}/{{pod}}")],
            ),
            ts(
                "Syscall latency p99 by pod",
                "s",
                &[(&p("0.99", POD, "namespace, pod, "), "{{namespace}}/{{pod}}")],
            ),
            ts(
                "TCP bytes/s by pod",
                "Bps",
                &[
                    (
                        &by_pod_where(IO, r#"protocol="tcp", direction="transmit""#),
                        "sent {{namespace}}/{{pod}}",
                    ),
                    (
                        &by_pod_where(IO, r#"protocol="tcp", direction="receive""#),
                        "received {{namespace}}/{{pod}}",
                    ),
                ],
            ),
            ts(
                "IPC by pod",
                "none",
                &[(
                    &format!(
                        "{} / {}",
                        by_pod("archscope_cgroup_cpu_instructions_total"),
                        by_pod("archscope_cgroup_cpu_cycles_total")
                    ),
                    "{{namespace}}/{{pod}}",
                )],
            )
            .describe(
                "From the PMU feature: empty on nodes without a hardware PMU (most VMs), where archscope_feature_up{feature=\"pmu\"} is 0.",
            ),
            row("The hardware underneath"),
            ts(
                "IPC by node",
                "none",
                &[(
                    &format!(
                        "sum by (instance) ({}) / sum by (instance) ({})",
                        rate("archscope_cpu_instructions_total", NODE),
                        rate("archscope_cpu_cycles_total", NODE)
                    ),
                    "{{instance}}",
                )],
            ),
            ts(
                "Cache misses/s by node",
                "ops",
                &[(
                    &format!(
                        "sum by (instance) ({})",
                        rate("archscope_cpu_cache_misses_total", NODE)
                    ),
                    "{{instance}}",
                )],
            ),
            ts(
                "Syscalls/s by node (traffic for scale)",
                "ops",
                &[(
                    &format!(
                        "sum by (instance) ({})",
                        rate("archscope_syscalls_total", NODE)
                    ),
                    "{{instance}}",
                )],
            ),
        ],
    }
}
