//! Cross builds of the agent and the integration tests, with the same embedded eBPF object.
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

use crate::{root, status, target_dir};

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

    /// Release output directory of this target.
    pub fn out_dir(self) -> PathBuf {
        target_dir().join(self.triple()).join("release")
    }

    /// cargo for this target: rustup stable for x86_64; Debian's rustc 1.96 (which has
    /// the arm64 std from libstd-rust-web-dev:arm64) for aarch64.
    fn cargo(self) -> anyhow::Result<Command> {
        let mut c = match self {
            Target::X86_64 => crate::cargo(),
            Target::Aarch64 => {
                let mut c = Command::new("rustup");
                c.args(["run", "ebpf-1.96", "cargo"]).current_dir(root());
                c.env(
                    "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
                    "aarch64-linux-gnu-gcc",
                );
                c
            }
            Target::Loongarch64 => bail!("loongarch64 builds are not wired up yet"),
        };
        c.env_remove("CARGO").env_remove("RUSTUP_TOOLCHAIN");
        Ok(c)
    }
}

/// Build `agent` (and, with `tests`, the workload and the integration test binaries) in
/// release mode. Returns the test executables.
pub fn build(t: Target, tests: bool) -> anyhow::Result<Vec<PathBuf>> {
    let mut c = t.cargo()?;
    c.args([
        "build",
        "--release",
        "--target",
        t.triple(),
        "-p",
        "archscope-agent",
    ]);
    if tests {
        c.args(["-p", "archscope-tests", "--bins"]);
    }
    status(&mut c)?;
    if !tests {
        return Ok(Vec::new());
    }
    let mut c = t.cargo()?;
    c.args([
        "test",
        "--release",
        "--no-run",
        "--target",
        t.triple(),
        "-p",
        "archscope-tests",
    ]);
    c.args(["--tests", "--message-format=json-render-diagnostics"]);
    let out = c
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cargo test --no-run")?;
    if !out.status.success() {
        bail!("building the {} integration tests failed", t.triple());
    }
    // Each compiler-artifact message of a test target names its executable.
    let mut exes = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact"
            && msg["profile"]["test"] == true
            && let Some(exe) = msg["executable"].as_str()
        {
            exes.push(PathBuf::from(exe));
        }
    }
    Ok(exes)
}
