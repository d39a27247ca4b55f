//! TCP connection lifecycle per cgroup: opens (active/passive), closes, resets, failed
//! connects by reason, connect latency, smoothed RTT at close and retransmits.
//!
//! State changes arrive on `sock:inet_sock_set_state`, often in softirq context, so the
//! cgroup is the socket's (`sk->sk_cgrp_data.cgroup->kn->id`, offsets from BTF), never
//! the current task's.
use archscope_common::{
    ConnectFailure, IPPROTO_TCP, Loss, Program, SockInfo, TcpLayout, TcpStats, hist_bucket,
};
use aya_ebpf::{
    helpers::{bpf_ktime_get_ns, bpf_probe_read_kernel},
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuArray, PerCpuHashMap},
    programs::TracePointContext,
};

use crate::losses::{self, add};

/// Filled in by the agent before loading (see `TcpLayout`).
#[unsafe(no_mangle)]
static TCP_LAYOUT: TcpLayout = TcpLayout {
    state_skaddr: 0,
    state_old: 0,
    state_new: 0,
    state_protocol: 0,
    retrans_skaddr: 0,
    sk_cgroup: 0,
    cgroup_kn: 0,
    kn_id: 0,
    sk_err: 0,
    srtt_us: 0,
    st_established: 0,
    st_syn_sent: 0,
    st_syn_recv: 0,
    st_close: 0,
    econnrefused: 0,
    etimedout: 0,
    econnreset: 0,
    epipe: 0,
    st_listen: 0,
    enabled: 0,
    sk_cgroup_tagged: 0,
    _pad: 0,
    root_cgroup_id: 0,
};

/// Keyed by cgroup id; sized by the agent (`cgroup_cache_entries`).
#[map]
static TCP_STATS: PerCpuHashMap<u64, TcpStats> = PerCpuHashMap::with_max_entries(16384, 0);

/// One all-zero value (the kernel zeroes a new array), never written: what new TCP_STATS
/// keys start from.
#[map]
static TCP_ZERO: PerCpuArray<TcpStats> = PerCpuArray::with_max_entries(1, 0);

/// Sockets between SYN and CLOSE, keyed by address. LRU: a socket freed without a CLOSE
/// transition we saw ages out instead of pinning an entry.
#[map]
static TCP_SOCKS: LruHashMap<u64, SockInfo> = LruHashMap::with_max_entries(65536, 0);

#[inline(always)]
fn layout() -> TcpLayout {
    // SAFETY: a read-only global patched by the loader; volatile keeps the compiler from
    // folding the zero initialiser.
    unsafe { core::ptr::read_volatile(&TCP_LAYOUT) }
}

/// The cgroup v2 id a socket is charged to.
#[inline(always)]
pub fn sock_cgroup_id(l: &TcpLayout, sk: u64) -> Result<u64, i64> {
    // SAFETY: kernel pointers read through bpf_probe_read_kernel, which fails cleanly.
    unsafe {
        let cgrp: u64 =
            bpf_probe_read_kernel((sk + l.sk_cgroup as u64) as *const u64).map_err(i64::from)?;
        if l.sk_cgroup_tagged != 0 && (cgrp & 3 != 0 || cgrp == 0) {
            return Ok(l.root_cgroup_id);
        }
        let kn: u64 =
            bpf_probe_read_kernel((cgrp + l.cgroup_kn as u64) as *const u64).map_err(i64::from)?;
        bpf_probe_read_kernel((kn + l.kn_id as u64) as *const u64).map_err(i64::from)
    }
}

#[inline(always)]
fn stats_of(ctx: &TracePointContext, cgroup_id: u64) -> Option<*mut TcpStats> {
    // 528 bytes: too large for the stack, so new keys start from a map value nobody writes
    let p = TCP_ZERO
        .get_ptr(0)
        // SAFETY: a value of a live map, valid while the program runs.
        .and_then(|zero| crate::maps::slot_from(&TCP_STATS, &cgroup_id, unsafe { &*zero }));
    if p.is_none() {
        losses::count_and_log(ctx, Loss::NetMapFull);
    }
    p
}

#[tracepoint(category = "sock", name = "inet_sock_set_state")]
pub fn archscope_tcp_state(ctx: TracePointContext) -> u32 {
    crate::fault::reject_if_injected(Program::TcpState);
    if try_tcp_state(&ctx).is_err() {
        losses::count(Loss::ReadFailed);
    }
    0
}

fn try_tcp_state(ctx: &TracePointContext) -> Result<(), i64> {
    let l = layout();
    if l.enabled == 0 {
        return Ok(());
    }
    // SAFETY: offsets from this kernel's format file.
    let proto: u16 = unsafe { ctx.read_at(l.state_protocol as usize) }.map_err(i64::from)?;
    if proto != IPPROTO_TCP as u16 {
        return Ok(());
    }
    let sk: u64 = unsafe { ctx.read_at(l.state_skaddr as usize) }.map_err(i64::from)?;
    let old: i32 = unsafe { ctx.read_at(l.state_old as usize) }.map_err(i64::from)?;
    let new: i32 = unsafe { ctx.read_at(l.state_new as usize) }.map_err(i64::from)?;
    let (old, new) = (old as u32, new as u32);
    if new == l.st_syn_sent {
        let info = SockInfo {
            syn_ns: unsafe { bpf_ktime_get_ns() },
            established: 0,
            _pad: 0,
        };
        if TCP_SOCKS.insert(sk, info, 0).is_err() {
            losses::count(Loss::SockMapFull);
        }
    } else if new == l.st_established {
        established(ctx, &l, sk, old)?;
    } else if new == l.st_close {
        closed(ctx, &l, sk, old)?;
    }
    Ok(())
}

