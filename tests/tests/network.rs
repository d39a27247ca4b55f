//! Per-cgroup network metrics on the running kernel, exact to the byte: a client and a
//! server in distinct cgroups (and, on the host, in two network namespaces joined by a
//! veth pair) exchange a known payload; packet loss from an nftables rule produces
//! retransmits charged to the sender.
//!
//! Byte counters count TCP/UDP payload only (IP and transport headers excluded), so a
//! lossless transfer of N bytes reads exactly N on both sides; retransmitted payload is
//! counted again on the sender, never on the receiver (the kernel delivers it once).
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use archscope_tests::{Agent, Cgroup, Metrics, skip_under_emulation, workload_cmd};

const IO: &str = "archscope_network_io_bytes_total";
const PACKETS: &str = "archscope_network_packets_total";
const OPENED: &str = "archscope_tcp_connections_opened_total";
const CLOSED: &str = "archscope_tcp_connections_closed_total";
const OPEN: &str = "archscope_tcp_connections_open";
const FAILURES: &str = "archscope_tcp_connect_failures_total";
const RETRANS: &str = "archscope_tcp_retransmits_total";
const CONNECT_COUNT: &str = "archscope_tcp_connect_duration_seconds_count";
const SRTT_COUNT: &str = "archscope_tcp_smoothed_rtt_seconds_count";

/// One test (one agent and its traffic) at a time: two cores shared by parallel
/// transfers starve peers into spurious retransmissions.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Two network namespaces joined by a veth pair, removed on drop.
struct Veth {
    ns: [String; 2],
    addr: [String; 2],
}

fn ip(args: &[&str]) {
    let st = Command::new("ip").args(args).status().expect("running ip");
    assert!(st.success(), "ip {args:?}: {st}");
}

impl Veth {
    fn new(tag: &str) -> Veth {
        let id = std::process::id();
        let ns = [format!("as{id}{tag}a"), format!("as{id}{tag}b")];
        let (va, vb) = (format!("as{id}{tag}va"), format!("as{id}{tag}vb"));
        let net = format!("10.{}.{}", 100 + id % 100, (id / 100) % 250);
        let addr = [format!("{net}.1"), format!("{net}.2")];
        for n in &ns {
            ip(&["netns", "add", n]);
            ip(&["-n", n, "link", "set", "lo", "up"]);
        }
        ip(&[
            "link", "add", &va, "netns", &ns[0], "type", "veth", "peer", "name", &vb, "netns",
            &ns[1],
        ]);
        for (n, (v, a)) in ns.iter().zip([(&va, &addr[0]), (&vb, &addr[1])]) {
            ip(&["-n", n, "addr", "add", &format!("{a}/24"), "dev", v]);
            ip(&["-n", n, "link", "set", v, "up"]);
        }
        Veth { ns, addr }
    }

