//! `agent bench compare … --workload`: bad flags are one-line usage errors (exit 2), and
//! a Prometheus that does not answer is an error that names it.
use archscope_tests::agent_cmd;

/// `agent bench compare … --workload` fails as bad input: exit 2, one line naming `want`.
fn usage_error(args: &[&str], want: &str) {
    let out = agent_cmd()
        .args(["bench", "compare"])
        .args(args)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
}

#[test]
fn bad_workload_flags_are_usage_errors() {
    let p = ["--prometheus", "http://127.0.0.1:1"];
    // (A, B, --workload, further flags): each must name what is wrong
    let cases: &[(&str, &str, &str, &[&str], &str)] = &[
        ("amd64", "arm64", "checkout", &p, "--workload"),
        ("amd64", "arm64", "Shop/x", &p, "--workload"),
        ("amd64", "amd64", "shop/x", &p, "both amd64"),
        (
            "amd64",
            "riscv",
            "shop/x",
            &p,
            "`riscv` is not an architecture",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &[p[0], p[1], "--window", "1s"],
            "--window",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &[p[0], p[1], "--step", "500ms"],
            "--step: 500ms is below 1s",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &[p[0], p[1], "--window", "10s", "--step", "6s"],
            "--window",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &["--agent", "http://x", "--rate-query", "up"],
            "--rate-query needs --prometheus",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &["--prometheus", "ftp://x"],
            "--prometheus",
        ),
        ("amd64", "arm64", "shop/x", &["--no-kubernetes"], "--agent"),
        (
            "amd64",
            "arm64",
            "shop/x",
            &["--agent", "x:9435"],
            "--agent: `x:9435`",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &[p[0], p[1], "--agent", "http://x"],
            "not both",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &[p[0], p[1], "--end", "nan"],
            "--end",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &["--agent", "http://x", "--end", "0"],
            "--end needs --prometheus",
        ),
        (
            "amd64",
            "arm64",
            "shop/x",
            &[p[0], p[1], "--end", "yesterday"],
            "--end",
        ),
    ];
    for (a, b, w, extra, want) in cases {
        usage_error(&[&[*a, *b, "--workload", *w], *extra].concat(), want);
    }
    usage_error(
        &["amd64", "arm64", "--step", "5m"],
        "--step needs --workload",
    );
}

#[test]
fn an_unreachable_prometheus_is_an_error_that_names_it() {
    let out = agent_cmd()
        .args([
            "bench",
            "compare",
            "amd64",
            "arm64",
            "--workload",
            "shop/x",
            "--prometheus",
            "http://127.0.0.1:1",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("http://127.0.0.1:1: unreachable"), "{err}");
}
