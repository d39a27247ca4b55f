//! The kernel matrix of `vm-test`: the kernels each architecture's guest boots, where each
//! comes from, and fetching it. Debian's kernels come with `apt-get download`, from the
//! system's own suite or from another suite of the same archive (bullseye for 5.10),
//! through a sources list and state of the project's own, so the system's lists stay as
//! they are.
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::apt::Apt;
use crate::cross::Target;

#[derive(Debug)]
pub struct Kernel {
    pub arch: Target,
    /// What `--kernel` takes and the result line prints.
    pub name: &'static str,
    pub source: Source,
    /// Booted by `cargo xtask test` (and so by CI).
    pub in_ci: bool,
    /// Who runs this kernel (for the support table).
    pub stands_for: &'static str,
    /// The test binaries whose subject this kernel is (`None`: every one of
    /// [`crate::cross::VM_TESTS`]). An arch's first kernel runs them all; a further kernel
    /// of the same arch runs those that depend on the kernel, not on the arch.
    pub tests: Option<&'static [&'static str]>,
    /// Modules of this kernel (below its lib/modules/<version>/, in load order) that the
    /// arch's initramfs carries for node mode (tests/src/node.rs); cached beside the image.
    pub modules: &'static [&'static str],
}

/// The NIC of the node-mode guest (tests/src/node.rs), modules in Debian's arm64 6.1:
/// virtio-mmio (no PCI, so no option ROM) and virtio-net with its failover dependencies.
/// Uncompressed in 6.1 (CONFIG_MODULE_COMPRESS_NONE), so finit_module takes them as they are.
const NODE_NET_MODULES: &[&str] = &[
    "kernel/drivers/virtio/virtio_mmio.ko",
    "kernel/net/core/failover.ko",
    "kernel/drivers/net/net_failover.ko",
    "kernel/drivers/net/virtio_net.ko",
];

/// What differs between kernels of one arch: hooks, BTF layouts, the verifier, map types,
/// cgroups, perf events. The others (`bench`, `otlp`: user space) depend on the arch only.
pub const KERNEL_FACING: &[&str] = &[
    "cgroup_v1",
    "churn",
    "cli",
    "compat",
    "faults",
    "network",
    "pmu",
    "scheduler",
    "syscall_modes",
    "syscalls",
];

#[derive(Debug)]
pub enum Source {
    /// The kernel of Debian's `meta` package in `suite` (`None`: this system's own suite).
    Debian {
        suite: Option<&'static str>,
        meta: &'static str,
    },
    /// Linux 6.12 built from Debian's `linux-source-6.12` (kernel.rs); `smp: false` is the
    /// uniprocessor build of the shared recipe.
    LoongarchSource { smp: bool },
}

/// The first kernel of an architecture is its default.
pub const MATRIX: &[Kernel] = &[
    Kernel {
        arch: Target::X86_64,
        name: "5.10",
        source: Source::Debian {
            suite: Some("bullseye"),
            meta: "linux-image-amd64",
        },
        in_ci: true,
        tests: Some(KERNEL_FACING),
        modules: &[],
        stands_for: "Debian 11, openEuler 22.03 LTS and UOS (5.10)",
    },
    Kernel {
        arch: Target::Aarch64,
        name: "6.1",
        source: Source::Debian {
            suite: None,
            meta: "linux-image-arm64:arm64",
        },
        in_ci: true,
        tests: None,
        modules: NODE_NET_MODULES,
        stands_for: "Debian 12 (6.1)",
    },
    Kernel {
        arch: Target::Aarch64,
        name: "5.10",
        source: Source::Debian {
            suite: Some("bullseye"),
            meta: "linux-image-arm64:arm64",
        },
        in_ci: true,
        tests: Some(KERNEL_FACING),
        modules: &[],
        stands_for: "Debian 11, openEuler 22.03 LTS and UOS on Kunpeng and Phytium (5.10)",
    },
    Kernel {
        arch: Target::Loongarch64,
        name: "6.12",
        source: Source::LoongarchSource { smp: true },
        in_ci: true,
        tests: None,
        modules: &[],
        stands_for: "Loongson 3A5000/3A6000 (6.12, one CPU)",
    },
    Kernel {
        arch: Target::Loongarch64,
        name: "6.12-up",
        source: Source::LoongarchSource { smp: false },
        in_ci: false,
        tests: None,
        modules: &[],
        stands_for: "a uniprocessor kernel (CONFIG_SMP=n)",
    },
];

