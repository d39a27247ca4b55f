//! Churn of real short-lived containers: 200 containerd containers (CRI labels, kubepods
//! cgroups, runc), each living 1–3 s, ten at a time, while the agent is scraped every
//! 250 ms. Every one must show with its pod labels on the first scrape that shows it, keep
//! that one label set, and retire after the grace period; the agent's memory stays flat.
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use archscope_tests::containerd::{Container, Containerd, rootfs};
use archscope_tests::{Agent, proc_status_kib};

const CONTAINERS: u32 = 200;
const AT_ONCE: u32 = 10;
const CALLS: u64 = 300;

/// What the scraper saw of one container.
#[derive(Default, Debug)]
struct Seen {
    /// First scrape that showed its series, since the test began.
    first: Option<Duration>,
    /// First scrape that showed them with the pod's labels.
    labelled: Option<Duration>,
    /// Distinct identity label sets.
    sets: Vec<BTreeMap<String, String>>,
    /// Its getppid count at the last scrape that showed it.
    calls: f64,
    /// Whether a scrape after its first one no longer showed it.
    retired: bool,
}

#[test]
fn short_lived_containers_are_labelled_from_their_first_scrape_and_retire() {
    let Some(containerd) = Containerd::start() else {
        return;
    };
    let socket = containerd.socket.display().to_string();
    let agent = Agent::start(&[
        "--containerd-socket",
        &socket,
        "--container-grace-period",
        "2s",
        // counts only: the subject is identity, and the runtime's set-up makes dozens of
        // syscalls in each container, whose histograms would make every scrape huge
        "--syscalls",
        "counts",
    ]);
    let root = rootfs(&containerd.dir);
    let began = Instant::now();
    let ids: Vec<String> = (0..CONTAINERS)
        .map(|n| Container::nth_id(100 + n))
        .collect();
    let started: Arc<Mutex<HashMap<String, Duration>>> = Arc::default();
    let seen: Arc<Mutex<HashMap<String, Seen>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rss = Arc::new(Mutex::new(Vec::new()));

    std::thread::scope(|scope| {
        // the scraper
        scope.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let m = agent.metrics();
                let at = began.elapsed();
                let mut seen = seen.lock().unwrap();
                let mut here = std::collections::HashSet::new();
                for s in m.find("archscope_syscalls_total", &[("syscall", "getppid")]) {
                    let Some(id) = s.labels.get("container_id") else {
                        continue;
                    };
                    if !ids.contains(id) {
                        continue;
                    }
                    here.insert(id.clone());
                    let e = seen.entry(id.clone()).or_default();
                    e.first.get_or_insert(at);
                    if s.labels.get("pod").is_some_and(|p| p == "web-7d9f") {
                        e.labelled.get_or_insert(at);
                    }
                    let mut identity = s.labels.clone();
                    identity.remove("syscall");
                    if !e.sets.contains(&identity) {
                        e.sets.push(identity);
                    }
                    e.calls = s.value;
                }
                for (id, e) in seen.iter_mut() {
                    if !here.contains(id) {
                        e.retired = true;
                    }
                }
                drop(seen);
                rss.lock()
                    .unwrap()
                    .push(proc_status_kib(agent.pid(), "VmRSS"));
                std::thread::sleep(Duration::from_millis(250));
            }
        });
        // the launchers: AT_ONCE at a time, each container in the foreground with --rm
        let next = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|launchers| {
            for _ in 0..AT_ONCE {
                launchers.spawn(|| {
                    loop {
                        let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if n >= CONTAINERS {
                            break;
                        }
                        let id = &ids[n as usize];
                        let linger = (1000 + (n * 397) % 2000).to_string();
                        let calls = CALLS.to_string();
                        let mut args =
                            Container::run_args(&root, id, &["basic", &calls, "0", &linger]);
                        // foreground and removed at exit
                        args[1] = "--rm".to_string();
                        started.lock().unwrap().insert(id.clone(), began.elapsed());
                        let out =
                            containerd.ctr(&args.iter().map(String::as_str).collect::<Vec<_>>());
                        assert!(
                            out.status.success(),
                            "ctr run {n}: {}",
                            String::from_utf8_lossy(&out.stderr)
                        );
                    }
                });
            }
        });
        // every container has exited and been removed: wait for the series to retire
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            std::thread::sleep(Duration::from_millis(500));
            let s = seen.lock().unwrap();
            if s.len() == ids.len() && s.values().all(|e| e.retired) {
                break;
            }
            if Instant::now() > deadline {
                break;
            }
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });

    let seen = seen.lock().unwrap();
    let started = started.lock().unwrap();
    let missing: Vec<_> = ids.iter().filter(|id| !seen.contains_key(*id)).collect();
    let m = agent.metrics();
    assert!(
        missing.is_empty(),
        "{} of {CONTAINERS} containers never showed, e.g. {:?} (overflow: {:?})",
        missing.len(),
        missing.first(),
        (
            m.find("archscope_kernel_losses_total", &[])
                .collect::<Vec<_>>(),
            m.find("archscope_syscalls_total", &[("syscall", "getppid")])
                .filter(|s| !s.labels.get("container_id").is_some_and(|c| c.is_empty()))
                .count(),
            m.find("archscope_syscalls_total", &[("syscall", "getppid")])
                .filter(|s| s.labels["cgroup"].starts_with("id:"))
                .count(),
        )
    );
    let mut latencies = Vec::new();
    for id in &ids {
        let e = seen
            .get(id)
            .unwrap_or_else(|| panic!("container {id} never showed"));
        assert_eq!(
            e.labelled, e.first,
            "container {id}: first shown without its labels: {e:?}"
        );
        assert_eq!(
            e.sets.len(),
            1,
            "container {id} changed labels: {:?}",
            e.sets
        );
        // runc's set-up makes a few calls in the container's cgroup too (2 on Debian 12)
        assert!(
            (CALLS as f64..=CALLS as f64 + 8.0).contains(&e.calls),
            "container {id}: {} calls",
            e.calls
        );
        assert!(e.retired, "container {id} never retired");
        latencies.push(e.labelled.unwrap().saturating_sub(started[id]));
    }
    latencies.sort();
    let rss = rss.lock().unwrap();
    // flat: the last tenth of the run against the tenth after the first warm-up
    let tenth = (rss.len() / 10).max(1);
    let early = rss[tenth..2 * tenth].iter().max().copied().unwrap_or(0);
    let late = rss[rss.len() - tenth..].iter().max().copied().unwrap_or(0);
    eprintln!(
        "{CONTAINERS} containers: labels first seen {:?} (median) / {:?} (max) after `ctr run`; \
         RSS {early} KiB early, {late} KiB at the end",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
    );
    assert!(
        late <= early + 8 * 1024,
        "RSS grew from {early} KiB to {late} KiB"
    );
}
