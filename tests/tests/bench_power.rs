//! `agent bench compare` finds real differences, not only no false ones: one side run
//! under a CPU quota of half a CPU, and one side with the agent tracing every syscall,
//! each compared with an unhindered run of the same build on this machine. (The A/A side
//! of honesty, on fixed samples, is in bench/src/honesty_test.rs; the A/A experiment on
//! whole default runs is a benchmark, its figures in docs/bench.md.) One test, so that
//! nothing else in this binary runs beside the tracing agent or inside the quota.
use std::path::{Path, PathBuf};
use std::process::Command;

use archscope_tests::{Agent, agent_cmd, cgroup2_root, skip_under_emulation};
use serde_json::Value;

#[path = "bench/support.rs"]
mod support;
use support::{ok, tmp};

const BENCH: &str = "compute.int,syscall.getppid";

/// A cgroup whose processes get at most half of one CPU, in 5 ms slices of 10 ms periods
/// (short enough that each repetition spans many periods): cgroup v2's `cpu.max` where
/// the v2 hierarchy has the cpu controller, else v1's CFS quota (hybrid hosts).
struct HalfCpu {
    dir: PathBuf,
}

impl HalfCpu {
    fn new() -> HalfCpu {
        let name = format!("archscope-test-{}-half-cpu", std::process::id());
        let v2 = cgroup2_root();
        let controllers =
            std::fs::read_to_string(v2.join("cgroup.controllers")).unwrap_or_default();
        if controllers.split_whitespace().any(|c| c == "cpu") {
            std::fs::write(v2.join("cgroup.subtree_control"), "+cpu").unwrap();
            let dir = v2.join(name);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("cpu.max"), "5000 10000").unwrap();
            return HalfCpu { dir };
        }
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        assert!(
            v1.join("cpu.cfs_quota_us").exists(),
            "no cpu controller: neither in {} nor at {}",
            v2.display(),
            v1.display()
        );
        let dir = v1.join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("cpu.cfs_period_us"), "10000").unwrap();
        std::fs::write(dir.join("cpu.cfs_quota_us"), "5000").unwrap();
        HalfCpu { dir }
    }

    fn enter_on_exec(&self, cmd: &mut Command) {
        archscope_tests::enter_on_exec(&self.dir.join("cgroup.procs"), cmd);
    }
}

impl Drop for HalfCpu {
    fn drop(&mut self) {
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

/// One quick run of BENCH into its own directory; `how` prepares the command.
fn run(name: &str, how: impl FnOnce(&mut Command)) -> PathBuf {
    let dir = tmp(name);
    let mut cmd = agent_cmd();
    cmd.args([
        "bench",
        "run",
        "--quick",
        "-n",
        "7",
        "-b",
        BENCH,
        "--results-dir",
    ])
    .arg(&dir)
    .args(["--output", "json"]);
    how(&mut cmd);
    ok(&cmd.output().unwrap());
    dir
}

fn compare(a: &Path, b: &Path) -> Value {
    let out = agent_cmd()
        .args(["bench", "compare", "--format", "json"])
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    serde_json::from_str(&ok(&out)).unwrap()
}

fn row<'a>(c: &'a Value, name: &str) -> &'a Value {
    c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["benchmark"] == name)
        .unwrap_or_else(|| panic!("no {name} in {c}"))
}

#[test]
fn known_differences_are_found_in_the_right_direction() {
    if skip_under_emulation() {
        return;
    }
    let free = run("free", |_| {});
    let quota = HalfCpu::new();
    let halved = run("halved", |cmd| quota.enter_on_exec(cmd));
    drop(quota);
    let traced = {
        let agent = Agent::start(&["--syscalls", "full"]);
        let dir = run("traced", |_| {});
        agent.stop();
        dir
    };

    // half a CPU: the busy loop does half the iterations per second, and each getppid
    // takes twice the wall time
    let c = compare(&free, &halved);
    // one machine on both sides: the labels tell the runs apart by host and time
    let (la, lb) = (
        c["a"]["label"].as_str().unwrap(),
        c["b"]["label"].as_str().unwrap(),
    );
    assert!(
        la.starts_with("amd64@") && lb.starts_with("amd64@") && la != lb,
        "{la} {lb}"
    );
    for name in ["compute.int", "syscall.getppid"] {
        let r = row(&c, name);
        assert_eq!(r["verdict"], "slower", "{name} under half a CPU: {r}");
        let s = r["speedup"].as_f64().unwrap();
        assert!(
            (0.35..=0.65).contains(&s),
            "{name}: speed-up {s}, not about 0.5: {r}"
        );
    }
    // the agent tracing every syscall: getppid slower, and by far more than the busy
    // loop, which makes no syscalls (two separate runs: that one's own verdict is the
    // machine's run-to-run noise, which the A/A experiment measures, not this test)
    let c = compare(&free, &traced);
    let g = row(&c, "syscall.getppid");
    assert_eq!(g["verdict"], "slower", "getppid traced: {g}");
    let int = row(&c, "compute.int");
    let (sg, si) = (
        g["speedup"].as_f64().unwrap(),
        int["speedup"].as_f64().unwrap(),
    );
    assert!(sg < 0.8 * si, "getppid ×{sg} against compute.int ×{si}");
    eprintln!(
        "half a CPU: compute.int ×{:.3}; traced: getppid ×{:.3} (speed-ups)",
        row(&compare(&free, &halved), "compute.int")["speedup"],
        g["speedup"]
    );
}
