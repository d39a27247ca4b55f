//! `cargo xtask fuzz`: the parsers of text the agent reads from hosts and users, each under
//! libFuzzer (cargo-fuzz) from the committed seed corpora of real samples.
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::{cargo, root, status, target_dir};

const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// One per parser; each has `tests/fuzz/fuzz_targets/<name>.rs` and `tests/fuzz/seeds/<name>/`.
pub const TARGETS: &[&str] = &[
    "cgroup_path",
    "cpuinfo",
    "sysfs_values",
    "tracefs_format",
    "config_file",
];

pub fn run(seconds: u64, dev: bool, only: &[String]) -> anyhow::Result<()> {
    let targets: Vec<&str> = if only.is_empty() {
        TARGETS.to_vec()
    } else {
        only.iter()
            .map(|t| match TARGETS.iter().find(|k| **k == t) {
                Some(k) => Ok(*k),
                None => bail!("fuzz: no target `{t}` (targets: {})", TARGETS.join(", ")),
            })
            .collect::<anyhow::Result<_>>()?
    };
    install()?;
    let started = std::time::Instant::now();
    status(&mut fuzz_cmd("build", dev))?;
    eprintln!("fuzz: built in {:.0?}", started.elapsed());
    for t in targets {
        let corpus = target_dir().join("fuzz/corpus").join(t);
        std::fs::create_dir_all(&corpus).with_context(|| corpus.display().to_string())?;
        let seeds = root().join("tests/fuzz/seeds").join(t);
        eprintln!("fuzz: {t} for {seconds} s (seeds {})", seeds.display());
        let st = fuzz_cmd("run", dev)
            .arg(t)
            .arg(&corpus)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-rss_limit_mb=2048")
            .arg("-print_final_stats=1")
            .status()
            .context("running cargo fuzz")?;
        if !st.success() {
            bail!(
                "fuzz: {t} failed ({st}); the input is in {}",
                root().join("tests/fuzz/artifacts").join(t).display()
            );
        }
    }
    Ok(())
}

/// `cargo fuzz` on the stable toolchain: RUSTC_BOOTSTRAP lets it pass the `-Z` flags it
/// needs, and `-s none` skips AddressSanitizer (safe Rust; libFuzzer still finds panics,
/// overflows with debug assertions, and runaway memory).
fn fuzz_cmd(sub: &str, dev: bool) -> Command {
    let mut c = cargo();
    c.args(["fuzz", sub, "-s", "none", "--fuzz-dir", "tests/fuzz"])
        .arg("--target-dir")
        .arg(target_dir().join("fuzz"))
        .env("RUSTC_BOOTSTRAP", "1");
    if dev {
        c.arg("--dev");
    } else {
        c.arg("--debug-assertions");
    }
    c
}

fn install() -> anyhow::Result<()> {
    let have = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains(CARGO_FUZZ_VERSION));
    if !have {
        eprintln!("fuzz: installing cargo-fuzz {CARGO_FUZZ_VERSION} (about a minute)");
        status(
            Command::new("cargo")
                .args([
                    "install",
                    "cargo-fuzz",
                    "--locked",
                    "--version",
                    CARGO_FUZZ_VERSION,
                ])
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("CARGO"),
        )?;
    }
    for t in TARGETS {
        let seeds = root().join("tests/fuzz/seeds").join(t);
        if !Path::new(&seeds).is_dir() {
            bail!("fuzz: seed corpus {} missing", seeds.display());
        }
    }
    Ok(())
}
