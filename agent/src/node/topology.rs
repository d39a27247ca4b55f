//! CPU count, sockets, cores and threads, and NUMA nodes, counted as lscpu counts them:
//! per CPU type, a core is a distinct `thread_siblings` set and a socket a distinct
//! `core_siblings` (package) set; threads per core is the largest sibling set and cores per
//! socket is cores / sockets.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

use super::cpuinfo::CpuInfo;
use super::cpuset::{self, CpuSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub sockets: u32,
    pub cores_per_socket: u32,
    pub threads_per_core: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NumaNode {
    pub node: u32,
    /// CPU list as the kernel prints it, e.g. `0-5,48-53`.
    pub cpus: String,
}

/// What groups CPUs: a sibling set from sysfs, or ids when only ids are known.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Cpus(Vec<u32>),
    Ids(Vec<i64>),
}

/// The CPUs that exist: `present` as lscpu counts them (a laptop's `possible` is often
/// larger), then `online`, then the `cpuN` directories, then cpuinfo.
pub fn present_cpus(sys_cpu: &Path, cpuinfo: &CpuInfo) -> CpuSet {
    for f in ["present", "online"] {
        if let Some(set) =
            cpuset::read_trimmed(&sys_cpu.join(f)).and_then(|s| cpuset::parse_list(&s))
            && !set.is_empty()
        {
            return set;
        }
    }
    let dirs: CpuSet = std::fs::read_dir(sys_cpu)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_prefix("cpu")?
                .parse()
                .ok()
        })
        .collect();
    if !dirs.is_empty() {
        return dirs;
    }
    cpuinfo.processors().collect()
}

/// Sockets, cores per socket and threads per core for the whole machine. Each CPU type
/// (big.LITTLE clusters, or one type on most machines) is counted as lscpu counts it; the
/// machine then has the most sockets and threads any type has, and the sum of the types'
/// cores per socket (3 A510 + 2 A715 + 2 A710 + 1 X3 = 8 cores in one socket).
pub fn shape(
    sys_cpu: &Path,
    cpus: &CpuSet,
    cpuinfo: &CpuInfo,
    type_of: &BTreeMap<u32, usize>,
) -> Shape {
    // Per type: thread count per core unit, the core units, the socket units.
    let mut per_type: BTreeMap<usize, (BTreeMap<Unit, u32>, BTreeSet<Unit>)> = BTreeMap::new();
    for &cpu in cpus {
        let (core, socket) = units(sys_cpu, cpu, cpuinfo);
        let Some(core) = core else { continue };
        let ty = type_of.get(&cpu).copied().unwrap_or(0);
        let (cores, sockets) = per_type.entry(ty).or_default();
        let threads = match &core {
            Unit::Cpus(set) => u32::try_from(set.len()).unwrap_or(u32::MAX).max(1),
            Unit::Ids(_) => cores.get(&core).copied().unwrap_or(0) + 1,
        };
        let slot = cores.entry(core).or_insert(0);
        *slot = (*slot).max(threads);
        sockets.extend(socket);
    }
    if per_type.is_empty() {
        return from_counts(cpus, cpuinfo);
    }
    let mut shape = Shape {
        sockets: 0,
        cores_per_socket: 0,
        threads_per_core: 0,
    };
    for (cores, sockets) in per_type.values() {
        let n_sockets = u32::try_from(sockets.len()).unwrap_or(u32::MAX).max(1);
        let n_cores = u32::try_from(cores.len()).unwrap_or(u32::MAX);
        shape.sockets = shape.sockets.max(n_sockets);
        shape.cores_per_socket += n_cores / n_sockets;
        shape.threads_per_core = shape
            .threads_per_core
            .max(cores.values().copied().max().unwrap_or(1));
    }
    shape
}

/// One CPU's core and socket: sysfs sibling sets, else sysfs ids, else cpuinfo's
/// `physical id` / `core id`.
fn units(sys_cpu: &Path, cpu: u32, cpuinfo: &CpuInfo) -> (Option<Unit>, Option<Unit>) {
    let dir = sys_cpu.join(format!("cpu{cpu}/topology"));
    let set = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .find_map(|(list, mask)| cpuset::read_set(&dir, list, mask))
            .filter(|s| !s.is_empty())
            .map(|s| Unit::Cpus(s.into_iter().collect()))
    };
    let id = |name: &str| cpuset::read_number(&dir.join(name));
    let info = |key: &str| cpuinfo.get(cpu, key).and_then(|v| v.parse::<i64>().ok());

    let package = id("physical_package_id").or_else(|| info("physical id"));
    let core = set(&[
        ("thread_siblings_list", "thread_siblings"),
        ("core_cpus_list", "core_cpus"),
    ])
    .or_else(|| {
        // core_id is unique within a package (and die or cluster where those exist).
        let core = id("core_id")?;
        let die = id("die_id").unwrap_or(-1);
        let cluster = id("cluster_id").unwrap_or(-1);
        Some(Unit::Ids(vec![package.unwrap_or(-1), die, cluster, core]))
    })
    .or_else(|| Some(Unit::Ids(vec![package.unwrap_or(-1), info("core id")?])));
    let socket = set(&[
        ("core_siblings_list", "core_siblings"),
        ("package_cpus_list", "package_cpus"),
    ])
    .or_else(|| package.map(|p| Unit::Ids(vec![p])));
    (core, socket)
}

/// Neither sysfs nor cpuinfo ids: x86 cpuinfo's `siblings` and `cpu cores` counts, else
/// one socket of single-thread cores.
fn from_counts(cpus: &CpuSet, cpuinfo: &CpuInfo) -> Shape {
    let n = |k: &str| {
        cpuinfo
            .any(k)
            .and_then(|v| v.parse::<u32>().ok())
            .filter(|&v| v > 0)
    };
    let total = u32::try_from(cpus.len()).unwrap_or(u32::MAX).max(1);
    match (n("cpu cores"), n("siblings")) {
        (Some(cores), Some(siblings)) => {
            let threads = (siblings / cores).max(1);
            Shape {
                sockets: (total / siblings).max(1),
                cores_per_socket: cores,
                threads_per_core: threads,
            }
        }
        _ => Shape {
            sockets: 1,
            cores_per_socket: total,
            threads_per_core: 1,
        },
    }
}

/// NUMA nodes from `sys/devices/system/node/nodeN/cpulist` (or `cpumap`). No node
/// directory (arm64 without NUMA, many SoCs) means none are reported, as lscpu reports none.
pub fn numa(sys_node: &Path) -> Vec<NumaNode> {
    let mut nodes: Vec<u32> = std::fs::read_dir(sys_node)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_prefix("node")?
                .parse()
                .ok()
        })
        .collect();
    nodes.sort_unstable();
    nodes
        .into_iter()
        .map(|node| {
            let dir = sys_node.join(format!("node{node}"));
            let cpus = cpuset::read_set(&dir, "cpulist", "cpumap").unwrap_or_default();
            NumaNode {
                node,
                cpus: cpuset::format_list(&cpus),
            }
        })
        .collect()
}
