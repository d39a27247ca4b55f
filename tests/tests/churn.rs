//! Container churn: 10,000 short-lived cgroups, each with a process making syscalls, come
//! and go. After their grace period their series, map entries and cache entries are gone,
//! and the agent's memory is where it was after the first thousand.
use std::time::{Duration, Instant};

use archscope_tests::{Agent, Cgroup, Metrics, workload};

fn gauge(m: &Metrics, name: &str) -> f64 {
    m.value(name, &[])
        .unwrap_or_else(|| panic!("{name} missing"))
}

fn churn(agent: &Agent, n: usize, tag: &str) {
    for i in 0..n {
        let cg = Cgroup::new(&format!("churn-{tag}-{i}"));
        workload(&cg, &["basic", "3", "1"]);
        drop(cg);
        if i % 500 == 499 {
            agent.metrics(); // scrapes drive the clean-up, as Prometheus would
        }
    }
}

/// Scrape until every churned cgroup has been forgotten.
fn settle(agent: &Agent) -> Metrics {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let m = agent.metrics();
        let left = m
            .samples
            .iter()
            .filter(|s| {
                s.labels
                    .get("cgroup")
                    .is_some_and(|c| c.contains("-churn-"))
            })
            .count();
        if left == 0 {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "{left} churn series still exported"
        );
    }
}

#[test]
fn ten_thousand_containers_leave_memory_flat() {
    // 10,000 process spawns take an hour under instruction emulation.
    if archscope_tests::skip_under_emulation() {
        return;
    }
    let agent = Agent::start(&["--container-grace-period", "1s"]);
    churn(&agent, 1000, "warm");
    let warm = settle(&agent);
    let rss_warm = gauge(&warm, "archscope_agent_resident_memory_bytes");
    churn(&agent, 9000, "main");
    let after = settle(&agent);
    let rss_after = gauge(&after, "archscope_agent_resident_memory_bytes");
    let forgotten = gauge(&after, "archscope_cgroups_forgotten_total");
    eprintln!(
        "churn: RSS after 1,000 cgroups {:.1} MiB, after 10,000 {:.1} MiB; {forgotten} map entries dropped",
        rss_warm / 1048576.0,
        rss_after / 1048576.0
    );
    // Every churned cgroup had at least getppid and openat entries in the kernel maps.
    assert!(
        forgotten >= 10_000.0 * 2.0,
        "map entries dropped: {forgotten}"
    );
    assert!(gauge(&after, "archscope_cgroup_cache_entries") < 1000.0);
    assert!(
        rss_after < rss_warm + 8.0 * 1048576.0,
        "RSS grew from {rss_warm} to {rss_after}"
    );
}
