//! Schema round trip, comparison and reports on documents built here.
use std::collections::BTreeMap;

use super::compare::{self, Options, Side};
use super::schema::{Benchmark, Host, Pmu, Results, SCHEMA, Settings, Suite};

fn host(goarch: &str, arch: &str) -> Host {
    Host {
        hostname: format!("{goarch}-node"),
        arch: arch.into(),
        goarch: goarch.into(),
        cpu_vendor: "Vendor".into(),
        cpu_model: "Model <1>".into(),
        cpus: 4,
        sockets: 1,
        cores_per_socket: 4,
        threads_per_core: 1,
        cpu_mhz: 2600.0,
        numa_nodes: 1,
        l2_bytes: 1 << 20,
        l3_bytes: 32 << 20,
        memory_bytes: 8 << 30,
        kernel: "6.1.0".into(),
        os: "Debian GNU/Linux 12 (bookworm)".into(),
        virtualization: String::new(),
    }
}

fn bench(name: &str, cat: &str, unit: &str, hib: bool, samples: &[f64]) -> Benchmark {
    Benchmark {
        name: name.into(),
        version: 1,
        category: cat.into(),
        unit: unit.into(),
        higher_is_better: hib,
        description: "d".into(),
        params: BTreeMap::from([("calls".to_string(), serde_json::json!(1000))]),
        samples: samples.to_vec(),
        pmu: Pmu::default(),
    }
}

fn results(goarch: &str, arch: &str, benches: Vec<Benchmark>) -> Results {
    Results {
        schema: SCHEMA.into(),
        suite: Suite {
            name: "archscope-bench".into(),
            version: "1".into(),
        },
        agent_version: "0.1.0".into(),
        started_at: "2026-11-22T04:00:00Z".into(),
        duration_seconds: 12.5,
        host: host(goarch, arch),
        settings: Settings {
            quick: false,
            repetitions: 9,
            warmup: 1,
            pinned_cpu: None,
        },
        benchmarks: benches,
    }
}

fn pair() -> (Side, Side) {
    let mut pmu = Pmu::default();
    pmu.per_op.insert("cycles".into(), 120.0);
    pmu.per_op.insert("instructions".into(), 240.0);
    pmu.ipc = Some(2.0);
    pmu.cache_mpki = Some(0.5);
    let mut getppid_a = bench(
        "syscall.getppid",
        "kernel",
        "ns/op",
        false,
        &[48.1, 47.9, 48.6, 49.0, 48.2, 47.7, 48.8, 48.3, 50.1],
    );
    getppid_a.pmu = pmu;
    let a = results(
        "amd64",
        "x86_64",
        vec![
            getppid_a,
            bench(
                "memory.read",
                "memory",
                "GB/s",
                true,
                &[10.0, 10.1, 9.9, 10.2, 10.0, 9.8, 10.1, 10.0, 10.05],
            ),
            bench(
                "compute.int",
                "compute",
                "Miter/s",
                true,
                &[
                    500.0, 501.0, 499.0, 500.5, 500.2, 499.8, 500.1, 500.3, 499.9,
                ],
            ),
            bench("only.a", "compute", "x", true, &[1.0; 9]),
        ],
    );
    let mut b = results(
        "arm64",
        "aarch64",
        vec![
            bench(
                "syscall.getppid",
                "kernel",
                "ns/op",
                false,
                &[52.3, 51.8, 53.0, 49.9, 52.2, 51.1, 52.7, 50.5, 51.6],
            ),
            bench(
                "memory.read",
                "memory",
                "GB/s",
                true,
                &[12.0, 12.1, 11.9, 12.2, 12.0, 11.8, 12.1, 12.0, 12.05],
            ),
            bench(
                "compute.int",
                "compute",
                "Miter/s",
                true,
                &[
                    500.1, 499.2, 501.0, 500.0, 500.4, 499.7, 500.2, 500.6, 499.5,
                ],
            ),
        ],
    );
    b.benchmarks[1].samples.truncate(3);
    b.suite.version = "2".into();
    b.host.virtualization = "qemu (linux,dummy-virt)".into();
    (
        compare::side(a, "a.json".into()),
        compare::side(b, "b.json".into()),
    )
}

