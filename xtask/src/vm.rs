//! `cargo xtask vm-test <arch>`: boot a real kernel of that architecture under qemu with an
//! initramfs holding the cross-built agent, the integration tests and their workload; run
//! the tests there and report `N passed, N failed`.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::cross::{self, Target};
use crate::kernels::{self, Kernel};
pub use crate::qemu::Echo;
use crate::qemu::{QEMU_TIMEOUT, console_block, qemu_command, run_qemu};
use crate::root;

/// Console markers around the results document that `vm-bench` prints.
const BENCH_BEGIN: &str = "=== bench-json begin";
const BENCH_END: &str = "=== bench-json end";

/// The default kernel of `t` (the first of its kernels in the matrix).
fn default_kernel(t: Target) -> anyhow::Result<(&'static str, PathBuf)> {
    let k = kernels::select(t, None)?
        .into_iter()
        .next()
        .with_context(|| format!("no kernel for {} in the matrix", t.goarch()))?;
    Ok((t.goarch(), kernels::image(k)?))
}

/// `cargo xtask vm-bench <arch> --out FILE [-- ARGS]`: boot the same kernel as vm-test, run
/// `agent bench run --no-save --output json ARGS` as the guest's only job, and write the
/// results document it prints on the console (between markers) to FILE.
/// `no_build`: reuse the binaries of the last cross build instead of building.
pub fn bench(t: Target, out: &Path, args: &[String], no_build: bool) -> anyhow::Result<()> {
    let (name, kernel) = default_kernel(t)?;
    let built = if no_build {
        let dir = t.out_dir();
        let bins = vec![dir.join("agent"), dir.join("archscope-vm-init")];
        if let Some(missing) = bins.iter().find(|b| !b.exists()) {
            bail!(
                "{} is not built (run without --no-build)",
                missing.display()
            );
        }
        cross::Built {
            bins,
            tests: Vec::new(),
        }
    } else {
        cross::build_agent_and_init(t)?
    };
    let work = crate::target_dir().join(format!("vm-bench-{name}"));
    let _ = std::fs::remove_dir_all(&work);
    let mut cmd = vec!["bench", "run", "--no-save", "--output", "json"];
    cmd.extend(args.iter().map(String::as_str));
    std::fs::create_dir_all(work.join("root/etc"))?;
    std::fs::write(work.join("root/etc/xtask-bench"), cmd.join("\n"))?;
    let initrd = crate::initramfs::build(&work, t, &built, &[])?;
    let mut qemu = qemu_command(t, &kernel, &initrd, None, false)?;
    eprintln!(
        "vm-bench: booting {} to run `agent {}`",
        kernel.display(),
        cmd.join(" ")
    );
    let (console, timed_out) = run_qemu(&mut qemu, Echo::Console)?;
    std::fs::write(work.join("console.log"), console.as_bytes())?;
    if timed_out {
        bail!("vm-bench {name}: qemu killed after {QEMU_TIMEOUT:?}");
    }
    let json = console_block(&console, BENCH_BEGIN, BENCH_END)
        .context("the guest printed no results document (see the console log)")?;
    let doc: serde_json::Value =
        serde_json::from_str(&json).context("the guest's results document")?;
    std::fs::write(out, serde_json::to_string_pretty(&doc)? + "\n")?;
    eprintln!(
        "vm-bench {name}: {} benchmarks written to {} (console log: {})",
        doc["benchmarks"].as_array().map_or(0, Vec::len),
        out.display(),
        work.join("console.log").display()
    );
    Ok(())
}

