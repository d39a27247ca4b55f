//! Builds the kernel programs (ebpf/probes) for bpfel with Debian's rustc (rustup toolchain
//! `ebpf-1.96`, see `cargo xtask setup`) and leaves the object in OUT_DIR for embedding.
use aya_build::{Package, Toolchain};

fn main() -> anyhow::Result<()> {
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
