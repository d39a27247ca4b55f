//! Traffic map contents → the bytes and packets families.
use std::collections::HashMap;

use archscope_common::Traffic;

use crate::collect::model::Family;
use crate::collect::names;
use crate::features::{Identities, counter, with};
use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;

pub fn families(
    traffic: &HashMap<u64, Traffic>,
    cgroups: &CgroupResolver,
    labeler: &mut Labeler,
) -> Vec<Family> {
    let mut ids = Identities::new(cgroups, labeler);
    let mut identity = |cgroup_id: u64| ids.of(cgroup_id);
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
