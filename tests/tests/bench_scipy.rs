//! scipy still agrees: tests/fixtures/bench/reference.py, run now by the pinned scipy and
//! numpy in the project's venv (`cargo xtask setup`), prints exactly reference.out, the
//! values bench/src/stats_test.rs holds the Rust statistics to (Mann–Whitney p-values,
//! the bootstrap interval of a ratio and of a geometric mean).
use std::process::Command;

use archscope_tests::manifests::venv_bin;

#[test]
fn reference_values_are_scipys() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bench");
    let out = Command::new(venv_bin("python3"))
        .arg(fixtures.join("reference.py"))
        .output()
        .expect("the project venv's python3 (cargo xtask setup)");
    assert!(
        out.status.success(),
        "reference.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let now = String::from_utf8(out.stdout).unwrap();
    let kept = std::fs::read_to_string(fixtures.join("reference.out")).unwrap();
    assert_eq!(
        now, kept,
        "scipy no longer gives the values the Rust tests assert"
    );
}
