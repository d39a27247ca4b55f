//! TCP and UDP, per cgroup; see probes/net.rs for what each counts.
use super::{Kind, MetricDef, Owner, otel, otel_up_down};
use crate::collect::model::Unit;
use crate::probes::Feature;

pub const TCP_OPENED: MetricDef = MetricDef {
    name: "tcp_connections_opened",
    kind: Kind::Counter,
    unit: None,
    identity: true,
    labels: &["side"],
    otlp: otel("archscope.tcp.connections.opened", "{connection}"),
    owner: Owner::Feature(Feature::Tcp),
    help: "TCP connections established, by side: active (connect) or passive (accept).",
};
pub const TCP_CLOSED: MetricDef = MetricDef {
    name: "tcp_connections_closed",
    kind: Kind::Counter,
    unit: None,
    identity: true,
    labels: &[],
    otlp: otel("archscope.tcp.connections.closed", "{connection}"),
    owner: Owner::Feature(Feature::Tcp),
    help: "Established TCP connections that closed (any way, resets included).",
};
pub const TCP_RESETS: MetricDef = MetricDef {
    name: "tcp_connection_resets",
    kind: Kind::Counter,
    unit: None,
    identity: true,
    labels: &[],
    otlp: otel("archscope.tcp.connections.reset", "{connection}"),
    owner: Owner::Feature(Feature::Tcp),
    help: "Established TCP connections that ended by a reset (ECONNRESET or EPIPE).",
};
pub const TCP_OPEN: MetricDef = MetricDef {
    name: "tcp_connections_open",
    kind: Kind::Gauge,
    unit: None,
    identity: true,
    labels: &[],
    otlp: otel_up_down("archscope.tcp.connections.open", "{connection}"),
    owner: Owner::Feature(Feature::Tcp),
    help: "TCP connections open now (those seen opening since the agent started).",
};
pub const TCP_CONNECT_FAILURES: MetricDef = MetricDef {
    name: "tcp_connect_failures",
    kind: Kind::Counter,
    unit: None,
    identity: true,
    labels: &["reason"],
    otlp: otel("archscope.tcp.connect.failures", "{attempt}"),
    owner: Owner::Feature(Feature::Tcp),
    help: "Connect attempts that failed, by reason: refused, timeout, reset, other (aborted).",
};
pub const TCP_CONNECT_DURATION: MetricDef = MetricDef {
    name: "tcp_connect_duration",
    kind: Kind::Histogram,
    unit: Some(Unit::Seconds),
    identity: true,
    labels: &[],
    otlp: otel("archscope.tcp.connect.duration", "s"),
    owner: Owner::Feature(Feature::Tcp),
    help: "Time from SYN sent to connection established (log2 buckets).",
};
pub const TCP_SRTT: MetricDef = MetricDef {
    name: "tcp_smoothed_rtt",
    kind: Kind::Histogram,
    unit: Some(Unit::Seconds),
    identity: true,
    labels: &[],
    otlp: otel("archscope.tcp.smoothed_rtt", "s"),
    owner: Owner::Feature(Feature::Tcp),
    help: "Smoothed round-trip time of each established connection when it closed (log2 buckets).",
};
pub const TCP_RETRANSMITS: MetricDef = MetricDef {
    name: "tcp_retransmits",
    kind: Kind::Counter,
    unit: None,
    identity: true,
    labels: &[],
    otlp: otel("archscope.tcp.retransmits", "{segment}"),
    owner: Owner::Feature(Feature::Tcp),
    help: "TCP retransmissions (tcp_retransmit_skb: one may resend several segments), charged to \
     the sending socket's cgroup.",
};
pub const NETWORK_IO: MetricDef = MetricDef {
    name: "network_io",
    kind: Kind::Counter,
    unit: Some(Unit::Bytes),
    identity: true,
    labels: &["protocol", "direction"],
    otlp: otel("archscope.network.io", "By"),
    owner: Owner::Feature(Feature::Traffic),
    help: "Payload bytes (IP and TCP/UDP headers excluded), by protocol and direction; \
     retransmitted payload counts again.",
};
pub const NETWORK_PACKETS: MetricDef = MetricDef {
    name: "network_packets",
    kind: Kind::Counter,
    unit: None,
    identity: true,
    labels: &["protocol", "direction"],
    otlp: otel("archscope.network.packets", "{packet}"),
    owner: Owner::Feature(Feature::Traffic),
    help: "TCP segments (GSO/GRO packets counted per segment) and UDP datagrams, by protocol and \
     direction.",
};
