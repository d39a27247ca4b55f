//! The user half of `cgroup_paths`: where `cgroup:cgroup_mkdir` keeps its fields on this
//! kernel, which hierarchy's new cgroups to name, and taking the named ones out of the map
//! at each snapshot (see the kernel half for why).
use archscope_common::{CGROUP_PATH_MAX, CgroupMkdirLayout, CgroupPath};
use aya::Ebpf;
use aya::maps::{HashMap, MapData};

use crate::probes::cgroup::Hierarchy;
use crate::tracefs::Tracefs;

const TP: &str = "cgroup:cgroup_mkdir";

/// Record offsets from tracefs, and the hierarchy's number: 0 for cgroup v2, the one
/// `/proc/cgroups` gives a v1 controller's hierarchy.
pub fn layout(t: &Tracefs, h: &Hierarchy) -> Result<CgroupMkdirLayout, String> {
    let f = t
        .format("cgroup", "cgroup_mkdir")
        .map_err(|e| e.to_string())?;
    let field = |name: &str| f.field(TP, name).map_err(|e| e.to_string());
    let (root, id, path) = (field("root")?, field("id")?, field("path")?);
    if root.size != 4 || !matches!(id.size, 4 | 8) || path.size != 4 {
        return Err(format!(
            "{TP}: unexpected field sizes (root {}, id {}, path {})",
            root.size, id.size, path.size
        ));
    }
    let hierarchy = match &h.v1 {
        None => 0,
        Some((controller, _)) => {
            let table = std::fs::read_to_string("/proc/cgroups")
                .map_err(|e| format!("/proc/cgroups: {e}"))?;
            v1_hierarchy(&table, controller)
                .ok_or_else(|| format!("/proc/cgroups has no hierarchy for `{controller}`"))?
        }
    };
    Ok(CgroupMkdirLayout {
        root: root.offset,
        id: id.offset,
        id_size: id.size,
        path: path.offset,
        hierarchy,
        _pad: 0,
    })
}

/// The hierarchy number of `controller` in `/proc/cgroups` (`subsys hierarchy cgroups
/// enabled`); 0 (not mounted in v1) is no hierarchy.
fn v1_hierarchy(table: &str, controller: &str) -> Option<u32> {
    table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let mut cols = l.split_whitespace();
            (cols.next()? == controller).then(|| cols.next()?.parse().ok())?
        })
        .filter(|&n| n != 0)
}

/// Take every new cgroup's path out of the map. Paths that may have been cut are left to
/// the walk of the tree (the cgroup is named only if it still exists then).
pub fn take(ebpf: &mut Ebpf) -> Result<Vec<(u64, String)>, String> {
    let map = ebpf.map_mut("CGROUP_PATHS").ok_or("CGROUP_PATHS missing")?;
    let mut paths: HashMap<&mut MapData, u64, CgroupPath> =
        HashMap::try_from(map).map_err(|e| e.to_string())?;
    let ids: Vec<u64> = paths.keys().filter_map(Result::ok).collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Ok(p) = paths.get(&id, 0) {
            let len = p.len as usize;
            if len < CGROUP_PATH_MAX - 1 && p.path.first() == Some(&b'/') {
                out.push((id, String::from_utf8_lossy(&p.path[..len]).into_owned()));
            }
        }
        let _ = paths.remove(&id);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    /// /proc/cgroups of this project's CI host (Debian 12, hybrid hierarchy, 6.18).
    const HYBRID: &str = "#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t3\t7\t1
cpu\t1\t7\t1
cpuacct\t2\t7\t1
blkio\t7\t7\t1
memory\t4\t57\t1
devices\t5\t7\t1
freezer\t6\t7\t1
net_cls\t0\t7\t1
perf_event\t0\t7\t1
net_prio\t0\t7\t1
hugetlb\t0\t7\t1
pids\t8\t7\t1
";

    #[test]
    fn v1_hierarchy_numbers_from_proc_cgroups() {
        assert_eq!(super::v1_hierarchy(HYBRID, "memory"), Some(4));
        assert_eq!(super::v1_hierarchy(HYBRID, "pids"), Some(8));
        // not mounted as a v1 hierarchy: no number
        assert_eq!(super::v1_hierarchy(HYBRID, "net_prio"), None);
        assert_eq!(super::v1_hierarchy(HYBRID, "nosuch"), None);
    }
}
