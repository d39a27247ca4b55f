//! The agent's own health.
use super::{NODE, rate, ts};
use crate::dashboards::Kind::{Stat, Table};
use crate::dashboards::Var::{Arch, Node};
use crate::dashboards::{Board, panel};

pub fn agent() -> Board {
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
                &[
                    (
                        &format!("archscope_agent_resident_memory_bytes{{{NODE}}}"),
                        "{{instance}}",
                    ),
                    (
                        &format!("archscope_memory_limit_bytes{{{NODE}}}"),
                        "budget {{instance}}",
                    ),
                ],
            ),
            ts(
                "Series shed/s and memory pressure",
                "none",
                &[
                    (
                        &format!(
                            "sum by (instance, reason) (rate(archscope_series_shed_total{{{NODE}}}[$__rate_interval]))"
                        ),
                        "shed ({{reason}}) {{instance}}",
                    ),
                    (
                        &format!("archscope_memory_pressure{{{NODE}}}"),
                        "pressure {{instance}}",
                    ),
                ],
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
                    (
                        &format!(
                            "archscope_kernel_map_entries{{{NODE}}} / archscope_kernel_map_capacity{{{NODE}}}"
                        ),
                        "map {{map}} {{instance}}",
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
                &[
                    (
                        &format!("archscope_otlp_queue_points{{{NODE}}}"),
                        "{{instance}}",
                    ),
                    (
                        &format!("archscope_otlp_queue_capacity_points{{{NODE}}}"),
                        "bound {{instance}}",
                    ),
                ],
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
