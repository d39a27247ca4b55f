//! Idempotent set-up from a fresh Debian 12 with rustup stable: the recipe of
//! shared/TOOLCHAIN.md, owned by the project.
use std::process::Command;

use anyhow::{Context, bail};

use crate::status;

/// Debian packages to build and run the agent: Debian's rustc 1.96 for the eBPF crate
/// (with core's source), LLVM 22 for bpf-linker, a C toolchain, and protoc (containerd's
/// API client is generated from its protos at build time).
const RUN_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "llvm-22-dev",
    "libpolly-22-dev",
    "zlib1g-dev",
    "libzstd-dev",
    "gcc",
    "protobuf-compiler",
];

/// To build for the other architectures and boot them under qemu (`build --target`,
/// `vm-test`, `vm-bench`, `dist`).
const CROSS_PACKAGES: &[&str] = &[
    // arm64: cross toolchain, Debian's arm64 std for rustc 1.96, qemu for the VM tests
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "libstd-rust-web-dev:arm64",
    "qemu-system-arm",
    // x86_64 guests (Debian 11's 5.10) under TCG
    "qemu-system-x86",
    "cpio",
    // loongarch64: Debian has no loong64 port, so the kernel is built from source with
    // clang (BTF by pahole from dwarves), std from rust-web-src, zig (PyPI) links musl
    "linux-source-6.12",
    "dwarves",
    "clang-22",
    "lld-22",
    "llvm-22",
    "flex",
    "bison",
    "bc",
    "make",
    "xz-utils",
    "libelf-dev",
    "python3-venv",
    "qemu-system-misc",
    // the guests' agent loads the system's roots even for an http:// API server (the
    // initramfs carries the bundle)
    "ca-certificates",
];

/// What only the test suite uses.
const TEST_PACKAGES: &[&str] = &[
    // clippy for Debian's rustc 1.96, which lints the kernel programs
    "rust-web-clippy",
    // libFuzzer (C++) for `cargo xtask fuzz`
    "g++",
    // the kernel headers the arch tables are tested against
    "linux-libc-dev",
    "linux-libc-dev-arm64-cross",
    // the tests read programs and maps back from the kernel
    "bpftool",
    // real containers for the identity tests
    "containerd",
    "runc",
    // network namespaces, veth and packet drops for the network tests
    "iproute2",
    "nftables",
    // agent bench's HTML report is opened in headless Chromium by tests/tests/bench.rs
    "chromium",
    // the dashboards are proven against a real Prometheus scraping the agent
    "prometheus",
    // systemd-analyze verify checks deploy/systemd/archscope.service
    "systemd",
];

/// What a command needs set up: each level includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// Build and run the agent on this machine.
    Run,
    /// Build for the other architectures and boot them.
    Cross,
    /// The whole test suite (`cargo xtask setup` installs this much).
    Test,
}

/// PyPI `ziglang`, the C compiler and linker for loongarch64-unknown-linux-musl.
const ZIGLANG: &str = "ziglang==0.17.1";

/// PyPI `kubernetes-validate`: the Kubernetes manifests are validated against the
/// Kubernetes schemas (tests/tests/install.rs).
const KUBERNETES_VALIDATE: &str = "kubernetes-validate==1.37.0";

/// PyPI scipy and numpy, the versions tests/fixtures/bench/reference.out was made with:
/// tests/tests/bench_scipy.rs runs reference.py and holds its output to that file, and the
/// bench's statistics tests hold the Rust numbers to it.
const SCIPY: &[&str] = &["scipy==1.17.1", "numpy==2.4.6"];

const BPF_LINKER_VERSION: &str = "0.13.0";
pub const EBPF_TOOLCHAIN: &str = "ebpf-1.96";

