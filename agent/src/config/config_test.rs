use super::*;

fn ov() -> Overrides {
    Overrides::default()
}

#[test]
fn defaults() {
    let c = Config::resolve(&ov(), None).unwrap();
    assert_eq!(c, Config::default());
    assert_eq!(c.listen.port(), 9435);
}

#[test]
fn flag_beats_file_beats_default() {
    let dir = std::env::temp_dir().join(format!("archscope-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("a.toml");
    std::fs::write(
        &p,
        "listen = \"127.0.0.1:1000\"\nmax_series_per_metric = 50\ncontainer_grace_period = \"5s\"\n",
    )
    .unwrap();
    let c = Config::resolve(&ov(), Some(&p)).unwrap();
    assert_eq!(c.listen.port(), 1000);
    assert_eq!(c.max_series_per_metric, 50);
    assert_eq!(c.container_grace_period, Duration::from_secs(5));
    let o = Overrides {
        listen: Some("127.0.0.1:2000".into()),
        ..ov()
    };
    let c = Config::resolve(&o, Some(&p)).unwrap();
    assert_eq!(c.listen.port(), 2000);
    assert_eq!(c.max_series_per_metric, 50);
}

#[test]
fn bad_values_name_the_field() {
    let cases: &[(Overrides, &str)] = &[
        (
            Overrides {
                listen: Some("9435".into()),
                ..ov()
            },
            "listen:",
        ),
        (
            Overrides {
                max_series_per_metric: Some("ten".into()),
                ..ov()
            },
            "max_series_per_metric:",
        ),
        (
            Overrides {
                max_series_per_metric: Some("0".into()),
                ..ov()
            },
            "max_series_per_metric: 0 is outside",
        ),
        (
            Overrides {
                syscall_map_entries: Some("99999999999".into()),
                ..ov()
            },
            "syscall_map_entries:",
        ),
        (
            Overrides {
                pmu_map_entries: Some("3".into()),
                ..ov()
            },
            "pmu_map_entries: 3 is outside",
        ),
        (
            Overrides {
                container_grace_period: Some("soon".into()),
                ..ov()
            },
            "container_grace_period:",
        ),
        (
            Overrides {
                log: Some("[[[".into()),
                ..ov()
            },
            "log:",
        ),
        (
            Overrides {
                cgroup_mode: Some("v3".into()),
                ..ov()
            },
            "cgroup_mode: `v3` is not one of",
        ),
        (
            Overrides {
                cgroup_v1_controller: Some("net_cls".into()),
                ..ov()
            },
            "cgroup_v1_controller:",
        ),
        (
            Overrides {
                kubernetes: Some("yes".into()),
                ..ov()
            },
            "kubernetes:",
        ),
        (
            Overrides {
                kubernetes_pod_labels: Some("app,bad key".into()),
                ..ov()
            },
            "kubernetes_pod_labels: `bad key`",
        ),
        (
            Overrides {
                inject_verifier_reject: Some("tcp_retransmit,kprobe_x".into()),
                ..ov()
            },
            "inject_verifier_reject: `kprobe_x` is not one of archscope_sys_enter,",
        ),
        (
            Overrides {
                features_off: Some("tcp,sched".into()),
                ..ov()
            },
            "features_off: `sched` is not one of syscalls, tcp, traffic, pmu, cgroup_paths, scheduler",
        ),
        (
            Overrides {
                memory_limit: Some("lots".into()),
                ..ov()
            },
            "memory_limit: `lots` is not auto, off or a size",
        ),
        (
            Overrides {
                memory_limit: Some("1MiB".into()),
                ..ov()
            },
            "memory_limit: `1MiB` is under the 16MiB minimum",
        ),
    ];
    for (o, want) in cases {
        let e = Config::resolve(o, None).unwrap_err().to_string();
        assert!(e.starts_with(want), "{e:?} should start with {want:?}");
        assert!(!e.contains('\n'), "multi-line error: {e:?}");
    }
}

#[test]
fn file_errors_are_one_line_with_position() {
    let cases = [
        ("listne = \"x\"\n", "line 1: unknown field `listne`"),
        (
            "listen = \"a\"\nmax_series_per_metric = \"many\"\n",
            "line 2: invalid type",
        ),
        ("listen = \n", "line 1:"),
        ("[maps]\nsize = 3\n", "line 1: unknown field `maps`"),
        (
            "listen = \"a\"\n\nlog_level = 1\n",
            "line 3: unknown field `log_level`",
        ),
    ];
    for (text, want) in cases {
        let e = FileConfig::parse(text).unwrap_err();
        assert!(e.starts_with(want), "{e:?} should start with {want:?}");
        assert!(!e.contains('\n'));
    }
}

#[test]
fn otlp_keys_in_the_file_and_flags_over_them() {
    let dir = std::env::temp_dir().join(format!("archscope-cfg-otlp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("otlp.toml");
    std::fs::write(
        &p,
        "otlp_endpoint = \"http://collector:4318\"\notlp_interval = \"15s\"\notlp_queue_points = 500\n",
    )
    .unwrap();
    let c = Config::resolve(&ov(), Some(&p)).unwrap();
    let otlp = c.otlp.unwrap();
    assert_eq!(otlp.url.as_str(), "http://collector:4318/v1/metrics");
    assert_eq!(otlp.interval, Duration::from_secs(15));
    assert_eq!(otlp.queue_points, 500);
    let mut o = ov();
    o.otlp.otlp_protocol = Some("grpc".into());
    o.otlp.otlp_endpoint = Some("http://flag:4317".into());
    let otlp = Config::resolve(&o, Some(&p)).unwrap().otlp.unwrap();
    assert_eq!(otlp.url.as_str(), "http://flag:4317/");
    let e = FileConfig::parse("otlp_endpont = \"http://a\"\n").unwrap_err();
    assert!(e.starts_with("line 1: unknown field `otlp_endpont`"), "{e}");
    o.otlp.otlp_endpoint = Some("flag:4317".into());
    let e = Config::resolve(&o, None).unwrap_err().to_string();
    assert!(
        e.starts_with("otlp_endpoint: `flag:4317` is not an endpoint URL"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn memory_limit_as_kubernetes_and_sysfs_write_sizes() {
    use crate::config::MemoryLimit;
    assert_eq!(Config::default().memory_limit, MemoryLimit::Auto);
    for (text, want) in [
        ("auto", MemoryLimit::Auto),
        ("off", MemoryLimit::Off),
        ("256Mi", MemoryLimit::Bytes(256 << 20)),
        ("256MiB", MemoryLimit::Bytes(256 << 20)),
        ("1G", MemoryLimit::Bytes(1 << 30)),
        ("67108864", MemoryLimit::Bytes(64 << 20)),
    ] {
        let o = Overrides {
            memory_limit: Some(text.into()),
            ..ov()
        };
        assert_eq!(
            Config::resolve(&o, None).unwrap().memory_limit,
            want,
            "{text}"
        );
    }
}

#[test]
fn verifier_reject_injection_names_programs_with_or_without_prefix() {
    let o = Overrides {
        inject_verifier_reject: Some("archscope_sys_exit, tcp_retransmit".into()),
        ..ov()
    };
    assert_eq!(
        Config::resolve(&o, None).unwrap().inject_verifier_reject,
        0b1010
    );
    assert_eq!(Config::default().inject_verifier_reject, 0);
}

#[test]
fn syscall_mode_from_flag_file_and_default() {
    let dir = std::env::temp_dir().join(format!("archscope-cfg-mode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("m.toml");
    std::fs::write(&p, "syscalls = \"counts\"\n").unwrap();
    assert_eq!(
        Config::resolve(&ov(), None).unwrap().syscalls,
        SyscallMode::Full
    );
    assert_eq!(
        Config::resolve(&ov(), Some(&p)).unwrap().syscalls,
        SyscallMode::Counts
    );
    let o = Overrides {
        syscalls: Some("off".into()),
        ..ov()
    };
    assert_eq!(
        Config::resolve(&o, Some(&p)).unwrap().syscalls,
        SyscallMode::Off
    );
    let bad = Overrides {
        syscalls: Some("fast".into()),
        ..ov()
    };
    assert_eq!(
        Config::resolve(&bad, None).unwrap_err().to_string(),
        "syscalls: `fast` is not one of full, counts, off"
    );
}

#[test]
fn syscall_map_default_fits_64_mib_of_per_cpu_values() {
    // 240 bytes per key and possible CPU: 16384 keys up to 17 CPUs, then fewer
    let per_key = core::mem::size_of::<archscope_common::SyscallStats>() as u64;
    assert_eq!(per_key, 240);
    let cpus = aya::util::nr_cpus().unwrap() as u64;
    let n = u64::from(default_syscall_map_entries());
    assert!((1024..=16_384).contains(&n));
    assert!(
        n == 1024 || n * per_key * cpus <= 64 << 20,
        "{n} keys × {cpus} CPUs"
    );
    if cpus <= 17 {
        assert_eq!(n, 16_384);
    }
}
