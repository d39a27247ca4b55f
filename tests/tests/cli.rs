//! `agent check` on the running kernel, and bad input of every kind: one line, exit 2.

#[test]
fn check_reports_programs_and_exits_zero() {
    let out = archscope_tests::agent_cmd()
        .args(["check", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["can_run"], true);
    assert_eq!(r["arch"], std::env::consts::ARCH);
    assert_eq!(r["syscall_table"], std::env::consts::ARCH);
    assert!(r["syscall_table_entries"].as_u64().unwrap() > 280);
    let progs = r["programs"].as_array().unwrap();
    let names: Vec<&str> = progs.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for want in [
        "archscope_sys_enter",
        "archscope_sys_exit",
        "archscope_sys_thread_exit",
        "archscope_tcp_state",
        "archscope_tcp_retransmit",
        "archscope_skb_egress",
        "archscope_skb_ingress",
    ] {
        let p = progs.iter().find(|p| p["name"] == want);
        let p = p.unwrap_or_else(|| panic!("{want} missing from {names:?}"));
        // the same object on 6.18 x86_64 and 6.1 arm64: every hook is there on both
        assert_eq!(p["attached"], true, "{p}");
    }
    let text = archscope_tests::agent_cmd().arg("check").output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains(
            "archscope_sys_enter [syscalls] raw_tracepoint/sys_enter: loaded and attached"
        ),
        "{text}"
    );
    assert!(text.contains("result: the agent can run here"), "{text}");
}

