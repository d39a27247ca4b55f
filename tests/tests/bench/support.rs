//! What the `agent bench` test binaries share: the agent's output, fixtures, scratch
//! directories and one quick host run. (Each binary uses part of it.)
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use serde_json::Value;

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/bench")
        .join(name)
}

pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("archscope-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn agent(args: &[&str]) -> Output {
    archscope_tests::agent_cmd().args(args).output().unwrap()
}

pub fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The benchmarks the host run makes (a subset of the suite, for time).
pub const HOST_BENCH: &str = "syscall.getppid,context_switch.pipe,process.spawn,memory.latency,compute.int,compute.float,hash.sha256,compress.deflate,http.ping";

/// One quick host run per test binary: (results dir, its document).
pub fn host_run() -> &'static (PathBuf, Value) {
    static RUN: OnceLock<(PathBuf, Value)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tmp("host");
        let d = dir.display().to_string();
        let out = agent(&[
            "bench",
            "run",
            "--quick",
            "-n",
            "5",
            "--warmup",
            "1",
            "-b",
            HOST_BENCH,
            "--results-dir",
            &d,
            "--output",
            "json",
        ]);
        let doc: Value = serde_json::from_str(&ok(&out)).unwrap();
        (dir, doc)
    })
}

/// `agent <args>` fails as bad input: exit status 2 and one line that says `want`.
pub fn usage_error(args: &[&str], want: &str) {
    let out = agent(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
}
