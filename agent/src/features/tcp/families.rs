//! TCP map contents → the TCP families.
use std::collections::HashMap;

use archscope_common::{ConnectFailure, HIST_BUCKETS, TcpStats, hist_upper_bound_ns};

use crate::collect::model::{Family, Series, Value};
use crate::collect::names;
use crate::features::{Identities, counter, with};
use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;

pub fn families(
    tcp: &HashMap<u64, TcpStats>,
    cgroups: &CgroupResolver,
    labeler: &mut Labeler,
) -> Vec<Family> {
    let mut ids = Identities::new(cgroups, labeler);
    let mut identity = |cgroup_id: u64| ids.of(cgroup_id);
    let bounds: Vec<f64> = (0..HIST_BUCKETS)
        .map(|i| hist_upper_bound_ns(i).map_or(f64::INFINITY, |ns| ns as f64 / 1e9))
        .collect();
    let histogram = |count: u64, sum_ns: u64, hist: &[u64; HIST_BUCKETS]| Value::Histogram {
        sum: sum_ns as f64 / 1e9,
        count,
        buckets: bounds.iter().copied().zip(hist.iter().copied()).collect(),
    };
    let [
        mut opened,
        mut closed,
        mut resets,
        mut open,
        mut failures,
        mut connect,
        mut srtt,
        mut retrans,
    ] = [
        &names::TCP_OPENED,
        &names::TCP_CLOSED,
        &names::TCP_RESETS,
        &names::TCP_OPEN,
        &names::TCP_CONNECT_FAILURES,
        &names::TCP_CONNECT_DURATION,
        &names::TCP_SRTT,
        &names::TCP_RETRANSMITS,
    ]
    .map(|d| d.family_empty());
    let mut keys: Vec<_> = tcp.keys().copied().collect();
    keys.sort_unstable();
    for id in keys {
        let s = &tcp[&id];
        let l = identity(id);
        opened
            .series
            .push(counter(with(l.clone(), "side", "active"), s.active_opens));
        opened
            .series
            .push(counter(with(l.clone(), "side", "passive"), s.passive_opens));
        closed.series.push(counter(l.clone(), s.closes));
        resets.series.push(counter(l.clone(), s.resets));
        open.series.push(Series {
            labels: l.clone(),
            value: Value::Gauge(s.open as i64 as f64),
        });
        for f in ConnectFailure::ALL {
            let n = s.connect_failed[f as usize];
            failures
                .series
                .push(counter(with(l.clone(), "reason", f.name()), n));
        }
        if s.connect_count > 0 {
            connect.series.push(Series {
                labels: l.clone(),
                value: histogram(s.connect_count, s.connect_ns_sum, &s.connect_hist),
            });
        }
        if s.srtt_count > 0 {
            srtt.series.push(Series {
                labels: l.clone(),
                value: histogram(s.srtt_count, s.srtt_ns_sum, &s.srtt_hist),
            });
        }
        retrans.series.push(counter(l, s.retransmits));
    }
    vec![
        opened, closed, resets, open, failures, connect, srtt, retrans,
    ]
}
