//! What keeps compare honest, on fixed samples: the interleaved schedule, rounds, the
//! margin, calibration, labels, the geometric mean's interval and v1 documents.
use crate::calibration;
use crate::compare::{self, Options, Side, side};
use crate::runner::schedule;
use crate::schema::{Results, SCHEMA_V1, Sampling};
use crate::testing::{bench, results};
use crate::verdict::Verdict;

fn opts(margin: f64) -> Options {
    Options {
        resamples: 2000,
        seed: 11,
        margin,
    }
}

fn one(goarch: &str, name: &str, hib: bool, samples: &[f64]) -> Results {
    results(goarch, "x", vec![bench(name, "compute", "u", hib, samples)])
}

fn sides(a: Results, b: Results) -> (Side, Side) {
    (side(a, "a".into()), side(b, "b".into()))
}

#[test]
fn every_pass_runs_each_benchmark_once_in_a_shuffled_order() {
    let passes = schedule(5, 2, 1, 9, 42);
    assert_eq!(passes.len(), 2 * (1 + 9));
    for (round, rep, order) in &passes {
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2, 3, 4], "round {round} rep {rep:?}");
    }
    // each round starts with its warm-up pass, then repetitions 0..9
    let reps: Vec<Option<u32>> = passes.iter().take(10).map(|p| p.1).collect();
    assert_eq!(reps[0], None);
    assert_eq!(reps[1..], (0..9).map(Some).collect::<Vec<_>>()[..]);
    assert_eq!(passes[10].0, 1);
    // drift lands on every benchmark: each one runs first in some pass and last in another
    for b in 0..5 {
        assert!(passes.iter().any(|p| p.2[0] == b), "{b} never first");
        assert!(passes.iter().any(|p| p.2[4] == b), "{b} never last");
    }
    // the order is the seed's: the same seed, the same schedule; another, another
    assert_eq!(schedule(5, 2, 1, 9, 42), passes);
    assert_ne!(schedule(5, 2, 1, 9, 43), passes);
}

#[test]
fn the_runner_interleaves_rounds_and_records_how() {
    let defs =
        crate::suite::select(&["syscall.getppid".into(), "context_switch.pipe".into()]).unwrap();
    let o = crate::runner::Options {
        quick: true,
        repetitions: 3,
        warmup: 1,
        rounds: 2,
        pause: std::time::Duration::ZERO,
        order_seed: 5,
        pin: None,
        host: crate::testing::host("amd64", "x86_64"),
    };
    let r = crate::runner::run(&defs, &o, crate::runner::Progress::Quiet).unwrap();
    for b in &r.benchmarks {
        assert_eq!(b.samples.len(), 6, "2 rounds × 3 repetitions: {b:?}");
        assert_eq!(b.round_medians(2).len(), 2);
    }
    assert_eq!(
        r.sampling,
        Sampling {
            scheme: "interleaved".into(),
            rounds: 2,
            pause_seconds: 0.0,
            order_seed: Some(5),
        }
    );
    let back = Results::from_json(&serde_json::to_string(&r).unwrap(), "r").unwrap();
    assert_eq!(back, r);
}

#[test]
fn a_small_real_difference_is_equivalent_within_the_margin_and_found_below_it() {
    // B 3 % faster, tight samples: within ±5 % it is noise; a 1 % margin calls it
    let a = [100.0, 100.2, 99.9, 100.1, 99.8, 100.0, 100.3, 99.7, 100.1];
    let b: Vec<f64> = a.iter().map(|v| v * 1.03).collect();
    let (sa, sb) = sides(one("amd64", "x", true, &a), one("amd64", "x", true, &b));
    let c = compare::compare(&sa, &sb, &opts(0.05));
    assert_eq!(c.rows[0].verdict, Verdict::Equivalent);
    assert_eq!(compare::verdict_text(&c.rows[0]), "equivalent within ±5 %");
    let c = compare::compare(&sa, &sb, &opts(0.01));
    assert_eq!(c.rows[0].verdict, Verdict::Faster);
    assert_eq!(compare::verdict_text(&c.rows[0]), "1.03× faster");
    // swapped, the verdict mirrors
    let c = compare::compare(&sb, &sa, &opts(0.01));
    assert_eq!(c.rows[0].verdict, Verdict::Slower);
    // lower is better: B's 3 % more time is slower
    let (sa, sb) = sides(one("amd64", "x", false, &a), one("amd64", "x", false, &b));
    let c = compare::compare(&sa, &sb, &opts(0.01));
    assert_eq!(c.rows[0].verdict, Verdict::Slower);
    assert!((c.rows[0].speedup - 1.0 / 1.03).abs() < 1e-12);
}

