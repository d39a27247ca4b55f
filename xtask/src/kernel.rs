//! The LoongArch kernel for `vm-test loongarch64`: Debian has no loong64 kernel, so Linux
//! 6.12 is built from Debian's `linux-source-6.12` with clang, with the project's config
//! fragment and the device tree that QEMU 7.2's firmware-less `virt` machine needs.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::root;

const SOURCE_PKG: &str = "linux-source-6.12";
const LLVM_BIN: &str = "/usr/lib/llvm-22/bin";

/// The stripped vmlinux, built once per (fragment, DTS, source package version).
/// `smp: false`: the same kernel built uniprocessor (CONFIG_SMP=n), as the shared recipe
/// has it: irq_work then waits for the next tick.
pub fn loongarch64(smp: bool) -> anyhow::Result<PathBuf> {
    let inputs = root().join("xtask/vm");
    let dts = inputs.join("qemu-virt72.dts");
    let dir = crate::vm::cache_dir().join("loongarch64");
    std::fs::create_dir_all(&dir)?;
    let variant = if smp { "smp" } else { "up" };
    let fragment = if smp {
        inputs.join("loongarch64-kernel.config")
    } else {
        let base = std::fs::read_to_string(inputs.join("loongarch64-kernel.config"))?;
        let up: String = base
            .lines()
            .filter(|l| !l.starts_with("CONFIG_NR_CPUS="))
            .map(|l| {
                if l == "CONFIG_SMP=y" {
                    "CONFIG_SMP=n"
                } else {
                    l
                }
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let p = dir.join("loongarch64-kernel-up.config");
        std::fs::write(&p, up)?;
        p
    };
    let version =
        crate::vm::output(Command::new("dpkg-query").args(["-W", "-f=${Version}", SOURCE_PKG]))?;
    if version.is_empty() {
        bail!("{SOURCE_PKG} is not installed (run `cargo xtask setup`)");
    }
    let mut key = Fnv::default();
    key.add(&std::fs::read(&fragment)?);
    key.add(&std::fs::read(&dts)?);
    key.add(version.as_bytes());
    let vmlinux = dir.join(format!("vmlinux-{variant}-{:016x}", key.0));
    if vmlinux.exists() {
        return Ok(vmlinux);
    }
    // Clones share this cache: one builds, another waits here and then reuses its kernel.
    let lock = std::fs::File::create(dir.join("build.lock"))?;
    lock.lock().context("locking the kernel build")?;
    if vmlinux.exists() {
        return Ok(vmlinux);
    }

    // The unpacked tree is kept: a changed fragment rebuilds only what it touches.
    let src_root = dir.join("src");
    let src = src_root.join(SOURCE_PKG);
    let stamp = src_root.join("package-version");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(version.as_str()) {
        eprintln!("vm-test: unpacking {SOURCE_PKG} {version}");
        let _ = std::fs::remove_dir_all(&src_root);
        std::fs::create_dir_all(&src_root)?;
        crate::status(
            Command::new("tar")
                .arg("xf")
                .arg(format!("/usr/src/{SOURCE_PKG}.tar.xz"))
                .arg("-C")
                .arg(&src_root),
        )?;
        std::fs::write(&stamp, &version)?;
    }
    std::fs::copy(&dts, src.join("arch/loongarch/boot/dts/qemu-virt72.dts"))?;

    let log = dir.join("build.log");
    eprintln!(
        "vm-test: building the LoongArch kernel (about 6 min on 2 cores; log: {})",
        log.display()
    );
    let started = std::time::Instant::now();
    let kconfig = format!("KCONFIG_ALLCONFIG={}", fragment.display());
    make(&src, &log, &[&kconfig, "allnoconfig"])?;
    check_config(&src.join(".config"), &std::fs::read_to_string(&fragment)?)?;
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    make(&src, &log, &[&format!("-j{jobs}"), "vmlinux"])?;
    let tmp = dir.join("vmlinux.tmp");
    crate::status(
        Command::new(Path::new(LLVM_BIN).join("llvm-objcopy"))
            .arg("--strip-debug")
            .arg(src.join("vmlinux"))
            .arg(&tmp),
    )?;
    std::fs::rename(&tmp, &vmlinux)?;
    eprintln!(
        "vm-test: kernel built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    // Kernels of older inputs are of no further use.
    for e in std::fs::read_dir(&dir)?.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(&format!("vmlinux-{variant}-")) && p != vmlinux {
            let _ = std::fs::remove_file(p);
        }
    }
    Ok(vmlinux)
}

/// `make ARCH=loongarch LLVM=1 ARGS` in `src`, appending output to `log`.
fn make(src: &Path, log: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let path = format!(
        "{LLVM_BIN}:{}",
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    );
    let st = Command::new("make")
        .arg("-C")
        .arg(src)
        .args(["ARCH=loongarch", "LLVM=1"])
        .args(args)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .status()
        .context("running make")?;
    if !st.success() {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        for l in tail.iter().rev() {
            eprintln!("{l}");
        }
        bail!(
            "make {} failed ({st}); log: {}",
            args.join(" "),
            log.display()
        );
    }
    Ok(())
}

/// allnoconfig drops, silently, any option whose dependencies are unmet: every `=y` of
/// the fragment must have survived.
fn check_config(config: &Path, fragment: &str) -> anyhow::Result<()> {
    let have = std::fs::read_to_string(config)?;
    let lost: Vec<&str> = fragment
        .lines()
        .filter(|l| l.starts_with("CONFIG_") && l.ends_with("=y"))
        .filter(|want| !have.lines().any(|l| l == *want))
        .collect();
    if !lost.is_empty() {
        bail!(
            "the LoongArch kernel config lacks {} (dependencies unmet?); see {}",
            lost.join(" "),
            config.display()
        );
    }
    Ok(())
}

/// FNV-1a, 64-bit: a cache key stable across Rust releases (unlike DefaultHasher).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        // separate the inputs, so that moving bytes between them changes the key
        self.0 = (self.0 ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    }
}
