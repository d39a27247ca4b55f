//! Cross builds of the agent and the integration tests, with the same embedded eBPF object.
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::{root, target_dir};

/// Target architectures and the names people use for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    X86_64,
    Aarch64,
    Loongarch64,
}

impl Target {
    pub fn parse(s: &str) -> anyhow::Result<Target> {
        Ok(match s {
            "x86_64" | "amd64" => Target::X86_64,
            "aarch64" | "arm64" => Target::Aarch64,
            "loongarch64" | "loong64" => Target::Loongarch64,
            _ => bail!("unknown target `{s}` (x86_64/amd64, aarch64/arm64, loongarch64/loong64)"),
        })
    }

    pub fn triple(self) -> &'static str {
        match self {
            Target::X86_64 => "x86_64-unknown-linux-gnu",
            Target::Aarch64 => "aarch64-unknown-linux-gnu",
            Target::Loongarch64 => "loongarch64-unknown-linux-musl",
        }
    }

    /// The kernel's name (`uname -m`), used in archive names.
    pub fn uname(self) -> &'static str {
        match self {
            Target::X86_64 => "x86_64",
            Target::Aarch64 => "aarch64",
            Target::Loongarch64 => "loongarch64",
        }
    }

    /// Go's and Docker's name (`TARGETARCH`, `kubernetes.io/arch`).
    pub fn goarch(self) -> &'static str {
        match self {
            Target::X86_64 => "amd64",
            Target::Aarch64 => "arm64",
            Target::Loongarch64 => "loong64",
        }
    }

    /// Release output directory of this target.
    pub fn out_dir(self) -> PathBuf {
        target_dir().join(self.triple()).join("release")
    }

    /// cargo for this target: rustup stable for x86_64; Debian's rustc 1.96 (which has
    /// the arm64 std from libstd-rust-web-dev:arm64) for aarch64; the same with std built
    /// from rust-web-src and zig linking musl statically for loongarch64 (no loong64 port).
    fn cargo(self) -> anyhow::Result<Command> {
        let mut c = Command::new("rustup");
        c.args(["run", "ebpf-1.96", "cargo"]).current_dir(root());
        match self {
            Target::X86_64 => c = crate::cargo(),
            Target::Aarch64 => {
                c.env(
                    "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
                    "aarch64-linux-gnu-gcc",
                )
                // As loongarch64's build has it: build scripts that watch it (proc-macro2,
                // anyhow, thiserror) then run once for both cross builds, which share
                // their host artifacts. Without it each cross build made the other
                // recompile every crate that depends on a proc macro.
                .env("RUSTC_BOOTSTRAP", "1");
            }
            Target::Loongarch64 => {
                let zig = stable_zig_wrapper()?;
                // build-std is unstable; RUSTC_BOOTSTRAP opens it on this stable rustc.
                c.arg("-Zbuild-std=std,panic_abort")
                    .env("RUSTC_BOOTSTRAP", "1")
                    .env("ARCHSCOPE_VENV", crate::setup::venv())
                    .env("CARGO_TARGET_LOONGARCH64_UNKNOWN_LINUX_MUSL_LINKER", &zig)
                    .env("CC_loongarch64_unknown_linux_musl", &zig)
                    .env("AR_loongarch64_unknown_linux_musl", "llvm-ar-22")
                    // QEMU 7.2 has no LSX/LASX (SIGILL). Target-scoped, so neither build
                    // scripts nor the agent's bpfel build see it.
                    .env(
                        "CARGO_TARGET_LOONGARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS",
                        "-C target-feature=-lsx,-lasx",
                    );
            }
        }
        c.env_remove("CARGO").env_remove("RUSTUP_TOOLCHAIN");
        Ok(c)
    }
}

