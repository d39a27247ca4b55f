//! The five boards. Metric names: agent/src/collect/names.rs (syscalls, identity, health);
//! network (`archscope_tcp_*`, `archscope_udp_*`), PMU (`archscope_cpu_*`,
//! `archscope_container_*` hardware counters, `archscope_pmu_counter_available`),
//! sensors and bench (`archscope_bench_*`) follow the same pattern for features on their
//! way; tests/tests/dashboards.rs lists the panels that wait for them.
use super::Kind::{Heatmap, Stat, Table, Timeseries};
use super::Var::{Arch, Benchmark, Container, Namespace, Node, Pod};
use super::{Board, Panel, panel, row};

const NODE: &str = r#"instance=~"$node""#;
const POD: &str = r#"instance=~"$node", namespace=~"$namespace", pod=~"$pod""#;
const CONTAINER: &str =
    r#"instance=~"$node", namespace=~"$namespace", pod=~"$pod", container=~"$container""#;
/// Carries a node's `arch` onto per-instance series.
const BY_ARCH: &str = r#"* on (instance) group_left (arch) archscope_node_info{arch=~"$arch"}"#;

fn rate(metric: &str, sel: &str) -> String {
    format!("rate({metric}{{{sel}}}[$__rate_interval])")
}

fn p(q: &str, sel: &str, by: &str) -> String {
    format!(
        "histogram_quantile({q}, sum by ({by}le) ({}))",
        rate("archscope_syscall_duration_seconds_bucket", sel)
    )
}

fn ts(title: &'static str, unit: &'static str, targets: &[(&str, &'static str)]) -> Panel {
    panel(Timeseries, title, unit, targets)
}

pub fn all() -> Vec<Board> {
    vec![node(), container(), arch(), agent(), hardware()]
}

fn node() -> Board {
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
                            rate("archscope_tcp_sent_bytes_total", NODE)
                        ),
                        "sent {{instance}}",
                    ),
                    (
                        &format!(
                            "sum by (instance) ({})",
                            rate("archscope_tcp_received_bytes_total", NODE)
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

fn container() -> Board {
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
        description: "One workload's syscalls, errors, latency, network and hardware counters.",
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
            row("Network"),
            ts(
                "TCP bytes/s",
                "Bps",
                &[
                    (
                        &format!(
                            "sum by (pod) ({})",
                            rate("archscope_tcp_sent_bytes_total", CONTAINER)
                        ),
                        "sent {{pod}}",
                    ),
                    (
                        &format!(
                            "sum by (pod) ({})",
                            rate("archscope_tcp_received_bytes_total", CONTAINER)
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
                            rate("archscope_udp_sent_bytes_total", CONTAINER)
                        ),
                        "sent {{pod}}",
                    ),
                    (
                        &format!(
                            "sum by (pod) ({})",
                            rate("archscope_udp_received_bytes_total", CONTAINER)
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
                        "archscope_container_instructions_total",
                        "archscope_container_cycles_total",
                    ),
                    "{{pod}}/{{container}}",
                )],
            ),
            ts(
                "Cache miss rate",
                "percentunit",
                &[(
                    &ratio(
                        "archscope_container_cache_misses_total",
                        "archscope_container_cache_references_total",
                    ),
                    "{{pod}}/{{container}}",
                )],
            ),
        ],
    }
}

fn arch() -> Board {
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
                "Throughput by benchmark and architecture",
                "ops",
                &[(
                    r#"archscope_bench_operations_per_second{benchmark=~"$benchmark", arch=~"$arch"}"#,
                    "{{benchmark}} {{arch}}",
                )],
            ),
            panel(
                Table,
                "Latency by benchmark and architecture",
                "s",
                &[(
                    r#"archscope_bench_latency_seconds{benchmark=~"$benchmark", arch=~"$arch"}"#,
                    "",
                )],
            ),
        ],
    }
}

