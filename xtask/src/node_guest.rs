//! `cargo xtask vm-compare`: one workload in a pod on the host and in the arm64 guest
//! (Debian 12's 6.1 booted as a networked Kubernetes-like node, tests/src/node.rs), both
//! read by a real Prometheus: the `#[ignore]`d tests/tests/workload_compare/, given the
//! guest's kernel and initramfs. `cargo xtask test` runs it after the guests, on the arm64
//! build it has already made.
use anyhow::Context;

use crate::cross::Target;
use crate::vm::Prepared;
use crate::{cargo, status, target_dir};

/// The kernel of node mode: the one whose NIC modules the arm64 initramfs carries.
const KERNEL: &str = "6.1";

/// What the test reads (tests/src/node.rs's KERNEL_VAR and INITRD_VAR).
const KERNEL_VAR: &str = "XTASK_ARM64_KERNEL";
const INITRD_VAR: &str = "XTASK_ARM64_INITRD";

/// The host stages' package selection: the same features, so nothing compiles twice.
const WORKSPACE: &[&str] = &["--workspace", "--exclude", "archscope-probes"];

/// `cargo xtask vm-compare`: the arm64 guest's build and initramfs, the host's debug
/// agent, then the test.
pub fn run() -> anyhow::Result<()> {
    // one eBPF object for the cross build and the host's
    crate::ebpf::build_shared()?;
    let p = crate::vm::prepare(Target::Aarch64, Some(KERNEL))?;
    status(
        cargo()
            .arg("build")
            .args(WORKSPACE)
            .args(["--bin", "agent"]),
    )?;
    compare(&p)
}

/// Run tests/tests/workload_compare/ against the prepared arm64 guest; the host's
/// debug agent must be built.
pub fn compare(p: &Prepared) -> anyhow::Result<()> {
    let (kernel, initrd) = p
        .node_guest()
        .with_context(|| format!("the arm64 build has no kernel {KERNEL} with its modules"))?;
    eprintln!(
        "vm-compare: arm64 guest {} with {}",
        kernel.display(),
        initrd.display()
    );
    status(
        cargo()
            .arg("test")
            .args(WORKSPACE)
            .args(["--test", "workload_compare", "--"])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .env(KERNEL_VAR, kernel)
            .env(INITRD_VAR, initrd)
            .env("XTASK_AGENT_BIN", target_dir().join("debug/agent")),
    )
}