/// The zig wrapper, copied to a path that is the same for every clone (beside the VM
/// cache): the linker and `CC_*` are part of what cargo and the cc build scripts
/// fingerprint, so a per-clone path made each fresh clone recompile every loongarch64
/// crate in the shared build cache. The clone's venv comes through ARCHSCOPE_VENV.
fn stable_zig_wrapper() -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let body = std::fs::read(root().join("xtask/vm/zig-cc-loongarch64"))?;
    let dir = crate::vm::cache_dir().with_file_name("bin");
    let dst = dir.join("zig-cc-loongarch64");
    if std::fs::read(&dst).ok().as_ref() != Some(&body) {
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join(format!(".zig-cc-loongarch64.{}", std::process::id()));
        std::fs::write(&tmp, &body)?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
        std::fs::rename(&tmp, &dst)?;
    }
    Ok(dst)
}

/// What [`build`] made: every binary (the agent's and the tests crate's) and the test
/// executables.
pub struct Built {
    pub bins: Vec<PathBuf>,
    pub tests: Vec<PathBuf>,
}

/// The integration tests that mean something in a guest: those that need containerd,
/// Kubernetes tools or Prometheus (containers, daemonset, dashboards, install, kubernetes)
/// run on the host only and are left out of the initramfs.
pub const VM_TESTS: &[&str] = &[
    "bench",
    "cgroup_v1",
    "churn",
    "cli",
    "compat",
    "faults",
    "network",
    "otlp",
    "overhead",
    "pmu",
    "scheduler",
    "syscall_modes",
    "syscalls",
];

/// Build `agent` in release mode (what `dist` ships).
pub fn build(t: Target) -> anyhow::Result<Built> {
    let mut c = t.cargo()?;
    c.args(["build", "--release", "--target", t.triple()])
        .args(["-p", "archscope-agent"]);
    Ok(Built {
        bins: executables(&mut c)?,
        tests: Vec::new(),
    })
}

/// Build `agent`, the tests crate's binaries and the [`VM_TESTS`] executables with the
/// `vm` profile, for `vm-test`, in one cargo command: one feature resolution, so no
/// dependency is compiled twice with two feature sets.
/// x86_64 guests boot the host's own debug build, which the host's test stage has
/// already made: nothing is compiled twice.
pub fn build_for_vm(t: Target) -> anyhow::Result<Built> {
    let mut c = t.cargo()?;
    c.arg("build");
    match t {
        // the host's test stage selects the whole workspace; the same selection here
        // finds its artifacts as they are
        Target::X86_64 => c.args(["--workspace", "--exclude", "archscope-probes"]),
        _ => c.args(["--profile", "vm", "--target", t.triple()]).args([
            "-p",
            "archscope-agent",
            "-p",
            "archscope-tests",
        ]),
    };
    c.arg("--bins");
    for name in VM_TESTS {
        c.args(["--test", name]);
    }
    let (bins, tests) = artifacts(&mut c)?;
    Ok(Built { bins, tests })
}

/// Build `agent` and the VM's init only (for `vm-bench`), in release mode.
pub fn build_agent_and_init(t: Target) -> anyhow::Result<Built> {
    let mut c = t.cargo()?;
    c.args(["build", "--release", "--target", t.triple()])
        .args(["-p", "archscope-agent", "-p", "archscope-tests"])
        .args(["--bin", "agent", "--bin", "archscope-vm-init"]);
    let bins = executables(&mut c)?;
    Ok(Built {
        bins,
        tests: Vec::new(),
    })
}

/// Run a cargo build; the executables it names, but those of test targets.
fn executables(c: &mut Command) -> anyhow::Result<Vec<PathBuf>> {
    Ok(artifacts(c)?.0)
}

/// Run a cargo build; the executables it names in its compiler-artifact messages: those of
/// the other targets, and those of test targets.
fn artifacts(c: &mut Command) -> anyhow::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    c.arg("--message-format=json-render-diagnostics");
    let out = c
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running {c:?}"))?;
    if !out.status.success() {
        bail!("{c:?} failed ({})", out.status);
    }
    let (mut bins, mut tests) = (Vec::new(), Vec::new());
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && let Some(exe) = msg["executable"].as_str()
        {
            let into = if msg["profile"]["test"] == true {
                &mut tests
            } else {
                &mut bins
            };
            into.push(PathBuf::from(exe));
        }
    }
    Ok((bins, tests))
}
