//! Builds a `Snapshot` on demand: reads the maps once, labels, applies the budget, and adds
//! the agent's own health. Both exporters call `snapshot()`; nothing else reads the maps.
use std::sync::Mutex;
use std::time::Instant;

use archscope_common::Loss;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::budget::Budget;
use super::model::{Family, Series, Snapshot, Value, label};
use super::names;
use crate::arch::syscalls::SyscallTable;
use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;
use crate::probes::{Feature, Probes, syscalls};

pub struct Collector {
    inner: Mutex<Inner>,
    /// The OTLP exporter's counters, when it runs (read here so both exporters show them).
    otlp_stats: std::sync::OnceLock<std::sync::Arc<crate::export::otlp::OtlpStats>>,
    /// The newest `agent bench` results, served as `archscope_bench_*`.
    bench: std::sync::OnceLock<std::sync::Arc<crate::bench::Latest>>,
}

struct Inner {
    probes: Probes,
    table: SyscallTable,
    cgroups: CgroupResolver,
    labeler: Labeler,
    budget: Budget,
    sys: Option<System>,
    build: [(&'static str, std::sync::Arc<str>); 3],
    node: Option<crate::collect::model::Labels>,
    map_reads: u64,
    map_read_errors: u64,
    scrapes: u64,
    cgroups_forgotten: u64,
    last_duration: f64,
}

impl Collector {
    pub fn new(
        probes: Probes,
        table: SyscallTable,
        cgroups: CgroupResolver,
        labeler: Labeler,
        max_series: usize,
        node: Option<&crate::node::NodeInfo>,
    ) -> Self {
        let node = node.map(|n| n.labels().into_iter().map(|(k, v)| (k, label(v))).collect());
        let kernel = System::kernel_version().unwrap_or_default();
        let build = [
            ("version", label(env!("CARGO_PKG_VERSION"))),
            ("arch", label(table.arch.goarch())),
            ("kernel", label(kernel)),
        ];
        Collector {
            inner: Mutex::new(Inner {
                probes,
                table,
                cgroups,
                labeler,
                budget: Budget::new(max_series),
                sys: System::new().ok(),
                build,
                node,
                map_reads: 0,
                map_read_errors: 0,
                scrapes: 0,
                cgroups_forgotten: 0,
                last_duration: 0.0,
            }),
            otlp_stats: std::sync::OnceLock::new(),
            bench: std::sync::OnceLock::new(),
        }
    }

    /// Is every feature that loaded collecting? (for /readyz)
    pub fn ready(&self) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.probes.feature_up(Feature::Syscalls)
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut snap = inner.build_snapshot();
        if let Some(stats) = self.otlp_stats.get() {
            snap.families.extend(stats.families());
        }
        if let Some(b) = self.bench.get() {
            snap.families.extend(b.families());
        }
        snap
    }

    pub fn attach_bench(&self, latest: std::sync::Arc<crate::bench::Latest>) {
        let _ = self.bench.set(latest);
    }

    pub fn bench(&self) -> Option<&std::sync::Arc<crate::bench::Latest>> {
        self.bench.get()
    }

    pub fn attach_otlp_stats(&self, stats: std::sync::Arc<crate::export::otlp::OtlpStats>) {
        let _ = self.otlp_stats.set(stats);
    }
}

impl Inner {
    fn build_snapshot(&mut self) -> Snapshot {
        let started = Instant::now();
        self.scrapes += 1;
        self.probes.flush_logs();
        let mut families = Vec::new();
        let mut losses = [0u64; archscope_common::LOSS_KINDS];
        let mut folded = Vec::new();
        if self.probes.feature_up(Feature::Syscalls)
            && let Some(ebpf) = self.probes.ebpf.as_mut()
        {
            self.map_reads += 1;
            match syscalls::read(ebpf) {
                Ok(maps) => {
                    losses = maps.losses;
                    let ids = maps
                        .stats
                        .keys()
                        .map(|k| k.cgroup_id)
                        .chain(maps.errnos.keys().map(|k| k.cgroup_id));
                    let gone = self.cgroups.refresh(ids);
                    for mut f in super::syscalls::families(
                        &maps,
                        &self.table,
                        &self.cgroups,
                        &mut self.labeler,
                    ) {
                        folded.push((f.name, self.budget.apply(&mut f)));
                        families.push(f);
                    }
                    if !gone.is_empty() {
                        for (_, path) in &gone {
                            self.budget.release("cgroup", path);
                            self.labeler.forget(path);
                        }
                        let ids: Vec<u64> = gone.iter().map(|(id, _)| *id).collect();
                        match syscalls::forget_cgroups(ebpf, &ids, &maps) {
                            Ok(n) => self.cgroups_forgotten += n as u64,
                            Err(e) => tracing::warn!("dropping entries of removed cgroups: {e}"),
                        }
                    }
                }
                Err(e) => {
                    self.map_read_errors += 1;
                    tracing::warn!("reading syscall maps: {e}");
                }
            }
        }
        families.extend(self.health(&losses, &folded));
        self.last_duration = started.elapsed().as_secs_f64();
        Snapshot { families }
    }

