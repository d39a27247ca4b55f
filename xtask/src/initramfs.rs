//! The initramfs of a `vm-test` guest: its init, the agent, the tests crate's binaries,
//! the test executables and what the dynamic ones need.
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cross::{self, Target};
use crate::status;

/// The guest's root: `archscope-vm-init` as /init, the agent and the tests crate's other
/// binaries in /bin, the test executables in /tests (and glibc for arm64's dynamic
/// binaries), as a gzip'd cpio. `modules`: kernel modules for node mode, in load order,
/// put in /lib/modules and listed in /etc/xtask-modules (archscope-vm-init loads them).
pub fn build(
    work: &Path,
    t: Target,
    built: &cross::Built,
    modules: &[PathBuf],
) -> anyhow::Result<PathBuf> {
    let root = work.join("root");
    for d in ["bin", "lib", "tests", "tmp", "sys", "proc", "dev"] {
        std::fs::create_dir_all(root.join(d))?;
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    std::fs::create_dir_all(root.join("etc"))?;
    // the guest's clock where it has no RTC (read by archscope-vm-init)
    std::fs::write(root.join("etc/xtask-time"), now.as_secs().to_string())?;
    // as on any host: without it `localhost` goes to DNS, and there is none
    std::fs::write(root.join("etc/hosts"), "127.0.0.1 localhost\n")?;
    // as on any host: the agent's Kubernetes client loads the system's roots even for an
    // http:// API server, and gives up without any (node mode's guest)
    let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
    std::fs::create_dir_all(root.join("etc/ssl/certs"))?;
    std::fs::copy(bundle, root.join("etc/ssl/certs/ca-certificates.crt"))
        .with_context(|| format!("{} (run `cargo xtask setup`)", bundle.display()))?;
    let mut files = Vec::new();
    for exe in &built.bins {
        let name = exe.file_name().context("binary name")?;
        let to = match name.to_str() {
            Some("archscope-vm-init") => root.join("init"),
            _ => root.join("bin").join(name),
        };
        files.push((exe.clone(), to));
    }
    if !files.iter().any(|(_, to)| to.ends_with("init")) {
        bail!("archscope-vm-init was not built");
    }
    for exe in &built.tests {
        let name = exe.file_name().context("test executable name")?;
        files.push((exe.clone(), root.join("tests").join(name)));
    }
    for (from, to) in &files {
        std::fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    }
    status(Command::new("llvm-strip-22").args(files.iter().map(|(_, to)| to)))?;
    // glibc for the dynamic binaries, where their loader looks for it
    let libs: &[(&str, &str, &str)] = match t {
        Target::Aarch64 => &[
            ("/usr/aarch64-linux-gnu/lib", "lib", "ld-linux-aarch64.so.1"),
            ("/usr/aarch64-linux-gnu/lib", "lib", "libc.so.6"),
            ("/usr/aarch64-linux-gnu/lib", "lib", "libgcc_s.so.1"),
            ("/usr/aarch64-linux-gnu/lib", "lib", "libm.so.6"),
        ],
        Target::X86_64 => &[
            ("/lib64", "lib64", "ld-linux-x86-64.so.2"),
            ("/lib/x86_64-linux-gnu", "lib", "libc.so.6"),
            ("/lib/x86_64-linux-gnu", "lib", "libgcc_s.so.1"),
            ("/lib/x86_64-linux-gnu", "lib", "libm.so.6"),
        ],
        Target::Loongarch64 => &[], // static musl
    };
    for (from, to, lib) in libs {
        std::fs::create_dir_all(root.join(to))?;
        std::fs::copy(Path::new(from).join(lib), root.join(to).join(lib))
            .with_context(|| format!("{from}/{lib} (run `cargo xtask setup`)"))?;
    }
    if !modules.is_empty() {
        std::fs::create_dir_all(root.join("lib/modules"))?;
        let mut order = String::new();
        for m in modules {
            let name = m.file_name().context("module name")?;
            // as shipped: stripping would drop the signature appended to each
            std::fs::copy(m, root.join("lib/modules").join(name))
                .with_context(|| format!("copying {}", m.display()))?;
            order.push_str(&format!("{}\n", name.to_string_lossy()));
        }
        std::fs::write(root.join("etc/xtask-modules"), order)?;
    }
    if t == Target::X86_64 {
        // the compat test's i386 workload: the guest has no binutils to build it
        let obj = work.join("compat32.o");
        let src = crate::root().join("tests/src/compat32_x86.S");
        status(Command::new("as").arg("--32").arg(&src).arg("-o").arg(&obj))?;
        status(
            Command::new("ld")
                .args(["-m", "elf_i386"])
                .arg(&obj)
                .arg("-o")
                .arg(root.join("bin/archscope-compat32")),
        )?;
    }
    let initrd = work.join("initramfs.cpio.gz");
    let sh = format!(
        "cd '{}' && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9 > '{}'",
        root.display(),
        initrd.display()
    );
    status(Command::new("sh").args(["-c", &sh]))?;
    Ok(initrd)
}
