//! The host a run was made on: node identity (agent node) plus what a benchmark reader
//! also needs: frequency, memory, hostname, virtualization.
use std::path::Path;

use super::schema::Host;
use crate::node::NodeInfo;

pub fn read(root: &Path) -> anyhow::Result<Host> {
    let n = NodeInfo::read(root)?;
    let cpuinfo = std::fs::read_to_string(root.join("proc/cpuinfo")).unwrap_or_default();
    Ok(Host {
        hostname: std::fs::read_to_string(root.join("proc/sys/kernel/hostname"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
        arch: n.arch,
        goarch: n.goarch,
        cpu_vendor: n.cpu_vendor,
        cpu_model: n.cpu_model,
        cpus: n.cpus,
        sockets: n.sockets,
        cores_per_socket: n.cores_per_socket,
        threads_per_core: n.threads_per_core,
        cpu_mhz: mhz(root, &cpuinfo),
        numa_nodes: n.numa_nodes,
        l2_bytes: n.l2_bytes,
        l3_bytes: n.l3_bytes,
        memory_bytes: memory(root),
        kernel: n.kernel,
        os: n.os,
        virtualization: virtualization(root, &cpuinfo),
    })
}

/// cpufreq's maximum, else cpuinfo's `cpu MHz` (x86) or `CPU MHz` (LoongArch).
fn mhz(root: &Path, cpuinfo: &str) -> f64 {
    let max = root.join("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
    if let Some(khz) = std::fs::read_to_string(max)
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
    {
        return khz / 1000.0;
    }
    cpuinfo
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("cpu mhz")
                .then(|| v.trim().parse::<f64>().ok())
                .flatten()
        })
        .unwrap_or(0.0)
}

fn memory(root: &Path) -> u64 {
    std::fs::read_to_string(root.join("proc/meminfo"))
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                let kb = l
                    .strip_prefix("MemTotal:")?
                    .trim()
                    .trim_end_matches("kB")
                    .trim();
                kb.parse::<u64>().ok()
            })
        })
        .map_or(0, |kb| kb * 1024)
}

/// `KVM`, `QEMU`, …: the x86 `hypervisor` flag with DMI's vendor, or a device tree that
/// names a virtual machine (qemu's arm64 `virt` board).
fn virtualization(root: &Path, cpuinfo: &str) -> String {
    let dmi = |f: &str| {
        std::fs::read_to_string(root.join("sys/class/dmi/id").join(f))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let flagged = cpuinfo
        .lines()
        .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "hypervisor"));
    if flagged {
        let v = dmi("sys_vendor");
        let p = dmi("product_name");
        return match (v.is_empty(), p.is_empty()) {
            (true, true) => "hypervisor".into(),
            (false, true) => v,
            (true, false) => p,
            (false, false) => format!("{v} {p}"),
        };
    }
    let compatible = std::fs::read(root.join("sys/firmware/devicetree/base/compatible"))
        .map(|b| {
            String::from_utf8_lossy(&b)
                .replace('\0', " ")
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    if compatible.contains("dummy-virt") || compatible.contains("qemu") {
        return format!("qemu ({compatible})");
    }
    String::new()
}