    fn health(&mut self, losses: &[u64], folded: &[(&'static str, usize)]) -> Vec<Family> {
        let gauge = |def: &names::MetricDef, series: Vec<Series>| Family {
            series,
            ..def.family_empty()
        };
        let one = |v: Value| {
            vec![Series {
                labels: vec![],
                value: v,
            }]
        };
        let mut out = vec![gauge(
            &names::BUILD_INFO,
            vec![Series {
                labels: self.build.to_vec(),
                value: Value::Gauge(1.0),
            }],
        )];
        if let Some(labels) = &self.node {
            let series = vec![Series {
                labels: labels.clone(),
                value: Value::Gauge(1.0),
            }];
            out.push(gauge(&names::NODE_INFO, series));
        }
        out.push(gauge(
            &names::PROGRAM_UP,
            self.probes
                .status
                .iter()
                .map(|s| Series {
                    labels: vec![
                        ("program", label(s.name)),
                        ("feature", label(s.feature.name())),
                    ],
                    value: Value::Gauge(if s.result.is_ok() { 1.0 } else { 0.0 }),
                })
                .collect(),
        ));
        let up = self.probes.feature_up(Feature::Syscalls);
        out.push(gauge(
            &names::FEATURE_UP,
            vec![Series {
                labels: vec![("feature", label("syscalls"))],
                value: Value::Gauge(f64::from(u8::from(up))),
            }],
        ));
        out.push(gauge(
            &names::KERNEL_LOSSES,
            Loss::ALL
                .iter()
                .map(|l| Series {
                    labels: vec![("reason", label(l.name()))],
                    value: Value::Counter(losses[*l as usize]),
                })
                .collect(),
        ));
        let map_label = || vec![("family", label("syscalls"))];
        out.push(gauge(
            &names::MAP_READS,
            vec![Series {
                labels: map_label(),
                value: Value::Counter(self.map_reads),
            }],
        ));
        out.push(gauge(
            &names::MAP_READ_ERRORS,
            vec![Series {
                labels: map_label(),
                value: Value::Counter(self.map_read_errors),
            }],
        ));
        out.push(gauge(
            &names::SNAPSHOT_DURATION,
            one(Value::Gauge(self.last_duration)),
        ));
        out.push(gauge(&names::SCRAPES, one(Value::Counter(self.scrapes))));
        out.push(gauge(
            &names::CARDINALITY_OVERFLOW,
            folded
                .iter()
                .map(|(m, n)| Series {
                    labels: vec![("metric", label(*m))],
                    value: Value::Gauge(*n as f64),
                })
                .collect(),
        ));
        out.push(gauge(
            &names::CGROUP_CACHE_ENTRIES,
            one(Value::Gauge(self.cgroups.len() as f64)),
        ));
        out.push(gauge(
            &names::CGROUP_CACHE_CAPACITY,
            one(Value::Gauge(self.cgroups.capacity() as f64)),
        ));
        if let Some(c) = self.labeler.containerd() {
            out.extend(metadata_families(c));
        }
        out.push(gauge(
            &names::CGROUPS_FORGOTTEN,
            one(Value::Counter(self.cgroups_forgotten)),
        ));
        if let Some(sys) = self.sys.as_mut() {
            let pid = Pid::from_u32(std::process::id());
            sys.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                false,
                ProcessRefreshKind::nothing().with_memory().with_cpu(),
            );
            if let Some(p) = sys.process(pid) {
                out.push(gauge(
                    &names::AGENT_RSS,
                    one(Value::Gauge(p.memory() as f64)),
                ));
                out.push(gauge(
                    &names::AGENT_CPU,
                    one(Value::Gauge(p.accumulated_cpu_time() as f64 / 1e3)),
                ));
            }
        }
        out
    }
}

/// Health of the containerd metadata source (label `source`).
fn metadata_families(c: &crate::identity::containerd::ContainerdSource) -> Vec<Family> {
    use std::sync::atomic::Ordering::Relaxed;
    let s = &c.stats;
    let fam = |def: &names::MetricDef, v: Value| Family {
        series: vec![Series {
            labels: vec![("source", label("containerd"))],
            value: v,
        }],
        ..def.family_empty()
    };
    vec![
        fam(&names::METADATA_UP, Value::Gauge(s.up.load(Relaxed) as f64)),
        fam(
            &names::METADATA_ERRORS,
            Value::Counter(s.errors.load(Relaxed)),
        ),
        fam(
            &names::METADATA_REFRESHES,
            Value::Counter(s.refreshes.load(Relaxed)),
        ),
        fam(&names::METADATA_ENTRIES, Value::Gauge(c.len() as f64)),
        fam(&names::METADATA_CAPACITY, Value::Gauge(c.capacity as f64)),
        fam(
            &names::METADATA_DROPPED,
            Value::Gauge(s.dropped.load(Relaxed) as f64),
        ),
    ]
}
