//! OTLP export to a real receiver (gRPC and HTTP/protobuf, `opentelemetry-proto`): the
//! values equal what /metrics shows, under OpenTelemetry names, and an absent, refusing
//! or hanging receiver costs nothing but its own data. Needs root, like syscalls.rs.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use archscope_tests::otlp_receiver::{Point, Receiver, tls};
use archscope_tests::{Agent, Cgroup, Metrics, workload};

const WAIT: Duration = Duration::from_secs(30);
const CALLS: &str = "archscope.syscall.calls";

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// Agent flags for export to `endpoint` every 300 ms.
fn otlp(endpoint: &str, protocol: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        "--otlp-endpoint",
        endpoint,
        "--otlp-protocol",
        protocol,
        "--otlp-interval",
        "300ms",
        "--otlp-timeout",
        "250ms",
    ]
    .iter()
    .chain(extra)
    .map(|s| s.to_string())
    .collect();
    v.shrink_to_fit();
    v
}

fn start(args: &[String], env: &[(&str, &str)]) -> Agent {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Agent::start_with_env(&args, env)
}

fn series<'a>(cg: &'a Cgroup, syscall: &'a str) -> [(&'a str, &'a str); 2] {
    [
        ("archscope.cgroup.path", cg.label.as_str()),
        ("archscope.syscall.name", syscall),
    ]
}

fn prom(m: &Metrics, name: &str, cg: &Cgroup, syscall: &str) -> Option<f64> {
    m.value(name, &[("cgroup", &cg.label), ("syscall", syscall)])
}

