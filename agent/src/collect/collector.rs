//! Builds a `Snapshot` on demand: reads the maps once, labels, applies the budget, and adds
//! the agent's own health. Both exporters call `snapshot()`; nothing else reads the maps.
use std::sync::Mutex;
use std::time::Instant;

use std::collections::HashMap;

use archscope_common::{Loss, PmuKey, PmuValue};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use super::budget::{Budget, IDLE_BEFORE_REPLACED};
use super::memory::{MemoryBudget, Pressure};
use super::model::{Family, Series, Snapshot, Value, label};
use super::names;
use super::pmu::PmuCollect;
use crate::arch::syscalls::SyscallTable;
use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;
use crate::probes::{self, Feature, Probes, net, syscalls};

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
    pmu: Option<PmuCollect>,
    /// Per feature (`Feature as usize`).
    map_reads: [u64; 5],
    map_read_errors: [u64; 5],
    scrapes: u64,
    cgroups_forgotten: u64,
    last_duration: f64,
    /// Keys in each exported kernel map at the last read (`None`: not read).
    map_fill: [Option<usize>; 7],
}

impl Collector {
    pub fn new(
        probes: Probes,
        table: SyscallTable,
        cgroups: CgroupResolver,
        labeler: Labeler,
        limits: SeriesLimits,
        node: Option<&crate::node::NodeInfo>,
        pmu: Option<crate::pmu::Pmu>,
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
                budget: Budget::new(limits.max_series_per_metric, IDLE_BEFORE_REPLACED),
                memory: limits.memory_limit.map(MemoryBudget::new),
                sys: System::new().ok(),
                build,
                node,
                pmu: pmu.map(PmuCollect::new),
                map_reads: [0; 5],
                map_read_errors: [0; 5],
                scrapes: 0,
                cgroups_forgotten: 0,
                last_duration: 0.0,
                map_fill: [None; 7],
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
        let mut families = Vec::new();
        let mut losses = [0u64; archscope_common::LOSS_KINDS];
        let mut folded = Vec::new();
        let (sys_maps, net_maps, pmu_maps) = self.read_maps();
        let named = self.take_cgroup_paths();
        self.map_fill = [
            sys_maps.as_ref().map(|m| m.stats.len()),
            sys_maps.as_ref().map(|m| m.errnos.len()),
            sys_maps.as_ref().map(|m| m.in_flight),
            net_maps.as_ref().map(|m| m.tcp.len()),
            net_maps.as_ref().map(|m| m.traffic.len()),
            pmu_maps.as_ref().map(|m| m.len()),
            named,
        ];
        if let Some(ebpf) = self.probes.ebpf.as_ref() {
            match syscalls::read_losses(ebpf) {
                Ok(l) => losses = l,
                Err(e) => tracing::warn!("reading loss counters: {e}"),
            }
        }
        let ids = sys_maps
            .iter()
            .flat_map(|m| {
                m.stats
                    .keys()
                    .map(|k| k.cgroup_id)
                    .chain(m.errnos.keys().map(|k| k.cgroup_id))
            })
            .chain(
                net_maps
                    .iter()
                    .flat_map(|m| m.tcp.keys().chain(m.traffic.keys()).copied()),
            )
            .chain(pmu_maps.iter().flat_map(|m| m.keys().map(|k| k.cgroup_id)));
        let ids: Vec<u64> = ids.collect();
        let gone = if sys_maps.is_some() || net_maps.is_some() || pmu_maps.is_some() {
            self.cgroups.refresh(ids.iter().copied())
        } else {
            Vec::new()
        };
        let mut paths: Vec<_> = ids.iter().map(|id| self.cgroups.path(*id)).collect();
        paths.sort_unstable();
        paths.dedup();
        self.labeler.prepare(&paths, started + LABEL_WAIT);
        let mut fams = Vec::new();
        if let Some(maps) = &sys_maps {
            fams.extend(super::syscalls::families(
                maps,
                &self.table,
                &self.cgroups,
                &mut self.labeler,
            ));
        }
        if let Some(m) = &net_maps {
            fams.extend(super::net::families(m, &self.cgroups, &mut self.labeler));
        }
        match self.pmu.as_mut() {
            Some(p) => {
                let avail = p.read();
                families.extend(p.cpu_families(&avail));
                if let Some(maps) = &pmu_maps {
                    fams.extend(p.cgroup_families(maps, &avail, &self.cgroups, &mut self.labeler));
                }
                families.extend(p.status_families());
            }
            None => families.push(super::pmu::unavailable_family()),
        }
        for mut f in fams {
            folded.push((f.name, self.budget.apply(&mut f).folded));
            families.push(f);
        }
        if !gone.is_empty() {
            self.forget(
                &gone,
                sys_maps.as_ref(),
                net_maps.is_some(),
                pmu_maps.as_ref(),
            );
        }
        families.extend(self.health(&losses, &folded));
        self.last_duration = started.elapsed().as_secs_f64();
        Snapshot { families }
    }

