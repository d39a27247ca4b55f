//! The agent's memory budget: above it the series budget is squeezed (the least active
//! series shed into the overflow), below nine tenths of it the budget is restored.
use std::path::Path;
use std::time::{Duration, Instant};

/// RSS does not fall the moment series are shed (the allocator keeps freed pages), so a
/// squeeze is given this long to take effect before the next.
const SQUEEZE_EVERY: Duration = Duration::from_secs(30);

/// Share of the agent's own cgroup memory limit used when the budget is `auto`: room for
/// the rest of the process (eBPF object, HTTP buffers) before the kernel's OOM killer.
const AUTO_SHARE: f64 = 0.8;

#[derive(Debug)]
pub struct MemoryBudget {
    limit: u64,
    last_squeeze: Option<Instant>,
}

/// What the collector should do after a reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pressure {
    /// Squeeze the series budget (again).
    Squeeze,
    /// Still over; the last squeeze is taking effect.
    Hold,
    /// Under the release mark: budgets back to normal.
    Relieved,
}

impl MemoryBudget {
    pub fn new(limit: u64) -> Self {
        MemoryBudget {
            limit,
            last_squeeze: None,
        }
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    pub fn observe(&mut self, rss: u64, now: Instant) -> Pressure {
        if rss > self.limit {
            match self.last_squeeze {
                Some(t) if now.duration_since(t) < SQUEEZE_EVERY => Pressure::Hold,
                _ => {
                    self.last_squeeze = Some(now);
                    Pressure::Squeeze
                }
            }
        } else if rss as f64 <= self.limit as f64 * 0.9 {
            self.last_squeeze = None;
            Pressure::Relieved
        } else {
            Pressure::Hold
        }
    }
}

/// `auto`: 80 % of the memory limit of the cgroup the agent runs in (cgroup v2
/// `memory.max`, or v1 `memory.limit_in_bytes`), or none when it has none.
pub fn auto_limit(proc_self_cgroup: &str, cgroup_root: &Path) -> Option<u64> {
    let limit = proc_self_cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let rel = path.trim_start_matches('/');
        let file = if controllers.is_empty() {
            cgroup_root.join(rel).join("memory.max")
        } else if controllers.split(',').any(|c| c == "memory") {
            cgroup_root
                .join("memory")
                .join(rel)
                .join("memory.limit_in_bytes")
        } else {
            return None;
        };
        let text = std::fs::read_to_string(file).ok()?;
        // "max", or v1's "no limit" (a page-rounded i64::MAX)
        text.trim().parse::<u64>().ok().filter(|v| *v < 1 << 62)
    })?;
    Some((limit as f64 * AUTO_SHARE) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squeezes_at_most_every_30_s_and_relieves_under_90_percent() {
        let mut m = MemoryBudget::new(100);
        let t = Instant::now();
        assert_eq!(m.observe(50, t), Pressure::Relieved);
        assert_eq!(m.observe(101, t), Pressure::Squeeze);
        assert_eq!(m.observe(120, t + Duration::from_secs(10)), Pressure::Hold);
        assert_eq!(
            m.observe(120, t + Duration::from_secs(31)),
            Pressure::Squeeze
        );
        assert_eq!(m.observe(95, t + Duration::from_secs(40)), Pressure::Hold);
        assert_eq!(
            m.observe(90, t + Duration::from_secs(41)),
            Pressure::Relieved
        );
        assert_eq!(
            m.observe(101, t + Duration::from_secs(42)),
            Pressure::Squeeze
        );
    }

    #[test]
    fn auto_reads_the_agents_own_cgroup_limit() {
        let dir = std::env::temp_dir().join(format!("archscope-mem-{}", std::process::id()));
        // cgroup v2, as a DaemonSet pod's container sees /proc/self/cgroup on this host
        let pod = "kubepods.slice/kubepods-burstable.slice/cri-containerd-1.scope";
        std::fs::create_dir_all(dir.join(pod)).unwrap();
        std::fs::write(dir.join(pod).join("memory.max"), "536870912\n").unwrap();
        let v2 = format!("0::/{pod}\n");
        assert_eq!(auto_limit(&v2, &dir), Some(429_496_729));
        std::fs::write(dir.join(pod).join("memory.max"), "max\n").unwrap();
        assert_eq!(auto_limit(&v2, &dir), None);
        // cgroup v1 (a CentOS 7 host's /proc/self/cgroup lines)
        let v1 = "11:memory:/system.slice/archscope.service\n4:cpu,cpuacct:/system.slice\n";
        let mem = dir.join("memory/system.slice/archscope.service");
        std::fs::create_dir_all(&mem).unwrap();
        std::fs::write(mem.join("memory.limit_in_bytes"), "9223372036854771712\n").unwrap();
        assert_eq!(auto_limit(v1, &dir), None);
        std::fs::write(mem.join("memory.limit_in_bytes"), "268435456\n").unwrap();
        assert_eq!(auto_limit(v1, &dir), Some(214_748_364));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
