//! Many scrapers at once (several Prometheus replicas, dashboards hitting the agent's
//! port directly): every response is whole, and the agent's memory stays flat.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use archscope_tests::{Agent, Cgroup, proc_status_kib, skip_under_emulation, workload};

const SCRAPERS: usize = 50;
const RUN: Duration = Duration::from_secs(60);

#[test]
fn fifty_concurrent_scrapers_for_a_minute() {
    if skip_under_emulation() {
        return;
    }
    let agent = Agent::start(&[]);
    let cg = Cgroup::new("scrapers");
    workload(&cg, &["basic", "1000", "500"]);
    let url = format!("http://{}/metrics", agent.addr);
    let (ok, bytes) = (AtomicU64::new(0), AtomicU64::new(0));
    let samples = std::sync::Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..SCRAPERS {
            s.spawn(|| {
                while started.elapsed() < RUN {
                    let body = ureq::get(&url)
                        .header("accept", archscope_tests::OPENMETRICS)
                        .call()
                        .unwrap_or_else(|e| panic!("scrape failed: {e}"))
                        .into_body()
                        .with_config()
                        .limit(1 << 30)
                        .read_to_string()
                        .unwrap();
                    // whole: the test cgroup's series and the OpenMetrics terminator
                    assert!(body.contains(&cg.label), "a scrape without the workload");
                    assert!(body.ends_with("# EOF\n"), "a truncated scrape");
                    ok.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                }
            });
        }
        // RSS once a second; the first 10 s are warm-up (allocator arenas per thread)
        s.spawn(|| {
            while started.elapsed() < RUN {
                std::thread::sleep(Duration::from_secs(1));
                samples
                    .lock()
                    .unwrap()
                    .push((started.elapsed(), proc_status_kib(agent.pid(), "VmRSS")));
            }
        });
    });
    let samples = samples.into_inner().unwrap();
    let warm: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= Duration::from_secs(10))
        .map(|(_, r)| *r)
        .collect();
    let (first, last, peak) = (warm[0], *warm.last().unwrap(), *warm.iter().max().unwrap());
    let n = ok.load(Ordering::Relaxed);
    eprintln!(
        "{n} scrapes by {SCRAPERS} scrapers in {RUN:?} ({} MiB served); agent RSS after warm-up {first} KiB, at the end {last} KiB, peak {peak} KiB",
        bytes.load(Ordering::Relaxed) >> 20
    );
    assert!(
        n >= SCRAPERS as u64,
        "every scraper got at least one answer"
    );
    // flat: what is held after warm-up does not keep growing with the scrapes
    assert!(
        last <= first + first / 5 + 4096,
        "agent RSS grew from {first} KiB to {last} KiB under {SCRAPERS} scrapers"
    );
}
