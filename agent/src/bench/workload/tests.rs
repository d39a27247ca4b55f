use super::agents::{add_scrape, parse};
use super::analysis::{Direction, Frame, Options, analyse};
use super::series::Observed;
use super::*;

#[test]
fn workload_names_are_kubernetes_names() {
    let w = WorkloadName::parse("shop/checkout").unwrap();
    assert_eq!(
        (w.namespace.as_str(), w.name.as_str()),
        ("shop", "checkout")
    );
    for bad in [
        "shop",
        "/checkout",
        "shop/",
        "Shop/checkout",
        "shop/check\"out",
        "a/b/c",
    ] {
        let e = WorkloadName::parse(bad).unwrap_err();
        assert!(e.0.starts_with("--workload:"), "{e:?}");
    }
}

#[test]
fn windows_are_whole_steps_ending_at_a_step() {
    let name = WorkloadName::parse("a/b").unwrap();
    let w = Window::ending(
        1_000_007.0,
        Duration::from_secs(3600),
        Duration::from_secs(300),
        name.clone(),
    )
    .unwrap();
    assert_eq!((w.windows, w.end(), w.start), (12, 999_900.0, 996_300.0));
    assert_eq!(
        default_step(Duration::from_secs(3600)),
        Duration::from_secs(300)
    );
    assert!(
        Window::ending(
            0.0,
            Duration::from_secs(10),
            Duration::from_secs(6),
            name.clone()
        )
        .is_err()
    );
    assert!(
        Window::ending(
            0.0,
            Duration::from_secs(10),
            Duration::from_millis(500),
            name
        )
        .is_err()
    );
}

const HOST: &str = "archscope_node_info{arch=\"x86_64\",goarch=\"amd64\"} 1\n";
const GUEST: &str = "archscope_node_info{arch=\"aarch64\",goarch=\"arm64\"} 1\n";

/// One scrape of an agent: the pod's getppid and openat counts and the getppid latency
/// histogram with `fast` calls in the first bucket and `slow` in the fourth.
fn scrape(info: &str, pod: &str, getppid: u64, openat: u64, fast: u64, slow: u64) -> String {
    let id = format!("namespace=\"shop\",pod=\"{pod}\",workload=\"checkout\"");
    let mut s = format!(
        "# TYPE archscope_syscalls counter\n{info}\
         archscope_syscalls_total{{cgroup=\"/k/p\",{id},syscall=\"getppid\"}} {getppid}\n\
         archscope_syscalls_total{{cgroup=\"/k/p\",{id},syscall=\"openat\"}} {openat}\n\
         archscope_syscall_errors_total{{cgroup=\"/k/p\",{id},syscall=\"openat\",errno=\"ENOENT\"}} {openat}\n\
         archscope_syscalls_total{{cgroup=\"/other\",namespace=\"shop\",pod=\"x\",workload=\"cart\",syscall=\"getppid\"}} 5\n"
    );
    let bounds = ["1.024e-06", "2.048e-06", "4.096e-06", "8.192e-06", "+Inf"];
    for (i, le) in bounds.iter().enumerate() {
        let n = if i < 3 { fast } else { fast + slow };
        s.push_str(&format!(
            "archscope_syscall_duration_seconds_bucket{{cgroup=\"/k/p\",{id},syscall=\"getppid\",le=\"{le}\"}} {n}\n"
        ));
    }
    s
}

#[test]
fn the_exposition_parser_reads_labels_with_escapes() {
    let s = parse("a_total{x=\"q\\\"uote\\\\ \\n\",y=\"\"} 12\nb 1.5e-06\n# HELP c\nc{} +Inf\n")
        .unwrap();
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].labels["x"], "q\"uote\\ \n");
    assert_eq!(s[0].labels["y"], "");
    assert_eq!((s[1].name.as_str(), s[1].value), ("b", 1.5e-06));
    assert!(s[2].value.is_infinite());
    assert!(parse("d{x=\"open} 1\n").is_err());
}