/// A self-metric from /metrics, polled until `ok`.
fn wait_metric(agent: &Agent, name: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let v = agent.metrics().value(name, &[]).unwrap_or(0.0);
        if ok(v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "{name} stuck at {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn node_json() -> serde_json::Value {
    let out = archscope_tests::agent_cmd()
        .args(["node", "--output", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a => a,
    }
}

/// A workload's syscalls reach the receiver with the values /metrics shows.
fn export_matches_metrics(transport: &str, protocol: &str) {
    let rx = Receiver::start("ok");
    let env = [
        ("NODE_NAME", "node-under-test"),
        ("OTEL_SERVICE_NAME", "archscope-it"),
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment.name=test,team=obs%20core",
        ),
    ];
    let headers = [
        "--otlp-headers",
        "Authorization=Bearer%20t0ken,x-tenant=blue",
    ];
    let agent = start(&otlp(&rx.endpoint(transport), protocol, &headers), &env);
    let cg = Cgroup::new(&format!("otlp-{transport}"));
    workload(&cg, &["basic", "1000", "500"]);
    let m = agent.metrics();
    let after = now_nanos();
    // the cgroup is idle now: the first export after the scrape carries the same values
    let calls = rx.wait_for(CALLS, &series(&cg, "getppid"), WAIT, |p| p.time() > after);
    assert_eq!(calls.int(), Some(1000));
    assert_eq!(
        prom(&m, "archscope_syscalls_total", &cg, "getppid"),
        Some(1000.0)
    );
    assert_eq!(calls.transport, transport);
    assert_eq!(calls.meta("unit"), "{call}");
    assert_eq!(calls.meta("kind"), "sum");
    assert_eq!(calls.meta("monotonic"), true);
    assert_eq!(calls.meta("temporality"), "cumulative");
    assert_eq!(calls.meta("scope"), "archscope");
    let openat = rx.points(CALLS, &series(&cg, "openat")).pop().unwrap();
    assert_eq!(openat.int(), Some(500));
    assert_eq!(
        prom(&m, "archscope_syscalls_total", &cg, "openat"),
        Some(500.0)
    );
    let mut want = series(&cg, "openat").to_vec();
    want.push(("error.type", "ENOENT"));
    let errors = rx.points("archscope.syscall.errors", &want).pop().unwrap();
    assert_eq!(
        (errors.int(), errors.meta("unit").as_str()),
        (Some(500), Some("{error}"))
    );
    let prom_errors = [
        ("cgroup", cg.label.as_str()),
        ("syscall", "openat"),
        ("errno", "ENOENT"),
    ];
    assert_eq!(
        m.value("archscope_syscall_errors_total", &prom_errors),
        Some(500.0)
    );
    for syscall in ["getppid", "openat"] {
        let d = rx
            .points("archscope.syscall.duration", &series(&cg, syscall))
            .pop()
            .unwrap();
        assert_eq!(
            (d.meta("kind").as_str(), d.meta("unit").as_str()),
            (Some("histogram"), Some("s"))
        );
        let want = [("cgroup", cg.label.as_str()), ("syscall", syscall)];
        d.assert_histogram_equals(&m, "archscope_syscall_duration_seconds", &want);
    }

    // resource: the conventions' attributes, then the standard variables
    let node = node_json();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let expect = [
        ("service.name", "archscope-it"),
        ("service.version", env!("CARGO_PKG_VERSION")),
        ("host.name", hostname.trim()),
        ("host.arch", host_arch()),
        ("os.type", "linux"),
        ("os.description", node["os"].as_str().unwrap()),
        ("host.cpu.vendor.id", node["cpu_vendor"].as_str().unwrap()),
        ("host.cpu.model.name", node["cpu_model"].as_str().unwrap()),
        ("k8s.node.name", "node-under-test"),
        ("deployment.environment.name", "test"),
        ("team", "obs core"),
    ];
    for (k, v) in expect {
        // Empty facts (no /etc/os-release in a test VM) are left out, not sent empty.
        let want = Some(v).filter(|v| !v.is_empty());
        assert_eq!(calls.resource(k), want, "resource {k}");
    }
    // every request carries the configured headers
    for r in rx.requests() {
        assert_eq!(
            r["headers"]["authorization"], "Bearer t0ken",
            "{}",
            r["headers"]
        );
        assert_eq!(r["headers"]["x-tenant"], "blue");
        if transport == "http" {
            assert_eq!(r["headers"]["content-type"], "application/x-protobuf");
        }
    }
    // the agent's own health goes out too, under the conventions' process metrics
    let rss = rx.points("process.memory.usage", &[]).pop().unwrap();
    assert_eq!(
        (rss.meta("unit").as_str(), rss.meta("monotonic")),
        (Some("By"), &serde_json::json!(false))
    );
    assert!(rss.number().unwrap() > 1e6);
    assert!(
        rx.points("archscope.otlp.exports.accepted", &[])
            .pop()
            .is_some()
    );
    let m = agent.metrics();
    assert!(m.value("archscope_otlp_exports_total", &[]).unwrap() >= 1.0);
    assert_eq!(
        m.value("archscope_otlp_exports_failed_total", &[]),
        Some(0.0)
    );
    assert_eq!(
        m.value("archscope_otlp_points_dropped_total", &[]),
        Some(0.0)
    );
}

#[test]
fn grpc_export_equals_metrics_endpoint() {
    if archscope_tests::skip_under_emulation() {
        return;
    }
    export_matches_metrics("grpc", "grpc");
}

#[test]
fn http_export_equals_metrics_endpoint() {
    if archscope_tests::skip_under_emulation() {
        return;
    }
    export_matches_metrics("http", "http/protobuf");
}

#[test]
fn delta_points_add_up_to_the_true_count() {
    if archscope_tests::skip_under_emulation() {
        return;
    }
    let rx = Receiver::start("ok");
    let args = otlp(
        &rx.endpoint("grpc"),
        "grpc",
        &["--otlp-temporality", "delta"],
    );
    let agent = start(&args, &[]);
    let cg = Cgroup::new("otlp-delta");
    workload(&cg, &["basic", "1000", "500"]);
    let after = now_nanos();
    rx.wait_for(CALLS, &series(&cg, "getppid"), WAIT, |p| p.time() > after);
    // a few more exports: later windows add nothing
    std::thread::sleep(Duration::from_millis(1000));
    let points = rx.points(CALLS, &series(&cg, "getppid"));
    assert!(points.len() >= 3, "{} exports", points.len());
    assert!(points.iter().all(|p| p.meta("temporality") == "delta"));
    let total: i64 = points.iter().filter_map(Point::int).sum();
    assert_eq!(total, 1000);
    assert_eq!(
        prom(&agent.metrics(), "archscope_syscalls_total", &cg, "getppid"),
        Some(1000.0)
    );
    // windows follow each other: each starts where the previous ended
    for w in points.windows(2) {
        assert_eq!(w[1].start(), w[0].time());
    }
    let durations = rx.points("archscope.syscall.duration", &series(&cg, "getppid"));
    assert_eq!(durations.iter().filter_map(Point::count).sum::<u64>(), 1000);
}

#[test]
fn receiver_outage_costs_only_the_outage() {
    if archscope_tests::skip_under_emulation() {
        return;
    }
    let mut rx = Receiver::start("ok");
    // a one-point queue bound: every batch pushes out the one before it
    let args = otlp(
        &rx.endpoint("http"),
        "http/protobuf",
        &["--otlp-queue-points", "1"],
    );
    let agent = start(&args, &[]);
    wait_metric(&agent, "archscope_otlp_exports_total", |v| v >= 1.0);
    rx.stop();
    let cg = Cgroup::new("otlp-outage");
    workload(&cg, &["basic", "1000", "500"]);
    let failed = wait_metric(&agent, "archscope_otlp_exports_failed_total", |v| v >= 3.0);
    wait_metric(&agent, "archscope_otlp_points_dropped_total", |v| v > 0.0);
    assert_eq!(agent.get("/healthz").trim(), "ok");
    let queued = agent
        .metrics()
        .value("archscope_otlp_queue_points", &[])
        .unwrap();
    assert_eq!(
        agent
            .metrics()
            .value("archscope_otlp_queue_capacity_points", &[]),
        Some(1.0),
        "the configured bound beside the fill"
    );
    // then a receiver that refuses: still counted as failures, nothing delivered
    rx.restart("reject");
    wait_metric(&agent, "archscope_otlp_exports_failed_total", |v| {
        v >= failed + 3.0
    });
    assert!(rx.points(CALLS, &series(&cg, "getppid")).is_empty());
    // back: the cumulative totals are the true counts, equal to /metrics
    rx.restart("ok");
    let p = rx.wait_for(CALLS, &series(&cg, "getppid"), WAIT, |_| true);
    assert_eq!(p.int(), Some(1000));
    let m = agent.metrics();
    assert_eq!(
        prom(&m, "archscope_syscalls_total", &cg, "getppid"),
        Some(1000.0)
    );
    let openat = rx.points(CALLS, &series(&cg, "openat")).pop().unwrap();
    assert_eq!(openat.int(), Some(500));
    // the queue stayed within one batch (the bound is 1, the newest batch is always kept)
    let batch: usize = rx.requests()[0]["resource_metrics"][0]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["points"].as_array().unwrap().len())
        .sum();
    assert!(
        queued <= 2.0 * batch as f64,
        "{queued} points queued, batches of ~{batch}"
    );
    // once delivered, failures stop
    wait_metric(&agent, "archscope_otlp_queue_points", |v| v == 0.0);
    let before = agent
        .metrics()
        .value("archscope_otlp_exports_failed_total", &[]);
    std::thread::sleep(Duration::from_millis(1000));
    let after = agent
        .metrics()
        .value("archscope_otlp_exports_failed_total", &[]);
    assert_eq!(after, before);
    assert!(agent.stop().success());
}

