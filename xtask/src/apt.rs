//! apt for the kernel matrix: Debian packages fetched with `apt-get download` from the
//! system's own suite or from another suite of the same archive (bullseye for 5.10),
//! through a sources list and state of the project's own, so the system's lists stay as
//! they are.
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// apt-get and apt-cache on the system's lists, or on lists of another suite of the same
/// archive kept in the cache.
pub struct Apt {
    options: Vec<String>,
}

impl Apt {
    pub fn new(suite: Option<&str>) -> anyhow::Result<Apt> {
        let Some(suite) = suite else {
            return Ok(Apt {
                options: Vec::new(),
            });
        };
        let dir = crate::vm::cache_dir().join(format!("apt-{suite}"));
        for d in ["lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(dir.join(d))?;
        }
        let (uri, signed_by) = main_archive(Path::new("/etc/apt"))?;
        let list = dir.join("sources.list");
        let opts = signed_by.map_or(String::new(), |k| format!("[signed-by={k}] "));
        std::fs::write(&list, format!("deb {opts}{uri} {suite} main\n"))?;
        let d = dir.display();
        let apt = Apt {
            options: vec![
                format!("Dir::Etc::sourcelist={}", list.display()),
                "Dir::Etc::sourceparts=/dev/null".into(),
                format!("Dir::State::Lists={d}/lists"),
                format!("Dir::Cache={d}/cache"),
                "Debug::NoLocking=1".into(),
            ],
        };
        // refreshed once a day
        let stamp = dir.join("updated");
        let fresh = std::fs::metadata(&stamp)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|e| e.as_secs() < 86_400));
        if !fresh {
            crate::status(apt.cmd("apt-get").args(["update", "-q"]))?;
            std::fs::write(&stamp, "")?;
        }
        Ok(apt)
    }

    /// One file of a package, `path` inside it, copied to `dest`: the package is
    /// downloaded next to `dest`, unpacked there and removed again.
    pub fn fetch_file(&self, pkg: &str, path: &str, dest: &Path) -> anyhow::Result<()> {
        self.fetch_files(pkg, &[(path.to_string(), dest.to_path_buf())])
    }

    /// Files of a package (path inside it, destination), from one download next to the
    /// first destination.
    pub fn fetch_files(&self, pkg: &str, files: &[(String, PathBuf)]) -> anyhow::Result<()> {
        let dir = files
            .first()
            .and_then(|(_, dest)| dest.parent())
            .context("the destination's directory")?;
        std::fs::create_dir_all(dir)?;
        crate::status(
            self.cmd("apt-get")
                .args(["download", "-q", pkg])
                .current_dir(dir),
        )?;
        let name = pkg.split(':').next().unwrap_or(pkg);
        let deb = std::fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|f| f.to_string_lossy().starts_with(&format!("{name}_")))
            })
            .context("downloaded package not found")?;
        let x = dir.join("x");
        crate::status(Command::new("dpkg").arg("-x").arg(&deb).arg(&x))?;
        for (path, dest) in files {
            std::fs::create_dir_all(dest.parent().context("the destination's directory")?)?;
            std::fs::copy(x.join(path), dest)
                .with_context(|| format!("{path} of {pkg} to {}", dest.display()))?;
        }
        std::fs::remove_dir_all(&x)?;
        std::fs::remove_file(&deb)?;
        Ok(())
    }

    pub fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        for o in &self.options {
            c.args(["-o", o]);
        }
        c
    }
}

/// The URI (and key) of the system's main Debian archive: the source whose components
/// include `main` and whose suite is the system's own release (not -security or -updates).
fn main_archive(etc: &Path) -> anyhow::Result<(String, Option<String>)> {
    let mut texts = Vec::new();
    if let Ok(t) = std::fs::read_to_string(etc.join("sources.list")) {
        texts.push(t);
    }
    if let Ok(rd) = std::fs::read_dir(etc.join("sources.list.d")) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "sources" || x == "list") {
                texts.push(std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    texts
        .iter()
        .find_map(|t| parse_main_archive(t))
        .context("no Debian main archive in /etc/apt's sources")
}

fn parse_main_archive(text: &str) -> Option<(String, Option<String>)> {
    let release = |suite: &str| !suite.contains('-') && !suite.contains('/');
    // deb822 stanzas
    for stanza in text.split("\n\n") {
        let field = |k: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix(':'))
                .map(|v| v.trim().to_string())
        };
        let (Some(types), Some(uris), Some(suites), Some(comps)) = (
            field("Types"),
            field("URIs"),
            field("Suites"),
            field("Components"),
        ) else {
            continue;
        };
        if types.split_whitespace().any(|t| t == "deb")
            && suites.split_whitespace().any(release)
            && comps.split_whitespace().any(|c| c == "main")
        {
            let uri = uris.split_whitespace().next()?.to_string();
            return Some((uri, field("Signed-By")));
        }
    }
    // one-line format: deb [options] uri suite components...
    for line in text.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("deb ") else {
            continue;
        };
        let (opts, rest) = match rest.trim().strip_prefix('[') {
            Some(r) => r.split_once(']')?,
            None => ("", rest),
        };
        let mut w = rest.split_whitespace();
        let (uri, suite) = (w.next()?, w.next()?);
        if release(suite) && w.any(|c| c == "main") {
            let key = opts
                .split_whitespace()
                .find_map(|o| o.strip_prefix("signed-by="))
                .map(str::to_string);
            return Some((uri.to_string(), key));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_archive_from_both_formats() {
        // this machine's own (Debian 12's deb822 file)
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n\
                      Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
                      Types: deb\nURIs: http://mirror.example/debian-security\n\
                      Suites: bookworm-security\nComponents: main\n";
        assert_eq!(
            parse_main_archive(deb822),
            Some((
                "http://mirror.example/debian".into(),
                Some("/usr/share/keyrings/debian-archive-keyring.gpg".into())
            ))
        );
        let security_first = "deb http://mirror.example/debian-security bookworm-security main\n\
                              deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm main contrib\n";
        assert_eq!(
            parse_main_archive(security_first),
            Some(("http://mirror.example/debian".into(), Some("/k.gpg".into())))
        );
        assert_eq!(
            parse_main_archive("deb http://x/y bookworm contrib\n"),
            None
        );
    }
}