/// Two agents, one pod each, 6 windows: amd64's pod is fast (every call in the first
/// bucket), arm64's slow (every call in the fourth); both make 100 getppid and 10
/// failing openat a window.
fn observed() -> Observed {
    let name = WorkloadName::parse("shop/checkout").unwrap();
    let mut o = Observed::new((0..=6).map(|i| 100.0 + 10.0 * i as f64).collect());
    for at in 0..=6u64 {
        for (agent, info, pod, fast, slow) in [
            ("http://a:9435", HOST, "checkout-1", 100 * at, 0),
            ("http://b:9435", GUEST, "checkout-2", 0, 100 * at),
        ] {
            let text = scrape(info, pod, 100 * at, 10 * at, fast, slow);
            add_scrape(&mut o, agent, &parse(&text).unwrap(), at as usize, &name);
        }
    }
    o
}

/// amd64 against arm64 for shop/checkout, at the default band.
fn analyse_amd64_arm64(
    o: &Observed,
    source: &str,
    step: f64,
    resamples: usize,
    seed: u64,
) -> analysis::Report {
    let frame = Frame {
        workload: "shop/checkout".into(),
        source: source.into(),
        step,
    };
    let options = Options {
        resamples,
        seed,
        margin: 0.05,
    };
    analyse(["amd64", "arm64"], o, frame, &options)
}

#[test]
fn a_slower_side_shows_in_latency_and_the_counts_are_exact() {
    let r = analyse_amd64_arm64(&observed(), "test", 10.0, 2000, 1);
    for s in [&r.a, &r.b] {
        assert_eq!(s.pods.len(), 1);
        assert_eq!(s.samples, 6);
        // 6 windows: the workload's 600 getppid and 60 openat, all failed; not cart's
        assert_eq!(s.syscalls["getppid"].calls, 600.0);
        assert_eq!(s.syscalls["getppid"].errors, 0.0);
        assert_eq!(
            (s.syscalls["openat"].calls, s.syscalls["openat"].errors),
            (60.0, 60.0)
        );
        assert!(s.missing.contains_key("pmu"), "{:?}", s.missing);
    }
    let row = |label: &str| r.rows.iter().find(|x| x.label == label).unwrap();
    // p50: half-way through the first bucket (0.512 µs) against the fourth's (6.144 µs)
    let p50 = row("getppid p50");
    let close = |x: f64, y: f64| (x / y - 1.0).abs() < 1e-9;
    assert!(
        close(p50.a.median, 0.512e-6) && close(p50.b.median, 6.144e-6),
        "{p50:?}"
    );
    assert_eq!(p50.direction, Direction::Higher);
    assert!(close(p50.ratio.unwrap(), 12.0));
    let rate = row("getppid calls/s per pod");
    assert_eq!((rate.a.median, rate.b.median), (10.0, 10.0));
    assert_eq!(rate.direction, Direction::Equivalent);
    let fail = row("openat failure ratio");
    assert_eq!((fail.a.median, fail.b.median), (1.0, 1.0));
    // p99: 0.99 of each bucket, 8.151 µs against 1.014 µs
    assert_eq!(
        r.differences,
        [
            "getppid p50 12.0× on arm64 (of amd64)",
            "getppid p99 8.04× on arm64 (of amd64)"
        ]
    );
    for text in [table(&r), markdown(&r), html(&r)] {
        assert!(text.contains("getppid p50"), "{text}");
    }
}

/// Real scrapes (the lines the compare reads) of the two agents of
/// tests/tests/workload_compare/ after its workload: the host's and the arm64 guest's.
const REAL: [(&str, &str); 2] = [
    ("amd64", include_str!("fixtures/amd64.metrics")),
    ("arm64", include_str!("fixtures/arm64.metrics")),
];

