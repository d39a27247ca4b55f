//! Hardware counters on the running kernel. Which case applies is known, not guessed:
//! the host (no PMU) must degrade cleanly; the arm64 guest under qemu `-cpu max` has a
//! PMUv3 whose instruction counter exists only with `-icount` (the xtask boot that passes
//! `archscope.icount=1` sets XTASK_VM_ICOUNT), where cycles == instructions, so a
//! container's IPC is exactly 1.

use archscope_tests::{Agent, Cgroup, Metrics, workload};

const EVENTS: [&str; 9] = [
    "cycles",
    "instructions",
    "cache_references",
    "cache_misses",
    "branch_instructions",
    "branch_misses",
    "stalled_cycles_frontend",
    "stalled_cycles_backend",
    "llc_misses",
];

fn check() -> serde_json::Value {
    let out = archscope_tests::agent_cmd()
        .args(["check", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn pmu_item(r: &serde_json::Value) -> serde_json::Value {
    r["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "pmu")
        .cloned()
        .expect("agent check has a pmu item")
}

fn event<'a>(r: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    r["pmu_events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == name)
        .unwrap_or_else(|| panic!("no {name} in pmu_events"))
}

fn has_pmu() -> bool {
    std::fs::read_dir("/sys/bus/event_source/devices")
        .map(|d| {
            d.flatten().any(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n == "cpu" || n.starts_with("cpu_") || n.starts_with("armv8_")
            })
        })
        .unwrap_or(false)
}

fn icount() -> bool {
    std::env::var_os("XTASK_VM_ICOUNT").is_some()
}

fn hardware_series(m: &Metrics) -> Vec<String> {
    m.samples
        .iter()
        .filter(|s| {
            // archscope_cpu_seconds_total is the scheduler's, not a hardware counter
            (s.name.starts_with("archscope_cpu_") && s.name != "archscope_cpu_seconds_total")
                || s.name.starts_with("archscope_cgroup_cpu_")
        })
        .map(|s| s.name.clone())
        .collect()
}

#[test]
fn without_a_pmu_nothing_hardware_is_exported() {
    if has_pmu() {
        eprintln!("skipped: this machine has a PMU (covered by the tests below)");
        return;
    }
    let r = check();
    let item = pmu_item(&r);
    assert_eq!(item["ok"], false);
    let detail = item["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("hardware counters are off: no hardware PMU"),
        "{detail}"
    );
    let sched = r["programs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "archscope_sched_switch")
        .unwrap();
    assert_eq!(sched["attached"], false);
    assert!(
        sched["error"].as_str().unwrap().contains("no hardware PMU"),
        "{sched}"
    );
    for e in EVENTS {
        assert_eq!(event(&r, e)["available"], false, "{e}");
    }
    let agent = Agent::start(&[]);
    let cg = Cgroup::new("nopmu");
    workload(&cg, &["spin", "1000000"]);
    let m = agent.metrics();
    assert_eq!(hardware_series(&m), Vec::<String>::new());
    for e in EVENTS {
        assert_eq!(
            m.value("archscope_pmu_counter_available", &[("event", e)]),
            Some(0.0),
            "{e}"
        );
    }
    assert_eq!(
        m.value("archscope_feature_up", &[("feature", "pmu")]),
        Some(0.0)
    );
    assert_eq!(
        m.value("archscope_feature_up", &[("feature", "syscalls")]),
        Some(1.0)
    );
    assert_eq!(
        m.value(
            "archscope_program_up",
            &[("program", "archscope_sched_switch")]
        ),
        Some(0.0)
    );
}

/// Cycles and instructions of the workload's cgroup after a 20M-iteration loop.
fn run_spin(name: &str) -> (Metrics, String) {
    let agent = Agent::start(&[]);
    let cg = Cgroup::new(name);
    workload(&cg, &["spin", "20000000"]);
    let m = agent.metrics();
    assert_eq!(
        m.value("archscope_feature_up", &[("feature", "pmu")]),
        Some(1.0)
    );
    (m, cg.label.clone())
}

#[test]
fn per_container_ipc_is_exactly_one_under_icount() {
    if !has_pmu() || !icount() {
        eprintln!("skipped: needs the arm64 guest booted with -icount (cargo xtask vm-test arm64)");
        return;
    }
    let r = check();
    assert_eq!(event(&r, "instructions")["available"], true, "{r}");
    assert_eq!(event(&r, "cycles")["available"], true, "{r}");
    assert_qemu_stalls_read_zero(&r);
    let (m, cg) = run_spin("ipc");
    let cycles = m
        .value("archscope_cgroup_cpu_cycles_total", &[("cgroup", &cg)])
        .expect("cycles of the workload's cgroup");
    let instr = m
        .value(
            "archscope_cgroup_cpu_instructions_total",
            &[("cgroup", &cg)],
        )
        .expect("instructions of the workload's cgroup");
    // The loop alone retires well over 20M instructions.
    assert!(instr > 20e6, "instructions {instr}");
    let ipc = instr / cycles;
    // straight to stderr, past the test harness's capture: the figure goes in the CI log
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "=== icount IPC: cgroup {cg}: cycles {cycles}, instructions {instr}, IPC {ipc:.6}\n"
        )
        .as_bytes(),
    );
    assert!(
        (ipc - 1.0).abs() <= 0.01,
        "IPC {ipc} (cycles {cycles}, instructions {instr})"
    );
    // Per CPU: the same counters, read whole, so they hold at least what the cgroup was
    // charged. (No IPC check there: qemu's cycle counter follows the virtual clock, which
    // also runs while the CPU idles, when no instruction retires.)
    let c0 = m
        .value("archscope_cpu_cycles_total", &[("cpu", "0")])
        .unwrap();
    let i0 = m
        .value("archscope_cpu_instructions_total", &[("cpu", "0")])
        .unwrap();
    assert!(
        c0 >= cycles && i0 >= instr,
        "CPU 0: {c0} cycles, {i0} instructions"
    );
    assert_eq!(
        m.value(
            "archscope_pmu_counter_available",
            &[("event", "instructions")]
        ),
        Some(1.0)
    );
}

#[test]
fn without_icount_instructions_are_missing_and_cycles_count() {
    if !has_pmu() || icount() || std::env::consts::ARCH != "aarch64" {
        eprintln!("skipped: needs the arm64 guest without -icount (cargo xtask vm-test arm64)");
        return;
    }
    let r = check();
    let instr = event(&r, "instructions");
    assert_eq!(instr["available"], false, "{r}");
    assert!(
        instr["reason"].as_str().unwrap().contains("inst_retired"),
        "{instr}"
    );
    assert_eq!(event(&r, "cycles")["available"], true, "{r}");
    assert_qemu_stalls_read_zero(&r);
    let (m, cg) = run_spin("noicount");
    let cycles = m
        .value("archscope_cgroup_cpu_cycles_total", &[("cgroup", &cg)])
        .expect("cycles of the workload's cgroup");
    assert!(cycles > 20e6, "cycles {cycles}");
    assert_eq!(
        m.find("archscope_cgroup_cpu_instructions_total", &[])
            .count(),
        0
    );
    assert_eq!(m.find("archscope_cpu_instructions_total", &[]).count(), 0);
    assert_eq!(
        m.value(
            "archscope_pmu_counter_available",
            &[("event", "instructions")]
        ),
        Some(0.0)
    );
    assert_eq!(
        m.value("archscope_pmu_counter_available", &[("event", "cycles")]),
        Some(1.0)
    );
}

/// In the VMs, print the guest's PMU sysfs, cpuinfo and online CPUs to the console in the
/// fixture format of agent/src/pmu/fixtures (`path<TAB>content`, `\n` escaped), which is
/// how those fixtures were captured. Bypasses libtest's capture by writing to /dev/console.
#[test]
fn print_pmu_sysfs_for_fixtures() {
    use std::io::Write;
    if std::env::var_os("XTASK_IN_VM").is_none() {
        return;
    }
    let mut lines = Vec::new();
    let mut add = |p: &std::path::Path| {
        if let Ok(s) = std::fs::read_to_string(p) {
            let rel = p.to_string_lossy().trim_start_matches('/').to_string();
            lines.push(format!("{rel}\t{}", s.trim_end().replace('\n', "\\n")));
        }
    };
    add("/proc/cpuinfo".as_ref());
    add("/sys/devices/system/cpu/online".as_ref());
    let devs = std::path::Path::new("/sys/bus/event_source/devices");
    for d in std::fs::read_dir(devs).unwrap().flatten() {
        let dir = devs.join(d.file_name());
        for f in ["type", "cpus", "cpumask"] {
            add(&dir.join(f));
        }
        for sub in ["events", "caps", "format"] {
            for e in std::fs::read_dir(dir.join(sub))
                .into_iter()
                .flatten()
                .flatten()
            {
                add(&e.path());
            }
        }
    }
    lines.sort();
    let tag = if icount() { "icount" } else { "default" };
    let mut out = format!("=== pmu-fixture begin {tag}\n");
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out.push_str("=== pmu-fixture end\n");
    let mut con = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/console")
        .unwrap();
    con.write_all(out.as_bytes()).unwrap();
}

/// qemu lists STALL_FRONTEND/STALL_BACKEND in PMCEID but counts nothing on them: they open,
/// run, and read zero, so they must be reported missing, not exported as 0.
fn assert_qemu_stalls_read_zero(r: &serde_json::Value) {
    for e in ["stalled_cycles_frontend", "stalled_cycles_backend"] {
        let ev = event(r, e);
        assert_eq!(ev["available"], false, "{ev}");
        assert!(
            ev["reason"].as_str().unwrap().contains("reads zero"),
            "{ev}"
        );
    }
}
