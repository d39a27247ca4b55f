//! Cache totals for the machine, as lscpu's summary computes them: every distinct cache
//! instance (a level and type shared by one set of CPUs) counted once, sizes summed.
use std::collections::BTreeSet;
use std::path::Path;

use super::cpuinfo::CpuInfo;
use super::cpuset::{self, CpuSet};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub l1d: u64,
    pub l1i: u64,
    pub l2: u64,
    pub l3: u64,
}

/// Sums `cpuN/cache/indexM/size` over distinct (level, type, `shared_cpu_list`) instances.
/// A cache without a `size` (some arm kernels) adds nothing. When sysfs has no cache
/// directories at all, falls back to [`from_cpuinfo`].
pub fn totals(sys_cpu: &Path, cpus: &CpuSet, cpuinfo: &CpuInfo, sockets: u32) -> Totals {
    let mut seen: BTreeSet<(i64, String, Vec<u32>)> = BTreeSet::new();
    let mut t = Totals::default();
    let mut any_index = false;
    for &cpu in cpus {
        let cache_dir = sys_cpu.join(format!("cpu{cpu}/cache"));
        let Ok(entries) = std::fs::read_dir(&cache_dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(idx) = name.to_str().and_then(|n| n.strip_prefix("index")) else {
                continue;
            };
            if idx.parse::<u32>().is_err() {
                continue;
            }
            any_index = true;
            let dir = e.path();
            let (Some(level), Some(kind)) = (
                cpuset::read_number(&dir.join("level")),
                cpuset::read_trimmed(&dir.join("type")),
            ) else {
                continue;
            };
            let shared = cpuset::read_set(&dir, "shared_cpu_list", "shared_cpu_map")
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| CpuSet::from([cpu]));
            if !seen.insert((level, kind.clone(), shared.into_iter().collect())) {
                continue;
            }
            let size = cpuset::read_trimmed(&dir.join("size"))
                .and_then(|s| parse_size(&s))
                .unwrap_or(0);
            let slot = match (level, kind.as_str()) {
                (1, "Data") => &mut t.l1d,
                (1, "Instruction") => &mut t.l1i,
                (2, _) => &mut t.l2,
                (3, _) => &mut t.l3,
                _ => continue,
            };
            *slot = slot.saturating_add(size);
        }
    }
    if any_index {
        t
    } else {
        from_cpuinfo(cpuinfo, sockets)
    }
}

/// x86 and Sunway cpuinfo give one `cache size`, the last-level cache of a package: taken
/// as an L3 per socket. Only used when sysfs lists no caches (a guess, but the only figure
/// there is).
fn from_cpuinfo(cpuinfo: &CpuInfo, sockets: u32) -> Totals {
    let l3 = cpuinfo
        .any("cache size")
        .and_then(parse_size)
        .map_or(0, |s| s.saturating_mul(u64::from(sockets.max(1))));
    Totals {
        l3,
        ..Totals::default()
    }
}

/// `32K`, `8192K`, `1M`, `3072 KB`, or plain bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let n: u64 = s[..digits].parse().ok()?;
    let mult: u64 = match s[digits..].trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("32K"), Some(32 << 10));
        assert_eq!(parse_size("16384K\n"), Some(16 << 20));
        assert_eq!(parse_size("3072 KB"), Some(3 << 20));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(parse_size("99999999999999999999G"), None);
    }

    #[test]
    fn cpuinfo_fallback_is_one_llc_per_socket() {
        let info = CpuInfo::parse("processor : 0\ncache size : 3072 KB\n");
        let t = totals(Path::new("/nonexistent"), &CpuSet::from([0]), &info, 2);
        assert_eq!(
            t,
            Totals {
                l3: 6 << 20,
                ..Totals::default()
            }
        );
    }
}
