//! The kernel support table (docs/kernel-support.md) is what the matrix guests report: each
//! boot prints `agent check --output json`, and the stage fails when the table's row for
//! that kernel says otherwise. `XTASK_BLESS=1` writes the observed row instead.
use anyhow::{Context, bail};

use crate::kernels::Kernel;

const DOC: &str = "docs/kernel-support.md";
const BEGIN: &str = "=== check-json begin";
const END: &str = "=== check-json end";

/// The table row for this kernel from the guest's console.
pub fn observed_row(k: &Kernel, console: &str) -> anyhow::Result<String> {
    let json = crate::qemu::console_block(console, BEGIN, END)
        .context("the guest printed no `agent check` report")?;
    let report: serde_json::Value =
        serde_json::from_str(&json).context("the guest's `agent check` report")?;
    // not the exact package version: the suites' kernels move on
    let mut cells = vec![
        k.arch.goarch().to_string(),
        k.name.to_string(),
        k.stands_for.to_string(),
    ];
    // the table's columns are the features in the agent's order (`Feature::ALL`)
    let features = report["features"]
        .as_array()
        .context("no features in the report")?;
    for r in features {
        cells.push(if r["up"] == true {
            "up".to_string()
        } else {
            format!("off: {}", r["reason"].as_str().unwrap_or("?"))
        });
    }
    Ok(format!(
        "| {} |",
        cells
            .iter()
            .map(|c| c.replace('|', "\\|"))
            .collect::<Vec<_>>()
            .join(" | ")
    ))
}

/// Compare the observed row with the table's (or write it under XTASK_BLESS=1).
pub fn check(k: &Kernel, row: &str) -> anyhow::Result<()> {
    let path = crate::root().join(DOC);
    let doc = std::fs::read_to_string(&path).with_context(|| format!("reading {DOC}"))?;
    let prefix = format!("| {} | {} |", k.arch.goarch(), k.name);
    let have = doc.lines().find(|l| l.starts_with(&prefix));
    if have == Some(row) {
        return Ok(());
    }
    if std::env::var_os("XTASK_BLESS").is_some() {
        let new = match have {
            Some(old) => doc.replacen(old, row, 1),
            None => bail!("{DOC} has no row starting `{prefix}` to replace"),
        };
        std::fs::write(&path, new)?;
        eprintln!(
            "vm-test: {DOC}: row for {} {} written",
            k.arch.goarch(),
            k.name
        );
        return Ok(());
    }
    bail!(
        "{DOC} says\n  {}\nbut the guest reports\n  {row}\n(XTASK_BLESS=1 writes what the guest reports)",
        have.unwrap_or("(no row)")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_from_a_guest_report() {
        let k = &crate::kernels::MATRIX[2];
        let console = "boot...\r\n=== check-json begin\n{\"kernel\":\"5.10.0-32-arm64\",\"features\":[\
            {\"name\":\"syscalls\",\"up\":true,\"reason\":null},\
            {\"name\":\"tcp\",\"up\":false,\"reason\":\"BTF struct x | y\"},\
            {\"name\":\"traffic\",\"up\":true,\"reason\":null},\
            {\"name\":\"pmu\",\"up\":true,\"reason\":null},\
            {\"name\":\"cgroup_paths\",\"up\":true,\"reason\":null}]}\n=== check-json end\n";
        assert_eq!(
            observed_row(k, console).unwrap(),
            format!(
                "| arm64 | 5.10 | {} | up | off: BTF struct x \\| y | up | up | up |",
                k.stands_for
            )
        );
        assert!(observed_row(k, "no report").is_err());
    }
}
