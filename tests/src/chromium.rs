//! Debian's Chromium, headless, on a local HTML file: the reports are checked as a browser
//! renders them.
use std::path::Path;
use std::process::{Command, Output};

/// `chromium --headless … <extra> file://<html>`, with its own profile in `profile`.
pub fn headless(html: &Path, profile: &Path, extra: &[&str]) -> Output {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .expect("chromium is not installed (cargo xtask setup installs Debian's chromium)");
    // a Chromium that hangs must not hang the test run
    Command::new("timeout")
        .args(["120", chromium])
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap()
}

/// The DOM after the page's scripts ran; panics when Chromium fails or logs a script error.
pub fn dump_dom(html: &Path, profile: &Path) -> String {
    let out = headless(html, profile, &["--dump-dom"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    for bad in ["Uncaught", "SyntaxError", "TypeError", "ReferenceError"] {
        assert!(
            !log.contains(bad),
            "script error in {}: {log}",
            html.display()
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}
