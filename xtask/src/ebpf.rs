//! The kernel programs' object, built once for a whole `cargo xtask test`: every later
//! build (the host's, the guests' cross builds, fuzzing, the offline bundle) embeds it
//! through agent/build.rs's `PREBUILT_EBPF_OBJECT` instead of building ebpf/probes again,
//! which costs about a minute each time. It is the object the host build would make (the
//! same aya-build call as agent/build.rs), and one object serves every architecture.
use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use aya_build::{Package, Toolchain};

use crate::{root, target_dir};

/// What agent/build.rs reads.
pub const PREBUILT: &str = "PREBUILT_EBPF_OBJECT";

/// Build the object (incrementally: its cargo target dir is kept under target/) and name
/// it in this process's environment, which every stage's command inherits.
pub fn build_shared() -> anyhow::Result<PathBuf> {
    let out = target_dir().join("ebpf-object");
    std::fs::create_dir_all(&out).with_context(|| out.display().to_string())?;
    // aya-build reads what cargo gives a build script; the host's arch is what the host
    // build passes too (the object reads no pt_regs, so the arch changes no byte of it).
    let script_env = [
        ("OUT_DIR", out.clone().into_os_string()),
        ("CARGO_CFG_TARGET_ENDIAN", "little".into()),
        ("CARGO_CFG_TARGET_ARCH", std::env::consts::ARCH.into()),
        // -Z build-std=core for the eBPF build only, as agent/build.rs does
        ("RUSTC_BOOTSTRAP", "1".into()),
    ];
    // SAFETY: xtask is single-threaded here; the variables are removed again below so no
    // stage's command sees them.
    unsafe {
        for (k, v) in &script_env {
            std::env::set_var(k, v);
        }
    }
    let built = aya_build::build_ebpf(
        [Package {
            name: "archscope-probes",
            root_dir: &root().join("ebpf/probes").to_string_lossy(),
            ..Default::default()
        }],
        Toolchain::Custom(crate::setup::EBPF_TOOLCHAIN),
    );
    unsafe {
        for (k, _) in &script_env {
            std::env::remove_var(k);
        }
    }
    built.context("building the eBPF object")?;
    let object = out.join("archscope");
    // SAFETY: as above
    unsafe { std::env::set_var(PREBUILT, &object) };
    Ok(object)
}

/// The object named by [`build_shared`] in this process, if any.
pub fn shared() -> Option<PathBuf> {
    std::env::var_os(PREBUILT).map(PathBuf::from)
}

/// clippy on ebpf/probes for its own target, with the compiler and flags of the eBPF build
/// (aya-build's): the crate's host build is an empty stub, so the host lints never see the
/// programs.
pub fn clippy() -> Command {
    let mut c = Command::new("rustup");
    c.args(["run", crate::setup::EBPF_TOOLCHAIN, "cargo", "clippy"])
        .args(["--package", "archscope-probes", "--bins", "--release"])
        .args(["--target", "bpfel-unknown-none", "-Z", "build-std=core"])
        // apart from the object's, so that linting never invalidates its build
        .arg("--target-dir")
        .arg(target_dir().join("ebpf-clippy"))
        .args(["--", "-D", "warnings"])
        .current_dir(root())
        .env("RUSTC_BOOTSTRAP", "1")
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            [
                &format!("--cfg=bpf_target_arch=\"{}\"", std::env::consts::ARCH),
                "-Cdebuginfo=2",
                "-Clink-arg=--btf",
            ]
            .join("\x1f"),
        );
    // as aya-build does: the stable toolchain's compiler must not stand in for Debian's
    for key in ["RUSTC", "RUSTC_WORKSPACE_WRAPPER"] {
        c.env_remove(key);
    }
    c
}