#[test]
fn check_names_the_program_that_keeps_the_agent_from_running() {
    // A required syscall program the verifier rejects: exit 1, and the verdict names that
    // program and the verifier's words, not an unrelated gap such as a missing PMU.
    let out = archscope_tests::agent_cmd()
        .args(["check", "--inject-verifier-reject", "sys_exit"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}{err}");
    assert!(
        text.contains("result: the agent cannot trace syscalls here"),
        "{text}"
    );
    let verdict = err
        .lines()
        .find(|l| l.contains("cannot run here"))
        .unwrap_or("");
    assert!(
        verdict.contains("archscope_sys_exit: verifier rejected it")
            && verdict.contains("invalid mem access"),
        "{err}"
    );
    assert!(
        !verdict.contains("PMU") && !verdict.contains("counters"),
        "{err}"
    );
    assert!(!verdict.contains("archscope_sys_enter"), "{err}");
}

#[test]
fn check_passes_without_tracefs() {
    // The syscall programs are raw tracepoints: they need no tracefs. The tracepoint
    // programs (tcp) are off with the reason, and the agent can run.
    let empty =
        std::env::temp_dir().join(format!("archscope-empty-tracefs-{}", std::process::id()));
    std::fs::create_dir_all(empty.join("events")).unwrap();
    let out = archscope_tests::agent_cmd()
        .args(["check", "--tracefs"])
        .arg(&empty)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains(
            "archscope_sys_enter [syscalls] raw_tracepoint/sys_enter: loaded and attached"
        ),
        "{text}"
    );
    assert!(
        text.contains("tracepoint sock:inet_sock_set_state not found"),
        "{text}"
    );
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let dir = std::env::temp_dir().join(format!("archscope-badcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let unknown_key = file("unknown.toml", "listen = \"127.0.0.1:1\"\nmax_seris = 3\n");
    let bad_type = file("type.toml", "max_series_per_metric = \"lots\"\n");
    let bad_syntax = file("syntax.toml", "listen = [\n");
    let bad_addr = file("addr.toml", "listen = \"localhost\"\n");
    let bad_mode = file("mode.toml", "syscalls = \"some\"\n");
    // (arguments, environment, what the one line must say)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (vec!["run", "--bogus"], vec![], "--bogus"),
        (vec!["run", "--listen", "nowhere"], vec![], "listen:"),
        (
            vec!["run", "--syscalls", "latency"],
            vec![],
            "syscalls: `latency` is not one of full, counts, off",
        ),
        (
            vec!["run"],
            vec![("ARCHSCOPE_SYSCALLS", "all")],
            "syscalls: `all` is not one of full, counts, off",
        ),
        (
            vec!["run", "--config", &bad_mode],
            vec![],
            "syscalls: `some` is not one of full, counts, off",
        ),
        (
            vec!["run", "--max-series-per-metric=-1"],
            vec![],
            "max_series_per_metric",
        ),
        (
            vec!["run", "--container-grace-period", "forever"],
            vec![],
            "container_grace_period:",
        ),
        (
            vec!["run", "--syscall-map-entries", "3"],
            vec![],
            "syscall_map_entries: 3 is outside",
        ),
        (vec!["run"], vec![("ARCHSCOPE_LISTEN", "::::")], "listen:"),
        (
            vec!["run"],
            vec![("ARCHSCOPE_LISTN", "1")],
            "ARCHSCOPE_LISTN is not an archscope setting",
        ),
        (vec!["run"], vec![("ARCHSCOPE_LOG", "[[")], "log:"),
        (
            vec!["run", "--config", "/nonexistent.toml"],
            vec![],
            "config file /nonexistent.toml",
        ),
        (
            vec!["run", "--config", &unknown_key],
            vec![],
            "line 2: unknown field `max_seris`",
        ),
        (
            vec!["run", "--config", &bad_type],
            vec![],
            "line 1: invalid type",
        ),
        (vec!["run", "--config", &bad_syntax], vec![], "line 1"),
        (vec!["run", "--config", &bad_addr], vec![], "listen:"),
        (vec!["check", "--output", "yaml"], vec![], "yaml"),
        (vec!["frobnicate"], vec![], "frobnicate"),
        (
            vec!["install", "kubernetes", "--namespace", "Prod"],
            vec![],
            "--namespace: `Prod`",
        ),
        (
            vec!["install", "kubernetes", "--memory-request", "2Gi"],
            vec![],
            "--memory-request: `2Gi` exceeds --memory-limit",
        ),
        (
            vec!["install", "kubernetes", "--cpu-limit", "lots"],
            vec![],
            "--cpu-limit: `lots`",
        ),
        (
            vec!["install", "kubernetes", "--arch", "amd64,riscv64"],
            vec![],
            "--arch: `riscv64`",
        ),
        (
            vec!["install", "kubernetes", "--image", "Registry/Agent:1"],
            vec![],
            "--image:",
        ),
        (
            vec!["install", "kubernetes", "--tag", "a b"],
            vec![],
            "--tag: `a b`",
        ),
        (
            vec!["install", "kubernetes", "--containerd-socket", "run/c.sock"],
            vec![],
            "--containerd-socket:",
        ),
        (
            vec!["install", "kubernetes", "--port", "70000"],
            vec![],
            "--port",
        ),
        (vec!["install", "helm"], vec![], "helm"),
        (
            vec!["install", "systemd", "--dry-run", "--bin", "agent"],
            vec![],
            "--bin: `agent`",
        ),
    ];
    for (args, env, want) in cases {
        let out = archscope_tests::agent_cmd()
            .args(&args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?} {env:?}: not one line: {err}"
        );
        assert!(
            err.contains(want),
            "{args:?} {env:?}: {err:?} lacks {want:?}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn bad_otlp_settings_exit_2_naming_the_field() {
    // flags, environment, what the one line says
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            &["--otlp-endpoint", "collector:4318"],
            &[],
            "otlp_endpoint: `collector:4318` is not an endpoint URL",
        ),
        (
            &[
                "--otlp-endpoint",
                "http://a:4318",
                "--otlp-headers",
                "authorization",
            ],
            &[],
            "otlp_headers: `authorization` is not key=value",
        ),
        (
            &[],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ],
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        (
            &[],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "5s"),
            ],
            "OTEL_EXPORTER_OTLP_TIMEOUT: `5s` is not a whole number of milliseconds",
        ),
        (
            &[],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://a:4318"),
                ("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
            ],
            "OTEL_RESOURCE_ATTRIBUTES",
        ),
    ];
    for (args, env, want) in cases {
        let out = archscope_tests::agent_cmd()
            .args(["run", "--listen", "127.0.0.1:0"])
            .args(*args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("agent: ") && err.contains(want), "{err}");
    }
}
