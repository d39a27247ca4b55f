//! `agent bench calibrate` end to end: two quick runs compared A/A, the spread stored per
//! host, carried by the next run with the same settings (and not by one with others), and
//! the band compare then uses; bad input for the new flags.
use std::path::Path;

use archscope_tests::skip_under_emulation;
use serde_json::Value;

#[path = "bench/support.rs"]
mod support;
use support::{agent, ok, tmp, usage_error};

const BENCH: &str = "syscall.getppid,compute.int";

fn run(dir: &Path, reps: &str) -> (Value, String) {
    let d = dir.display().to_string();
    let out = agent(&[
        "bench",
        "run",
        "--quick",
        "-n",
        reps,
        "-b",
        BENCH,
        "--results-dir",
        &d,
        "--output",
        "json",
    ]);
    let doc = serde_json::from_str(&ok(&out)).unwrap();
    (doc, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn calibration_is_stored_carried_and_widens_the_band() {
    if skip_under_emulation() {
        return;
    }
    let dir = tmp("calibrate");
    let d = dir.display().to_string();
    let out = agent(&[
        "bench",
        "calibrate",
        "--quick",
        "-n",
        "5",
        "-b",
        BENCH,
        "--between",
        "0s",
        "--results-dir",
        &d,
    ]);
    let text = ok(&out);
    assert!(text.contains("2 runs compared pairwise"), "{text}");
    for name in BENCH.split(',') {
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(name) && l.contains("> ")),
            "{name} in {text}"
        );
    }
    // one calibration file for this host, and no results document (the A/A runs are not
    // this host's latest results)
    let files: Vec<_> = std::fs::read_dir(dir.join("calibration"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    // the A/A runs themselves, for a look at what made the spread
    let kept = std::fs::read_dir(dir.join("calibration/runs"))
        .unwrap()
        .count();
    assert_eq!(kept, 2);
    let cal: Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    assert_eq!(cal["schema"], "archscope.bench.calibration/v1");
    assert_eq!(cal["runs"].as_array().unwrap().len(), 2);
    assert_eq!(
        (cal["quick"].as_bool(), cal["repetitions"].as_u64()),
        (Some(true), Some(5))
    );
    let spread = cal["spread"].as_object().unwrap();
    assert_eq!(spread.len(), 2, "{cal}");
    assert!(spread.values().all(|s| s.as_f64().unwrap() >= 0.0), "{cal}");
    let results: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .collect();
    assert!(results.is_empty(), "calibrate stored results: {results:?}");

    // a run with the same settings carries it; one with other settings does not, and says so
    let (with, _) = run(&dir, "5");
    assert_eq!(with["calibration"]["spread"], cal["spread"]);
    assert_eq!(with["calibration"]["made_at"], cal["made_at"]);
    let (without, stderr) = run(&tmp("other"), "5");
    assert!(without["calibration"].is_null());
    let other_dir = tmp("other-settings");
    std::fs::create_dir_all(other_dir.join("calibration")).unwrap();
    std::fs::copy(
        &files[0],
        other_dir
            .join("calibration")
            .join(files[0].file_name().unwrap()),
    )
    .unwrap();
    let (six, stderr6) = run(&other_dir, "6");
    assert!(six["calibration"].is_null());
    assert!(
        stderr6.contains("calibration") && stderr6.contains("not used"),
        "{stderr6}"
    );
    let _ = stderr;

    // compare: each benchmark's band is the larger of the margin and the carried spread
    let (fa, fb) = (dir.join("a.json"), dir.join("b.json"));
    std::fs::write(&fa, with.to_string()).unwrap();
    std::fs::write(&fb, without.to_string()).unwrap();
    let out = agent(&[
        "bench",
        "compare",
        &fa.display().to_string(),
        &fb.display().to_string(),
        "--format",
        "json",
        "--margin",
        "2",
    ]);
    let c: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(c["margin"].as_f64(), Some(0.02));
    for r in c["rows"].as_array().unwrap() {
        let s = spread[r["benchmark"].as_str().unwrap()].as_f64().unwrap();
        let want = s.max(0.02);
        assert_eq!(r["band"]["width"].as_f64(), Some(want), "{r}");
        let source = if s > 0.02 {
            "calibration of "
        } else {
            "margin"
        };
        assert!(
            r["band"]["source"].as_str().unwrap().starts_with(source),
            "{r}"
        );
    }
    assert_eq!(c["a"]["calibration"]["spread"], cal["spread"]);
}

#[test]
fn bad_rounds_margin_and_runs_are_one_line_and_exit_2() {
    usage_error(
        &["bench", "compare", "amd64", "arm64", "--margin", "70"],
        "margin",
    );
    usage_error(
        &["bench", "compare", "amd64", "arm64", "--margin", "five"],
        "margin",
    );
    usage_error(&["bench", "run", "--rounds", "0"], "rounds");
    usage_error(&["bench", "run", "--pause", "soon"], "pause");
    usage_error(&["bench", "calibrate", "--runs", "1"], "runs");
}