fn agent() -> Board {
    Board {
        uid: "archscope-agent",
        title: "archscope / Agent health",
        description: "The agent's programs, losses, limits, metadata sources and exports.",
        vars: &[Arch, Node],
        panels: vec![
            panel(
                Stat,
                "Programs attached",
                "none",
                &[(&format!("sum(archscope_program_up{{{NODE}}})"), "")],
            ),
            panel(
                Stat,
                "Programs failed",
                "none",
                &[(
                    &format!("count(archscope_program_up{{{NODE}}} == 0) or vector(0)"),
                    "",
                )],
            ),
            panel(
                Stat,
                "Kernel losses/s",
                "ops",
                &[(
                    &format!("sum({})", rate("archscope_kernel_losses_total", NODE)),
                    "",
                )],
            ),
            panel(
                Stat,
                "Series over budget",
                "none",
                &[(
                    &format!("sum(archscope_cardinality_overflow_series{{{NODE}}})"),
                    "",
                )],
            ),
            panel(
                Table,
                "Programs",
                "none",
                &[(&format!("archscope_program_up{{{NODE}}}"), "")],
            ),
            panel(
                Table,
                "Features and versions",
                "none",
                &[
                    (&format!("archscope_feature_up{{{NODE}}}"), ""),
                    (&format!("archscope_build_info{{{NODE}}}"), ""),
                ],
            ),
            ts(
                "Kernel losses/s by reason",
                "ops",
                &[(
                    &format!(
                        "sum by (reason) ({})",
                        rate("archscope_kernel_losses_total", NODE)
                    ),
                    "{{reason}}",
                )],
            ),
            ts(
                "Series folded into overflow, by metric",
                "none",
                &[(
                    &format!("sum by (metric) (archscope_cardinality_overflow_series{{{NODE}}})"),
                    "{{metric}}",
                )],
            ),
            ts(
                "Map reads and errors/s",
                "ops",
                &[
                    (
                        &format!(
                            "sum by (family) ({})",
                            rate("archscope_map_reads_total", NODE)
                        ),
                        "reads {{family}}",
                    ),
                    (
                        &format!(
                            "sum by (family) ({})",
                            rate("archscope_map_read_errors_total", NODE)
                        ),
                        "errors {{family}}",
                    ),
                ],
            ),
            ts(
                "Snapshot duration and snapshots/s",
                "s",
                &[
                    (
                        &format!("archscope_snapshot_duration_seconds{{{NODE}}}"),
                        "duration {{instance}}",
                    ),
                    (
                        &rate("archscope_scrapes_total", NODE),
                        "snapshots/s {{instance}}",
                    ),
                ],
            ),
            ts(
                "Agent CPU",
                "percentunit",
                &[(
                    &rate("archscope_agent_cpu_seconds_total", NODE),
                    "{{instance}}",
                )],
            ),
            ts(
                "Agent memory (RSS)",
                "bytes",
                &[(
                    &format!("archscope_agent_resident_memory_bytes{{{NODE}}}"),
                    "{{instance}}",
                )],
            ),
            ts(
                "Cache fill",
                "percentunit",
                &[
                    (
                        &format!(
                            "archscope_cgroup_cache_entries{{{NODE}}} / archscope_cgroup_cache_capacity{{{NODE}}}"
                        ),
                        "cgroups {{instance}}",
                    ),
                    (
                        &format!(
                            "archscope_metadata_cache_entries{{{NODE}}} / archscope_metadata_cache_capacity{{{NODE}}}"
                        ),
                        "metadata {{source}} {{instance}}",
                    ),
                ],
            ),
            ts(
                "Metadata sources",
                "none",
                &[
                    (
                        &format!("archscope_metadata_source_up{{{NODE}}}"),
                        "up {{source}} {{instance}}",
                    ),
                    (
                        &rate("archscope_metadata_source_errors_total", NODE),
                        "errors/s {{source}} {{instance}}",
                    ),
                ],
            ),
            ts(
                "OTLP exports/s",
                "ops",
                &[
                    (
                        &rate("archscope_otlp_exports_total", NODE),
                        "accepted {{instance}}",
                    ),
                    (
                        &rate("archscope_otlp_exports_failed_total", NODE),
                        "failed {{instance}}",
                    ),
                    (
                        &rate("archscope_otlp_points_dropped_total", NODE),
                        "points dropped {{instance}}",
                    ),
                ],
            ),
            ts(
                "OTLP queue",
                "none",
                &[(
                    &format!("archscope_otlp_queue_points{{{NODE}}}"),
                    "{{instance}}",
                )],
            ),
            panel(
                Table,
                "Hardware counters available",
                "none",
                &[(&format!("archscope_pmu_counter_available{{{NODE}}}"), "")],
            ),
        ],
    }
}

fn hardware() -> Board {
    let by_pod = |m: &str| format!("sum by (namespace, pod) ({})", rate(m, POD));
    Board {
        uid: "archscope-hardware",
        title: "archscope / Hardware and service traffic",
        description: "Each service's traffic beside the hardware it runs on: IPC, cache misses, memory bandwidth, temperatures and power where the node exposes them.",
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
                        &by_pod("archscope_tcp_sent_bytes_total"),
                        "sent {{namespace}}/{{pod}}",
                    ),
                    (
                        &by_pod("archscope_tcp_received_bytes_total"),
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
                        by_pod("archscope_container_instructions_total"),
                        by_pod("archscope_container_cycles_total")
                    ),
                    "{{namespace}}/{{pod}}",
                )],
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
                "Memory bandwidth by node",
                "Bps",
                &[(
                    &format!(
                        "sum by (instance) ({})",
                        rate("archscope_cpu_memory_bytes_total", NODE)
                    ),
                    "{{instance}}",
                )],
            )
            .describe(
                "Uncore/memory-controller counters where the CPU has them (archscope_pmu_counter_available shows which).",
            ),
            ts(
                "Temperatures",
                "celsius",
                &[(
                    &format!("archscope_node_temperature_celsius{{{NODE}}}"),
                    "{{instance}} {{sensor}}",
                )],
            )
            .describe(
                "From the node's hwmon/thermal sensors where it exposes them; empty on nodes without sensors (most VMs).",
            ),
            ts(
                "Power",
                "watt",
                &[(
                    &format!("archscope_node_power_watts{{{NODE}}}"),
                    "{{instance}} {{domain}}",
                )],
            )
            .describe(
                "RAPL or the platform's power meters where the node exposes them; empty elsewhere.",
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
