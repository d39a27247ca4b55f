//! Real machines' /proc and /sys (util-linux's lscpu dumps, `tests/fixtures/sysroots/`),
//! checked field by field against what util-linux expects lscpu to print for each
//! (tests/expected/lscpu/lscpu-<name>), plus the machine the tests run on.
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::*;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// The fixtures unpacked under the temp dir, once per test process. The directory is named
/// after the archives' contents, so a rerun reuses it and a changed archive gets a new one.
fn sysroots() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/sysroots");
        let mut archives: Vec<PathBuf> = std::fs::read_dir(&src)
            .unwrap_or_else(|e| panic!("{}: {e}", src.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
            .collect();
        archives.sort();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for a in &archives {
            std::fs::read(a).unwrap().hash(&mut h);
        }
        let dir = std::env::temp_dir().join(format!("archscope-sysroots-{:016x}", h.finish()));
        if dir.join(".complete").exists() {
            return dir;
        }
        let tmp = std::env::temp_dir().join(format!("archscope-sysroots-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        for a in &archives {
            let st = Command::new("tar")
                .arg("xzf")
                .arg(a)
                .arg("-C")
                .arg(&tmp)
                .status();
            assert!(st.is_ok_and(|s| s.success()), "tar xzf {}", a.display());
        }
        std::fs::write(tmp.join(".complete"), "").unwrap();
        // Another test process may have won the race; its copy is as good as ours.
        if std::fs::rename(&tmp, &dir).is_err() {
            let _ = Command::new("rm").arg("-rf").arg(&tmp).status();
        }
        dir
    })
}

fn read(name: &str) -> NodeInfo {
    NodeInfo::read(&sysroots().join(name)).unwrap()
}

fn numa(nodes: &[&str]) -> Vec<NumaNode> {
    (0..)
        .zip(nodes)
        .map(|(node, cpus)| NumaNode {
            node,
            cpus: cpus.to_string(),
        })
        .collect()
}

/// The dumps carry no os-release or kernel release.
fn no_os() -> (String, String, String) {
    Default::default()
}

#[test]
fn x86_64_epyc_7451() {
    let (os, os_id, kernel) = no_os();
    let expected = NodeInfo {
        arch: "x86_64".into(),
        goarch: "amd64".into(),
        debian_arch: "amd64".into(),
        cpu_vendor: "AuthenticAMD".into(),
        cpu_model: "AMD EPYC 7451 24-Core Processor".into(),
        cpus: 96,
        sockets: 2,
        cores_per_socket: 24,
        threads_per_core: 2,
        numa_nodes: 8,
        numa: numa(&[
            "0-5,48-53",
            "6-11,54-59",
            "12-17,60-65",
            "18-23,66-71",
            "24-29,72-77",
            "30-35,78-83",
            "36-41,84-89",
            "42-47,90-95",
        ]),
        l1d_bytes: 1536 * KIB, // 1.5 MiB (48 instances)
        l1i_bytes: 3 * MIB,    // 48 instances
        l2_bytes: 24 * MIB,    // 48 instances
        l3_bytes: 128 * MIB,   // 16 instances
        os,
        os_id,
        kernel,
    };
    assert_eq!(read("x86_64-epyc_7451"), expected);
}

#[test]
fn x86_64_dell_e4310() {
    let (os, os_id, kernel) = no_os();
    let expected = NodeInfo {
        arch: "x86_64".into(),
        goarch: "amd64".into(),
        debian_arch: "amd64".into(),
        cpu_vendor: "GenuineIntel".into(),
        // lscpu keeps the inner runs of spaces, and so do we.
        cpu_model: "Intel(R) Core(TM) i5 CPU       M 560  @ 2.67GHz".into(),
        cpus: 4, // present 0-3 (possible is 0-7)
        sockets: 1,
        cores_per_socket: 2,
        threads_per_core: 2,
        numa_nodes: 1,
        numa: numa(&["0-3"]),
        l1d_bytes: 64 * KIB, // 2 instances
        l1i_bytes: 64 * KIB,
        l2_bytes: 512 * KIB,
        l3_bytes: 3 * MIB, // 1 instance
        os,
        os_id,
        kernel,
    };
    assert_eq!(read("x86_64-dell_e4310"), expected);
}

#[test]
fn arm_big_little_a510_a710_a715_x3() {
    let (os, os_id, kernel) = no_os();
    let expected = NodeInfo {
        arch: "aarch64".into(),
        goarch: "arm64".into(),
        debian_arch: "arm64".into(),
        cpu_vendor: "ARM".into(),
        // cpuinfo order: 0xd46 ×3, 0xd4d ×2, 0xd47 ×2, 0xd4e. lscpu prints the blocks as
        // A510, A710, A715, X3.
        cpu_model: "Cortex-A510 / Cortex-A715 / Cortex-A710 / Cortex-X3".into(),
        cpus: 8,
        // lscpu, per type: A510 3 cores in 1 socket, A710 2/1, A715 2/1, X3 1/1.
        sockets: 1,
        cores_per_socket: 8,
        threads_per_core: 1,
        numa_nodes: 0, // no sys/devices/system/node: lscpu prints no NUMA lines
        numa: Vec::new(),
        // The cache directories have no `size` files: lscpu prints no cache lines.
        l1d_bytes: 0,
        l1i_bytes: 0,
        l2_bytes: 0,
        l3_bytes: 0,
        os,
        os_id,
        kernel,
    };
    assert_eq!(read("arm-A510-A710-A715-X3"), expected);
}

