//! Builds a `Snapshot` on demand: reads the maps once, labels, applies the budget, and adds
//! the agent's own health. Both exporters call `snapshot()`; nothing else reads the maps.
use std::sync::Mutex;
use std::time::Instant;

use archscope_common::Loss;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::budget::{Budget, IDLE_BEFORE_REPLACED};
use super::memory::{MemoryBudget, Pressure};
use super::model::{Family, Series, Snapshot, Value, label};
use super::names;
use crate::arch::syscalls::SyscallTable;
use crate::features::LabelContext;
use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;
use crate::probes::{self, Feature, Probes};

/// How long a snapshot waits at most for the metadata of containers and pods it meets
/// for the first time.
const LABEL_WAIT: std::time::Duration = std::time::Duration::from_millis(300);

/// The series budget per metric and the memory budget (bytes) that squeezes it.
#[derive(Debug, Clone, Copy)]
pub struct SeriesLimits {
    pub max_series_per_metric: usize,
    pub memory_limit: Option<u64>,
}

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
    memory: Option<MemoryBudget>,
    sys: Option<System>,
    build: [(&'static str, std::sync::Arc<str>); 3],
    node: Option<crate::collect::model::Labels>,
    /// Per feature (`Feature as usize`).
    map_reads: [u64; Feature::COUNT],
    map_read_errors: [u64; Feature::COUNT],
    scrapes: u64,
    cgroups_forgotten: u64,
    last_duration: f64,
}

impl Collector {
    pub fn new(
        mut probes: Probes,
        table: SyscallTable,
        cgroups: CgroupResolver,
        labeler: Labeler,
        limits: SeriesLimits,
        node: Option<&crate::node::NodeInfo>,
        pmu: Option<crate::pmu::Pmu>,
    ) -> Self {
        if let Some(p) = pmu {
            probes.features.pmu.set_counters(p);
        }
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
                budget: Budget::new(limits.max_series_per_metric, IDLE_BEFORE_REPLACED),
                memory: limits.memory_limit.map(MemoryBudget::new),
                sys: System::new().ok(),
                build,
                node,
                map_reads: [0; Feature::COUNT],
                map_read_errors: [0; Feature::COUNT],
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
        inner.probes.feature_up(Feature::Syscalls) || inner.probes.switched_off(Feature::Syscalls)
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
        // The catalogue's label keys are documentation; debug builds (the tests' agent)
        // hold every series to them so the docs cannot drift from what is exported.
        #[cfg(debug_assertions)]
        for f in &snap.families {
            let def = names::by_name(f.name).expect("every family is in the catalogue");
            for s in &f.series {
                let keys: Vec<&str> = s.labels.iter().map(|(k, _)| *k).collect();
                assert!(
                    def.declares(&keys),
                    "{}: labels {keys:?} are not the catalogue's",
                    f.name
                );
            }
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
        self.budget.next_snapshot(started);
        self.probes.flush_logs();
        let mut losses = [0u64; archscope_common::LOSS_KINDS];
        if let Some(ebpf) = self.probes.ebpf.as_ref() {
            match probes::read_losses(ebpf) {
                Ok(l) => losses = l,
                Err(e) => tracing::warn!("reading loss counters: {e}"),
            }
        }
        let read_any = self.read_maps();
        let mut ids = Vec::new();
        for u in self.probes.features.units() {
            u.cgroup_ids(&mut ids);
        }
        let gone = if read_any {
            self.cgroups.refresh(ids.iter().copied())
        } else {
            Vec::new()
        };
        let mut paths: Vec<_> = ids.iter().map(|id| self.cgroups.path(*id)).collect();
        paths.sort_unstable();
        paths.dedup();
        self.labeler.prepare(&paths, started + LABEL_WAIT);
        let mut families = Vec::new();
        let mut folded = Vec::new();
        let mut cx = LabelContext {
            table: &self.table,
            cgroups: &mut self.cgroups,
            labeler: &mut self.labeler,
        };
        for u in self.probes.features.units_mut() {
            for mut f in u.families(&mut cx) {
                // the series budget bounds what cgroups can multiply
                if names::by_name(f.name).is_some_and(|d| d.identity) {
                    folded.push((f.name, self.budget.apply(&mut f).folded));
                }
                families.push(f);
            }
        }
        if !gone.is_empty() {
            self.forget(&gone);
        }
        families.extend(self.health(&losses, &folded));
        self.last_duration = started.elapsed().as_secs_f64();
        Snapshot { families }
    }

    /// One read of each collecting feature's maps; whether any was read.
    fn read_maps(&mut self) -> bool {
        let up: Vec<bool> = Feature::ALL
            .iter()
            .map(|f| self.probes.feature_up(*f))
            .collect();
        let mut read_any = false;
        let Probes { ebpf, features, .. } = &mut self.probes;
        let mut cx = LabelContext {
            table: &self.table,
            cgroups: &mut self.cgroups,
            labeler: &mut self.labeler,
        };
        for u in features.units_mut() {
            let f = u.feature() as usize;
            u.clear();
            let Some(ebpf) = ebpf.as_mut().filter(|_| up[f]) else {
                continue;
            };
            self.map_reads[f] += 1;
            match u.read(ebpf, &mut cx) {
                // the cgroup names it learns are not a read of per-cgroup data
                Ok(()) => read_any |= u.feature() != Feature::CgroupPaths,
                Err(e) => {
                    self.map_read_errors[f] += 1;
                    tracing::warn!("reading {} maps: {e}", u.feature().name());
                    u.clear();
                }
            }
        }
        read_any
    }

    /// Drop what is kept of cgroups gone past their grace period: series budget, labels,
    /// kernel map entries.
    fn forget(&mut self, gone: &[(u64, std::sync::Arc<str>)]) {
        for (_, path) in gone {
            self.budget.release("cgroup", path);
            self.labeler.forget(path);
        }
        let ids: Vec<u64> = gone.iter().map(|(id, _)| *id).collect();
        // exported with their last path and labels in this snapshot; forgotten now
        self.cgroups.remove(&ids);
        let Probes { ebpf, features, .. } = &mut self.probes;
        let Some(ebpf) = ebpf.as_mut() else {
            return;
        };
        for u in features.units_mut() {
            match u.forget(ebpf, &ids) {
                Ok(n) => self.cgroups_forgotten += n as u64,
                Err(e) => tracing::warn!(
                    "dropping {} entries of removed cgroups: {e}",
                    u.feature().name()
                ),
            }
        }
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
        out.push(gauge(
            &names::FEATURE_UP,
            Feature::ALL
                .iter()
                .map(|f| Series {
                    labels: vec![("feature", label(f.name()))],
                    value: Value::Gauge(f64::from(u8::from(self.probes.feature_up(*f)))),
                })
                .collect(),
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
        let per_family = |v: &[u64; Feature::COUNT]| {
            Feature::ALL
                .iter()
                .map(|f| Series {
                    labels: vec![("family", label(f.name()))],
                    value: Value::Counter(v[*f as usize]),
                })
                .collect()
        };
        out.push(gauge(&names::MAP_READS, per_family(&self.map_reads)));
        out.push(gauge(
            &names::MAP_READ_ERRORS,
            per_family(&self.map_read_errors),
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
        let maps: Vec<_> = self
            .probes
            .features
            .units()
            .iter()
            .flat_map(|u| u.maps())
            .filter_map(|m| Some((m.map, m.capacity, m.entries?)))
            .collect();
        out.push(gauge(
            &names::KERNEL_MAP_ENTRIES,
            maps.iter()
                .map(|(name, _, n)| Series {
                    labels: vec![("map", label(*name))],
                    value: Value::Gauge(*n as f64),
                })
                .collect(),
        ));
        out.push(gauge(
            &names::KERNEL_MAP_CAPACITY,
            maps.iter()
                .map(|(name, cap, _)| Series {
                    labels: vec![("map", label(*name))],
                    value: Value::Gauge(f64::from(*cap)),
                })
                .collect(),
        ));
        out.push(gauge(
            &names::CARDINALITY_LABEL_SETS,
            one(Value::Gauge(self.budget.tracked() as f64)),
        ));
        let (room, memory) = self.budget.shed_total();
        out.push(gauge(
            &names::SERIES_SHED,
            [("room", room), ("memory", memory)]
                .into_iter()
                .map(|(r, n)| Series {
                    labels: vec![("reason", label(r))],
                    value: Value::Counter(n),
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
        out.push(gauge(
            &names::IDENTITY_LABEL_CHANGES,
            one(Value::Counter(self.labeler.label_changes)),
        ));
        if let Some(c) = self.labeler.containerd() {
            out.extend(metadata_families("containerd", c.shared()));
        }
        if let Some(k) = self.labeler.kubernetes() {
            out.extend(metadata_families("kubernetes", k.shared()));
            out.push(super::kubernetes::pod_labels(k));
        }
        if let Some(m) = &self.memory {
            out.push(gauge(
                &names::MEMORY_LIMIT,
                one(Value::Gauge(m.limit() as f64)),
            ));
        }
        out.push(gauge(
            &names::MEMORY_PRESSURE,
            one(Value::Gauge(f64::from(u8::from(
                self.budget.under_pressure(),
            )))),
        ));
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
                if let Some(m) = self.memory.as_mut() {
                    match m.observe(p.memory(), Instant::now()) {
                        Pressure::Squeeze => {
                            tracing::warn!(
                                "resident memory {} MiB is over the {} MiB memory budget: shedding the least active series into the overflow",
                                p.memory() >> 20,
                                m.limit() >> 20
                            );
                            self.budget.squeeze(true);
                        }
                        Pressure::Relieved if self.budget.under_pressure() => {
                            tracing::info!("resident memory back under the memory budget");
                            self.budget.squeeze(false);
                        }
                        _ => {}
                    }
                }
                out.push(gauge(
                    &names::AGENT_CPU,
                    one(Value::Gauge(p.accumulated_cpu_time() as f64 / 1e3)),
                ));
            }
        }
        out
    }
}

/// Health of a metadata source (label `source`).
fn metadata_families<V: Clone>(
    source: &'static str,
    shared: &crate::identity::source::Shared<V>,
) -> Vec<Family> {
    use std::sync::atomic::Ordering::Relaxed;
    let (s, len, capacity) = (&shared.stats, shared.len(), shared.capacity);
    let fam = |def: &names::MetricDef, v: Value| Family {
        series: vec![Series {
            labels: vec![("source", label(source))],
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
        fam(
            &names::METADATA_LOOKUPS,
            Value::Counter(s.lookups.load(Relaxed)),
        ),
        fam(&names::METADATA_ENTRIES, Value::Gauge(len as f64)),
        fam(&names::METADATA_CAPACITY, Value::Gauge(capacity as f64)),
        fam(
            &names::METADATA_DROPPED,
            Value::Gauge(s.dropped.load(Relaxed) as f64),
        ),
    ]
}