#[test]
fn real_scrapes_of_both_arches_read_exactly() {
    let name = WorkloadName::parse("shop/checkout").unwrap();
    let mut o = Observed::new(vec![0.0, 60.0]);
    for (arch, text) in REAL {
        let samples = parse(text).unwrap();
        let lines = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(samples.len(), lines, "{arch}");
        let agent = format!("http://{arch}:9435");
        // the agent answered before the pod's series existed: every count is new
        let info: Vec<_> = samples
            .iter()
            .filter(|s| s.name == "archscope_node_info")
            .collect();
        assert_eq!(info.len(), 1);
        add_scrape(
            &mut o,
            &agent,
            &parse(&format!("archscope_node_info{{goarch=\"{arch}\"}} 1\n")).unwrap(),
            0,
            &name,
        );
        add_scrape(&mut o, &agent, &samples, 1, &name);
    }
    let r = analyse_amd64_arm64(&o, "fixtures", 60.0, 100, 1);
    let calls = |s: &analysis::Side, n: &str| (s.syscalls[n].calls, s.syscalls[n].errors);
    // the workload's 10,000 getppid and 1,000 failed openat, after its loader's openat
    assert_eq!(calls(&r.a, "getppid"), (10_000.0, 0.0));
    assert_eq!(calls(&r.a, "openat"), (1064.0, 1060.0));
    assert_eq!(calls(&r.b, "getppid"), (10_000.0, 0.0));
    assert_eq!(calls(&r.b, "openat"), (1027.0, 1024.0));
    assert_eq!(r.a.pods[0].pod, "checkout-5d4f7b9c6-x7k2p");
    assert_eq!(r.b.pods[0].pod, "checkout-5d4f7b9c6-q9m4t");
    // this host has no PMU; qemu's arm64 counts cycles and not instructions
    assert!(r.a.missing["pmu"].contains("the pmu feature is off on http://amd64:9435"));
    assert!(!r.b.missing.contains_key("pmu"));
    assert_eq!(
        r.b.missing["IPC and cache-miss"],
        "the PMU counts cycles but not instructions on http://arm64:9435"
    );
    // one window a side: figures, but no verdict
    assert!(
        r.rows
            .iter()
            .all(|x| x.direction == Direction::Inconclusive)
    );
}

/// 12 windows of 10 s: A's openat never fails, B's always does; B's getppid is 100 a
/// window but 0 in a third of them (so resampled medians reach 0).
fn zeros() -> Observed {
    let name = WorkloadName::parse("shop/checkout").unwrap();
    let mut o = Observed::new((0..=12).map(|i| 10.0 * i as f64).collect());
    let b_getppid = [100, 0, 100, 0, 100, 0, 100, 100, 100, 0, 100, 100];
    for at in 0..=12usize {
        for (agent, info, pod, errors) in [("a", HOST, "p-a", 0), ("b", GUEST, "p-b", 10)] {
            let id =
                format!("cgroup=\"/{pod}\",namespace=\"shop\",pod=\"{pod}\",workload=\"checkout\"");
            let getppid: u64 = if agent == "a" {
                100 * at as u64
            } else {
                b_getppid[..at].iter().sum()
            };
            let text = format!(
                "{info}archscope_syscalls_total{{{id},syscall=\"openat\"}} {}\n\
                 archscope_syscall_errors_total{{{id},syscall=\"openat\",errno=\"EACCES\"}} {}\n\
                 archscope_syscalls_total{{{id},syscall=\"getppid\"}} {getppid}\n",
                10 * at,
                errors * at
            );
            add_scrape(&mut o, agent, &parse(&text).unwrap(), at, &name);
        }
    }
    o
}

#[test]
fn a_median_of_zero_is_a_difference_and_an_interval_to_zero_draws() {
    let r = analyse_amd64_arm64(&zeros(), "test", 10.0, 2000, 3);
    let row = |label: &str| r.rows.iter().find(|x| x.label == label).unwrap();
    let fail = row("openat failure ratio");
    assert_eq!(fail.direction, Direction::Higher);
    assert_eq!(fail.ratio, None);
    assert_eq!(
        r.differences[0],
        "openat failure ratio 1.000 on arm64, 0 on amd64"
    );
    let rate = row("getppid calls/s per pod");
    assert_eq!(rate.ratio_ci95.map(|c| c[0]), Some(0.0), "{rate:?}");
    let page = html(&r);
    assert!(page.contains("id=\"chart-ratios\"") && page.len() < 200_000);
}