#[test]
fn hanging_receiver_does_not_hold_up_metrics() {
    if archscope_tests::skip_under_emulation() {
        return;
    }
    let rx = Receiver::start("hang");
    let agent = start(&otlp(&rx.endpoint("grpc"), "grpc", &[]), &[]);
    // /metrics answers while export requests hang, and the timeouts are counted
    let failed = wait_metric(&agent, "archscope_otlp_exports_failed_total", |v| v >= 3.0);
    assert!(rx.hung() >= 1, "the receiver took requests and held them");
    let client: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    for _ in 0..10 {
        let body = client
            .get(&format!("http://{}/metrics", agent.addr))
            .call()
            .expect("/metrics answers while the receiver hangs")
            .into_body()
            .read_to_string()
            .unwrap();
        assert!(body.contains("archscope_syscalls_total"));
    }
    let later = agent
        .metrics()
        .value("archscope_otlp_exports_failed_total", &[])
        .unwrap();
    assert!(later >= failed);
    assert!(agent.stop().success());
}

#[test]
fn tls_with_a_ca_file_over_grpc_and_http() {
    if archscope_tests::skip_under_emulation() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("archscope-otlp-tls-{}", std::process::id()));
    let (ca, cert, key) = tls::certificates(&dir);
    let rx = Receiver::start_tls("ok", &cert, &key);
    let ca = ca.display().to_string();
    for (transport, protocol) in [("grpc", "grpc"), ("http", "http/protobuf")] {
        let args = otlp(&rx.endpoint(transport), protocol, &["--otlp-ca-file", &ca]);
        let agent = start(&args, &[]);
        let syscalls = [("archscope.feature", "syscalls")];
        let up = rx.wait_for("archscope.feature.up", &syscalls, WAIT, |p| {
            p.transport == transport
        });
        assert_eq!(up.number(), Some(1.0));
        drop(agent);
    }
    // without the CA the receiver's certificate is not trusted: failures, nothing sent
    let before = rx.requests().len();
    let agent = start(&otlp(&rx.endpoint("http"), "http/protobuf", &[]), &[]);
    wait_metric(&agent, "archscope_otlp_exports_failed_total", |v| v >= 2.0);
    assert_eq!(rx.requests().len(), before);
    let _ = std::fs::remove_dir_all(&dir);
}