#[test]
fn rounds_on_both_sides_compare_round_medians() {
    let samples: Vec<f64> = (0..5)
        .flat_map(|r| [1.0, 2.0, 3.0].map(|v| v + 10.0 * f64::from(r)))
        .collect();
    let mut a = one("amd64", "x", true, &samples);
    a.sampling.rounds = 5;
    let mut b = a.clone();
    b.benchmarks[0].samples = samples.iter().map(|v| v + 1.0).collect();
    let (sa, sb) = sides(a.clone(), b.clone());
    let c = compare::compare(&sa, &sb, &opts(0.05));
    assert_eq!(c.sample_unit, "round medians");
    assert_eq!(c.rows[0].compared_a, [2.0, 12.0, 22.0, 32.0, 42.0]);
    assert_eq!(c.rows[0].compared_b, [3.0, 13.0, 23.0, 33.0, 43.0]);
    assert_eq!(
        c.rows[0].samples_a.len(),
        15,
        "every repetition is kept for the charts"
    );
    // the rounds differ far more than the sides: nothing to call
    assert!(!c.rows[0].verdict.is_difference());
    // three rounds a side: round medians could never reach p < 0.05, so every repetition
    // is compared, with a warning
    a.sampling.rounds = 3;
    a.benchmarks[0].samples.truncate(9);
    b.sampling.rounds = 3;
    b.benchmarks[0].samples.truncate(9);
    let (sa, sb) = sides(a.clone(), b.clone());
    let c = compare::compare(&sa, &sb, &opts(0.05));
    assert_eq!(c.sample_unit, "repetitions");
    assert_eq!(c.rows[0].compared_a.len(), 9);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("round medians need 4 rounds or more on both sides")),
        "{:?}",
        c.warnings
    );
    // one side in rounds, the other not: every repetition too
    b.sampling.rounds = 1;
    let (sa, sb) = sides(a, b);
    let c = compare::compare(&sa, &sb, &opts(0.05));
    assert_eq!(c.sample_unit, "repetitions");
}

/// Three A/A runs with constant samples: their ratios are exact, and so is the spread.
fn calibration_runs() -> Vec<Results> {
    [100.0, 115.0, 90.0]
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut r = one("amd64", "x", true, &[*v; 9]);
            r.started_at = format!("2026-12-04T10:0{i}:00Z");
            r
        })
        .collect()
}

