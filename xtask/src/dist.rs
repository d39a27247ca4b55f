//! `cargo xtask dist`: release archives per architecture, the build context of the
//! multi-arch image, and (`--offline`) a source bundle that builds without network or an
//! eBPF toolchain.
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::cross::{self, Target};
use crate::{cargo, root, status, target_dir};

pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

pub fn dist_dir() -> PathBuf {
    target_dir().join("dist")
}

/// What goes beside the binary in every archive (paths from the workspace root).
const SHIPPED: &[&str] = &["README.md", "docs", "dashboards", "deploy"];

/// Build `targets` in release mode and pack `archscope-<version>-<arch>.tar.gz` for each,
/// with the image build context under `dist/image/<GOARCH>/agent`; SHA256SUMS over all.
pub fn archives(targets: &[Target]) -> anyhow::Result<Vec<PathBuf>> {
    let dist = dist_dir();
    std::fs::create_dir_all(&dist)?;
    let mut made = Vec::new();
    for &t in targets {
        let built = cross::build(t)?;
        let agent = built
            .bins
            .iter()
            .find(|b| b.file_name().is_some_and(|n| n == "agent"))
            .context("the build named no agent binary")?;
        let name = format!("archscope-{}-{}", version(), t.uname());
        let stage = dist.join(&name);
        let _ = std::fs::remove_dir_all(&stage);
        std::fs::create_dir_all(&stage)?;
        std::fs::copy(agent, stage.join("agent"))?;
        for p in SHIPPED.iter().chain(licenses().iter()) {
            copy_tree(&root().join(p), &stage.join(p))?;
        }
        sha256sums(&stage)?;
        let image = dist.join("image").join(t.goarch());
        std::fs::create_dir_all(&image)?;
        std::fs::copy(agent, image.join("agent"))?;
        let archive = tar_gz(&dist, &name)?;
        eprintln!("dist: {}", archive.display());
        made.push(archive);
    }
    std::fs::copy(
        root().join("deploy/Dockerfile"),
        dist.join("image/Dockerfile"),
    )?;
    sha256sums(&dist)?;
    Ok(made)
}

/// LICENSE files, if the project has any.
fn licenses() -> Vec<&'static str> {
    ["LICENSE", "LICENSE-MIT", "LICENSE-APACHE"]
        .into_iter()
        .filter(|p| root().join(p).exists())
        .collect()
}

/// `SHA256SUMS` over the regular files directly in `dir` (archives) or, for a staged
/// archive, over every file below it.
fn sha256sums(dir: &Path) -> anyhow::Result<()> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    files.retain(|f| f != "SHA256SUMS");
    if dir == dist_dir() {
        files.retain(|f| f.ends_with(".tar.gz"));
    }
    files.sort();
    let out = Command::new("sha256sum")
        .current_dir(dir)
        .args(&files)
        .output()
        .context("running sha256sum")?;
    if !out.status.success() {
        bail!("sha256sum failed in {}", dir.display());
    }
    std::fs::write(dir.join("SHA256SUMS"), out.stdout)?;
    Ok(())
}

fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let p = e.path();
        if e.file_type()?.is_dir() {
            if base == dist_dir() {
                continue; // staged trees and the image context: not archives
            }
            walk(base, &p, out)?;
        } else {
            out.push(p.strip_prefix(base)?.display().to_string());
        }
    }
    Ok(())
}

/// `dir/name` packed as `dir/name.tar.gz`, owned by root whoever builds it.
pub fn tar_gz(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let archive = dir.join(format!("{name}.tar.gz"));
    status(
        Command::new("tar")
            .arg("-C")
            .arg(dir)
            .args(["--owner=0", "--group=0", "-czf"])
            .arg(&archive)
            .arg(name),
    )?;
    Ok(archive)
}

/// Copy a file or a directory tree.
pub fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for e in std::fs::read_dir(from)? {
            let e = e?;
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
    } else {
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p)?;
        }
        std::fs::copy(from, to).with_context(|| format!("copying {}", from.display()))?;
    }
    Ok(())
}

/// The eBPF object the host build embedded (the same object serves every architecture).
pub fn ebpf_object() -> anyhow::Result<PathBuf> {
    if let Some(object) = crate::ebpf::shared() {
        return Ok(object);
    }
    status(cargo().args(["build", "-p", "archscope-agent"]))?;
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    let build = target_dir().join("debug/build");
    for e in std::fs::read_dir(&build)? {
        let p = e?.path().join("out/archscope");
        let is_agent = p
            .parent()
            .and_then(Path::parent)
            .and_then(Path::file_name)
            .is_some_and(|n| n.to_string_lossy().starts_with("archscope-agent-"));
        if is_agent && let Ok(m) = std::fs::metadata(&p) {
            found.push((m.modified()?, p));
        }
    }
    found.sort();
    found
        .pop()
        .map(|(_, p)| p)
        .with_context(|| format!("no eBPF object under {}", build.display()))
}
