//! `agent bench overhead` on this kernel: what the syscall and scheduler features cost
//! against their floors, and that the traced loops are the ones counted.
use archscope_tests::Cgroup;
use serde_json::Value;

#[path = "bench/support.rs"]
mod support;
use support::{ok, usage_error};

#[test]
fn overhead_counts_the_traced_calls() {
    // the subject is the eBPF programs on this kernel: runs in the VMs too (few calls).
    // The benchmark counts its own cgroup's calls: a cgroup of its own, away from the
    // other tests' agents running `bench run syscall.getppid` beside it.
    let cg = Cgroup::new("overhead");
    let agent = |args: &[&str]| {
        let mut cmd = archscope_tests::agent_cmd();
        cmd.args(args);
        cg.enter_on_exec(&mut cmd);
        cmd.output().unwrap()
    };
    let out = agent(&[
        "bench", "overhead", "--rounds", "2", "--calls", "20000", "--output", "json",
    ]);
    let o: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(o["mode"], "full");
    for way in ["untraced", "floor", "traced"] {
        assert_eq!(o[format!("{way}_ns_per_call")].as_array().unwrap().len(), 2);
        assert!(o[format!("median_{way}_ns")].as_f64().unwrap() > 0.0);
    }
    let (u, f, t) = (
        o["median_untraced_ns"].as_f64().unwrap(),
        o["median_floor_ns"].as_f64().unwrap(),
        o["median_traced_ns"].as_f64().unwrap(),
    );
    let over_floor = o["cost_over_floor"].as_f64().unwrap();
    assert!(
        (over_floor - (t - u) / (f - u)).abs() < 1e-9 * over_floor.abs(),
        "{o}"
    );
    assert!(
        (o["ratio"].as_f64().unwrap() - t / u).abs() < 1e-9 * t / u,
        "{o}"
    );
    assert_eq!(o["floor_programs"].as_array().unwrap().len(), 2, "{o}");
    // the scheduler feature's rows: pipe round trips, two switches each (and a few of the
    // threads' own start and end)
    let s = &o["scheduler"];
    for way in ["untraced", "floor", "traced"] {
        assert_eq!(
            s[format!("{way}_ns_per_round_trip")]
                .as_array()
                .unwrap()
                .len(),
            2,
            "{o}"
        );
    }
    assert_eq!(s["floor_programs"].as_array().unwrap().len(), 4, "{o}");
    let made = s["round_trips_made"].as_u64().unwrap();
    let counted = s["switches_counted"].as_u64().unwrap();
    assert_eq!(made, 2 * (20000 / 50 + 1));
    assert!(
        (2 * made..=2 * made + made / 100 + 50).contains(&counted),
        "{counted} switches for {made} round trips"
    );
    // every call of the traced loops counted, none of the untraced or floor loops
    assert_eq!(o["traced_calls_made"], 40000);
    assert_eq!(o["traced_calls_counted"], 40000, "{o}");
    let counts = agent(&[
        "bench",
        "overhead",
        "--syscalls",
        "counts",
        "--rounds",
        "1",
        "--calls",
        "10000",
        "--output",
        "json",
    ]);
    let c: Value = serde_json::from_str(&ok(&counts)).unwrap();
    assert_eq!(c["mode"], "counts");
    assert_eq!(c["traced_calls_counted"], 10000, "{c}");
    let text = ok(&agent(&[
        "bench", "overhead", "--rounds", "1", "--calls", "10000",
    ]));
    assert!(
        text.contains("ns/call") && text.contains("ratio") && text.contains("over floor"),
        "{text}"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    usage_error(
        &["bench", "overhead", "--syscalls", "off"],
        "off has nothing to measure",
    );
    usage_error(&["bench", "overhead", "--rounds", "0"], "--rounds");
}
