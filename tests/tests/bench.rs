//! `agent bench` end to end: a quick run on this kernel, compare against a results file
//! produced on Debian's arm64 kernel under qemu (tests/fixtures/bench/arm64-qemu.json,
//! made by `cargo xtask vm-bench arm64`), two agents serving results to a cluster compare,
//! the HTML report in headless Chromium, and bad input (`agent bench overhead`: overhead.rs).
//! Runs are --quick with few repetitions to keep CI short.
use std::path::{Path, PathBuf};

use archscope_tests::{Agent, skip_under_emulation};
use serde_json::Value;

#[path = "bench/support.rs"]
mod support;
use support::{HOST_BENCH, agent, fixture, host_run, ok, tmp, usage_error};

#[test]
fn run_writes_a_self_describing_document() {
    if skip_under_emulation() {
        return;
    }
    let (dir, doc) = host_run();
    assert_eq!(doc["schema"], "archscope.bench.results/v2");
    assert_eq!(doc["sampling"]["scheme"], "interleaved");
    assert_eq!(doc["suite"]["name"], "archscope-bench");
    assert_eq!(doc["host"]["arch"], std::env::consts::ARCH);
    assert_eq!(doc["host"]["goarch"], "amd64");
    for key in ["cpu_vendor", "cpu_model", "kernel", "os", "hostname"] {
        assert!(
            doc["host"][key].as_str().is_some_and(|s| !s.is_empty()),
            "{key}"
        );
    }
    for key in ["cpus", "memory_bytes", "cpu_mhz"] {
        assert!(doc["host"][key].as_f64().unwrap() > 0.0, "{key}");
    }
    let benches = doc["benchmarks"].as_array().unwrap();
    let names: Vec<&str> = benches
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    for want in HOST_BENCH.split(',') {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    assert!(names.contains(&"http.ping.p99"));
    for b in benches {
        let samples = b["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 5, "{b}");
        assert!(samples.iter().all(|v| v.as_f64().unwrap() > 0.0), "{b}");
        assert!(b["unit"].as_str().is_some_and(|u| !u.is_empty()));
        assert!(b["higher_is_better"].is_boolean());
        // This machine has no hardware PMU: every event unavailable with a reason, none zero.
        let pmu = &b["pmu"];
        assert!(
            pmu["per_op"]
                .as_object()
                .unwrap()
                .values()
                .all(|v| v.as_f64().unwrap() > 0.0)
        );
        if !Path::new("/sys/bus/event_source/devices/cpu").exists() {
            assert!(pmu["per_op"].as_object().unwrap().is_empty(), "{pmu}");
            assert!(pmu["ipc"].is_null());
            let why = pmu["unavailable"]["cycles"].as_str().unwrap();
            assert!(!why.is_empty(), "{pmu}");
        }
    }
    // the stored file is the same document
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(&stored, doc);
}

#[test]
fn compare_this_host_with_the_arm64_guest() {
    if skip_under_emulation() {
        return;
    }
    let (host_dir, _) = host_run();
    // both documents in one results directory; sides chosen by architecture, with aliases
    let dir = tmp("both");
    for f in std::fs::read_dir(host_dir).unwrap().flatten() {
        std::fs::copy(f.path(), dir.join(f.file_name())).unwrap();
    }
    std::fs::copy(fixture("arm64-qemu.json"), dir.join("arm64-qemu.json")).unwrap();
    let d = dir.display().to_string();
    let json = ok(&agent(&[
        "bench",
        "compare",
        "x86_64",
        "aarch64",
        "--results-dir",
        &d,
        "--format",
        "json",
    ]));
    let c: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(c["a"]["label"], "amd64");
    assert_eq!(c["b"]["label"], "arm64");
    assert_eq!(c["b"]["host"]["arch"], "aarch64");
    let rows = c["rows"].as_array().unwrap();
    assert!(rows.len() >= 9, "{}", rows.len());
    for r in rows {
        let (a, b) = (
            r["median_a"].as_f64().unwrap(),
            r["median_b"].as_f64().unwrap(),
        );
        let ratio = r["ratio"].as_f64().unwrap();
        assert!((ratio - b / a).abs() < 1e-9 * ratio, "{r}");
        let ci = r["ci95"].as_array().unwrap();
        let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
        assert!(lo <= ratio * 1.000001 && ratio <= hi * 1.000001, "{r}");
        let p = r["p_value"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&p), "{r}");
        let v = r["verdict"].as_str().unwrap();
        assert!(
            ["faster", "slower", "equivalent", "inconclusive"].contains(&v),
            "{r}"
        );
    }
    assert!(c["summary"]["geomean_speedup"].as_f64().unwrap() > 0.0);
    assert!(!c["summary"]["categories"].as_array().unwrap().is_empty());
    let warnings = c["warnings"].to_string();
    assert!(
        warnings.contains("arm64 ran under virtualization (qemu"),
        "{warnings}"
    );
    // the arm64 guest's PMU counted cycles (instructions need -icount): partial, not zero
    let getppid = rows
        .iter()
        .find(|r| r["benchmark"] == "syscall.getppid")
        .unwrap();
    let arm = &getppid["pmu_b"];
    assert!(arm["per_op"]["cycles"].as_f64().unwrap() > 0.0, "{arm}");
    assert!(arm["unavailable"]["instructions"].is_string(), "{arm}");
    // the same comparison as files, and as a table and Markdown
    let host_file = std::fs::read_dir(host_dir)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let fx = fixture("arm64-qemu.json").display().to_string();
    let hf = host_file.display().to_string();
    let table = ok(&agent(&["bench", "compare", &hf, &fx]));
    assert!(
        table.contains("syscall.getppid") && table.contains("arm64/amd64"),
        "{table}"
    );
    assert!(!table.contains('\u{1b}'), "colour on a pipe: {table}");
    let md = ok(&agent(&[
        "bench", "compare", &hf, &fx, "--format", "markdown",
    ]));
    assert!(md.contains("| benchmark | unit | amd64 | arm64 |"), "{md}");
}

#[test]
fn html_report_renders_in_headless_chromium() {
    if skip_under_emulation() {
        return;
    }
    let (host_dir, _) = host_run();
    let dir = tmp("html");
    let html = dir.join("report.html");
    let h = html.display().to_string();
    let fx = fixture("arm64-qemu.json").display().to_string();
    let hd = host_dir.display().to_string();
    ok(&agent(&[
        "bench", "compare", &hd, &fx, "--format", "html", "-o", &h,
    ]));
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(
        !text.contains("http://") && !text.contains("https://"),
        "not self-contained"
    );
    let profile = dir.join("profile");
    let dom_text = archscope_tests::chromium::dump_dom(&html, &profile);
    // the inline script ran and counted the charts
    let ready = dom_text
        .split("data-ready=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or_else(|| {
            panic!(
                "the report's script did not run: {}",
                &dom_text[..dom_text.len().min(400)]
            )
        });
    assert!(ready >= 3, "{ready} charts");
    let png = dir.join("shot.png");
    let shot = archscope_tests::chromium::headless(
        &html,
        &profile,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1200,1600",
            "--hide-scrollbars",
        ],
    );
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(px).collect();
    assert_eq!((info.width, info.height), (1200, 1600));
    // the charts' colours are on the page: verdict colours, the two sides' sample dots
    let has = |rgb: [u8; 3]| pixels.iter().filter(|p| p[..3] == rgb).count();
    let distinct: std::collections::HashSet<&[u8]> = pixels.iter().copied().collect();
    assert!(
        distinct.len() > 50,
        "a blank screenshot ({} colours)",
        distinct.len()
    );
    let chart = has([0x2e, 0x7d, 0x32]) + has([0xc6, 0x28, 0x28]) + has([0x75, 0x75, 0x75]);
    assert!(
        chart > 200,
        "the speed-up chart is not drawn ({chart} pixels)"
    );
}

