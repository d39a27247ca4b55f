//! `archscope-perf`: the measurements behind docs/PERFORMANCE.md, each taken in one run on
//! this machine and set against the project's goals. `cargo xtask perf` builds the release
//! agent and runs this; `--quick` shortens every step (a smoke run, not for the report);
//! `--no-curve` leaves out the growth curve to 10,000 containers (about 5 minutes).
//! Needs root (it loads the agent's programs and makes cgroups).
use std::process::Stdio;
use std::time::{Duration, Instant};

use archscope_tests::floors;
use archscope_tests::otlp_receiver::Receiver;
use archscope_tests::{Agent, Cgroup, Metrics, agent_bin, proc_status_kib, workload_cmd};

#[path = "perf/fleet.rs"]
mod fleet;
use fleet::Fleet;

/// One goal of issue-level measurement: what, the goal, what this run measured.
struct Row {
    what: &'static str,
    goal: &'static str,
    measured: String,
    met: bool,
}

/// CPU seconds a process has used (utime + stime from /proc/<pid>/stat).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // after the parenthesised command name: field 3 (state) is index 0; utime is field 14
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    // SAFETY: no preconditions.
    ticks / unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64
}

/// `agent bench overhead` in one syscall mode: untraced, floor (empty programs on the same
/// hooks) and traced loops alternating in one process; the goal is on the cost over the
/// floor.
fn overhead(quick: bool, mode: &str) -> Row {
    let mut cmd = std::process::Command::new(agent_bin());
    cmd.args(["bench", "overhead", "--output", "json", "--syscalls", mode]);
    if quick {
        cmd.args(["--rounds", "2", "--calls", "200000"]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "agent bench overhead: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let num = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let over = num("cost_over_floor");
    let (what, goal, limit) = match mode {
        "counts" => (
            "added cost per syscall, `syscalls = counts` (`agent bench overhead`)",
            "≤ 1.3× the floor's added cost",
            1.3,
        ),
        _ => (
            "added cost per syscall, `syscalls = full` (`agent bench overhead`)",
            "≤ 1.5× the floor's added cost",
            1.5,
        ),
    };
    Row {
        what,
        goal,
        measured: format!(
            "{:.1} ns untraced, {:.1} ns floor (+{:.1}), {:.1} ns traced (+{:.1}) per getppid: {over:.2}× the floor's added cost, {:.2}× untraced ({} of {} traced calls counted)",
            num("median_untraced_ns"),
            num("median_floor_ns"),
            num("floor_overhead_ns_per_call"),
            num("median_traced_ns"),
            num("overhead_ns_per_call"),
            num("ratio"),
            v["traced_calls_counted"],
            v["traced_calls_made"],
        ),
        met: over <= limit,
    }
}

/// The agent's CPU while one process makes `RATE` getppid calls a second, scraped every
/// 15 s as Prometheus would. The kernel-side cost is charged to the caller, not here.
fn cpu_at_rate(secs: u64) -> Row {
    const RATE: u64 = 1_000_000;
    let agent = Agent::start(&[]);
    let cg = Cgroup::new("perf-rate");
    let (cpu0, t0) = (cpu_seconds(agent.pid()), Instant::now());
    let mut child = workload_cmd()
        .arg(cg.procs())
        .args(["rate", &RATE.to_string(), &secs.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut scraped = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if scraped.elapsed() >= Duration::from_secs(15) {
            agent.get("/metrics");
            scraped = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let ran: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let m = agent.metrics();
    let (cpu, wall) = (cpu_seconds(agent.pid()) - cpu0, t0.elapsed().as_secs_f64());
    let made = RATE * secs;
    let counted = m
        .value(
            "archscope_syscalls_total",
            &[("cgroup", &cg.label), ("syscall", "getppid")],
        )
        .unwrap_or(0.0);
    let pct = cpu / wall * 100.0;
    Row {
        what: "agent CPU while the node makes 1 M syscalls/s",
        goal: "≤ 1 % of one core",
        measured: format!(
            "{pct:.2} % of one core ({cpu:.2} s CPU in {wall:.1} s; {made} getppid calls at {:.2} M/s achieved, {counted} counted)",
            made as f64 / ran / 1e6
        ),
        met: pct <= 1.0,
    }
}

/// Steady RSS of an agent labelling the fleet, after a few scrapes; then the /metrics
/// response time over 20 scrapes.
fn fleet_rss_and_scrape(fleet: &Fleet) -> [Row; 2] {
    let agent = Agent::start(&[]);
    fleet.wait_seen(&agent);
    for _ in 0..3 {
        std::thread::sleep(Duration::from_secs(5));
        agent.get("/metrics");
    }
    let (rss, hwm) = (
        proc_status_kib(agent.pid(), "VmRSS"),
        proc_status_kib(agent.pid(), "VmHWM"),
    );
    let mut times = Vec::new();
    let mut body = String::new();
    for _ in 0..20 {
        let t = Instant::now();
        body = agent.get("/metrics");
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    // the same samples written from memory: what no encoder can go below
    let parsed = Metrics::parse(&body);
    let samples = parsed.samples.len();
    let floor = floors::text_seconds(&parsed, 20) * 1e3;
    let n = fleet.len();
    [
        Row {
            what: "agent RSS with live containers and full labels",
            goal: "steady ≤ 40 MiB, peak ≤ 48 MiB with 1,000 containers",
            measured: format!(
                "{:.1} MiB RSS (peak {:.1} MiB) with {n} containers, {samples} samples on /metrics",
                rss as f64 / 1024.0,
                hwm as f64 / 1024.0
            ),
            met: n >= 1000 && rss <= 40 * 1024 && hwm <= 48 * 1024,
        },
        Row {
            what: "/metrics response time (OpenMetrics, as Prometheus asks)",
            goal: "≤ 30 ms and ≤ 5× its formatting floor, at ≥ 60,000 samples",
            measured: format!(
                "median {median:.1} ms, max {:.1} ms over 20 scrapes of {samples} samples; floor {floor:.1} ms (the same samples written from memory): {:.1}× the floor",
                times[times.len() - 1],
                median / floor
            ),
            met: median <= 30.0 && median <= 5.0 * floor && samples >= 60_000,
        },
    ]
}

/// Data points the agent exports over OTLP per second of its own CPU, the fleet's series
/// exported every second to a real receiver (gRPC).
fn otlp_rate(fleet: &Fleet, secs: u64) -> Row {
    let receiver = Receiver::start("ok");
    let endpoint = receiver.endpoint("grpc");
    let agent = Agent::start(&[
        "--otlp-endpoint",
        &endpoint,
        "--otlp-protocol",
        "grpc",
        "--otlp-interval",
        "1s",
    ]);
    fleet.wait_seen(&agent);
    let exported = |a: &Agent| {
        a.metrics()
            .value("archscope_otlp_points_exported_total", &[])
            .unwrap_or(0.0)
    };
    let (p0, cpu0, t0) = (exported(&agent), cpu_seconds(agent.pid()), Instant::now());
    while t0.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(1));
        drop(receiver.take()); // the receiver's record is not what is measured
    }
    let (points, cpu) = (exported(&agent) - p0, cpu_seconds(agent.pid()) - cpu0);
    let per_core = points / cpu.max(0.01);
    // the same points encoded from memory, protobuf only
    let (request, n) = floors::otlp_request(&agent.metrics());
    let floor = n as f64 / floors::otlp_seconds(&request, 20);
    Row {
        what: "OTLP export rate per core",
        goal: "≥ 500,000 data points/s",
        measured: format!(
            "{per_core:.0} points per CPU-second ({points} points accepted in {:.0} s for {cpu:.2} s of agent CPU, collection included); floor {floor:.0} points/s (the same {n} points encoded from memory)",
            t0.elapsed().as_secs_f64()
        ),
        met: per_core >= 500_000.0,
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (secs, containers) = if quick { (5, 50) } else { (30, 1000) };
    let mut rows = vec![
        overhead(quick, "full"),
        overhead(quick, "counts"),
        cpu_at_rate(secs),
    ];
    let fleet = Fleet::start(containers);
    rows.extend(fleet_rss_and_scrape(&fleet));
    rows.push(otlp_rate(&fleet, secs));
    drop(fleet);
    let curve = match (quick, std::env::args().any(|a| a == "--no-curve")) {
        (_, true) => &[][..],
        (true, _) => &[50, 200][..],
        _ => &[1000, 3000, 10_000][..],
    };
    let points: Vec<fleet::CurvePoint> = curve.iter().map(|n| fleet::curve_point(*n)).collect();
    println!("| measurement | goal | this run | met |");
    println!("|---|---|---|---|");
    for r in &rows {
        let met = if r.met { "yes" } else { "**no**" };
        println!("| {} | {} | {} | {met} |", r.what, r.goal, r.measured);
    }
    println!();
    fleet::print_curve(&points);
}