fn established(ctx: &TracePointContext, l: &TcpLayout, sk: u64, old: u32) -> Result<(), i64> {
    let active = old == l.st_syn_sent;
    if !active && old != l.st_syn_recv {
        return Ok(());
    }
    let Some(s) = stats_of(ctx, sock_cgroup_id(l, sk)?) else {
        return Ok(());
    };
    let now = unsafe { bpf_ktime_get_ns() };
    // SAFETY: `s` is this CPU's value in TCP_STATS; `info` an entry of TCP_SOCKS.
    unsafe {
        if active {
            add(&raw mut (*s).active_opens, 1);
            if let Some(info) = TCP_SOCKS.get_ptr_mut(sk)
                && (*info).syn_ns != 0
                && now > (*info).syn_ns
            {
                let d = now - (*info).syn_ns;
                add(&raw mut (*s).connect_count, 1);
                add(&raw mut (*s).connect_ns_sum, d);
                let b = hist_bucket(d);
                if let Some(slot) = (*s).connect_hist.get_mut(b) {
                    add(slot, 1);
                }
            }
        } else {
            add(&raw mut (*s).passive_opens, 1);
        }
        let info = SockInfo {
            syn_ns: 0,
            established: 1,
            _pad: 0,
        };
        if TCP_SOCKS.insert(sk, info, 0).is_ok() {
            add(&raw mut (*s).open, 1);
        } else {
            losses::count(Loss::SockMapFull);
        }
    }
    Ok(())
}

fn closed(ctx: &TracePointContext, l: &TcpLayout, sk: u64, old: u32) -> Result<(), i64> {
    // SAFETY: the value is copied out at once.
    let tracked = unsafe { TCP_SOCKS.get(sk) }.map(|i| i.established);
    let _ = TCP_SOCKS.remove(sk);
    // A listener closing, or a handshake that never completed on the accept side.
    if old == l.st_syn_recv || old == l.st_close || old == l.st_listen {
        return Ok(());
    }
    // SAFETY: kernel memory read through the helper.
    let err: i32 = unsafe { bpf_probe_read_kernel((sk + l.sk_err as u64) as *const i32) }
        .map_err(i64::from)?;
    let err = err as u32;
    let Some(s) = stats_of(ctx, sock_cgroup_id(l, sk)?) else {
        return Ok(());
    };
    // SAFETY: `s` is this CPU's value in TCP_STATS.
    unsafe {
        if old == l.st_syn_sent {
            let why = if err == l.econnrefused {
                ConnectFailure::Refused
            } else if err == l.etimedout {
                ConnectFailure::Timeout
            } else if err == l.econnreset || err == l.epipe {
                ConnectFailure::Reset
            } else {
                ConnectFailure::Other
            };
            if let Some(slot) = (*s).connect_failed.get_mut(why as usize) {
                add(slot, 1);
            }
            return Ok(());
        }
        add(&raw mut (*s).closes, 1);
        if err != 0 && (err == l.econnreset || err == l.epipe) {
            add(&raw mut (*s).resets, 1);
        }
        if tracked == Some(1) {
            add(&raw mut (*s).open, u64::MAX); // -1, wrapping
        }
        let srtt: u32 =
            bpf_probe_read_kernel((sk + l.srtt_us as u64) as *const u32).map_err(i64::from)?;
        if srtt != 0 {
            let ns = (srtt as u64 >> 3) * 1000;
            add(&raw mut (*s).srtt_count, 1);
            add(&raw mut (*s).srtt_ns_sum, ns);
            if let Some(slot) = (*s).srtt_hist.get_mut(hist_bucket(ns)) {
                add(slot, 1);
            }
        }
    }
    Ok(())
}

#[tracepoint(category = "tcp", name = "tcp_retransmit_skb")]
pub fn archscope_tcp_retransmit(ctx: TracePointContext) -> u32 {
    crate::fault::reject_if_injected(Program::TcpRetransmit);
    if try_tcp_retransmit(&ctx).is_err() {
        losses::count(Loss::ReadFailed);
    }
    0
}

fn try_tcp_retransmit(ctx: &TracePointContext) -> Result<(), i64> {
    let l = layout();
    if l.enabled == 0 {
        return Ok(());
    }
    // SAFETY: offset from this kernel's format file.
    let sk: u64 = unsafe { ctx.read_at(l.retrans_skaddr as usize) }.map_err(i64::from)?;
    if sk == 0 {
        return Ok(());
    }
    if let Some(s) = stats_of(ctx, sock_cgroup_id(&l, sk)?) {
        // SAFETY: this CPU's value.
        unsafe { add(&raw mut (*s).retransmits, 1) };
    }
    Ok(())
}