#[test]
fn agents_serve_results_to_a_cluster_compare() {
    if skip_under_emulation() {
        return;
    }
    let (host_dir, _) = host_run();
    // two agents on this machine standing in for two nodes: one serves this host's results,
    // the other those made on the arm64 kernel under qemu
    let arm_dir = tmp("arm-node");
    std::fs::copy(fixture("arm64-qemu.json"), arm_dir.join("arm64-qemu.json")).unwrap();
    // a copy: the POST below adds a document, which the other tests must not see
    let x86_dir = tmp("x86-node");
    for f in std::fs::read_dir(host_dir).unwrap().flatten() {
        std::fs::copy(f.path(), x86_dir.join(f.file_name())).unwrap();
    }
    let x86 = Agent::start(&["--bench-results-dir", &x86_dir.display().to_string()]);
    let arm = Agent::start(&["--bench-results-dir", &arm_dir.display().to_string()]);
    let latest: Value = serde_json::from_str(&arm.get("/api/v1/bench/latest")).unwrap();
    assert_eq!(latest["host"]["goarch"], "arm64");
    let m = arm.metrics();
    let v = m
        .value(
            "archscope_bench_median",
            &[("benchmark", "syscall.getppid"), ("arch", "arm64")],
        )
        .expect("archscope_bench_median for arm64");
    assert!(v > 0.0);
    assert!(
        m.value(
            "archscope_bench_run_timestamp_seconds",
            &[("arch", "arm64")]
        )
        .unwrap()
            > 1.6e9
    );
    let m = x86.metrics();
    assert!(
        m.value(
            "archscope_bench_median",
            &[("benchmark", "compute.int"), ("arch", "amd64")]
        )
        .is_some()
    );
    let (ua, ub) = (
        format!("http://{}", x86.addr),
        format!("http://{}", arm.addr),
    );
    // no Kubernetes API here: discovery is skipped and the explicit agents are used
    let out = agent(&[
        "bench",
        "compare",
        "amd64",
        "arm64",
        "--cluster",
        "--agent",
        &ua,
        "--agent",
        &ub,
        "--format",
        "json",
    ]);
    let c: Value = serde_json::from_str(&ok(&out)).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Kubernetes discovery skipped"), "{err}");
    assert_eq!(c["a"]["origin"], ua.as_str());
    assert_eq!(c["b"]["origin"], ub.as_str());
    assert!(c["rows"].as_array().unwrap().len() >= 9);
    // ask a node to run (a one-benchmark quick run) over the API
    let run = ureq::post(&format!(
        "{ua}/api/v1/bench/run?quick=true&bench=syscall.getppid"
    ))
    .send_empty()
    .unwrap()
    .into_body()
    .read_to_string()
    .unwrap();
    let run: Value = serde_json::from_str(&run).unwrap();
    assert_eq!(run["benchmarks"][0]["name"], "syscall.getppid");
    let latest: Value = serde_json::from_str(&x86.get("/api/v1/bench/latest")).unwrap();
    assert_eq!(latest["started_at"], run["started_at"]);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = tmp("bad");
    let empty = tmp("empty");
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let not_json = file("a.json", "{");
    // The fixture is in the source tree, not in the VMs' initramfs.
    let fixture_doc = std::fs::read_to_string(fixture("arm64-qemu.json")).ok();
    let no_unit = file(
        "b.json",
        &fixture_doc
            .clone()
            .unwrap_or_default()
            .replacen("\"unit\"", "\"units\"", 1),
    );
    let other = file("c.json", "{\"schema\": \"something/v9\"}");
    let e = empty.display().to_string();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["bench", "run", "-b", "nosuch"],
            "no benchmark `nosuch`",
        ),
        (vec!["bench", "run", "--repetitions", "0"], "--repetitions"),
        (
            vec!["bench", "run", "--pin", "4096", "-b", "compute.int"],
            "pin: CPU 4096",
        ),
        (
            vec!["bench", "compare", "amd64", "sparc"],
            "`sparc` is neither an architecture",
        ),
        (
            vec!["bench", "compare", "amd64", "arm64", "--results-dir", &e],
            "no amd64 results",
        ),
        (vec!["bench", "compare", &not_json, &not_json], "not JSON"),
        (
            vec!["bench", "compare", &no_unit, &no_unit],
            "benchmarks[0]: unknown field `units`",
        ),
        (
            vec!["bench", "compare", &other, &other],
            "schema: `something/v9`",
        ),
        (
            vec!["bench", "compare", "amd64", "x.json", "--cluster"],
            "`x.json` is not an architecture",
        ),
        (vec!["bench", "compare", "a", "b", "--format", "pdf"], "pdf"),
    ];
    for (args, want) in cases {
        if fixture_doc.is_none() && args.contains(&no_unit.as_str()) {
            continue;
        }
        usage_error(&args, want);
    }
}