#[test]
fn results_round_trip_through_json() {
    let (a, _) = pair();
    let text = serde_json::to_string_pretty(&a.results).unwrap();
    let back = Results::from_json(&text, "x").unwrap();
    assert_eq!(back, a.results);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for k in ["name", "unit", "higher_is_better", "samples"] {
        assert!(v["benchmarks"][0].get(k).is_some(), "{k}");
    }
    // saved under a name made of arch, host and time; the newest one is found again
    let dir = std::env::temp_dir().join(format!("archscope-schema-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = a.results.save(&dir).unwrap();
    assert_eq!(
        path.file_name().unwrap(),
        "amd64-amd64-node-2026-11-22T04_00_00Z.json"
    );
    let (_, found) = super::schema::latest_in(&dir, Some("amd64"))
        .unwrap()
        .unwrap();
    assert_eq!(found, a.results);
    assert!(
        super::schema::latest_in(&dir, Some("arm64"))
            .unwrap()
            .is_none()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_documents_name_the_field() {
    let (a, _) = pair();
    let mut v = serde_json::to_value(&a.results).unwrap();
    v["benchmarks"][1].as_object_mut().unwrap().remove("unit");
    let e = Results::from_json(&v.to_string(), "f.json")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("f.json: benchmarks[1]: missing field `unit`"),
        "{e}"
    );
    let mut v = serde_json::to_value(&a.results).unwrap();
    v["host"]["cpus"] = "many".into();
    let e = Results::from_json(&v.to_string(), "f.json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("f.json: host: invalid type"), "{e}");
    let mut v = serde_json::to_value(&a.results).unwrap();
    v["benchmarks"][0]["samples"] = serde_json::json!([1.0, -2.0]);
    let e = Results::from_json(&v.to_string(), "f.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("benchmarks[0].samples: -2"), "{e}");
    let e = Results::from_json("{\"schema\":\"x/v2\"}", "f.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("schema: `x/v2`"), "{e}");
}

#[test]
fn arch_names_and_aliases() {
    for (n, g) in [
        ("amd64", "amd64"),
        ("x86_64", "amd64"),
        ("arm64", "arm64"),
        ("aarch64", "arm64"),
        ("loong64", "loong64"),
        ("loongarch64", "loong64"),
        ("sw64", "sw64"),
        ("sw_64", "sw64"),
    ] {
        assert_eq!(compare::goarch(n), Some(g), "{n}");
    }
    assert_eq!(compare::goarch("sparc"), None);
}

#[test]
fn comparison_rows_verdicts_summary_and_warnings() {
    let (a, b) = pair();
    let c = compare::compare(
        &a,
        &b,
        &Options {
            resamples: 2000,
            seed: 7,
        },
    );
    let row = |n: &str| c.rows.iter().find(|r| r.benchmark == n).unwrap();
    let g = row("syscall.getppid");
    // lower is better and arm64 takes longer: slower, p from scipy (reference.py)
    assert_eq!(g.verdict, "slower");
    assert!((g.p_value - 0.0005736335109885613).abs() < 1e-12);
    assert!((g.ratio - 51.8 / 48.3).abs() < 1e-12);
    assert!(g.ci95[0] <= g.ratio && g.ratio <= g.ci95[1]);
    assert!((g.speedup - 48.3 / 51.8).abs() < 1e-12);
    assert_eq!(compare::pmu_text(&g.pmu_a), "IPC 2.00, 0.5 cache-MPKI");
    assert_eq!(compare::pmu_text(&g.pmu_b), "n/a");
    let m = row("memory.read");
    assert_eq!(m.verdict, "faster");
    assert!(
        m.warnings
            .iter()
            .any(|w| w.contains("too few repetitions on arm64 (3 < 5)"))
    );
    assert_eq!(row("compute.int").verdict, "no significant difference");
    assert_eq!(c.rows.len(), 3);
    let all: Vec<f64> = c.rows.iter().map(|r| r.speedup).collect();
    assert!((c.summary.geomean_speedup - super::stats::geomean(&all)).abs() < 1e-12);
    let mem = c
        .summary
        .categories
        .iter()
        .find(|k| k.category == "memory")
        .unwrap();
    assert!((mem.geomean_speedup - 12.0 / 10.0).abs() < 1e-9);
    let w = c.warnings.join("\n");
    assert!(w.contains("suite versions differ"), "{w}");
    assert!(w.contains("only.a: only amd64 ran it"), "{w}");
    assert!(w.contains("arm64 ran under virtualization (qemu"), "{w}");
    // the same seed, the same intervals
    let again = compare::compare(
        &a,
        &b,
        &Options {
            resamples: 2000,
            seed: 7,
        },
    );
    assert_eq!(again.rows[0].ci95, c.rows[0].ci95);
    // JSON carries the documented fields
    let v = serde_json::to_value(&c).unwrap();
    for k in [
        "benchmark",
        "median_a",
        "median_b",
        "ratio",
        "ci95",
        "p_value",
        "verdict",
    ] {
        assert!(v["rows"][0].get(k).is_some(), "{k}");
    }
    assert_eq!(v["rows"][0]["ci95"].as_array().unwrap().len(), 2);
    assert!(v["summary"]["geomean_speedup"].is_number());
}

#[test]
fn reports() {
    let (a, b) = pair();
    let c = compare::compare(
        &a,
        &b,
        &Options {
            resamples: 500,
            seed: 1,
        },
    );
    let plain = super::report_table::render(&c, false);
    assert!(
        plain.contains("arm64/amd64") && plain.contains("1.07× slower"),
        "{plain}"
    );
    assert!(!plain.contains('\u{1b}'));
    let colour = super::report_table::render(&c, true);
    assert!(colour.contains("\u{1b}[31m"), "red for slower: {colour:?}");
    let md = super::report_markdown::render(&c);
    assert!(
        md.contains("| syscall.getppid | ns/op | 48.300 | 51.800 | 1.072 |"),
        "{md}"
    );
    assert!(md.contains("**1.07× slower**"), "{md}");
    let html = super::report_html::render(&c);
    assert!(html.contains("id=\"chart-speedup\"") && html.contains("id=\"chart-categories\""));
    assert_eq!(html.matches("class=\"chart strip\"").count(), 3);
    assert!(html.contains("Model &lt;1&gt;"), "escaped");
    assert!(
        !html.contains("http://") && !html.contains("src="),
        "self-contained"
    );
}

#[test]
fn results_become_bench_series() {
    let (a, _) = pair();
    let fams = super::families(&a.results);
    let median = fams.iter().find(|f| f.name == "bench_median").unwrap();
    assert_eq!(median.series.len(), 4);
    let labels: Vec<(&str, &str)> = median.series[0]
        .labels
        .iter()
        .map(|(k, v)| (*k, &**v))
        .collect();
    assert_eq!(
        labels,
        [
            ("benchmark", "syscall.getppid"),
            ("arch", "amd64"),
            ("unit", "ns/op"),
            ("higher_is_better", "false")
        ]
    );
    // IPC only where the PMU counted it
    let ipc = fams.iter().find(|f| f.name == "bench_ipc").unwrap();
    assert_eq!(ipc.series.len(), 1);
    let text =
        crate::export::prometheus::render(crate::collect::Snapshot { families: fams }).unwrap();
    assert!(text.contains("archscope_bench_median{benchmark=\"memory.read\",arch=\"amd64\",unit=\"GB/s\",higher_is_better=\"true\"} 10.0"), "{text}");
    assert!(
        text.contains("archscope_bench_run_timestamp_seconds{"),
        "{text}"
    );
}

#[test]
fn suite_selection() {
    let all = super::suite::select(&[]).unwrap();
    assert_eq!(all.len(), super::suite::SUITE.len());
    let mem = super::suite::select(&["memory".into()]).unwrap();
    assert_eq!(mem.len(), 4);
    let two = super::suite::select(&["http.ping".into(), "syscall.getppid".into(), "http".into()])
        .unwrap();
    assert_eq!(
        two.iter().map(|d| d.name).collect::<Vec<_>>(),
        ["http.ping", "syscall.getppid"]
    );
    assert!(
        super::suite::select(&["nosuch".into()])
            .err()
            .unwrap()
            .contains("no benchmark `nosuch`")
    );
    // names are unique across workloads and metrics
    let mut names: Vec<&str> = super::suite::SUITE
        .iter()
        .flat_map(|d| d.metrics.iter().map(|m| m.name))
        .collect();
    let n = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), n);
}

#[test]
fn quick_workloads_run() {
    // the cheap ones, end to end through the runner (PMU absent or not)
    let defs =
        super::suite::select(&["syscall.getppid".into(), "context_switch.pipe".into()]).unwrap();
    let opts = super::runner::Options {
        quick: true,
        repetitions: 2,
        warmup: 0,
        pin: None,
        host_root: "/".into(),
    };
    let r = super::runner::run(&defs, &opts, super::runner::Progress::Quiet).unwrap();
    assert_eq!(r.benchmarks.len(), 2);
    for b in &r.benchmarks {
        assert_eq!(b.samples.len(), 2);
        assert!(b.samples.iter().all(|v| *v > 0.0), "{b:?}");
        assert!(
            b.pmu.per_op.values().all(|v| *v > 0.0),
            "never zero: {:?}",
            b.pmu
        );
        assert_eq!(
            b.pmu.per_op.len() + b.pmu.unavailable.len(),
            5,
            "{:?}",
            b.pmu
        );
    }
}
