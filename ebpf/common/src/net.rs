//! Network aggregation, per cgroup: the TCP connection lifecycle (from
//! `sock:inet_sock_set_state` and `tcp:tcp_retransmit_skb`) and TCP/UDP traffic (from
//! cgroup_skb programs on the cgroup2 root). Keyed by the socket's cgroup, never the
//! current task's: state changes and packets are mostly handled in softirq context.
use crate::syscalls::HIST_BUCKETS;

crate::named_enum! {
    /// Why a connect attempt (SYN_SENT → CLOSE) failed, by the socket's `sk_err`.
    pub enum ConnectFailure {
        /// ECONNREFUSED: a RST answered the SYN (nothing listens on the port).
        Refused = "refused",
        /// ETIMEDOUT: SYN retransmissions ran out.
        Timeout = "timeout",
        /// ECONNRESET / EPIPE.
        Reset = "reset",
        /// Anything else, including a connect abandoned by close() (sk_err 0).
        Other = "other",
    }
}

pub const CONNECT_FAILURE_KINDS: usize = ConnectFailure::COUNT;

/// Per-CPU TCP connection statistics of one cgroup.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpStats {
    /// SYN_SENT → ESTABLISHED (connect).
    pub active_opens: u64,
    /// SYN_RECV → ESTABLISHED (accept side).
    pub passive_opens: u64,
    /// Established connections that reached CLOSE.
    pub closes: u64,
    /// Established connections that ended by a reset (sk_err ECONNRESET/EPIPE).
    pub resets: u64,
    /// Opened minus closed, for connections seen opening. Per-CPU parts wrap; their
    /// wrapping sum is the count (an open on one CPU, its close on another).
    pub open: u64,
    /// Segments retransmitted (tcp_retransmit_skb).
    pub retransmits: u64,
    pub connect_failed: [u64; CONNECT_FAILURE_KINDS],
    /// Connect latency (SYN_SENT → ESTABLISHED), log2 ns buckets as the syscall histogram.
    pub connect_count: u64,
    pub connect_ns_sum: u64,
    pub connect_hist: [u64; HIST_BUCKETS],
    /// Smoothed RTT of each established connection when it closes, in ns.
    pub srtt_count: u64,
    pub srtt_ns_sum: u64,
    pub srtt_hist: [u64; HIST_BUCKETS],
}

impl TcpStats {
    pub const ZERO: Self = Self {
        active_opens: 0,
        passive_opens: 0,
        closes: 0,
        resets: 0,
        open: 0,
        retransmits: 0,
        connect_failed: [0; CONNECT_FAILURE_KINDS],
        connect_count: 0,
        connect_ns_sum: 0,
        connect_hist: [0; HIST_BUCKETS],
        srtt_count: 0,
        srtt_ns_sum: 0,
        srtt_hist: [0; HIST_BUCKETS],
    };

    /// Fold another CPU's part in (wrapping, for the `open` gauge).
    pub fn add(&mut self, o: &TcpStats) {
        self.active_opens += o.active_opens;
        self.passive_opens += o.passive_opens;
        self.closes += o.closes;
        self.resets += o.resets;
        self.open = self.open.wrapping_add(o.open);
        self.retransmits += o.retransmits;
        for (a, b) in self.connect_failed.iter_mut().zip(o.connect_failed) {
            *a += b;
        }
        self.connect_count += o.connect_count;
        self.connect_ns_sum += o.connect_ns_sum;
        for (a, b) in self.connect_hist.iter_mut().zip(o.connect_hist) {
            *a += b;
        }
        self.srtt_count += o.srtt_count;
        self.srtt_ns_sum += o.srtt_ns_sum;
        for (a, b) in self.srtt_hist.iter_mut().zip(o.srtt_hist) {
            *a += b;
        }
    }
}