    /// One read of each collecting feature's maps.
    fn read_maps(
        &mut self,
    ) -> (
        Option<syscalls::SyscallMaps>,
        Option<net::NetMaps>,
        Option<HashMap<PmuKey, PmuValue>>,
    ) {
        let sys_up = self.probes.feature_up(Feature::Syscalls);
        let tcp_up = self.probes.feature_up(Feature::Tcp);
        let traffic_up = self.probes.feature_up(Feature::Traffic);
        let pmu_up = self.probes.feature_up(Feature::Pmu);
        let Some(ebpf) = self.probes.ebpf.as_ref() else {
            return (None, None, None);
        };
        let (reads, errors) = (&mut self.map_reads, &mut self.map_read_errors);
        let mut count = |f: Feature, failed: Option<&String>| {
            reads[f as usize] += 1;
            if let Some(e) = failed {
                errors[f as usize] += 1;
                tracing::warn!("reading {} maps: {e}", f.name());
            }
        };
        let sys = sys_up.then(|| syscalls::read(ebpf)).and_then(|r| {
            count(Feature::Syscalls, r.as_ref().err());
            r.ok()
        });
        // One read serves both network features.
        let net = (tcp_up || traffic_up)
            .then(|| net::read(ebpf))
            .and_then(|r| {
                for (f, up) in [(Feature::Tcp, tcp_up), (Feature::Traffic, traffic_up)] {
                    if up {
                        count(f, r.as_ref().err());
                    }
                }
                r.ok()
            });
        let pmu = pmu_up.then(|| probes::pmu::read(ebpf)).and_then(|r| {
            count(Feature::Pmu, r.as_ref().err());
            r.ok()
        });
        (sys, net, pmu)
    }

    /// Name the cgroups made since the last snapshot (before the walk, which cannot see
    /// those already removed). How many there were, for the map's fill gauge.
    fn take_cgroup_paths(&mut self) -> Option<usize> {
        if !self.probes.feature_up(Feature::CgroupPaths) {
            return None;
        }
        let ebpf = self.probes.ebpf.as_mut()?;
        let f = Feature::CgroupPaths as usize;
        self.map_reads[f] += 1;
        match probes::cgroup_paths::take(ebpf) {
            Ok(paths) => {
                let n = paths.len();
                self.cgroups.learn(paths);
                Some(n)
            }
            Err(e) => {
                self.map_read_errors[f] += 1;
                tracing::warn!("reading cgroup_paths maps: {e}");
                None
            }
        }
    }

    /// Drop what is kept of cgroups gone past their grace period: series budget, labels,
    /// kernel map entries.
    fn forget(
        &mut self,
        gone: &[(u64, std::sync::Arc<str>)],
        sys: Option<&syscalls::SyscallMaps>,
        net: bool,
        pmu: Option<&HashMap<PmuKey, PmuValue>>,
    ) {
        for (_, path) in gone {
            self.budget.release("cgroup", path);
            self.labeler.forget(path);
        }
        let ids: Vec<u64> = gone.iter().map(|(id, _)| *id).collect();
        // exported with their last path and labels in this snapshot; forgotten now
        self.cgroups.remove(&ids);
        let Some(ebpf) = self.probes.ebpf.as_mut() else {
            return;
        };
        if let Some(maps) = sys {
            match syscalls::forget_cgroups(ebpf, &ids, maps) {
                Ok(n) => self.cgroups_forgotten += n as u64,
                Err(e) => tracing::warn!("dropping entries of removed cgroups: {e}"),
            }
        }
        if net {
            match net::forget_cgroups(ebpf, &ids) {
                Ok(n) => self.cgroups_forgotten += n as u64,
                Err(e) => tracing::warn!("dropping network entries of removed cgroups: {e}"),
            }
        }
        if let Some(maps) = pmu {
            let keys: Vec<PmuKey> = maps.keys().copied().collect();
            match probes::pmu::forget_cgroups(ebpf, &ids, &keys) {
                Ok(n) => self.cgroups_forgotten += n as u64,
                Err(e) => tracing::warn!("dropping counter entries of removed cgroups: {e}"),
            }
        }
        if let Some(p) = self.pmu.as_mut() {
            p.forget(&ids);
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
        let per_family = |v: &[u64; 5]| {
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
        let cap = self.probes.map_capacity;
        let maps = [
            ("syscall_stats", cap.syscall_stats),
            ("syscall_errnos", cap.syscall_errnos),
            ("syscall_in_flight", cap.syscall_in_flight),
            ("tcp_stats", cap.tcp_stats),
            ("net_traffic", cap.net_traffic),
            ("pmu_stats", cap.pmu_stats),
            ("cgroup_paths", cap.cgroup_paths),
        ];
        let read = || {
            maps.iter()
                .zip(self.map_fill)
                .filter_map(|(m, n)| Some((m, n?)))
        };
        out.push(gauge(
            &names::KERNEL_MAP_ENTRIES,
            read()
                .map(|((name, _), n)| Series {
                    labels: vec![("map", label(*name))],
                    value: Value::Gauge(n as f64),
                })
                .collect(),
        ));
        out.push(gauge(
            &names::KERNEL_MAP_CAPACITY,
            read()
                .map(|((name, cap), _)| Series {
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
