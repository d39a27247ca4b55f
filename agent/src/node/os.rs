//! The operating system and kernel of the host root.
use std::path::{Path, PathBuf};

use super::cpuset::read_trimmed;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct OsRelease {
    /// `PRETTY_NAME`, else `NAME VERSION`.
    pub name: String,
    /// `ID`.
    pub id: String,
}

/// `etc/os-release`, else `usr/lib/os-release` (the file /etc/os-release points at).
pub fn os_release(root: &Path) -> OsRelease {
    let text = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| std::fs::read(under_root(root, p)).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    parse(&text)
}

/// `p` under `root`, following a symlink with an absolute target as the host would: under
/// /host, `etc/os-release -> /usr/lib/os-release` must not read the agent image's own file.
fn under_root(root: &Path, p: &str) -> PathBuf {
    let path = root.join(p);
    match std::fs::read_link(&path) {
        Ok(target) if target.is_absolute() => {
            root.join(target.strip_prefix("/").unwrap_or(&target))
        }
        _ => path,
    }
}

/// Kernel release from `proc/sys/kernel/osrelease`; empty when absent.
pub fn kernel(root: &Path) -> String {
    read_trimmed(&root.join("proc/sys/kernel/osrelease")).unwrap_or_default()
}

fn parse(text: &str) -> OsRelease {
    let get = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.trim().split_once('=')?;
            (k.trim() == key).then(|| unquote(v.trim()))
        })
    };
    let name = get("PRETTY_NAME")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            let parts = [get("NAME"), get("VERSION")];
            let parts: Vec<String> = parts
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect();
            parts.join(" ")
        });
    OsRelease {
        name,
        id: get("ID").unwrap_or_default(),
    }
}

/// Shell-style quoting as os-release(5) allows: `"..."` with backslash escapes, or `'...'`.
fn unquote(v: &str) -> String {
    if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return inner.to_string();
    }
    let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return v.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_name_then_name_version() {
        let deb = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\n\
                   VERSION=\"12 (bookworm)\"\nID=debian\n";
        assert_eq!(
            parse(deb),
            OsRelease {
                name: "Debian GNU/Linux 12 (bookworm)".into(),
                id: "debian".into()
            }
        );
        let bare = "NAME='Anolis OS'\nVERSION=\"8.8\"\nID=\"anolis\"\n";
        assert_eq!(parse(bare).name, "Anolis OS 8.8");
        assert_eq!(parse(bare).id, "anolis");
        assert_eq!(parse("NAME=\"a \\\"b\\\"\"\n").name, "a \"b\"");
        assert_eq!(parse(""), OsRelease::default());
    }
}