#[test]
fn calibration_is_the_mean_a_a_bound_and_widens_the_band() {
    let runs = calibration_runs();
    let mut c = calibration::measure(&runs, &opts(0.05), "2026-12-04T10:03:00Z".into()).unwrap();
    // pairs 115/100, 90/100 and 90/115: the spread is exp of the mean |ln ratio|, minus
    // 1 (17.75 %); constant samples make points of the intervals, so `detectable` is the
    // band itself
    let spread = c.spread["x"];
    let want =
        ((1.15f64.ln() + 0.9f64.ln().abs() + (90.0f64 / 115.0).ln().abs()) / 3.0).exp() - 1.0;
    assert!((spread - want).abs() < 1e-12, "{spread} {want}");
    assert!((c.detectable["x"] - want).abs() < 1e-12);
    assert_eq!(c.runs.len(), 3);
    assert_eq!((c.quick, c.repetitions, c.rounds), (false, 9, 1));
    // stored per host, found again by a run with the same settings, refused with others
    let dir = std::env::temp_dir().join(format!("archscope-cal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = c.save(&dir).unwrap();
    assert_eq!(path, dir.join("calibration/amd64-amd64-node.json"));
    // a later calibration of a subset (`-b`) keeps the other benchmarks' spreads
    let mut subset = c.clone();
    subset.spread = std::collections::BTreeMap::from([("y".to_string(), 0.07)]);
    subset.detectable = subset.spread.clone();
    subset.save(&dir).unwrap();
    let merged = calibration::Calibration::read(&path).unwrap();
    assert_eq!(merged.spread.len(), 2);
    assert_eq!((merged.spread["x"], merged.spread["y"]), (spread, 0.07));
    std::fs::write(&path, serde_json::to_string(&c).unwrap()).unwrap();
    let carried = calibration::find(&dir, &runs[0]).unwrap();
    assert_eq!(carried.spread, c.spread);
    assert_eq!(carried.runs, 3);
    let mut other = runs[0].clone();
    other.settings.quick = true;
    assert!(calibration::find(&dir, &other).is_none());
    assert!(c.mismatch(&other).unwrap().contains("quick false"));
    std::fs::remove_dir_all(&dir).unwrap();
    // 10 % faster is a difference with the ±5 % margin, equivalent within a 17.75 % spread
    let a = [100.0, 100.2, 99.9, 100.1, 99.8, 100.0, 100.3, 99.7, 100.1];
    let b: Vec<f64> = a.iter().map(|v| v * 1.10).collect();
    let (ra, rb) = (one("amd64", "x", true, &a), one("amd64", "x", true, &b));
    let (sa, sb) = sides(ra.clone(), rb.clone());
    assert_eq!(
        compare::compare(&sa, &sb, &opts(0.05)).rows[0].verdict,
        Verdict::Faster
    );
    let mut rb = rb;
    rb.calibration = Some(carried);
    let (sa, sb) = sides(ra, rb);
    let c = compare::compare(&sa, &sb, &opts(0.05));
    assert_eq!(c.rows[0].verdict, Verdict::Equivalent);
    assert_eq!(c.rows[0].band.source, "calibration of amd64");
    assert_eq!(
        compare::verdict_text(&c.rows[0]),
        "equivalent within ±17.8 %"
    );
    assert!(calibration::measure(&runs[..1], &opts(0.05), String::new()).is_err());
}

#[test]
fn labels_name_the_host_when_the_arch_is_the_same() {
    let mut a = one("amd64", "x", true, &[1.0; 5]);
    let mut b = a.clone();
    b.host.hostname = "node-b".into();
    let (mut sa, mut sb) = sides(a.clone(), b);
    compare::distinguish(&mut sa, &mut sb);
    assert_eq!(
        (sa.label.as_str(), sb.label.as_str()),
        ("amd64@amd64-node", "amd64@node-b")
    );
    // same host: the run's time of day too
    a.started_at = "2026-12-04T10:00:00Z".into();
    let mut b = a.clone();
    b.started_at = "2026-12-04T10:05:30Z".into();
    let (mut sa, mut sb) = sides(a.clone(), b);
    compare::distinguish(&mut sa, &mut sb);
    assert_eq!(sb.label, "amd64@amd64-node 10:05:30");
    // another day: the whole time
    let mut c = a.clone();
    c.started_at = "2026-12-05T10:05:30Z".into();
    let (mut sa, mut sc) = sides(a.clone(), c);
    compare::distinguish(&mut sa, &mut sc);
    assert_eq!(sc.label, "amd64@amd64-node 2026-12-05T10:05:30Z");
    // started in the same second: A and B
    let (mut sa, mut sb) = sides(a.clone(), a.clone());
    compare::distinguish(&mut sa, &mut sb);
    assert_eq!(
        (sa.label.as_str(), sb.label.as_str()),
        ("amd64@amd64-node A", "amd64@amd64-node B")
    );
    // different arches keep the arch alone
    let (mut sa, mut sb) = sides(a, one("arm64", "x", true, &[1.0; 5]));
    compare::distinguish(&mut sa, &mut sb);
    assert_eq!((sa.label.as_str(), sb.label.as_str()), ("amd64", "arm64"));
}

#[test]
fn geometric_means_carry_intervals() {
    // constant samples: every resample gives the same speed-ups, so the interval is the point
    let a = results(
        "amd64",
        "x",
        vec![
            bench("p", "c", "u", true, &[10.0; 5]),
            bench("q", "c", "u", false, &[4.0; 5]),
        ],
    );
    let mut b = a.clone();
    b.benchmarks[0].samples = vec![20.0; 5];
    b.benchmarks[1].samples = vec![8.0; 5];
    let (sa, sb) = sides(a, b);
    let c = compare::compare(&sa, &sb, &opts(0.05));
    // speed-ups 2 and 0.5: geometric mean 1
    assert!((c.summary.geomean_speedup - 1.0).abs() < 1e-12);
    for v in c.summary.geomean_ci95 {
        assert!((v - 1.0).abs() < 1e-12, "{v}");
    }
    assert_eq!(c.summary.categories[0].geomean_ci95, c.summary.geomean_ci95);
}

#[test]
fn v1_documents_read_as_sequential_and_compare_says_so() {
    let r = one("amd64", "x", true, &[1.0; 5]);
    let mut v = serde_json::to_value(&r).unwrap();
    v["schema"] = SCHEMA_V1.into();
    let m = v.as_object_mut().unwrap();
    m.remove("sampling");
    m.remove("calibration");
    let old = Results::from_json(&v.to_string(), "old.json").unwrap();
    assert_eq!(old.sampling, Sampling::default());
    // read, it is a v2 document: served by an agent and read again, it still reads
    assert_eq!(old.schema, crate::schema::SCHEMA);
    let again = Results::from_json(&serde_json::to_string(&old).unwrap(), "again").unwrap();
    assert_eq!(again, old);
    // a v2 document must say how its samples were taken
    let mut v2 = serde_json::to_value(&r).unwrap();
    v2.as_object_mut().unwrap().remove("sampling");
    let e = Results::from_json(&v2.to_string(), "f.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("sampling: missing"), "{e}");
    assert_eq!(old.sampling.scheme, "sequential");
    let (sa, sb) = sides(old, r);
    let c = compare::compare(&sa, &sb, &opts(0.05));
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("amd64 took its repetitions one benchmark after another")),
        "{:?}",
        c.warnings
    );
    // a v2 document's rounds must split its samples
    let mut bad = serde_json::to_value(one("amd64", "x", true, &[1.0; 5])).unwrap();
    bad["sampling"]["rounds"] = 2.into();
    let e = Results::from_json(&bad.to_string(), "f.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("5 values do not split into 2 rounds"), "{e}");
}