/// What the boots of one architecture share: its build, the initramfs made from it, and
/// where their console logs go.
pub struct Prepared {
    pub t: Target,
    pub kernels: Vec<(&'static Kernel, PathBuf)>,
    initrd: PathBuf,
    work: PathBuf,
    built: cross::Built,
}

/// Build once for `t` and make the initramfs that every chosen kernel (`kernel`: a name,
/// `all` for every kernel CI boots, or the default) boots with.
pub fn prepare(t: Target, kernel: Option<&str>) -> anyhow::Result<Prepared> {
    let started = Instant::now();
    let chosen = kernels::select(t, kernel)?;
    let kernels = chosen
        .into_iter()
        .map(|k| Ok((k, kernels::image(k)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let built = cross::build_for_vm(t)?;
    if built.tests.is_empty() {
        bail!("no integration test executables were built");
    }
    // per clone, unlike the shared cache: two clones' runs must not clear each other's
    let work = crate::target_dir().join(format!("vm-test-{}", t.goarch()));
    let _ = std::fs::remove_dir_all(&work);
    // node mode's modules (the arm64 6.1 kernel's NIC): unused by the other kernels' boots
    let modules: Vec<PathBuf> = kernels
        .iter()
        .flat_map(|(k, image)| kernels::modules(k, image))
        .collect();
    let initrd = crate::initramfs::build(&work, t, &built, &modules)?;
    eprintln!(
        "vm-test {}: built in {:.0} s",
        t.goarch(),
        started.elapsed().as_secs_f64()
    );
    Ok(Prepared {
        t,
        kernels,
        initrd,
        work,
        built,
    })
}

impl Prepared {
    /// The kernel and initramfs of node mode (tests/src/node.rs): a prepared kernel whose
    /// NIC modules the initramfs carries.
    pub fn node_guest(&self) -> Option<(&Path, &Path)> {
        self.kernels
            .iter()
            .find(|(k, _)| !k.modules.is_empty())
            .map(|(_, image)| (image.as_path(), self.initrd.as_path()))
    }
}

/// `cargo xtask vm-test`: build, then boot each chosen kernel in turn, the console echoed.
pub fn run(t: Target, kernel: Option<&str>, icount: bool) -> anyhow::Result<()> {
    let p = prepare(t, kernel)?;
    if icount && t != Target::Aarch64 {
        bail!("--icount: only the arm64 guest has a PMU that counts under icount");
    }
    let mut failed = Vec::new();
    for i in 0..p.kernels.len() {
        if !boot(&p, Boot::Kernel(i), Echo::Console)? {
            failed.push(p.kernels[i].0.name);
        }
    }
    if icount && !boot(&p, Boot::Icount, Echo::Console)? {
        failed.push("icount");
    }
    if !failed.is_empty() {
        bail!("vm-test {} failed on {}", t.goarch(), failed.join(", "));
    }
    Ok(())
}

/// Which boot of a prepared architecture.
#[derive(Debug, Clone, Copy)]
pub enum Boot {
    /// Its i-th chosen kernel, with the kernel's test binaries.
    Kernel(usize),
    /// arm64's first kernel again, with one CPU and `-icount shift=0`: only then does
    /// qemu's PMU count instructions (and cycles equal them), so the PMU tests can check
    /// an exact IPC. Only the `pmu` test binary runs.
    Icount,
}

/// One boot; prints `vm-test <arch> <kernel>: N passed, N failed`. `Ok(false)`: it failed.
pub fn boot(p: &Prepared, which: Boot, echo: Echo) -> anyhow::Result<bool> {
    const ICOUNT_TESTS: &[&str] = &["pmu"];
    let (k, image) = match which {
        Boot::Kernel(i) => &p.kernels[i],
        Boot::Icount => &p.kernels[0],
    };
    let icount = matches!(which, Boot::Icount);
    let only = if icount { Some(ICOUNT_TESTS) } else { k.tests };
    let mut qemu = qemu_command(p.t, image, &p.initrd, only, icount)?;
    let binaries = count_selected(&p.built, only);
    let (name, log) = if icount {
        (
            format!("{} (icount, pmu)", p.t.goarch()),
            "console-icount.log".to_string(),
        )
    } else {
        (
            format!("{} {}", p.t.goarch(), k.name),
            format!("console-{}.log", k.name),
        )
    };
    eprintln!(
        "vm-test {name}: booting {} (as on {}; {binaries} test binaries)",
        image.display(),
        k.stands_for,
    );
    let booted = Instant::now();
    let (console, timed_out) = run_qemu(&mut qemu, echo)?;
    let log = p.work.join(log);
    std::fs::write(&log, console.as_bytes())?;
    let (passed, failed) = tally(&console, binaries);
    println!("vm-test {name}: {passed} passed, {failed} failed");
    eprintln!(
        "vm-test {name}: {:.0} s boot and tests (console log: {})",
        booted.elapsed().as_secs_f64(),
        log.display()
    );
    if timed_out {
        eprintln!("vm-test {name}: qemu killed after {QEMU_TIMEOUT:?}");
    }
    // the PMU-only boot checks no support-table row
    let table = if icount {
        Ok(())
    } else {
        crate::support::observed_row(k, &console).and_then(|row| {
            eprintln!("vm-test {name}: {row}");
            crate::support::check(k, &row)
        })
    };
    if let Err(e) = &table {
        eprintln!("vm-test {name}: support table: {e:#}");
    }
    let ok = !timed_out && failed == 0 && passed > 0 && table.is_ok();
    if !ok && echo == Echo::Quiet {
        let lines: Vec<&str> = console.lines().collect();
        // the failures first: CI shows only the end of the output, and a failed test
        // binary's report is usually long before the console's end
        let failures = failure_lines(&lines);
        if !failures.is_empty() {
            eprintln!("vm-test {name}: what failed:");
            for l in failures {
                eprintln!("  ! {l}");
            }
        }
        eprintln!("vm-test {name}: the console's last 80 lines:");
        for l in &lines[lines.len().saturating_sub(80)..] {
            eprintln!("  | {l}");
        }
    }
    Ok(ok)
}

/// The lines that say what failed: failing tests, panics with the next 6 lines (the
/// assertion's values), test binaries that ended badly; at most 120 lines.
fn failure_lines<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut context = 0;
    for l in lines {
        let t = l.trim();
        let hit = t.ends_with("... FAILED")
            || t.contains("panicked at")
            || t.starts_with("test result: FAILED")
            || (t.starts_with("=== end ") && !t.ends_with("rc=0"));
        if hit {
            context = if t.contains("panicked at") { 6 } else { 0 };
            out.push(*l);
        } else if context > 0 {
            context -= 1;
            out.push(*l);
        }
    }
    out.truncate(120);
    out
}

/// How many of the built test executables (named `<test>-<hash>`) a boot that runs `only`
/// these runs.
fn count_selected(built: &cross::Built, only: Option<&[&str]>) -> usize {
    built
        .tests
        .iter()
        .filter(|e| {
            let name = e.file_name().map(|f| f.to_string_lossy().into_owned());
            only.is_none_or(|o| {
                o.iter().any(|t| {
                    name.as_ref()
                        .is_some_and(|n| n.starts_with(&format!("{t}-")))
                })
            })
        })
        .count()
}

/// Sum the libtest result lines; a test binary that ended without one counts as a failure.
fn tally(console: &str, binaries: usize) -> (u64, u64) {
    let (mut passed, mut failed, mut results) = (0, 0, 0);
    for line in console.lines() {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            continue;
        };
        results += 1;
        let num = |word: &str| {
            rest.split(['.', ';'])
                .map(str::trim)
                .find_map(|p| {
                    p.strip_suffix(word)
                        .and_then(|n| n.trim().parse::<u64>().ok())
                })
                .unwrap_or(0)
        };
        passed += num(" passed");
        failed += num(" failed");
    }
    let ended = console
        .lines()
        .filter(|l| l.starts_with("=== end "))
        .count();
    let missing = ended.saturating_sub(results) as u64 + binaries.saturating_sub(ended) as u64;
    (passed, failed + missing)
}

/// Kernels and packages for the VMs, kept per user (not per clone) so CI runs on the same
/// machine reuse them; entries are keyed by their inputs.
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| root().join(".cache"));
    base.join("archscope/vm")
}

