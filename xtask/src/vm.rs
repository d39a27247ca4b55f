//! `cargo xtask vm-test <arch>`: boot a real kernel of that architecture under qemu with an
//! initramfs holding the cross-built agent, the integration tests and their workload; run
//! the tests there and report `N passed, N failed`.
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cross::{self, Target};
use crate::{root, status};

pub fn run(t: Target) -> anyhow::Result<()> {
    match t {
        Target::Aarch64 => {}
        other => bail!("vm-test for {} is not wired up yet", other.triple()),
    }
    let started = std::time::Instant::now();
    let kernel = arm64_kernel()?;
    let busybox = arm64_busybox()?;
    let tests = cross::build(t, true)?;
    if tests.is_empty() {
        bail!("no integration test executables were built");
    }
    let work = cache_dir().join("arm64-run");
    let _ = std::fs::remove_dir_all(&work);
    let initrd = initramfs(&work, t, &busybox, &tests)?;
    eprintln!(
        "vm-test: booting {} ({} test binaries)",
        kernel.display(),
        tests.len()
    );
    let out = Command::new("qemu-system-aarch64")
        .args([
            "-M",
            "virt",
            "-cpu",
            "max",
            "-smp",
            "2",
            "-m",
            "1024",
            "-nographic",
            "-no-reboot",
        ])
        .arg("-kernel")
        .arg(&kernel)
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", "console=ttyAMA0 rdinit=/init quiet"])
        .stdin(std::process::Stdio::null())
        .output()
        .context("running qemu-system-aarch64 (run `cargo xtask setup`)")?;
    let console = String::from_utf8_lossy(&out.stdout);
    std::fs::write(work.join("console.log"), console.as_bytes())?;
    print!("{console}");
    let (passed, failed) = tally(&console, tests.len());
    println!("vm-test arm64: {passed} passed, {failed} failed");
    eprintln!(
        "vm-test arm64: {:.0} s (console log: {})",
        started.elapsed().as_secs_f64(),
        work.join("console.log").display()
    );
    if failed > 0 || passed == 0 {
        bail!("vm-test arm64 failed");
    }
    Ok(())
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

pub fn cache_dir() -> PathBuf {
    root().join(".cache/vm")
}

/// Debian's current arm64 kernel, fetched once with apt-get download.
fn arm64_kernel() -> anyhow::Result<PathBuf> {
    let dir = cache_dir().join("arm64");
    std::fs::create_dir_all(&dir)?;
    let deps = output(Command::new("apt-cache").args(["depends", "linux-image-arm64:arm64"]))?;
    let pkg = deps
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Depends: ")
                .filter(|p| p.starts_with("linux-image-"))
        })
        .context(
            "apt-cache depends linux-image-arm64:arm64 names no kernel (run `cargo xtask setup`)",
        )?
        .to_string();
    let version = pkg
        .trim_start_matches("linux-image-")
        .trim_end_matches(":arm64")
        .to_string();
    let vmlinuz = dir.join(format!("vmlinuz-{version}"));
    if !vmlinuz.exists() {
        let deb = download(&dir, &pkg)?;
        let x = dir.join("x");
        status(Command::new("dpkg").arg("-x").arg(&deb).arg(&x))?;
        std::fs::copy(x.join(format!("boot/vmlinuz-{version}")), &vmlinuz)?;
        std::fs::remove_dir_all(&x)?;
        std::fs::remove_file(&deb)?;
    }
    Ok(vmlinuz)
}

fn arm64_busybox() -> anyhow::Result<PathBuf> {
    let dir = cache_dir().join("arm64");
    let bb = dir.join("busybox");
    if !bb.exists() {
        let deb = download(&dir, "busybox-static:arm64")?;
        let x = dir.join("bb");
        status(Command::new("dpkg").arg("-x").arg(&deb).arg(&x))?;
        std::fs::copy(x.join("bin/busybox"), &bb)?;
        std::fs::remove_dir_all(&x)?;
        std::fs::remove_file(&deb)?;
    }
    Ok(bb)
}

/// `apt-get download PKG` into `dir`; returns the .deb.
fn download(dir: &Path, pkg: &str) -> anyhow::Result<PathBuf> {
    eprintln!("vm-test: apt-get download {pkg}");
    status(
        Command::new("apt-get")
            .args(["download", "-q", pkg])
            .current_dir(dir),
    )?;
    let name = pkg.split(':').next().unwrap_or(pkg);
    std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with(&format!("{name}_")))
        })
        .context("downloaded package not found")
}

fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let o = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

const INIT: &str = r#"#!/bin/busybox sh
# Runs inside the VM as PID 1: mount what the agent needs, run every test binary, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /tmp
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tracefs tracefs /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up
export HOME=/tmp TMPDIR=/tmp XTASK_AGENT_BIN=/bin/agent XTASK_WORKLOAD_BIN=/bin/archscope-workload
echo "=== kernel $(uname -r) $(uname -m)"
for t in /tests/*; do
  echo "=== begin $t"
  "$t" --test-threads=2
  echo "=== end $t rc=$?"
done
poweroff -f
"#;

fn initramfs(work: &Path, t: Target, busybox: &Path, tests: &[PathBuf]) -> anyhow::Result<PathBuf> {
    let root = work.join("root");
    for d in ["bin", "lib", "tests", "tmp", "sys", "proc", "dev"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    std::fs::copy(busybox, root.join("bin/busybox"))?;
    let out = t.out_dir();
    std::fs::copy(out.join("agent"), root.join("bin/agent"))?;
    std::fs::copy(
        out.join("archscope-workload"),
        root.join("bin/archscope-workload"),
    )?;
    for exe in tests {
        let name = exe.file_name().context("test executable name")?;
        std::fs::copy(exe, root.join("tests").join(name))?;
    }
    let sysroot = Path::new("/usr/aarch64-linux-gnu/lib");
    for lib in [
        "ld-linux-aarch64.so.1",
        "libc.so.6",
        "libgcc_s.so.1",
        "libm.so.6",
    ] {
        std::fs::copy(sysroot.join(lib), root.join("lib").join(lib))
            .with_context(|| format!("{lib} (run `cargo xtask setup`)"))?;
    }
    std::fs::write(root.join("init"), INIT)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root.join("init"), std::fs::Permissions::from_mode(0o755))?;
    let strip: Vec<PathBuf> = std::iter::once(root.join("bin/agent"))
        .chain(std::iter::once(root.join("bin/archscope-workload")))
        .chain(
            std::fs::read_dir(root.join("tests"))?
                .flatten()
                .map(|e| e.path()),
        )
        .collect();
    status(Command::new("aarch64-linux-gnu-strip").args(&strip))?;
    let initrd = work.join("initrd.gz");
    let sh = format!(
        "cd '{}' && find . | cpio -o -H newc --quiet | gzip -1 > '{}'",
        root.display(),
        initrd.display()
    );
    status(Command::new("sh").args(["-c", &sh]))?;
    Ok(initrd)
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
