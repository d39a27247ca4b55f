//! The agent's own health in every snapshot: build and node info, programs and features
//! up, kernel losses, map reads and fill, the series budget, caches, metadata sources,
//! memory and CPU.
use std::time::Instant;

use archscope_common::Loss;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate};

use super::collector::Inner;
use super::memory::Pressure;
use super::model::{Family, Series, Value, label};
use super::names;
use crate::probes::Feature;

impl Inner {
    pub(super) fn health(
        &mut self,
        losses: &[u64],
        folded: &[(&'static str, usize)],
    ) -> Vec<Family> {
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
