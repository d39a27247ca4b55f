//! Node identity from a host root: the architecture under each ecosystem's name, CPU vendor
//! and model, topology, caches, NUMA, OS and kernel. The root is `/` on the host, or the
//! host's `/` mounted elsewhere (a DaemonSet mounts it at `/host`), or a dump of another
//! machine's /proc and /sys. Figures follow what `lscpu` prints for the same files.
pub mod cache;
pub mod cpuinfo;
pub mod cpuset;
pub(crate) mod models;
mod os;
#[cfg(test)]
mod tests;
mod topology;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use topology::NumaNode;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("host root {}: not a directory", .0.display())]
    NoRoot(PathBuf),
    #[error("host root {}: cannot read proc/cpuinfo ({source}); it should be a host's / with /proc mounted", root.display())]
    NoCpuinfo {
        root: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeInfo {
    /// `uname -m`: x86_64, aarch64, loongarch64, sw_64.
    pub arch: String,
    /// Go / Kubernetes: amd64, arm64, loong64, sw64.
    pub goarch: String,
    /// dpkg: amd64, arm64, loong64, sw64 (sw64 as deepin's dpkg names it).
    pub debian_arch: String,
    /// `vendor_id`, the Arm implementer's name, or Loongson; big.LITTLE parts joined by " / ".
    pub cpu_vendor: String,
    /// `model name`, or the Arm part's name; distinct types in order of first appearance,
    /// joined by " / " (lscpu prints one block per type instead).
    pub cpu_model: String,
    /// Logical CPUs present.
    pub cpus: u32,
    pub sockets: u32,
    pub cores_per_socket: u32,
    pub threads_per_core: u32,
    /// 0 when the kernel exposes no NUMA nodes (lscpu then prints none either).
    pub numa_nodes: u32,
    pub numa: Vec<NumaNode>,
    /// Machine totals over distinct cache instances; 0 when unknown.
    pub l1d_bytes: u64,
    pub l1i_bytes: u64,
    pub l2_bytes: u64,
    pub l3_bytes: u64,
    /// os-release `PRETTY_NAME` (else `NAME VERSION`); empty when absent.
    pub os: String,
    pub os_id: String,
    /// `proc/sys/kernel/osrelease`; empty when absent.
    pub kernel: String,
}

/// (`uname -m`, GOARCH, Debian) for the architectures the agent runs on.
const ARCH_NAMES: &[(&str, &str, &str)] = &[
    ("x86_64", "amd64", "amd64"),
    ("aarch64", "arm64", "arm64"),
    ("loongarch64", "loong64", "loong64"),
    ("sw_64", "sw64", "sw64"),
];

/// The three names for an architecture given by any of them (Rust says `sw64` where uname
/// says `sw_64`); an unknown one keeps its own name in all three.
fn arch_names(name: &str) -> (String, String, String) {
    let found = ARCH_NAMES
        .iter()
        .find(|(u, g, d)| [*u, *g, *d].contains(&name))
        .copied()
        .unwrap_or((name, name, name));
    (found.0.into(), found.1.into(), found.2.into())
}

impl NodeInfo {
    /// Read everything from `root`. Only a missing root or cpuinfo is an error; every
    /// other absent file leaves its field empty or zero.
    pub fn read(root: &Path) -> Result<NodeInfo, NodeError> {
        if !root.is_dir() {
            return Err(NodeError::NoRoot(root.into()));
        }
        let text =
            std::fs::read(root.join("proc/cpuinfo")).map_err(|source| NodeError::NoCpuinfo {
                root: root.into(),
                source,
            })?;
        let info = cpuinfo::CpuInfo::parse(&String::from_utf8_lossy(&text));

        // On the live root the running binary knows best; a dump is judged by its contents.
        let live = root.canonicalize().is_ok_and(|p| p == Path::new("/"));
        let arch_name = if live {
            std::env::consts::ARCH
        } else {
            info.infer_arch().unwrap_or(std::env::consts::ARCH)
        };
        let (arch, goarch, debian_arch) = arch_names(arch_name);

        let (types, type_of) = info.types();
        let join = |f: fn(&cpuinfo::CpuType) -> &str| {
            let mut seen: Vec<&str> = Vec::new();
            for v in types.iter().map(f).filter(|v| !v.is_empty()) {
                if !seen.contains(&v) {
                    seen.push(v);
                }
            }
            seen.join(" / ")
        };
        let mut cpu_vendor = join(|t| &t.vendor);
        if cpu_vendor.is_empty() {
            cpu_vendor = match arch.as_str() {
                "loongarch64" => "Loongson",
                "sw_64" => "Sunway",
                _ => "",
            }
            .into();
        }

        let sys_cpu = root.join("sys/devices/system/cpu");
        let cpus = topology::present_cpus(&sys_cpu, &info);
        let shape = topology::shape(&sys_cpu, &cpus, &info, &type_of);
        let caches = cache::totals(&sys_cpu, &cpus, &info, shape.sockets);
        let numa = topology::numa(&root.join("sys/devices/system/node"));
        let release = os::os_release(root);
        Ok(NodeInfo {
            arch,
            goarch,
            debian_arch,
            cpu_vendor,
            cpu_model: join(|t| &t.model),
            cpus: u32::try_from(cpus.len()).unwrap_or(u32::MAX),
            sockets: shape.sockets,
            cores_per_socket: shape.cores_per_socket,
            threads_per_core: shape.threads_per_core,
            numa_nodes: u32::try_from(numa.len()).unwrap_or(u32::MAX),
            numa,
            l1d_bytes: caches.l1d,
            l1i_bytes: caches.l1i,
            l2_bytes: caches.l2,
            l3_bytes: caches.l3,
            os: release.name,
            os_id: release.id,
            kernel: os::kernel(root),
        })
    }

    /// Labels of the `archscope_node_info` info metric (value 1).
    pub fn labels(&self) -> Vec<(&'static str, String)> {
        vec![
            ("arch", self.arch.clone()),
            ("goarch", self.goarch.clone()),
            ("cpu_vendor", self.cpu_vendor.clone()),
            ("cpu_model", self.cpu_model.clone()),
            ("cpus", self.cpus.to_string()),
            ("sockets", self.sockets.to_string()),
            ("cores_per_socket", self.cores_per_socket.to_string()),
            ("threads_per_core", self.threads_per_core.to_string()),
            ("numa_nodes", self.numa_nodes.to_string()),
            ("os", self.os.clone()),
            ("kernel", self.kernel.clone()),
        ]
    }
}
