//! TCP and UDP payload bytes and packets per cgroup, from cgroup_skb programs attached
//! (allow-multi) to the cgroup2 root: they run for every socket of every descendant
//! cgroup, in any network namespace, and the packet's cgroup is its socket's.
//!
//! Payload = skb length minus the IP and TCP/UDP headers. A GSO/GRO packet carries one
//! set of headers for many segments, so its payload is still exact and its segment count
//! is `gso_segs`.
use archscope_common::{IPPROTO_TCP, IPPROTO_UDP, Loss, Program, Traffic};
use aya_ebpf::{
    helpers::bpf_skb_cgroup_id,
    macros::{cgroup_skb, map},
    maps::PerCpuHashMap,
    programs::SkBuffContext,
};

use crate::losses::{self, add};

/// Keyed by cgroup id; sized by the agent (`cgroup_cache_entries`).
#[map]
static NET_TRAFFIC: PerCpuHashMap<u64, Traffic> = PerCpuHashMap::with_max_entries(16384, 0);

const ETH_P_IP: u32 = 0x0800;
const ETH_P_IPV6: u32 = 0x86DD;

#[cgroup_skb]
pub fn archscope_skb_egress(ctx: SkBuffContext) -> i32 {
    crate::fault::reject_if_injected(Program::SkbEgress);
    let _ = try_count(&ctx, true);
    1 // always let the packet through: we observe, never filter
}

#[cgroup_skb]
pub fn archscope_skb_ingress(ctx: SkBuffContext) -> i32 {
    crate::fault::reject_if_injected(Program::SkbIngress);
    let _ = try_count(&ctx, false);
    1
}

fn try_count(ctx: &SkBuffContext, egress: bool) -> Result<(), i64> {
    let skb = ctx.skb.skb;
    // SAFETY: reading fields of the program's own context.
    // `protocol` holds the big-endian EtherType in its low 16 bits.
    let (proto, len, gso_segs) = unsafe {
        (
            u16::from_be((*skb).protocol as u16) as u32,
            (*skb).len,
            (*skb).gso_segs,
        )
    };
    // cgroup_skb data starts at the network header.
    let (l4, ip_len) = if proto == ETH_P_IP {
        let vihl: u8 = ctx.load(0)?;
        (ctx.load::<u8>(9)?, ((vihl & 0x0f) as u32) * 4)
    } else if proto == ETH_P_IPV6 {
        // Extension headers are not walked: such packets count as neither TCP nor UDP.
        (ctx.load::<u8>(6)?, 40)
    } else {
        return Ok(());
    };
    let hdr = if l4 == IPPROTO_TCP {
        let off: u8 = ctx.load(ip_len as usize + 12)?;
        ip_len + ((off >> 4) as u32) * 4
    } else if l4 == IPPROTO_UDP {
        ip_len + 8
    } else {
        return Ok(());
    };
    let payload = len.saturating_sub(hdr) as u64;
    let packets = if gso_segs > 1 { gso_segs as u64 } else { 1 };
    // SAFETY: the helper takes the program's context.
    let cgroup_id = unsafe { bpf_skb_cgroup_id(skb) };
    let Some(t) = crate::maps::slot(&NET_TRAFFIC, &cgroup_id, Traffic::default) else {
        losses::count(Loss::NetMapFull);
        return Ok(());
    };
    // SAFETY: this CPU's value in NET_TRAFFIC.
    unsafe {
        let (bytes, pkts) = match (l4 == IPPROTO_TCP, egress) {
            (true, true) => (&raw mut (*t).tcp_tx_bytes, &raw mut (*t).tcp_tx_segments),
            (true, false) => (&raw mut (*t).tcp_rx_bytes, &raw mut (*t).tcp_rx_segments),
            (false, true) => (&raw mut (*t).udp_tx_bytes, &raw mut (*t).udp_tx_datagrams),
            (false, false) => (&raw mut (*t).udp_rx_bytes, &raw mut (*t).udp_rx_datagrams),
        };
        add(bytes, payload);
        add(pkts, packets);
    }
    Ok(())
}
