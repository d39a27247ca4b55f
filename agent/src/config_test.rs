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
        "listen = \"127.0.0.1:1000\"\nmax_series_per_metric = 50\ncgroup_grace_period = \"5s\"\n",
    )
    .unwrap();
    let c = Config::resolve(&ov(), Some(&p)).unwrap();
    assert_eq!(c.listen.port(), 1000);
    assert_eq!(c.max_series_per_metric, 50);
    assert_eq!(c.cgroup_grace_period, Duration::from_secs(5));
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
                cgroup_grace_period: Some("soon".into()),
                ..ov()
            },
            "cgroup_grace_period:",
        ),
        (
            Overrides {
                log: Some("[[[".into()),
                ..ov()
            },
            "log:",
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