/// The kernels to boot for `arch`: the one named, or every kernel of the arch that CI
/// boots (`all`), or the default.
pub fn select(arch: Target, name: Option<&str>) -> anyhow::Result<Vec<&'static Kernel>> {
    let of_arch: Vec<&Kernel> = MATRIX.iter().filter(|k| k.arch == arch).collect();
    let names = || {
        of_arch
            .iter()
            .map(|k| k.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match name {
        None => Ok(of_arch.into_iter().take(1).collect()),
        Some("all") => Ok(of_arch.into_iter().filter(|k| k.in_ci).collect()),
        Some(n) => match of_arch.iter().find(|k| k.name == n) {
            Some(k) => Ok(vec![*k]),
            None => bail!(
                "no kernel `{n}` for {} (kernels: {}, or all)",
                arch.goarch(),
                names()
            ),
        },
    }
}

/// The bootable image of `k`, fetched or built once and cached.
pub fn image(k: &Kernel) -> anyhow::Result<PathBuf> {
    match k.source {
        Source::LoongarchSource { smp } => crate::kernel::loongarch64(smp),
        Source::Debian { suite, meta } => debian(k, suite, meta),
    }
}

/// The cached [`Kernel::modules`] of `k`, whose image [`image`] returned, in load order.
pub fn modules(k: &Kernel, image: &Path) -> Vec<PathBuf> {
    let version = image
        .file_name()
        .and_then(|n| n.to_str()?.strip_prefix("vmlinuz-"))
        .unwrap_or_default();
    let dir = image.with_file_name(format!("modules-{version}"));
    k.modules
        .iter()
        .map(|m| dir.join(Path::new(m).file_name().unwrap_or_default()))
        .collect()
}

fn debian(k: &Kernel, suite: Option<&str>, meta: &str) -> anyhow::Result<PathBuf> {
    let arch = k.arch;
    let dir = crate::vm::cache_dir().join(arch.goarch());
    std::fs::create_dir_all(&dir)?;
    let apt = Apt::new(suite)?;
    let deps = crate::vm::output(apt.cmd("apt-cache").args(["depends", meta]))?;
    let pkg = deps
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Depends: ")
                .filter(|p| p.starts_with("linux-image-"))
        })
        .with_context(|| format!("apt-cache depends {meta} names no kernel"))?
        .to_string();
    let version = pkg
        .trim_start_matches("linux-image-")
        .split(':')
        .next()
        .unwrap_or_default()
        .to_string();
    let vmlinuz = dir.join(format!("vmlinuz-{version}"));
    let mut files = vec![(format!("boot/vmlinuz-{version}"), vmlinuz.clone())];
    let cached = modules(k, &vmlinuz);
    for (m, to) in k.modules.iter().zip(cached) {
        files.push((format!("lib/modules/{version}/{m}"), to));
    }
    if files.iter().any(|(_, to)| !to.exists()) {
        // image and modules from one download: a module loads only into its own build
        eprintln!("vm-test: apt-get download {pkg}");
        apt.fetch_files(&pkg, &files)?;
    }
    Ok(vmlinuz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_modules_are_cached_beside_their_image_in_load_order() {
        let k = select(Target::Aarch64, Some("6.1")).unwrap()[0];
        let m = modules(k, Path::new("/c/vmlinuz-6.1.0-57-arm64"));
        let names: Vec<_> = m.iter().map(|p| p.to_string_lossy()).collect();
        let dir = "/c/modules-6.1.0-57-arm64";
        let want = ["virtio_mmio", "failover", "net_failover", "virtio_net"];
        assert_eq!(names, want.map(|n| format!("{dir}/{n}.ko")));
    }

    #[test]
    fn selection_by_name_default_and_all() {
        let names = |v: Vec<&Kernel>| v.iter().map(|k| k.name).collect::<Vec<_>>();
        assert_eq!(names(select(Target::Aarch64, None).unwrap()), ["6.1"]);
        assert_eq!(
            names(select(Target::Aarch64, Some("all")).unwrap()),
            ["6.1", "5.10"]
        );
        assert_eq!(
            names(select(Target::Loongarch64, Some("all")).unwrap()),
            ["6.12"]
        );
        assert_eq!(
            names(select(Target::Loongarch64, Some("6.12-up")).unwrap()),
            ["6.12-up"]
        );
        let e = select(Target::X86_64, Some("4.19"))
            .unwrap_err()
            .to_string();
        assert_eq!(e, "no kernel `4.19` for amd64 (kernels: 5.10, or all)");
    }

    #[test]
    fn test_selections_name_vm_tests_and_arch_defaults_run_all() {
        for t in KERNEL_FACING {
            assert!(
                crate::cross::VM_TESTS.contains(t),
                "{t} is not built for guests"
            );
        }
        // the arch-only tests run on each guest arch's default kernel
        for arch in [Target::Aarch64, Target::Loongarch64] {
            assert!(select(arch, None).unwrap()[0].tests.is_none(), "{arch:?}");
        }
    }
}
