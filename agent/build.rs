//! Builds the kernel programs (ebpf/probes) for bpfel with Debian's rustc (rustup toolchain
//! `ebpf-1.96`, see `cargo xtask setup`) and leaves the object in OUT_DIR for embedding.
//!
//! An offline source bundle (`cargo xtask dist --offline`) carries the object prebuilt and
//! names it in `PREBUILT_EBPF_OBJECT` (its `.cargo/config.toml`): then it is copied as is and
//! no eBPF toolchain is needed.
use std::path::PathBuf;

use anyhow::Context;
use aya_build::{Package, Toolchain};

/// Set by the offline bundle's cargo config; not an `ARCHSCOPE_*` variable because cargo
/// passes `[env]` on to `cargo run` and tests, where the agent refuses unknown ones.
const PREBUILT: &str = "PREBUILT_EBPF_OBJECT";

fn main() -> anyhow::Result<()> {
    println!("cargo:rerun-if-env-changed={PREBUILT}");
    if let Some(object) = std::env::var_os(PREBUILT) {
        let object = PathBuf::from(object);
        println!("cargo:rerun-if-changed={}", object.display());
        let out = PathBuf::from(std::env::var_os("OUT_DIR").context("OUT_DIR")?);
        std::fs::copy(&object, out.join("archscope"))
            .with_context(|| format!("{PREBUILT}={}", object.display()))?;
        return Ok(());
    }
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../ebpf/probes");
    // -Z build-std=core needs RUSTC_BOOTSTRAP; set here it reaches only the eBPF build,
    // the agent itself stays on stable.
    // SAFETY: build scripts are single-threaded at this point.
    unsafe { std::env::set_var("RUSTC_BOOTSTRAP", "1") };
    aya_build::build_ebpf(
        [Package {
            name: "archscope-probes",
            root_dir: root,
            ..Default::default()
        }],
        Toolchain::Custom("ebpf-1.96"),
    )
}
