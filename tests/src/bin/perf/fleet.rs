//! The fleets `archscope-perf` measures the agent against: cgroups laid out as
//! containerd's systemd driver makes them, with processes making syscalls in them; and the
//! growth curve from 1,000 to 10,000 containers.
use std::io::Write;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use archscope_tests::{Agent, Cgroup, Metrics, proc_status_kib, workload_cmd};

/// Cgroups one `visit` process goes round (each visited every 100 ms or so).
const PER_VISITOR: usize = 100;

pub struct Fleet {
    // dropped before the cgroups, and those before `base`: their directories are inside
    children: Vec<Child>,
    cgroups: Vec<Cgroup>,
    base: Cgroup,
}

fn containers(base: &Cgroup, n: usize) -> Vec<Cgroup> {
    (0..n)
        .map(|i| {
            let uid = format!("{i:08x}_0000_4000_8000_{i:012x}");
            let id = format!("{:064x}", (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15);
            base.nested(&format!(
                "kubepods-burstable-pod{uid}.slice/cri-containerd-{id}.scope"
            ))
        })
        .collect()
}

impl Fleet {
    /// `n` containers, each with its own process calling getppid every 100 ms.
    pub fn start(n: usize) -> Fleet {
        let base = Cgroup::new("perf-fleet");
        let cgroups = containers(&base, n);
        let children = cgroups
            .iter()
            .map(|cg| {
                workload_cmd()
                    .arg(cg.procs())
                    .args(["steady", "1", "0"])
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        Fleet {
            children,
            cgroups,
            base,
        }
    }

    /// `n` containers visited in turn by one process per `PER_VISITOR` of them: the same
    /// series per container as `start`, without a process each.
    pub fn visited(n: usize) -> Fleet {
        let base = Cgroup::new("perf-curve");
        let cgroups = containers(&base, n);
        let children = cgroups
            .chunks(PER_VISITOR)
            .map(|group| {
                let mut child = workload_cmd()
                    .args(["-", "visit", "1"])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::null())
                    .spawn()
                    .unwrap();
                let list: String = group.iter().map(|c| c.procs() + "\n").collect();
                let mut stdin = child.stdin.take().unwrap();
                stdin.write_all(list.as_bytes()).unwrap();
                child
            })
            .collect();
        Fleet {
            children,
            cgroups,
            base,
        }
    }

    pub fn len(&self) -> usize {
        self.cgroups.len()
    }

    /// Wait until `agent` shows a series for every container.
    pub fn wait_seen(&self, agent: &Agent) -> Metrics {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let m = agent.metrics();
            let seen: std::collections::BTreeSet<_> = m
                .find("archscope_syscalls_total", &[("syscall", "getppid")])
                .filter(|s| s.labels["cgroup"].starts_with(&self.base.label))
                .filter_map(|s| s.labels.get("container_id").filter(|c| !c.is_empty()))
                .collect();
            if seen.len() >= self.len() || Instant::now() > deadline {
                eprintln!("{} of {} containers seen", seen.len(), self.len());
                return m;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One point of the growth curve.
pub struct CurvePoint {
    containers: usize,
    samples: usize,
    median_ms: f64,
    /// The agent's own CPU per scrape (utime + stime), median: the wall time also holds
    /// the client's reading and whatever else the machine runs.
    cpu_ms: f64,
    rss_mib: f64,
    peak_mib: f64,
}

/// An agent with the series budget and the syscall map raised to hold `n` containers: its steady and peak RSS
/// after a few scrapes, and the median of 10 scrapes.
pub fn curve_point(n: usize) -> CurvePoint {
    let fleet = Fleet::visited(n);
    // each container makes 4–5 (cgroup, syscall) keys: getppid, and the visit's openat,
    // write and close
    let (budget, keys) = ((n * 20).to_string(), (n * 6).max(16_384).to_string());
    let agent = Agent::start(&[
        "--max-series-per-metric",
        &budget,
        "--syscall-map-entries",
        &keys,
    ]);
    fleet.wait_seen(&agent);
    for _ in 0..3 {
        std::thread::sleep(Duration::from_secs(5));
        agent.get("/metrics");
    }
    let (mut times, mut cpu) = (Vec::new(), Vec::new());
    let mut body = String::new();
    for _ in 0..10 {
        let (t, c) = (Instant::now(), super::cpu_seconds(agent.pid()));
        body = agent.get("/metrics");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        cpu.push((super::cpu_seconds(agent.pid()) - c) * 1e3);
    }
    times.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    let kib = |k| proc_status_kib(agent.pid(), k) as f64 / 1024.0;
    CurvePoint {
        containers: n,
        samples: body.lines().filter(|l| !l.starts_with('#')).count(),
        median_ms: times[times.len() / 2],
        cpu_ms: cpu[cpu.len() / 2],
        rss_mib: kib("VmRSS"),
        peak_mib: kib("VmHWM"),
    }
}

pub fn print_curve(points: &[CurvePoint]) {
    println!(
        "| containers | samples | /metrics median (wall) | agent CPU per scrape | agent CPU per 1,000 samples | RSS | peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    for p in points {
        println!(
            "| {} | {} | {:.1} ms | {:.0} ms | {:.2} ms | {:.1} MiB | {:.1} MiB |",
            p.containers,
            p.samples,
            p.median_ms,
            p.cpu_ms,
            p.cpu_ms / p.samples as f64 * 1000.0,
            p.rss_mib,
            p.peak_mib
        );
    }
}