/// PromQL unquotes as Go does: `\\`, `\"` and `\n` are what `regex_of` may write; any
/// other escape (`\.`) would make the query invalid, and so does a raw newline.
fn promql_string(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        assert_ne!(c, '\n', "a raw newline in {s:?}");
        out.push(match (c, c == '\\') {
            (_, true) => match chars.next().unwrap() {
                e @ ('\\' | '"') => e,
                'n' => '\n',
                e => panic!("an escape PromQL rejects: \\{e} in {s:?}"),
            },
            (c, false) => c,
        });
    }
    out
}

#[test]
fn cgroup_regexes_match_exactly_their_paths() {
    // the fixtures' pod cgroups, a systemd unit's escaped dash, and what regexes read
    let mut paths: Vec<String> = REAL
        .iter()
        .flat_map(|(_, text)| parse(text).unwrap())
        .filter_map(|s| s.labels.get("cgroup").cloned())
        .collect();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), 2);
    paths.push(r"/system.slice/system-serial\x2dgetty.slice".into());
    paths.push("/a+b/(c)|[d]{2}^$*?\"q\"\nnext".into());
    let re = promql_string(&prometheus::regex_of(&paths));
    let re = regex::Regex::new(&format!("^(?:{re})$")).unwrap();
    for p in &paths {
        assert!(re.is_match(p), "{p}");
    }
    for near in [
        "/system.slice/system-serial-getty.slice",
        "/systemXslice/system-serial\\x2dgetty.slice",
        "/a+b/(c)|[d]{2}^$*?\"q\"x\nnext",
        "/a+b/(c)|[d]{2}^$*?\"q\"\n",
        "/ab/(c)",
    ] {
        assert!(!re.is_match(near), "{near}");
    }
}

/// A container of a pod, as the host's agent names it (fixtures/amd64.metrics).
const POD_CGROUP: &str = "/kubepods/burstable/pod3c1f0c2e-0000-4000-8000-000000019171/00000000000000000000000000000000000000000000000000000000004ae301";

#[test]
fn a_container_labelled_late_keeps_its_past_in_its_windows() {
    let name = WorkloadName::parse("shop/checkout").unwrap();
    let mut o = Observed::new(vec![0.0, 10.0, 20.0, 30.0]);
    // the pod's container first without its pod's labels, then with them; a new container
    // of the workload appears at the last boundary and counts from 0
    let anonymous = |n: u64| {
        format!(
            "{HOST}archscope_syscalls_total{{cgroup=\"{POD_CGROUP}\",container_id=\"c1\",runtime=\"containerd\",namespace=\"\",pod=\"\",workload=\"\",syscall=\"getppid\"}} {n}\n"
        )
    };
    let texts = [
        anonymous(100),
        anonymous(130),
        scrape(HOST, "checkout-1", 150, 0, 0, 0).replace("/k/p", POD_CGROUP),
        scrape(HOST, "checkout-1", 200, 0, 0, 0).replace("/k/p", POD_CGROUP)
            + "archscope_syscalls_total{cgroup=\"/k/q\",namespace=\"shop\",pod=\"checkout-1\",workload=\"checkout\",syscall=\"getppid\"} 7\n",
    ];
    for (at, t) in texts.iter().enumerate() {
        add_scrape(&mut o, "http://a:9435", &parse(t).unwrap(), at, &name);
    }
    let ws = series::windows(&o);
    let getppid = |w: &series::PodWindow| w.inc[&(series::SYSCALLS, vec!["getppid".to_string()])];
    let got: Vec<(usize, f64, bool)> = ws.iter().map(|w| (w.index, getppid(w), w.whole)).collect();
    // its windows before it was labelled are the pod's too; window 1 is 130 → 150, not
    // its whole 150; window 2 is 50 and the new container's 7
    assert_eq!(got, [(0, 30.0, true), (1, 20.0, true), (2, 57.0, true)]);
}