pub fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let o = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tally_counts_results_and_crashed_binaries() {
        let console = "=== begin /tests/a\ntest result: ok. 7 passed; 0 failed; 0 ignored\n=== end /tests/a rc=0\n\
                       === begin /tests/b\ntest result: FAILED. 1 passed; 2 failed; 0 ignored\n=== end /tests/b rc=101\n\
                       === begin /tests/c\n=== end /tests/c rc=139\n";
        assert_eq!(super::tally(console, 3), (8, 3));
        // a binary that never ended (kernel panic) counts as failed
        assert_eq!(super::tally(console, 4), (8, 4));
    }

    #[test]
    fn failures_are_picked_out_of_the_console() {
        let console = "test a ... ok\ntest b ... FAILED\nnoise\n\
                       thread 'b' panicked at tests/x.rs:1:2:\nleft: 1\nright: 2\nx\ny\nz\nw\nafter\n\
                       test result: FAILED. 1 passed; 1 failed\n=== end /tests/x-1 rc=101\n=== end /tests/y-2 rc=0\n";
        let lines: Vec<&str> = console.lines().collect();
        assert_eq!(
            super::failure_lines(&lines),
            [
                "test b ... FAILED",
                "thread 'b' panicked at tests/x.rs:1:2:",
                "left: 1",
                "right: 2",
                "x",
                "y",
                "z",
                "w",
                "test result: FAILED. 1 passed; 1 failed",
                "=== end /tests/x-1 rc=101",
            ]
        );
    }
}
