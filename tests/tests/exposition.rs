//! /metrics as scrapers expect it: OpenMetrics to clients that ask for it, the Prometheus
//! text format 0.0.4 to every other client, gzip when the request accepts it. Read back by
//! a real Prometheus 2.42 (which asks for OpenMetrics and gzip), a Prometheus 2.53 told to
//! scrape the text format, and promtool's text parser, with the exact count of a
//! workload's calls in each.
use std::io::Read;
use std::process::{Command, Stdio};

use archscope_tests::prometheus::{Prometheus, wait_for};
use archscope_tests::{Agent, Cgroup, Metrics, OPENMETRICS, skip_under_emulation, workload};

/// One GET of /metrics: (content type, content encoding, body decoded).
fn get(agent: &Agent, accept: Option<&str>, gzip: bool) -> (String, Option<String>, String) {
    let mut req = ureq::get(&format!("http://{}/metrics", agent.addr));
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    if gzip {
        req = req.header("accept-encoding", "gzip");
    }
    let resp = req.call().expect("GET /metrics");
    let header = |h: &str| {
        resp.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (ty, enc) = (
        header("content-type").unwrap_or_default(),
        header("content-encoding"),
    );
    let raw = resp
        .into_body()
        .with_config()
        .limit(1 << 30)
        .read_to_vec()
        .unwrap();
    let body = if enc.as_deref() == Some("gzip") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_string(&mut s)
            .expect("a gzip body");
        s
    } else {
        String::from_utf8(raw).unwrap()
    };
    (ty, enc, body)
}

/// promtool's lints that name metrics the project keeps, each with its reason.
const LINTS_KEPT: &[&str] = &[
    // a hardware (PMU) counter, not the metric type: the gauge says whether one is open
    "archscope_pmu_counter_available metric name should not include type 'counter'",
];

fn getppid(m: &Metrics, cg: &Cgroup) -> Option<f64> {
    m.value(
        "archscope_syscalls_total",
        &[("cgroup", &cg.label), ("syscall", "getppid")],
    )
}

#[test]
fn formats_and_gzip_as_scrapers_ask() {
    if skip_under_emulation() {
        return;
    }
    let agent = Agent::start(&[]);
    let cg = Cgroup::new("exposition");
    workload(&cg, &["basic", "1000", "0"]);
    agent.wait_for("the workload's calls", |m| getppid(m, &cg) == Some(1000.0));

    // Prometheus's Accept header: OpenMetrics, whole to its `# EOF`
    let (ty, enc, om) = get(&agent, Some(OPENMETRICS), false);
    assert!(
        ty.starts_with("application/openmetrics-text; version=1.0.0"),
        "{ty}"
    );
    assert_eq!(enc, None, "gzip only when asked for");
    assert!(om.ends_with("# EOF\n"));
    assert!(om.contains("\n# TYPE archscope_syscalls counter\n"));
    assert_eq!(getppid(&Metrics::parse(&om), &cg), Some(1000.0));

    // any other client (curl sends */*): the text format, counters named by their sample
    for accept in [None, Some("*/*"), Some("text/plain;version=0.0.4")] {
        let (ty, _, text) = get(&agent, accept, false);
        assert_eq!(ty, "text/plain; version=0.0.4; charset=utf-8", "{accept:?}");
        assert!(
            !text.contains("# EOF") && !text.contains("# UNIT"),
            "{accept:?}"
        );
        assert!(text.contains("\n# TYPE archscope_syscalls_total counter\n"));
        assert_eq!(getppid(&Metrics::parse(&text), &cg), Some(1000.0));
    }

    // gzip in both formats, decoding to the same samples
    for accept in [Some(OPENMETRICS), None] {
        let (_, enc, body) = get(&agent, accept, true);
        assert_eq!(enc.as_deref(), Some("gzip"), "{accept:?}");
        assert_eq!(getppid(&Metrics::parse(&body), &cg), Some(1000.0));
    }

    // promtool parses the text format as Prometheus's own text parser does, and lints it
    let (_, _, text) = get(&agent, None, false);
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; `cargo xtask setup` installs it)");
    std::io::Write::write_all(&mut promtool.stdin.take().unwrap(), text.as_bytes()).unwrap();
    let out = promtool.wait_with_output().unwrap();
    let report =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    // a parse error fails the test; of the lints only the listed, kept names may show
    let unexpected: Vec<&str> = report
        .lines()
        .filter(|l| !l.is_empty() && !LINTS_KEPT.contains(l))
        .collect();
    assert!(unexpected.is_empty(), "promtool check metrics: {report}");

    // a real Prometheus scraping (OpenMetrics, gzip) stores the exact count
    let prom = Prometheus::start(&agent.addr);
    let query = format!(
        "archscope_syscalls_total{{cgroup=\"{}\",syscall=\"getppid\"}}",
        cg.label
    );
    wait_for(60, "the workload's count in Prometheus", || {
        prom.query(&query)["result"][0]["value"][1] == "1000"
    });
    let up = prom.query("up{job=\"archscope\"}");
    assert_eq!(up["result"][0]["value"][1], "1", "{up}");
    // OpenMetrics names a counter family without its `_total`
    wait_for(30, "the counter's metadata", || {
        prom.metadata("archscope_syscalls")[0]["type"] == "counter"
    });

    // and a Prometheus that scrapes the text format 0.0.4 stores the same count; the
    // text format names the family by its `_total` sample
    let text_prom = Prometheus::start_text_format(&agent.addr);
    wait_for(
        60,
        "the workload's count in the text-format Prometheus",
        || text_prom.query(&query)["result"][0]["value"][1] == "1000",
    );
    wait_for(30, "the counter's metadata from the text format", || {
        text_prom.metadata("archscope_syscalls_total")[0]["type"] == "counter"
    });
    assert_eq!(
        text_prom.metadata("archscope_syscalls"),
        serde_json::Value::Null
    );
}
