//! Builds a `Snapshot` on demand: reads the maps once, labels, applies the budget, and adds
//! the agent's own health (health.rs). Both exporters call `snapshot()`; nothing else reads the maps.
use std::sync::Mutex;
use std::time::Instant;

use sysinfo::System;

use super::budget::{Budget, IDLE_BEFORE_REPLACED};
use super::memory::MemoryBudget;
use super::model::{Snapshot, label};
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

pub(super) struct Inner {
    pub(super) probes: Probes,
    pub(super) table: SyscallTable,
    pub(super) cgroups: CgroupResolver,
    pub(super) labeler: Labeler,
    pub(super) budget: Budget,
    pub(super) memory: Option<MemoryBudget>,
    pub(super) sys: Option<System>,
    pub(super) build: [(&'static str, std::sync::Arc<str>); 3],
    pub(super) node: Option<crate::collect::model::Labels>,
    /// Per feature (`Feature as usize`).
    pub(super) map_reads: [u64; Feature::COUNT],
    pub(super) map_read_errors: [u64; Feature::COUNT],
    pub(super) scrapes: u64,
    pub(super) cgroups_forgotten: u64,
    pub(super) last_duration: f64,
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
}
