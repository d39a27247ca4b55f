use std::time::{Duration, Instant};

use super::*;
use crate::collect::names;

/// A syscalls family with one series per (cgroup, count).
fn fam(counts: &[(&str, u64)]) -> Family {
    let mut f = names::SYSCALLS.family_empty();
    for (c, n) in counts {
        f.series.push(Series {
            labels: vec![("cgroup", label(*c)), ("syscall", label("getppid"))],
            value: Value::Counter(*n),
        });
    }
    f
}

fn out(f: &Family) -> Vec<(String, u64)> {
    f.series
        .iter()
        .map(|s| match s.value {
            Value::Counter(n) => (s.labels[0].1.to_string(), n),
            _ => unreachable!(),
        })
        .collect()
}

/// The next snapshot, a second after the previous one.
fn snap(b: &mut Budget, counts: &[(&str, u64)]) -> (Vec<(String, u64)>, Applied) {
    let t = b.now + Duration::from_secs(1);
    snap_at(b, t, counts)
}

fn snap_at(b: &mut Budget, t: Instant, counts: &[(&str, u64)]) -> (Vec<(String, u64)>, Applied) {
    b.next_snapshot(t);
    let mut f = fam(counts);
    let a = b.apply(&mut f);
    (out(&f), a)
}

fn o(v: &[(&str, u64)]) -> Vec<(String, u64)> {
    v.iter().map(|(c, n)| (c.to_string(), *n)).collect()
}

#[test]
fn folds_newcomers_while_the_admitted_are_active_and_stays_stable() {
    let mut b = Budget::new(3, Duration::ZERO);
    let (s, a) = snap(
        &mut b,
        &[("/c0", 1), ("/c1", 2), ("/c2", 3), ("/c3", 4), ("/c4", 5)],
    );
    assert_eq!(s, o(&[("/c0", 1), ("/c1", 2), ("/c2", 3), (OVERFLOW, 9)]));
    assert_eq!(a, Applied { folded: 2, shed: 0 });
    // every admitted one changed: the folded stay folded whatever the order
    let (s, a) = snap(
        &mut b,
        &[("/c4", 6), ("/c3", 5), ("/c2", 4), ("/c1", 3), ("/c0", 2)],
    );
    assert_eq!(s, o(&[("/c2", 4), ("/c1", 3), ("/c0", 2), (OVERFLOW, 11)]));
    assert_eq!(a, Applied { folded: 2, shed: 0 });
    assert_eq!(b.shed_total(), (0, 0));
}

#[test]
fn an_idle_series_gives_way_to_a_newcomer_and_stays_in_the_overflow() {
    let mut b = Budget::new(2, Duration::ZERO);
    snap(&mut b, &[("/busy", 1), ("/idle", 7)]);
    let (s, a) = snap(&mut b, &[("/busy", 2), ("/idle", 7), ("/new", 5)]);
    assert_eq!(s, o(&[("/busy", 2), ("/new", 5), (OVERFLOW, 7)]));
    assert_eq!(a, Applied { folded: 1, shed: 1 });
    // the shed one wakes up: it stays in the overflow (which only grows)
    let (s, _) = snap(&mut b, &[("/busy", 3), ("/idle", 9), ("/new", 5)]);
    assert_eq!(s, o(&[("/busy", 3), ("/new", 5), (OVERFLOW, 9)]));
    assert_eq!(b.shed_total(), (1, 0));
}

#[test]
fn the_least_recently_changed_go_first() {
    let mut b = Budget::new(3, Duration::ZERO);
    snap(&mut b, &[("/a", 1), ("/b", 1), ("/c", 1)]);
    snap(&mut b, &[("/a", 1), ("/b", 2), ("/c", 1)]);
    snap(&mut b, &[("/a", 1), ("/b", 2), ("/c", 2)]);
    // last changed: /a in snapshot 1, /b in 2, /c in 3; two newcomers take /a and /b
    let (s, a) = snap(
        &mut b,
        &[("/a", 1), ("/b", 2), ("/c", 2), ("/d", 1), ("/e", 1)],
    );
    assert_eq!(s, o(&[("/c", 2), ("/d", 1), ("/e", 1), (OVERFLOW, 3)]));
    assert_eq!(a, Applied { folded: 2, shed: 2 });
}

#[test]
fn memory_pressure_sheds_the_least_active_and_relief_restores_room() {
    let names: Vec<String> = (0..100).map(|i| format!("/c{i:02}")).collect();
    let counts = |bump: u64| -> Vec<(&str, u64)> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_str(), if i < 50 { 1 + bump } else { 1 }))
            .collect()
    };
    let mut b = Budget::new(1000, Duration::ZERO);
    snap(&mut b, &counts(0));
    snap(&mut b, &counts(1)); // /c00../c49 active, /c50../c99 idle
    b.squeeze(true);
    assert!(b.under_pressure());
    let (s, a) = snap(&mut b, &counts(1));
    assert_eq!(
        a,
        Applied {
            folded: 25,
            shed: 25
        }
    );
    assert_eq!(s.len(), 76);
    // the idle half goes first, the least recently changed (ties by labels) before the rest
    let shed: Vec<&str> = names[50..75].iter().map(String::as_str).collect();
    assert!(s[..75].iter().all(|(c, _)| !shed.contains(&c.as_str())));
    assert_eq!(s[75], (OVERFLOW.to_string(), 25));
    assert_eq!(b.shed_total(), (0, 25));
    // a second squeeze shrinks again, never below the floor
    b.squeeze(true);
    let (s, _) = snap(&mut b, &counts(2));
    assert_eq!(s.len(), 64 + 1);
    b.squeeze(false);
    let mut more = counts(3);
    more.push(("/late", 1));
    let (s, a) = snap(&mut b, &more);
    assert_eq!(a.shed, 0);
    assert!(
        s.contains(&("/late".to_string(), 1)),
        "room again after relief"
    );
}

#[test]
fn release_frees_the_budget_and_the_overflow() {
    let mut b = Budget::new(1, Duration::ZERO);
    let (_, a) = snap(&mut b, &[("/c0", 1), ("/c1", 1)]);
    assert_eq!(a.folded, 1);
    assert_eq!(b.tracked(), 2);
    b.release("cgroup", "/c0");
    b.release("cgroup", "/c1");
    assert_eq!(b.tracked(), 0);
    let (s, a) = snap(&mut b, &[("/c1", 2)]);
    assert_eq!(s, o(&[("/c1", 2)]));
    assert_eq!(a, Applied::default());
}

#[test]
fn a_series_must_be_idle_for_a_while_before_it_is_replaced() {
    let mut b = Budget::new(1, Duration::from_secs(300));
    let t0 = Instant::now();
    snap_at(&mut b, t0, &[("/slow", 1)]);
    // unchanged for a minute only: the newcomer is folded
    let (s, a) = snap_at(
        &mut b,
        t0 + Duration::from_secs(60),
        &[("/slow", 1), ("/new", 1)],
    );
    assert_eq!(s, o(&[("/slow", 1), (OVERFLOW, 1)]));
    assert_eq!(a, Applied { folded: 1, shed: 0 });
    // unchanged for over five minutes: the next newcomer takes its place
    let late = t0 + Duration::from_secs(301);
    let (s, a) = snap_at(&mut b, late, &[("/slow", 1), ("/new", 2), ("/newer", 3)]);
    assert_eq!(s, o(&[("/newer", 3), (OVERFLOW, 3)]));
    assert_eq!(a, Applied { folded: 2, shed: 1 });
}