    /// The workload in namespace `i` (joining only its network namespace, so the
    /// cgroup2 mount stays visible) and in `cg`.
    fn workload(&self, i: usize, cg: &Cgroup, args: &[&str]) -> Workload {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/run/netns/{}", self.ns[i]))
            .arg(archscope_tests::workload_bin())
            .arg(cg.procs())
            .args(args);
        Workload::spawn(c)
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for n in &self.ns {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// A running workload whose stdout lines are read as it goes.
struct Workload {
    child: Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Workload {
    fn spawn(mut c: Command) -> Workload {
        let mut child = c
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawning the workload");
        let out = BufReader::new(child.stdout.take().unwrap());
        Workload { child, out }
    }

    fn local(cg: &Cgroup, args: &[&str]) -> Workload {
        let mut c = workload_cmd();
        c.arg(cg.procs()).args(args);
        Workload::spawn(c)
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.out.read_line(&mut l).unwrap();
        l.trim().to_string()
    }

    fn finish(mut self) -> String {
        let l = self.line();
        let st = self.child.wait().unwrap();
        assert!(st.success(), "workload failed: {st}");
        l
    }
}

/// Scrape until `done` holds (state changes finish in softirq shortly after the
/// processes exit), then return that scrape; the caller asserts exact values on it.
fn settle(agent: &Agent, done: impl Fn(&Metrics) -> bool) -> Metrics {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let m = agent.metrics();
        if done(&m) || Instant::now() > deadline {
            return m;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn v(m: &Metrics, name: &str, cg: &Cgroup, extra: &[(&str, &str)]) -> f64 {
    let mut want = vec![("cgroup", cg.label.as_str())];
    want.extend_from_slice(extra);
    m.value(name, &want).unwrap_or(0.0)
}

fn io(m: &Metrics, cg: &Cgroup, proto: &str, dir: &str) -> f64 {
    v(m, IO, cg, &[("protocol", proto), ("direction", dir)])
}

/// N bytes per connection, C connections, client → server; then K connects to a closed
/// port. Checks bytes, opens, closes, open-now, refused, connect latency and RTT counts.
fn tcp_exchange(
    agent: &Agent,
    server: Workload,
    client: impl FnOnce() -> Workload,
    refused: impl FnOnce() -> Workload,
    cgs: (&Cgroup, &Cgroup),
) {
    const N: u64 = 1_048_593; // not a multiple of any segment size
    const C: u64 = 3;
    const K: u64 = 5;
    let (srv_cg, cli_cg) = cgs;
    let mut server = server;
    assert_eq!(server.line(), "listening");
    assert_eq!(client().finish(), "sent");
    assert_eq!(server.finish(), format!("received {}", N * C));
    assert_eq!(refused().finish(), "refused");
    let m = settle(agent, |m| {
        v(m, CLOSED, srv_cg, &[]) == C as f64
            && v(m, CLOSED, cli_cg, &[]) == C as f64
            && v(m, FAILURES, cli_cg, &[("reason", "refused")]) == K as f64
            && io(m, srv_cg, "tcp", "receive") >= (N * C) as f64
    });
    // bytes: exact on both sides, nothing back but ACKs and FINs. Byte counters count
    // payload as it crosses the socket's cgroup hooks, so a resent segment counts again
    // on both ends: exact when the sender resent nothing (a starved peer can make the
    // retransmit timer fire; then the counts may only exceed the payload, and by no
    // more than the resent segments can carry: a resent SYN or FIN carries none).
    let resent = v(&m, RETRANS, cli_cg, &[]);
    let (sent, got) = (
        io(&m, cli_cg, "tcp", "transmit"),
        io(&m, srv_cg, "tcp", "receive"),
    );
    if resent == 0.0 {
        assert_eq!(sent, (N * C) as f64, "client sent");
        assert_eq!(got, (N * C) as f64, "server received");
    } else {
        eprintln!("{resent} retransmissions: sent {sent}, received {got}");
        // 64 KiB: the largest segment (GSO) one retransmission can resend
        let most = (N * C) as f64 + resent * 65536.0;
        assert!(
            (N * C) as f64 <= sent && sent <= most,
            "client sent {sent}, {resent} resent"
        );
        assert!(
            (N * C) as f64 <= got && got <= sent,
            "server received {got}, client sent {sent}"
        );
    }
    assert_eq!(
        io(&m, srv_cg, "tcp", "transmit"),
        0.0,
        "server payload sent"
    );
    assert_eq!(
        io(&m, cli_cg, "tcp", "receive"),
        0.0,
        "client payload received"
    );
    // segments: at least one per 64 KiB, both ways (ACKs)
    for (cg, dir) in [(cli_cg, "transmit"), (srv_cg, "receive")] {
        let p = v(&m, PACKETS, cg, &[("protocol", "tcp"), ("direction", dir)]);
        assert!(p >= (N * C / 65536) as f64, "{dir} segments {p}");
    }
    // the server sends only ACKs and its FINs (delayed and coalesced ACKs: fewer)
    let acks = v(
        &m,
        PACKETS,
        srv_cg,
        &[("protocol", "tcp"), ("direction", "transmit")],
    );
    assert!(acks >= C as f64, "server segments {acks}");
    // connections
    assert_eq!(v(&m, OPENED, cli_cg, &[("side", "active")]), C as f64);
    assert_eq!(v(&m, OPENED, cli_cg, &[("side", "passive")]), 0.0);
    assert_eq!(v(&m, OPENED, srv_cg, &[("side", "passive")]), C as f64);
    assert_eq!(v(&m, OPENED, srv_cg, &[("side", "active")]), 0.0);
    assert_eq!(v(&m, CLOSED, cli_cg, &[]), C as f64);
    assert_eq!(v(&m, CLOSED, srv_cg, &[]), C as f64);
    assert_eq!(v(&m, OPEN, cli_cg, &[]), 0.0);
    assert_eq!(v(&m, OPEN, srv_cg, &[]), 0.0);
    assert_eq!(v(&m, FAILURES, cli_cg, &[("reason", "refused")]), K as f64);
    for r in ["timeout", "reset", "other"] {
        assert_eq!(v(&m, FAILURES, cli_cg, &[("reason", r)]), 0.0, "{r}");
    }
    assert_eq!(
        v(&m, CONNECT_COUNT, cli_cg, &[]),
        C as f64,
        "connect latencies"
    );
    assert_eq!(v(&m, CONNECT_COUNT, srv_cg, &[]), 0.0);
    assert_eq!(v(&m, SRTT_COUNT, cli_cg, &[]), C as f64, "RTTs at close");
    assert_eq!(v(&m, SRTT_COUNT, srv_cg, &[]), C as f64, "RTTs at close");
}

#[test]
fn tcp_between_namespaces_over_veth() {
    let _serial = serial();
    if skip_under_emulation() {
        return; // the VM has no `ip`; tcp_over_loopback covers the programs there
    }
    let agent = Agent::start(&[]);
    let (srv_cg, cli_cg) = (Cgroup::new("net-server"), Cgroup::new("net-client"));
    let net = Veth::new("t");
    let to = |port: u16| format!("{}:{port}", net.addr[1]);
    let server = net.workload(1, &srv_cg, &["tcp-server", &to(5001), "3"]);
    tcp_exchange(
        &agent,
        server,
        || net.workload(0, &cli_cg, &["tcp-client", &to(5001), "3", "1048593"]),
        || net.workload(0, &cli_cg, &["tcp-refused", &to(5002), "5"]),
        (&srv_cg, &cli_cg),
    );
}

#[test]
fn tcp_over_loopback() {
    let _serial = serial();
    let agent = Agent::start(&[]);
    let (srv_cg, cli_cg) = (Cgroup::new("lo-server"), Cgroup::new("lo-client"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let to = format!("127.0.0.1:{port}");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = format!("127.0.0.1:{closed}"); // its listener is gone: refused
    let server = Workload::local(&srv_cg, &["tcp-server", &to, "3"]);
    tcp_exchange(
        &agent,
        server,
        || Workload::local(&cli_cg, &["tcp-client", &to, "3", "1048593"]),
        || Workload::local(&cli_cg, &["tcp-refused", &closed, "5"]),
        (&srv_cg, &cli_cg),
    );
}

#[test]
fn retransmits_charged_to_the_sender_under_loss() {
    let _serial = serial();
    if skip_under_emulation() {
        return;
    }
    const N: u64 = 4_000_000;
    let agent = Agent::start(&[]);
    let (srv_cg, cli_cg) = (Cgroup::new("loss-server"), Cgroup::new("loss-client"));
    let net = Veth::new("l");
    // Drop one in five TCP segments arriving at the server.
    let nft = "table inet archscope_test {
  chain input {
    type filter hook input priority 0;
    tcp dport 5003 numgen random mod 5 == 0 drop
  }
}
";
    let st = Command::new("ip")
        .args(["netns", "exec", &net.ns[1], "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(nft.as_bytes())?;
            c.wait()
        })
        .expect("running nft (`cargo xtask setup` installs nftables)");
    assert!(st.success(), "nft: {st}");
    let to = format!("{}:5003", net.addr[1]);
    let mut server = net.workload(1, &srv_cg, &["tcp-server", &to, "1"]);
    assert_eq!(server.line(), "listening");
    let n = N.to_string();
    assert_eq!(
        net.workload(0, &cli_cg, &["tcp-client", &to, "1", &n])
            .finish(),
        "sent"
    );
    assert_eq!(server.finish(), format!("received {N}"));
    let m = settle(&agent, |m| {
        v(m, CLOSED, &srv_cg, &[]) == 1.0 && v(m, CLOSED, &cli_cg, &[]) == 1.0
    });
    let retrans = v(&m, RETRANS, &cli_cg, &[]);
    assert!(
        retrans > 0.0,
        "the sender retransmitted nothing under 20% loss"
    );
    // The receiver only resends its FIN, when its timer fires before the ACK (on a
    // starved host): never its share of the data.
    let srv_retrans = v(&m, RETRANS, &srv_cg, &[]);
    assert!(
        srv_retrans <= 2.0,
        "the receiver retransmitted {srv_retrans} times"
    );
    // Both ends count resent payload again (the receiver's hook runs before TCP drops a
    // duplicate), so under loss both may exceed the payload, never fall short.
    let got = io(&m, &srv_cg, "tcp", "receive");
    assert!(got >= N as f64, "received {got} < {N}");
    let sent = io(&m, &cli_cg, "tcp", "transmit");
    assert!(sent >= N as f64, "sent {sent} < {N}");
    eprintln!("4 MB under 20% loss: {retrans} retransmits, {sent} payload bytes sent");
}

#[test]
fn udp_between_namespaces_over_veth() {
    let _serial = serial();
    if skip_under_emulation() {
        return;
    }
    const D: u64 = 200;
    const S: u64 = 1_200;
    let agent = Agent::start(&[]);
    let (rx_cg, tx_cg) = (Cgroup::new("udp-rx"), Cgroup::new("udp-tx"));
    let net = Veth::new("u");
    let to = format!("{}:5004", net.addr[1]);
    let mut rx = net.workload(1, &rx_cg, &["udp-recv", &to, &D.to_string()]);
    assert_eq!(rx.line(), "listening");
    let tx = net.workload(
        0,
        &tx_cg,
        &["udp-send", &to, &D.to_string(), &S.to_string()],
    );
    assert_eq!(tx.finish(), "sent");
    assert_eq!(rx.finish(), format!("received {}", D * S));
    let m = settle(&agent, |m| {
        io(m, &rx_cg, "udp", "receive") == (D * S) as f64
    });
    assert_eq!(io(&m, &tx_cg, "udp", "transmit"), (D * S) as f64);
    assert_eq!(io(&m, &rx_cg, "udp", "receive"), (D * S) as f64);
    let dgrams =
        |cg: &Cgroup, dir: &str| v(&m, PACKETS, cg, &[("protocol", "udp"), ("direction", dir)]);
    assert_eq!(dgrams(&tx_cg, "transmit"), D as f64);
    assert_eq!(dgrams(&rx_cg, "receive"), D as f64);
}
