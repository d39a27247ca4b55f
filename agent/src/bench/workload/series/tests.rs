//! Windows and quantiles of the series, on hand-made scrapes.
use super::*;

#[test]
fn quantiles_read_as_histogram_quantile_does() {
    // 10 in the first bucket (≤1), 10 in (1,2], none beyond
    let b = [(1.0, 10.0), (2.0, 20.0), (4.0, 20.0), (f64::INFINITY, 20.0)];
    assert_eq!(quantile(&b, 0.5), Some(1.0));
    assert_eq!(quantile(&b, 0.25), Some(0.5));
    assert_eq!(quantile(&b, 0.75), Some(1.5));
    // everything beyond the last finite bound reads as that bound
    assert_eq!(
        quantile(&[(1.0, 0.0), (f64::INFINITY, 5.0)], 0.5),
        Some(1.0)
    );
    assert_eq!(quantile(&[(1.0, 0.0), (f64::INFINITY, 0.0)], 0.5), None);
    // a bucket below the one before (mixed resets) counts as that one; no +Inf, none
    let dip = [(1.0, 10.0), (2.0, 8.0), (4.0, 20.0), (f64::INFINITY, 20.0)];
    assert_eq!(quantile(&dip, 0.75), Some(3.0));
    assert_eq!(quantile(&[(1.0, 10.0), (2.0, 20.0)], 0.5), None);
}

#[test]
fn a_reset_of_one_series_resets_its_whole_container_and_late_series_are_zero() {
    let mut o = Observed::new(vec![0.0, 10.0, 20.0]);
    for at in 0..3 {
        o.set_up("a:1", at);
    }
    o.set_scraped("a:1", 0, 0.5);
    o.set_scraped("a:1", 1, 10.0);
    let key = |sel, l: &[&str]| SeriesKey {
        instance: "a:1".into(),
        pod: "p".into(),
        cgroup: "/c".into(),
        sel,
        labels: l.iter().map(|s| s.to_string()).collect(),
    };
    // the agent restarted inside window 0: bucket 1 went down, +Inf did not
    o.set(key(SYSCALL_DURATION, &["read", "1"]), 0, 50.0);
    o.set(key(SYSCALL_DURATION, &["read", "1"]), 1, 3.0);
    o.set(key(SYSCALL_DURATION, &["read", "+Inf"]), 0, 60.0);
    o.set(key(SYSCALL_DURATION, &["read", "+Inf"]), 1, 70.0);
    // write starts in window 1: 0 in window 0
    o.set(key(SYSCALLS, &["write"]), 2, 4.0);
    let w = windows(&o);
    let get = |w: &PodWindow, sel, l: &[&str]| {
        w.inc[&(sel, l.iter().map(|s| s.to_string()).collect::<Vec<_>>())]
    };
    assert_eq!(get(&w[0], SYSCALL_DURATION, &["read", "1"]), 3.0);
    assert_eq!(get(&w[0], SYSCALL_DURATION, &["read", "+Inf"]), 70.0);
    assert_eq!(get(&w[0], SYSCALLS, &["write"]), 0.0);
    assert_eq!(get(&w[1], SYSCALLS, &["write"]), 4.0);
    // window 0 lasted from scrape to scrape, window 1 the step (no scrape time at 20)
    assert_eq!((w[0].secs, w[1].secs), (9.5, 10.0));
    assert!(w[0].whole && w[1].whole);
}

#[test]
fn increases_start_new_series_from_zero_and_survive_resets() {
    let mut o = Observed::new(vec![0.0, 10.0, 20.0, 30.0]);
    for at in 0..4 {
        o.set_up("a:1", at);
    }
    let key = |sel, l: &str| SeriesKey {
        instance: "a:1".into(),
        pod: "p".into(),
        cgroup: "/c".into(),
        sel,
        labels: vec![l.into()],
    };
    // absent at 0 (new), 5 at 10 s, 12 at 20 s, reset to 3 at 30 s
    for (at, v) in [(1, 5.0), (2, 12.0), (3, 3.0)] {
        o.set(key(SYSCALLS, "getppid"), at, v);
    }
    let w = windows(&o);
    let got: Vec<f64> = w
        .iter()
        .map(|w| w.inc[&(SYSCALLS, vec!["getppid".into()])])
        .collect();
    assert_eq!(got, [5.0, 7.0, 3.0]);
    assert!(w.iter().all(|w| w.secs == 10.0));
}

#[test]
fn a_container_that_ends_is_not_a_reset_of_its_pod() {
    let mut o = Observed::new(vec![0.0, 10.0, 20.0]);
    for at in 0..3 {
        o.set_up("a:1", at);
    }
    let key = |cgroup: &str| SeriesKey {
        instance: "a:1".into(),
        pod: "p".into(),
        cgroup: cgroup.into(),
        sel: SYSCALLS,
        labels: vec!["read".into()],
    };
    // the old container: 100, 130, gone; its replacement: 0 (absent), 20, 50
    o.set(key("/old"), 0, 100.0);
    o.set(key("/old"), 1, 130.0);
    o.set(key("/new"), 1, 20.0);
    o.set(key("/new"), 2, 50.0);
    let got: Vec<f64> = windows(&o).iter().map(|w| w.inc.values().sum()).collect();
    assert_eq!(got, [50.0, 30.0]);
}

#[test]
fn a_window_needs_its_agent_at_both_ends() {
    let mut o = Observed::new(vec![0.0, 10.0, 20.0]);
    o.set_up("a:1", 1);
    o.set_up("a:1", 2);
    let k = SeriesKey {
        instance: "a:1".into(),
        pod: "p".into(),
        cgroup: "/c".into(),
        sel: SYSCALLS,
        labels: vec!["read".into()],
    };
    o.set(k.clone(), 1, 100.0);
    o.set(k, 2, 150.0);
    // the agent was not seen at 0: the 100 at 10 s is no window's increase
    let w = windows(&o);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].index, 1);
    assert_eq!(w[0].inc.values().copied().collect::<Vec<_>>(), [50.0]);
}

#[test]
fn late_series_are_those_missing_before_they_show() {
    let mut o = Observed::new(vec![0.0, 10.0, 20.0, 30.0]);
    let key = |pod: &str| SeriesKey {
        instance: "a:1".into(),
        pod: pod.into(),
        cgroup: format!("/{pod}"),
        sel: SYSCALLS,
        labels: vec!["getppid".into()],
    };
    // (pod, boundaries with a value)
    for (pod, at) in [
        ("from-start", &[0, 1, 2, 3][..]),
        ("ends-early", &[0, 1]),
        ("named-late", &[2, 3]),
        ("gap", &[0, 2]),
    ] {
        for &i in at {
            o.set(key(pod), i, 1.0);
        }
    }
    let late: Vec<&str> = o.late().iter().map(|k| k.pod.as_str()).collect();
    assert_eq!(late, ["gap", "named-late"]);
}
