//! `cargo xtask vm-test <arch>`: boot a real kernel of that architecture under qemu with an
//! initramfs holding the cross-built agent, the integration tests and their workload; run
//! the tests there and report `N passed, N failed`.
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cross::{self, Target};
use crate::kernels::{self, Kernel};
use crate::root;

/// A guest that hangs (kernel panic, a test stuck) must not hang CI. Generous: guests
/// booted side by side share two cores.
const QEMU_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// QEMU 7.2's LoongArch `virt` passes no initrd: the built-in DTS names this window,
/// and QEMU's loader device fills it.
const LOONGARCH_INITRD_ADDR: u64 = 0x800_0000;
const LOONGARCH_INITRD_MAX: u64 = 64 << 20;

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
    let initrd = crate::initramfs::build(&work, t, &built)?;
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

/// What the guest printed between two marker lines on its console.
pub fn console_block(console: &str, begin: &str, end: &str) -> Option<String> {
    let text = console.replace('\r', "");
    text.split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(block, _)| block.trim().to_string())
}

/// The qemu command line. `only`: run just these test binaries (all when `None`);
/// `icount` (arm64 only) boots one CPU under `-icount shift=0`.
fn qemu_command(
    t: Target,
    kernel: &Path,
    initrd: &Path,
    only: Option<&[&str]>,
    icount: bool,
) -> anyhow::Result<Command> {
    let select = only.map_or_else(String::new, |o| format!(" archscope.tests={}", o.join(",")));
    let mut qemu = match t {
        Target::Aarch64 => {
            let mut c = Command::new("qemu-system-aarch64");
            // pauth-impdef: TCG computes pointer authentication with a cheap hash instead of
            // QARMA5, which otherwise dominates the guest's run time
            c.args(["-M", "virt", "-cpu", "max,pauth-impdef=on", "-m", "1024"]);
            let mut append = format!("console=ttyAMA0 rdinit=/init quiet{select}");
            if icount {
                c.args(["-smp", "1", "-icount", "shift=0"]);
                append.push_str(" archscope.icount=1");
            } else {
                c.args(["-smp", "2"]);
            }
            c.arg("-kernel")
                .arg(kernel)
                .arg("-initrd")
                .arg(initrd)
                .arg("-append")
                .arg(append);
            c
        }
        Target::X86_64 => {
            // TCG: nested KVM does not boot on these machines
            let mut c = Command::new("qemu-system-x86_64");
            c.args(["-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "2048"])
                .arg("-kernel")
                .arg(kernel)
                .arg("-initrd")
                .arg(initrd)
                .arg("-append")
                .arg(format!("console=ttyS0 rdinit=/init quiet{select}"));
            c
        }
        Target::Loongarch64 => {
            let size = std::fs::metadata(initrd)?.len();
            if size > LOONGARCH_INITRD_MAX {
                bail!(
                    "{} is {size} bytes, over the 64 MiB initrd window of qemu-virt72.dts",
                    initrd.display()
                );
            }
            if only.is_some() {
                bail!("the LoongArch guest's command line is built in: it runs every test binary");
            }
            // -m 1024 and -smp 1 are what the built-in device tree describes.
            let mut c = Command::new("qemu-system-loongarch64");
            c.args(["-M", "virt", "-cpu", "la464", "-smp", "1", "-m", "1024"])
                .arg("-kernel")
                .arg(kernel)
                .arg("-device")
                .arg(format!(
                    "loader,file={},addr={LOONGARCH_INITRD_ADDR:#x},force-raw=on",
                    initrd.display()
                ));
            c
        }
    };
    // no NIC: the tests use loopback and their own veth pairs, and a default NIC would
    // need qemu's option ROMs (ipxe-qemu)
    qemu.args(["-nographic", "-no-reboot", "-nic", "none"]);
    Ok(qemu)
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
    let initrd = crate::initramfs::build(&work, t, &built)?;
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

/// Whether a boot echoes its console as it comes (one boot at a time), or keeps it for its
/// log and shows its end only on failure (boots side by side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    Console,
    Quiet,
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
        eprintln!("vm-test {name}: the console's last 80 lines:");
        for l in &lines[lines.len().saturating_sub(80)..] {
            eprintln!("  | {l}");
        }
    }
    Ok(ok)
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

/// Run qemu, echoing the console as it comes (`Echo::Console`); kill it at QEMU_TIMEOUT.
/// Returns the console and whether it was killed.
fn run_qemu(qemu: &mut Command, echo: Echo) -> anyhow::Result<(String, bool)> {
    let mut child = qemu
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {qemu:?} (run `cargo xtask setup`)"))?;
    let mut out = child.stdout.take().context("qemu stdout")?;
    let reader = std::thread::spawn(move || {
        let (mut all, mut buf) = (Vec::new(), [0u8; 4096]);
        while let Ok(n @ 1..) = out.read(&mut buf) {
            if echo == Echo::Console {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(&buf[..n]);
                let _ = stdout.flush();
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    });
    let deadline = Instant::now() + QEMU_TIMEOUT;
    let mut timed_out = false;
    while child.try_wait()?.is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let console = reader.join().unwrap_or_default();
    Ok((String::from_utf8_lossy(&console).into_owned(), timed_out))
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
}
