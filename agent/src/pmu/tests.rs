//! The tables resolve the right codes from real machines' sysfs and cpuinfo: the arm64
//! guest's PMU as `cargo xtask vm-test arm64` captured it (fixtures/), util-linux's real cpuinfo dumps (tests/fixtures/sysroots), and this host.
use std::path::{Path, PathBuf};

use archscope_common::PmuEvent;

use super::detect::{CpuPlan, plan};
use super::tables;

/// A root built from a fixture (`path<TAB>content` lines, `\n` escaped) plus `extra`
/// files, in a fresh temp dir.
fn root(fixture: Option<&str>, extra: &[(&str, String)]) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "archscope-pmu-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut files: Vec<(String, String)> = Vec::new();
    if let Some(name) = fixture {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/pmu/fixtures")
            .join(name);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        for l in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (path, content) = l.split_once('\t').expect("path<TAB>content");
            files.push((path.into(), content.replace("\\n", "\n")));
        }
    }
    files.extend(extra.iter().map(|(p, c)| (p.to_string(), c.clone())));
    for (path, content) in files {
        let to = dir.join(path);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, content + "\n").unwrap();
    }
    dir
}

/// cpuinfo of one of util-linux's real dumps.
fn sample_cpuinfo(archive: &str) -> String {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/sysroots")
        .join(format!("{archive}.tar.gz"));
    let out = std::process::Command::new("tar")
        .arg("xzOf")
        .arg(&src)
        .arg(format!("{archive}/proc/cpuinfo"))
        .output()
        .unwrap();
    assert!(out.status.success(), "tar {}", src.display());
    String::from_utf8(out.stdout).unwrap()
}

fn code(cp: &CpuPlan, e: PmuEvent) -> Option<(u32, u64)> {
    cp.open.iter().find(|o| o.0 == e).map(|o| (o.1, o.2))
}

fn reason(cp: &CpuPlan, e: PmuEvent) -> Option<&str> {
    cp.missing.iter().find(|m| m.0 == e).map(|m| m.1.as_str())
}

#[test]
fn every_table_parses_and_every_rule_names_one() {
    for name in tables::all_table_names() {
        let t = tables::table(name).unwrap_or_else(|e| panic!("{e}"));
        let mut seen = std::collections::HashSet::new();
        for c in &t.events {
            assert!(seen.insert(c.event), "{name}: {:?} twice", c.event);
        }
        // Every table has what IPC needs.
        assert!(t.get(PmuEvent::Cycles).is_some() && t.get(PmuEvent::Instructions).is_some());
    }
    for t in tables::rule_tables() {
        assert!(tables::table(t).is_ok(), "rule names missing table {t}");
    }
}

#[test]
fn arm64_guest_without_icount_lacks_instructions() {
    let r = root(Some("arm64-qemu-max.txt"), &[]);
    let p = plan(&r, "aarch64").unwrap();
    assert!(!p.cpus.is_empty() && p.uncovered.is_empty());
    for cp in &p.cpus {
        assert_eq!((cp.pmu.as_str(), cp.table), ("armv8_pmuv3", "armv8_pmuv3"));
        // raw CPU_CYCLES (0x11) of the PMU's own dynamic type
        assert_eq!(code(cp, PmuEvent::Cycles), Some((PMU_TYPE, 0x11)));
        assert_eq!(code(cp, PmuEvent::Instructions), None);
        assert!(
            reason(cp, PmuEvent::Instructions)
                .unwrap()
                .contains("events/inst_retired")
        );
    }
}

/// The guest's armv8_pmuv3_0 `type` (a dynamic PMU type, after the fixed ones).
const PMU_TYPE: u32 = 8;

#[test]
fn big_little_cortex_cores_use_the_common_events() {
    // The real A510/A710/A715/X3 cpuinfo, with the guest's PMUv3 sysfs: every core gets
    // the PMUv3 common event numbers and is named by its part.
    let info = sample_cpuinfo("arm-A510-A710-A715-X3");
    let r = root(
        Some("arm64-qemu-max.txt"),
        &[
            ("proc/cpuinfo", info),
            ("sys/devices/system/cpu/online", "0".into()),
        ],
    );
    let p = plan(&r, "aarch64").unwrap();
    assert_eq!(p.cpus[0].model, "Cortex-A510");
    assert_eq!(code(&p.cpus[0], PmuEvent::Cycles), Some((PMU_TYPE, 0x11)));
    // qemu's PMU lists no BR_RETIRED: missing, naming the file it looked for
    let why = reason(&p.cpus[0], PmuEvent::BranchInstructions).unwrap();
    assert!(why.contains("events/br_retired"), "{why}");
}

/// The `cpu` device LoongArch's and Sunway's drivers register: perf_pmu_register(&pmu,
/// "cpu", PERF_TYPE_RAW), no events/ directory.
fn raw_cpu_pmu() -> Vec<(&'static str, String)> {
    vec![
        ("sys/bus/event_source/devices/cpu/type", "4".into()),
        ("sys/devices/system/cpu/online", "0-1".into()),
    ]
}

