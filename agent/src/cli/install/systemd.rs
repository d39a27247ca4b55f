//! `agent install systemd`: the unit file for a bare host, capability-bounded and
//! hardened; `--dry-run` prints it.
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::UsageError;

const TEMPLATE: &str = include_str!("archscope.service");

#[derive(Debug, Clone, clap::Args)]
pub struct SystemdArgs {
    /// Where to write the unit
    #[arg(
        long,
        default_value = "/etc/systemd/system/archscope.service",
        value_name = "FILE"
    )]
    pub path: PathBuf,
    /// The agent binary the unit runs; this binary is copied there if it is not there yet
    #[arg(long, default_value = "/usr/local/bin/agent", value_name = "FILE")]
    pub bin: PathBuf,
    /// Also grant CAP_SYS_ADMIN: kernels before 5.8 have no CAP_BPF/CAP_PERFMON
    #[arg(long)]
    pub privileged: bool,
    /// Print the unit and change nothing
    #[arg(long)]
    pub dry_run: bool,
}

pub fn render(a: &SystemdArgs) -> Result<String, UsageError> {
    let bin = a.bin.to_str().unwrap_or_default();
    if !a.bin.is_absolute() || bin.is_empty() || bin.contains(char::is_whitespace) {
        return Err(UsageError(format!(
            "--bin: `{}` is not an absolute path without spaces",
            a.bin.display()
        )));
    }
    let mut flags = String::new();
    if a.bin != Path::new("/usr/local/bin/agent") {
        flags.push_str(&format!(" --bin {bin}"));
    }
    if a.privileged {
        flags.push_str(" --privileged");
    }
    let (caps, comment) = if a.privileged {
        (
            "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN",
            "\n# and SYS_ADMIN, which kernels before 5.8 ask for instead",
        )
    } else {
        ("CAP_BPF CAP_PERFMON CAP_NET_ADMIN", "")
    };
    Ok(super::render(
        TEMPLATE,
        &[
            ("version", env!("CARGO_PKG_VERSION").to_string()),
            ("flags", flags),
            ("bin", bin.to_string()),
            ("caps", caps.to_string()),
            ("cap_comment", comment.to_string()),
        ],
    ))
}

pub fn install(a: SystemdArgs) -> anyhow::Result<()> {
    let unit = render(&a)?;
    if a.dry_run {
        print!("{unit}");
        return Ok(());
    }
    let me = std::env::current_exe().context("locating this binary")?;
    let same =
        std::fs::canonicalize(&a.bin).is_ok_and(|b| b == me.canonicalize().unwrap_or(me.clone()));
    if !same {
        if let Some(dir) = a.bin.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // a new file, then a rename: a running agent keeps its binary
        let tmp = a.bin.with_extension("new");
        std::fs::copy(&me, &tmp)
            .with_context(|| format!("copying the agent to {}", tmp.display()))?;
        std::fs::rename(&tmp, &a.bin)?;
        eprintln!("installed {}", a.bin.display());
    }
    if let Some(dir) = a.path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&a.path, unit).with_context(|| format!("writing {}", a.path.display()))?;
    eprintln!("wrote {}", a.path.display());
    // systemd as PID 1 is what `sd_booted()` checks: /run/systemd/system exists
    if Path::new("/run/systemd/system").is_dir() {
        let st = std::process::Command::new("systemctl")
            .arg("daemon-reload")
            .status()
            .context("running systemctl daemon-reload")?;
        anyhow::ensure!(st.success(), "systemctl daemon-reload failed ({st})");
        eprintln!("next: systemctl enable --now archscope");
    } else {
        eprintln!("systemd is not running here (PID 1): no daemon-reload");
    }
    Ok(())
}
