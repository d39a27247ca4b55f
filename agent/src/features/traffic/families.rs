//! Traffic map contents → the bytes and packets families.
use std::collections::HashMap;

use archscope_common::Traffic;

use crate::collect::model::{Family, Labels, Series, Value, label};
use crate::collect::names;
use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;

pub fn families(
    traffic: &HashMap<u64, Traffic>,
    cgroups: &CgroupResolver,
    labeler: &mut Labeler,
) -> Vec<Family> {
    let mut ids: HashMap<u64, Labels> = HashMap::new();
    let mut identity = |cgroup_id: u64| -> Labels {
        ids.entry(cgroup_id)
            .or_insert_with(|| labeler.labels(cgroups.path(cgroup_id)))
            .clone()
    };
    let with = |mut l: Labels, k: &'static str, v: &'static str| {
        l.push((k, label(v)));
        l
    };
    let counter = |labels: Labels, v: u64| Series {
        labels,
        value: Value::Counter(v),
    };
    let [mut io, mut packets] =
        [&names::NETWORK_IO, &names::NETWORK_PACKETS].map(|d| d.family_empty());
    let mut keys: Vec<_> = traffic.keys().copied().collect();
    keys.sort_unstable();
    for id in keys {
        let t = &traffic[&id];
        let l = identity(id);
        let sides = [
            ("tcp", "transmit", t.tcp_tx_bytes, t.tcp_tx_segments),
            ("tcp", "receive", t.tcp_rx_bytes, t.tcp_rx_segments),
            ("udp", "transmit", t.udp_tx_bytes, t.udp_tx_datagrams),
            ("udp", "receive", t.udp_rx_bytes, t.udp_rx_datagrams),
        ];
        for (proto, dir, bytes, pkts) in sides {
            if pkts == 0 {
                continue;
            }
            let l = with(with(l.clone(), "protocol", proto), "direction", dir);
            io.series.push(counter(l.clone(), bytes));
            packets.series.push(counter(l, pkts));
        }
    }
    vec![io, packets]
}
