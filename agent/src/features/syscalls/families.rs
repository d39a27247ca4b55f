//! Syscall map contents → the syscall families.
use archscope_common::{HIST_BUCKETS, hist_upper_bound_ns};

use crate::arch::{errno, syscalls::SyscallTable};
use crate::collect::model::{Family, Series, Value, label};
use crate::collect::names;

use super::maps::SyscallMaps;
use crate::features::Identities;
use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;

pub fn families(
    maps: &SyscallMaps,
    table: &SyscallTable,
    cgroups: &CgroupResolver,
    labeler: &mut Labeler,
) -> [Family; 3] {
    // Identity labels once per cgroup, shared by all its series.
    let mut ids = Identities::new(cgroups, labeler);
    let mut identity = |cgroup_id: u64| ids.of(cgroup_id);
    let mut calls = names::SYSCALLS.family_empty();
    let mut errors = names::SYSCALL_ERRORS.family_empty();
    let mut duration = names::SYSCALL_DURATION.family_empty();
    let bounds: Vec<f64> = (0..HIST_BUCKETS)
        .map(|i| hist_upper_bound_ns(i).map_or(f64::INFINITY, |ns| ns as f64 / 1e9))
        .collect();
    let mut keys: Vec<_> = maps.stats.keys().collect();
    keys.sort_unstable();
    for k in keys {
        let s = &maps.stats[k];
        let mut labels = identity(k.cgroup_id);
        labels.push(("syscall", label(table.label(k.nr))));
        if s.calls > 0 {
            calls.series.push(Series {
                labels: labels.clone(),
                value: Value::Counter(s.calls),
            });
        }
        if s.completed > 0 {
            let buckets = bounds.iter().copied().zip(s.hist.iter().copied()).collect();
            let value = Value::Histogram {
                sum: s.duration_ns_sum as f64 / 1e9,
                count: s.completed,
                buckets,
            };
            duration.series.push(Series { labels, value });
        }
    }
    let mut ekeys: Vec<_> = maps.errnos.keys().collect();
    ekeys.sort_unstable();
    for k in ekeys {
        let mut labels = identity(k.cgroup_id);
        labels.push(("syscall", label(table.label(k.nr))));
        labels.push(("errno", label(errno::label(table.arch, k.errno))));
        errors.series.push(Series {
            labels,
            value: Value::Counter(maps.errnos[k]),
        });
    }
    [calls, errors, duration]
}