#[test]
fn loongarch_loongson_3a5000_hv() {
    let (os, os_id, kernel) = no_os();
    let expected = NodeInfo {
        arch: "loongarch64".into(),
        goarch: "loong64".into(),
        debian_arch: "loong64".into(),
        cpu_vendor: "Loongson".into(), // lscpu prints no Vendor ID; from `CPU Family`
        cpu_model: "Loongson-3A5000-HV".into(),
        cpus: 4,
        sockets: 1,
        cores_per_socket: 4,
        threads_per_core: 1,
        numa_nodes: 1,
        numa: numa(&["0-3"]),
        l1d_bytes: 256 * KIB, // 4 instances
        l1i_bytes: 256 * KIB,
        l2_bytes: MIB,
        l3_bytes: 16 * MIB, // 1 instance
        os,
        os_id,
        kernel,
    };
    assert_eq!(read("loongarch-loongson_3a5000_hv"), expected);
}

#[test]
fn loongarch_kvm_on_loongson_3c6000() {
    let (os, os_id, kernel) = no_os();
    let expected = NodeInfo {
        arch: "loongarch64".into(),
        goarch: "loong64".into(),
        debian_arch: "loong64".into(),
        cpu_vendor: "Loongson".into(),
        cpu_model: "Loongson-3A5000".into(), // the guest is told 3A5000
        cpus: 32,
        sockets: 32, // every vCPU its own package
        cores_per_socket: 1,
        threads_per_core: 1,
        numa_nodes: 1,
        numa: numa(&["0-31"]),
        l1d_bytes: 2 * MIB, // 32 instances
        l1i_bytes: 2 * MIB,
        l2_bytes: 8 * MIB,
        l3_bytes: 16 * MIB, // 1 instance
        os,
        os_id,
        kernel,
    };
    assert_eq!(read("loongarch-kvm_on_loongson_3c6000"), expected);
}

#[test]
fn running_machine_is_consistent() {
    let n = NodeInfo::read(Path::new("/")).unwrap();
    assert!(n.cpus > 0, "{n:?}");
    assert_eq!(n.arch, arch_names(std::env::consts::ARCH).0);
    assert!(
        n.sockets >= 1 && n.cores_per_socket >= 1 && n.threads_per_core >= 1,
        "{n:?}"
    );
    assert_eq!(n.numa_nodes as usize, n.numa.len());
    assert!(!n.kernel.is_empty(), "{n:?}");
    let labels = n.labels();
    assert_eq!(labels.len(), 11);
    assert!(labels.contains(&("cpus", n.cpus.to_string())));
}

#[test]
fn bad_root_is_one_line_naming_the_path() {
    let e = NodeInfo::read(Path::new("/nonexistent/host")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "host root /nonexistent/host: not a directory"
    );
    let empty = sysroots().join("x86_64-epyc_7451/sys");
    let e = NodeInfo::read(&empty).unwrap_err().to_string();
    assert!(e.starts_with(&format!(
        "host root {}: cannot read proc/cpuinfo",
        empty.display()
    )));
    assert!(!e.contains('\n'), "{e}");
}

#[test]
fn os_release_behind_absolute_symlink_and_kernel() {
    let root = std::env::temp_dir().join(format!("archscope-node-os-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for d in ["etc", "usr/lib", "proc/sys/kernel"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(
        root.join("proc/cpuinfo"),
        "processor : 0\nvendor_id : GenuineIntel\n",
    )
    .unwrap();
    std::fs::write(root.join("proc/sys/kernel/osrelease"), "6.1.0-26-amd64\n").unwrap();
    std::fs::write(
        root.join("usr/lib/os-release"),
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n",
    )
    .unwrap();
    // As on the host: absolute, so it must resolve under the root, not in the test's /.
    std::os::unix::fs::symlink("/usr/lib/os-release", root.join("etc/os-release")).unwrap();
    let n = NodeInfo::read(&root).unwrap();
    assert_eq!(n.os, "Debian GNU/Linux 12 (bookworm)");
    assert_eq!(n.os_id, "debian");
    assert_eq!(n.kernel, "6.1.0-26-amd64");
    // No sysfs at all: one CPU from cpuinfo, one socket of one core.
    assert_eq!(
        (n.cpus, n.sockets, n.cores_per_socket, n.threads_per_core),
        (1, 1, 1, 1)
    );
    assert_eq!((n.arch.as_str(), n.numa_nodes), ("x86_64", 0));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn json_has_the_fields_by_name() {
    let v = serde_json::to_value(read("x86_64-dell_e4310")).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let want = "arch goarch debian_arch cpu_vendor cpu_model cpus sockets cores_per_socket \
                threads_per_core numa_nodes numa l1d_bytes l1i_bytes l2_bytes l3_bytes os os_id kernel";
    assert_eq!(keys.len(), want.split_whitespace().count(), "{keys:?}");
    for k in want.split_whitespace() {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    assert_eq!(v["numa"][0], serde_json::json!({"node": 0, "cpus": "0-3"}));
}