#[test]
fn loongson_uses_the_loongarch_driver_codes() {
    for sample in [
        "loongarch-loongson_3a5000_hv",
        "loongarch-kvm_on_loongson_3c6000",
    ] {
        let mut files = raw_cpu_pmu();
        files.push(("proc/cpuinfo", sample_cpuinfo(sample)));
        let p = plan(&root(None, &files), "loongarch64").unwrap();
        let cp = &p.cpus[0];
        assert_eq!(cp.table, "loongarch", "{sample}");
        assert!(cp.model.starts_with("Loongson-3A5000"), "{}", cp.model);
        assert_eq!(code(cp, PmuEvent::Cycles), Some((4, 0x00)));
        assert_eq!(code(cp, PmuEvent::Instructions), Some((4, 0x01)));
        assert_eq!(code(cp, PmuEvent::LlcMisses), Some((4, 0x0d)));
        assert!(
            reason(cp, PmuEvent::StalledCyclesBackend)
                .unwrap()
                .contains("loongarch table")
        );
    }
}

#[test]
fn sunway_core3_pins_cycles_and_instructions_to_counter_0() {
    // cpuinfo as the sw_64 kernel's show_cpuinfo prints it ("model name : %s CPU @ …").
    let mut files = raw_cpu_pmu();
    files.push((
        "proc/cpuinfo",
        "processor\t: 0\nvendor_id\t: sunway\ncpu family\t: 6\nmodel\t\t: 1\nmodel name\t: SW3231 CPU @ 2.40GHz\nflags\t\t: fpu simd vpn upn cpuid\n".into(),
    ));
    let p = plan(&root(None, &files), "sw_64").unwrap();
    let cp = &p.cpus[0];
    assert_eq!(cp.table, "sw64_core3");
    // r0xx is counter 0, r1yy counter 1 (core3_raw_event_valid)
    assert_eq!(code(cp, PmuEvent::Cycles), Some((4, 0x008)));
    assert_eq!(code(cp, PmuEvent::Instructions), Some((4, 0x000)));
    assert_eq!(code(cp, PmuEvent::CacheMisses), Some((4, 0x110)));
    // An unknown Sunway model falls back to the generic ids the driver maps itself.
    let mut files = raw_cpu_pmu();
    files.push((
        "proc/cpuinfo",
        "processor\t: 0\nmodel name\t: SW9999\n".into(),
    ));
    let p = plan(&root(None, &files), "sw_64").unwrap();
    assert_eq!(p.cpus[0].table, "generic");
    assert_eq!(code(&p.cpus[0], PmuEvent::Cycles), Some((0, 0)));
    let c4 = tables::table("sw64_core4").unwrap();
    assert_eq!(c4.get(PmuEvent::Cycles).unwrap().config, 0x30);
    assert_eq!(c4.get(PmuEvent::Instructions).unwrap().config, 0x03);
}

#[test]
fn x86_uses_generic_events() {
    for sample in ["x86_64-epyc_7451", "x86_64-dell_e4310"] {
        let mut files = raw_cpu_pmu();
        files.push(("proc/cpuinfo", sample_cpuinfo(sample)));
        let p = plan(&root(None, &files), "x86_64").unwrap();
        let cp = &p.cpus[0];
        assert_eq!(cp.table, "generic", "{sample}");
        assert_eq!(code(cp, PmuEvent::Cycles), Some((0, 0)));
        assert_eq!(code(cp, PmuEvent::Instructions), Some((0, 1)));
        assert_eq!(code(cp, PmuEvent::StalledCyclesBackend), Some((0, 8)));
        // PERF_TYPE_HW_CACHE: LL | READ << 8 | MISS << 16
        assert_eq!(code(cp, PmuEvent::LlcMisses), Some((3, 0x10002)));
    }
}

#[test]
fn this_host_without_a_pmu_says_so() {
    let has_core_pmu = super::detect::devices(Path::new("/"))
        .iter()
        .any(|d| tables::is_core_pmu(&d.name));
    if has_core_pmu {
        eprintln!("skipped: this host has a PMU");
        return;
    }
    let e = plan(Path::new("/"), std::env::consts::ARCH).unwrap_err();
    assert!(e.starts_with("no hardware PMU"), "{e}");
    assert!(e.contains("software"), "{e}");
}

#[test]
fn multiplexed_counts_are_scaled_and_unrun_ones_are_unknown() {
    use super::counters::Reading;
    let r = |count, enabled, running| Reading {
        count,
        enabled,
        running,
    };
    assert_eq!(r(100, 1000, 1000).scaled(), Some(100));
    // ran a quarter of the time it was enabled (core3's counter 0 shared by four events)
    assert_eq!(r(100, 1000, 250).scaled(), Some(400));
    assert_eq!(r(0, 1000, 0).scaled(), None);
    assert_eq!(r(u64::MAX, 4, 1).scaled(), Some(u64::MAX));
}
