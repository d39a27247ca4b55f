//! `cargo xtask dist --offline`: one source bundle from which an air-gapped machine with
//! only rustup stable (and a C toolchain) builds the agent: every crate vendored, the eBPF
//! object prebuilt, protoc from crates.io's `protoc-bin-vendored` for containerd's API.
//! `cargo xtask test-offline` proves it with an empty CARGO_HOME and no network.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

use crate::dist::{copy_tree, dist_dir, ebpf_object, tar_gz, version};
use crate::{cargo, root, status};

/// Where the bundle keeps the object, and the cargo settings that point the build at it.
const OBJECT: &str = "prebuilt/archscope.bpf.o";
const CARGO_CONFIG: &str = r#"
# --- added by `cargo xtask dist --offline` ---
[source.crates-io]
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor"

[net]
offline = true

[env]
# agent/build.rs embeds this object instead of building ebpf/probes (no eBPF toolchain)
PREBUILT_EBPF_OBJECT = { value = "prebuilt/archscope.bpf.o", relative = true }
# containerd-client's build script runs protoc; a PROTOC already set wins
PROTOC = { value = "tools/protoc", relative = true }
"#;

/// protoc for the build host, from the vendored `protoc-bin-vendored-linux-*` crates.
const PROTOC: &str = r#"#!/bin/sh
# protoc from crates.io's protoc-bin-vendored (vendored), for containerd-client's build
here=$(dirname "$0")
case $(uname -m) in
x86_64) a=x86_64 ;;
aarch64) a=aarch_64 ;;
*) echo "no vendored protoc for $(uname -m): install protoc and set PROTOC" >&2; exit 1 ;;
esac
for p in "$here"/../vendor/protoc-bin-vendored-linux-"$a"-*/bin/protoc; do exec "$p" "$@"; done
"#;

const README: &str = "\
archscope offline source bundle

Build (no network, no eBPF toolchain; rustup stable and a C compiler/linker):

    cargo build --offline --frozen --release -p archscope-agent
    ./target/release/agent check

The kernel programs are prebuilt in prebuilt/archscope.bpf.o (one object for every
architecture); every crate is in vendor/; .cargo/config.toml points cargo at both.
";

pub fn bundle() -> anyhow::Result<PathBuf> {
    let object = ebpf_object()?;
    let name = format!("archscope-{}-src", version());
    let dist = dist_dir();
    let stage = dist.join(&name);
    let _ = std::fs::remove_dir_all(&stage);
    std::fs::create_dir_all(&stage)?;
    // the working tree as git sees it: tracked files and new ones not ignored
    let out = Command::new("git")
        .current_dir(root())
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output()
        .context("git ls-files")?;
    for f in out.stdout.split(|b| *b == 0).filter(|f| !f.is_empty()) {
        let f = Path::new(std::str::from_utf8(f)?);
        if root().join(f).is_file() {
            copy_tree(&root().join(f), &stage.join(f))?;
        }
    }
    let started = Instant::now();
    status(
        cargo()
            .args(["vendor", "--locked", "--versioned-dirs", "--quiet"])
            .arg(stage.join("vendor"))
            .stdout(std::process::Stdio::null()),
    )?;
    eprintln!("dist: vendored crates in {:.0?}", started.elapsed());
    copy_tree(&object, &stage.join(OBJECT))?;
    let protoc = stage.join("tools/protoc");
    std::fs::create_dir_all(protoc.parent().unwrap())?;
    std::fs::write(&protoc, PROTOC)?;
    std::fs::set_permissions(&protoc, std::fs::Permissions::from_mode(0o755))?;
    for e in std::fs::read_dir(stage.join("vendor"))? {
        let bin = e?.path().join("bin/protoc");
        if bin.is_file() {
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    let config = stage.join(".cargo/config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap_or_default();
    text.push_str(CARGO_CONFIG);
    std::fs::write(&config, text)?;
    std::fs::write(stage.join("OFFLINE.md"), README)?;
    let archive = tar_gz(&dist, &name)?;
    let size = std::fs::metadata(&archive)?.len();
    eprintln!("dist: {} ({} MiB)", archive.display(), size >> 20);
    Ok(archive)
}

/// Unpack the bundle and build it as an air-gapped site would: empty CARGO_HOME, no
/// network (`unshare -n`), Debian's rustc/cargo, protoc and bpf-linker hidden (bind-mounted over
/// with /bin/false in a private mount namespace), rustup stable only; then smoke-test the
/// binary with `agent --version` and `agent check`.
pub fn test() -> anyhow::Result<()> {
    let archive = bundle()?;
    let work = crate::target_dir().join("offline-test");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(work.join("cargo-home"))?;
    status(
        Command::new("tar")
            .arg("-C")
            .arg(&work)
            .arg("-xzf")
            .arg(&archive),
    )?;
    let src = work.join(format!("archscope-{}-src", version()));
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let hide = [
        "/usr/bin/rustc".to_string(),
        "/usr/bin/cargo".to_string(),
        format!("{home}/.cargo/bin/bpf-linker"),
        // Debian's protoc: the bundle's vendored one must do
        "/usr/bin/protoc".to_string(),
    ];
    let mut script = String::from("set -e\n");
    for h in &hide {
        script.push_str(&format!("[ -e {h} ] && mount --bind /bin/false {h}\n"));
    }
    // the namespace's interfaces: loopback only (and down)
    script.push_str(
        "if tail -n +3 /proc/net/dev | grep -v ' lo:' | grep -q .; then echo 'network up' >&2; exit 1; fi\n",
    );
    script.push_str("exec cargo build --offline --frozen --release -p archscope-agent\n");
    let started = Instant::now();
    let mut build = Command::new("unshare");
    build
        .args(["-m", "-n", "--", "sh", "-c", &script])
        .current_dir(&src)
        .env("CARGO_HOME", work.join("cargo-home"))
        .env("RUSTUP_TOOLCHAIN", "stable")
        .env("PATH", format!("{home}/.cargo/bin:/usr/bin:/bin"))
        // The proof is that every crate and the object are in the bundle, not the
        // optimiser: the site's own command, with the release profile's optimisation
        // turned down so this step costs CI minutes rather than tens of them.
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR")
        // the bundle's own object, not the one `cargo xtask test` built for its stages
        .env_remove(crate::ebpf::PREBUILT)
        .env_remove("PROTOC");
    status(&mut build).context("offline build")?;
    let took = started.elapsed();
    let agent = src.join("target/release/agent");
    let out = Command::new(&agent).arg("--version").output()?;
    let v = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !v.contains(version()) {
        bail!("{} --version: {v}", agent.display());
    }
    let out = Command::new(&agent).arg("check").output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !text.contains("result: the agent can run here") {
        bail!("agent check from the offline build failed:\n{text}");
    }
    println!(
        "test-offline: built {} in {:.0?} with no network and no eBPF toolchain; `agent check` passes",
        v.trim(),
        took
    );
    Ok(())
}
