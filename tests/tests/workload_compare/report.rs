//! What the compare's reports must say, whichever source they were made from.
use std::path::Path;

use serde_json::Value;

use super::{DEPLOYMENT, GUEST_POD, HOST_POD, NS, WORK};

pub fn row<'a>(r: &'a Value, label: &str) -> &'a Value {
    r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["label"] == label)
        .unwrap_or_else(|| panic!("no row {label}: {r:#}"))
}

/// What both sources must agree on: the pods, every call, and the emulated side slower.
pub fn check(r: &Value, source: &str) {
    let ctx = format!("{source}: {r:#}");
    assert_eq!(r["schema"], "archscope.bench.workload/v1");
    assert_eq!(r["workload"], format!("{NS}/{DEPLOYMENT}"));
    for (side, arch, pod) in [("a", "amd64", HOST_POD), ("b", "arm64", GUEST_POD)] {
        let s = &r[side];
        assert_eq!(s["arch"], arch, "{ctx}");
        let pods: Vec<&str> = s["pods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pod"].as_str().unwrap())
            .collect();
        assert_eq!(pods, [pod], "{ctx}");
        let calls = |name: &str| {
            let t = &s["syscalls"][name];
            (t["calls"].as_f64(), t["errors"].as_f64())
        };
        let (g, o) = (
            WORK.batches * WORK.getppid_per_batch,
            WORK.batches * WORK.openat_missing_per_batch,
        );
        assert_eq!(
            calls("getppid"),
            (Some(g as f64), Some(0.0)),
            "{arch}: {ctx}"
        );
        assert_eq!(
            calls("openat"),
            (Some(o as f64), Some(o as f64)),
            "{arch}: {ctx}"
        );
    }
    // the host's pod was named after its first batches: its windows before count too
    let rate = row(r, "getppid calls/s per pod");
    assert!(
        rate["a"]["n"].as_u64() >= rate["b"]["n"].as_u64(),
        "the host's pod lost windows: {ctx}"
    );
    let fail = row(r, "openat failure ratio");
    assert_eq!(
        (fail["a"]["median"].as_f64(), fail["b"]["median"].as_f64()),
        (Some(1.0), Some(1.0)),
        "{ctx}"
    );
    let p50 = row(r, "getppid p50");
    assert_eq!(p50["direction"], "higher", "{ctx}");
    assert!(p50["ratio"].as_f64().unwrap() > 2.0, "{ctx}");
    assert!(
        r["differences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d.as_str().unwrap().starts_with("getppid p50 ")),
        "{ctx}"
    );
}

/// The HTML report in headless Chromium: every row, the chart, no network.
pub fn html_renders(html: &Path, dir: &Path, r: &Value) {
    let text = std::fs::read_to_string(html).unwrap();
    // the sources' URLs are text in it; nothing is loaded from anywhere
    for external in ["src=", "href=", "url(", "@import", "<link", "<script"] {
        assert!(!text.contains(external), "not self-contained: {external}");
    }
    let dom = archscope_tests::chromium::dump_dom(html, &dir.join("profile"));
    let rows = dom.matches("<tr data-direction=").count();
    assert_eq!(rows, r["rows"].as_array().unwrap().len(), "{dom}");
    assert!(
        dom.contains("id=\"chart-ratios\"") && dom.contains("class=\"point\""),
        "{dom}"
    );
    assert!(dom.contains(GUEST_POD) && dom.contains(HOST_POD), "{dom}");
}
