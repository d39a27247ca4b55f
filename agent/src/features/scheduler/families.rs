//! Scheduler map contents → the scheduler families.
use std::collections::HashMap;

use archscope_common::{HIST_BUCKETS, SchedStats, hist_upper_bound_ns};

use crate::collect::model::{Family, Series, Value};
use crate::collect::names;
use crate::features::{Identities, counter, with};
use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;

pub fn families(
    stats: &HashMap<u64, SchedStats>,
    cgroups: &CgroupResolver,
    labeler: &mut Labeler,
) -> Vec<Family> {
    let mut ids = Identities::new(cgroups, labeler);
    let bounds: Vec<f64> = (0..HIST_BUCKETS)
        .map(|i| hist_upper_bound_ns(i).map_or(f64::INFINITY, |ns| ns as f64 / 1e9))
        .collect();
    let mut latency = names::RUNQUEUE_LATENCY.family_empty();
    let mut cpu = names::CPU_TIME.family_empty();
    let mut switches = names::CONTEXT_SWITCHES.family_empty();
    let mut keys: Vec<_> = stats.keys().copied().collect();
    keys.sort_unstable();
    for id in keys {
        let s = &stats[&id];
        let l = ids.of(id);
        if s.wait_count > 0 {
            latency.series.push(Series {
                labels: l.clone(),
                value: Value::Histogram {
                    sum: s.wait_ns_sum as f64 / 1e9,
                    count: s.wait_count,
                    buckets: bounds.iter().copied().zip(s.wait_hist).collect(),
                },
            });
        }
        cpu.series.push(Series {
            labels: l.clone(),
            // a float counter (the encoders write a Gauge value of a Counter family as one)
            value: Value::Gauge(s.cpu_ns as f64 / 1e9),
        });
        switches
            .series
            .push(counter(with(l.clone(), "kind", "voluntary"), s.voluntary));
        switches
            .series
            .push(counter(with(l, "kind", "involuntary"), s.involuntary));
    }
    vec![latency, cpu, switches]
}