/// Per-CPU traffic of one cgroup, payload bytes (IP and TCP/UDP headers excluded) and
/// packets (TCP segments after GSO/GRO splitting, UDP datagrams).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    pub tcp_tx_bytes: u64,
    pub tcp_rx_bytes: u64,
    pub tcp_tx_segments: u64,
    pub tcp_rx_segments: u64,
    pub udp_tx_bytes: u64,
    pub udp_rx_bytes: u64,
    pub udp_tx_datagrams: u64,
    pub udp_rx_datagrams: u64,
}

impl Traffic {
    pub fn add(&mut self, o: &Traffic) {
        self.tcp_tx_bytes += o.tcp_tx_bytes;
        self.tcp_rx_bytes += o.tcp_rx_bytes;
        self.tcp_tx_segments += o.tcp_tx_segments;
        self.tcp_rx_segments += o.tcp_rx_segments;
        self.udp_tx_bytes += o.udp_tx_bytes;
        self.udp_rx_bytes += o.udp_rx_bytes;
        self.udp_tx_datagrams += o.udp_tx_datagrams;
        self.udp_rx_datagrams += o.udp_rx_datagrams;
    }
}

/// A TCP socket between SYN_SENT/SYN_RECV and CLOSE, keyed by its kernel address.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SockInfo {
    /// When connect() sent the SYN (0 for passive opens).
    pub syn_ns: u64,
    /// 1 once counted in `TcpStats::open`.
    pub established: u32,
    pub _pad: u32,
}

/// Everything the TCP programs need to know about this kernel, found by the agent at
/// load time: record offsets from tracefs `format` files, struct member offsets from BTF,
/// TCP state numbers from the tracepoint's own print format and errno numbers from the
/// architecture's table. `enabled` stays 0 unless all were found.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpLayout {
    /// `sock:inet_sock_set_state` fields.
    pub state_skaddr: u32,
    pub state_old: u32,
    pub state_new: u32,
    pub state_protocol: u32,
    /// `tcp:tcp_retransmit_skb.skaddr`.
    pub retrans_skaddr: u32,
    /// `struct sock` → its cgroup: offset of `sk_cgrp_data.cgroup` (5.15+) or of
    /// `sk_cgrp_data.val` (before) in `sock`, of `kn` in `cgroup`, of `id` in `kernfs_node`.
    pub sk_cgroup: u32,
    pub cgroup_kn: u32,
    pub kn_id: u32,
    /// `sock.sk_err` (int) and `tcp_sock.srtt_us` (u32, µs << 3).
    pub sk_err: u32,
    pub srtt_us: u32,
    pub st_established: u32,
    pub st_syn_sent: u32,
    pub st_syn_recv: u32,
    pub st_close: u32,
    pub st_listen: u32,
    pub econnrefused: u32,
    pub etimedout: u32,
    pub econnreset: u32,
    pub epipe: u32,
    pub enabled: u32,
    /// 1 before 5.15, where `sock_cgroup_data` is a union and its `val` holds the cgroup
    /// pointer only when its two low bits are clear (net_prio or net_cls data otherwise):
    /// then, as the kernel's `sock_cgroup_ptr()` says, the socket is the root cgroup's.
    pub sk_cgroup_tagged: u32,
    pub _pad: u32,
    /// The cgroup2 root's id, for those sockets.
    pub root_cgroup_id: u64,
}

/// IANA protocol numbers (the wire's, the same on every architecture).
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;

const _: () = assert!(core::mem::size_of::<TcpStats>() == 8 * (10 + 4 + 2 * HIST_BUCKETS));
const _: () = assert!(core::mem::size_of::<Traffic>() == 64);
const _: () = assert!(core::mem::size_of::<SockInfo>() == 16);
const _: () = assert!(core::mem::size_of::<TcpLayout>() == 96);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: #[repr(C)] integer-only types without padding (size asserts above).
    unsafe impl aya::Pod for super::TcpStats {}
    unsafe impl aya::Pod for super::Traffic {}
    unsafe impl aya::Pod for super::SockInfo {}
    unsafe impl aya::Pod for super::TcpLayout {}
}