/// Install what `need` asks for and is missing. `verbose`: say what is already there too.
pub fn run(verbose: bool, need: Need) -> anyhow::Result<()> {
    let mut packages = RUN_PACKAGES.to_vec();
    if need >= Need::Cross {
        packages.extend(CROSS_PACKAGES);
    }
    if need >= Need::Test {
        packages.extend(TEST_PACKAGES);
    }
    let missing: Vec<&str> = packages.into_iter().filter(|p| !installed(p)).collect();
    if !missing.is_empty() {
        eprintln!("setup: installing Debian packages: {}", missing.join(" "));
        root_required("install Debian packages")?;
        let foreign = output(Command::new("dpkg").arg("--print-foreign-architectures"))?;
        let arm64 = missing.iter().any(|p| p.ends_with(":arm64"));
        if arm64 && !foreign.lines().any(|a| a.trim() == "arm64") {
            status(Command::new("dpkg").args(["--add-architecture", "arm64"]))?;
        }
        status(Command::new("apt-get").args(["update", "-q"]))?;
        status(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )?;
    } else if verbose {
        eprintln!("setup: Debian packages present");
    }

    let toolchains = output(Command::new("rustup").args(["toolchain", "list"]))?;
    if !toolchains.lines().any(|l| l.starts_with(EBPF_TOOLCHAIN)) {
        eprintln!("setup: linking Debian's rustc as rustup toolchain {EBPF_TOOLCHAIN}");
        status(Command::new("rustup").args(["toolchain", "link", EBPF_TOOLCHAIN, "/usr"]))?;
    } else if verbose {
        eprintln!("setup: rustup toolchain {EBPF_TOOLCHAIN} present");
    }

    let linker = Command::new("bpf-linker").arg("--version").output();
    let have = linker
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if !have
        .as_deref()
        .is_some_and(|v| v.contains(BPF_LINKER_VERSION))
    {
        eprintln!(
            "setup: building bpf-linker {BPF_LINKER_VERSION} against LLVM 22 (about 2 minutes)"
        );
        status(
            Command::new("cargo")
                .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION])
                .args(["--no-default-features", "--features", "llvm-22"])
                .env("LLVM_PREFIX", "/usr/lib/llvm-22")
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("CARGO"),
        )?;
    } else if verbose {
        eprintln!("setup: bpf-linker {BPF_LINKER_VERSION} present");
    }

    if need == Need::Run {
        return Ok(());
    }
    let python = venv().join("bin/python3");
    let zig_version = ZIGLANG.trim_start_matches("ziglang==");
    let zig_ok = Command::new(&python)
        .args(["-m", "ziglang", "version"])
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == zig_version
        });
    if !zig_ok {
        eprintln!("setup: installing {ZIGLANG} into {}", venv().display());
        // Debian's python3 (not whatever python3 is first on PATH): python3-venv is its.
        status(
            Command::new("/usr/bin/python3")
                .args(["-m", "venv"])
                .arg(venv()),
        )?;
        status(Command::new(&python).args(["-m", "pip", "install", "-q", ZIGLANG]))?;
    } else if verbose {
        eprintln!("setup: zig present in {}", venv().display());
    }

    if need < Need::Test {
        return Ok(());
    }
    prometheus_text_format(verbose)?;
    let kv_version = KUBERNETES_VALIDATE.trim_start_matches("kubernetes-validate==");
    let kv_ok = Command::new(venv().join("bin/kubernetes-validate"))
        .arg("--version")
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == kv_version
        });
    if !kv_ok {
        eprintln!(
            "setup: installing {KUBERNETES_VALIDATE} into {}",
            venv().display()
        );
        status(Command::new(&python).args(["-m", "pip", "install", "-q", KUBERNETES_VALIDATE]))?;
    } else if verbose {
        eprintln!("setup: kubernetes-validate present in {}", venv().display());
    }
    let versions = Command::new(&python)
        .args([
            "-c",
            "import scipy, numpy; print(f'scipy=={scipy.__version__} numpy=={numpy.__version__}')",
        ])
        .output();
    let scipy_ok = versions.is_ok_and(|o| {
        o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == SCIPY.join(" ")
    });
    if !scipy_ok {
        eprintln!(
            "setup: installing {} into {}",
            SCIPY.join(" "),
            venv().display()
        );
        status(
            Command::new(&python)
                .args(["-m", "pip", "install", "-q"])
                .args(SCIPY),
        )?;
    } else if verbose {
        eprintln!("setup: scipy present in {}", venv().display());
    }
    Ok(())
}

/// Debian 13's Prometheus: 2.53 can be told to scrape the text format 0.0.4
/// (`scrape_protocols`), which Debian 12's 2.42 never asks for, so tests/tests/exposition.rs
/// has a real Prometheus read both formats. One binary from the package, into the
/// project's .cache; it runs on Debian 12.
pub fn prometheus_text_format(verbose: bool) -> anyhow::Result<()> {
    let bin = crate::root().join(".cache/prometheus-trixie/prometheus");
    if bin.exists() {
        if verbose {
            eprintln!("setup: Prometheus 2.53 present in {}", bin.display());
        }
        return Ok(());
    }
    eprintln!(
        "setup: fetching Debian 13's prometheus into {}",
        bin.display()
    );
    crate::apt::Apt::new(Some("trixie"))?.fetch_file("prometheus", "usr/bin/prometheus", &bin)
}

/// The Python venv holding zig and kubernetes-validate (gitignored, with the other caches).
pub fn venv() -> std::path::PathBuf {
    crate::root().join(".cache/venv")
}

fn installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

fn output(cmd: &mut Command) -> anyhow::Result<String> {
    let o = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn root_required(what: &str) -> anyhow::Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc_geteuid() } != 0 {
        bail!("setup needs root to {what}; run it as root (or with sudo)");
    }
    Ok(())
}

unsafe extern "C" {
    #[link_name = "geteuid"]
    fn libc_geteuid() -> u32;
}
