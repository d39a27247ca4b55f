//! A kernel map keyed by cgroup id, read whole at each snapshot and summed over CPUs: the
//! shape of most features' data. A unit that keeps one hands it to the trait's defaults
//! (`Unit::cgroup_map`), which read, count, forget and clear it.
use std::collections::HashMap;

use archscope_common::{TcpStats, Traffic};
use aya::Ebpf;
use aya::maps::{MapData, PerCpuHashMap};

use super::MapFill;

/// A per-CPU value that adds up over CPUs.
pub trait PerCpuSum: aya::Pod {
    fn zero() -> Self;
    fn add(&mut self, other: &Self);
}

impl PerCpuSum for TcpStats {
    fn zero() -> Self {
        TcpStats::ZERO
    }
    fn add(&mut self, other: &Self) {
        TcpStats::add(self, other);
    }
}

impl PerCpuSum for Traffic {
    fn zero() -> Self {
        Traffic::default()
    }
    fn add(&mut self, other: &Self) {
        Traffic::add(self, other);
    }
}

/// What the trait's defaults need of a [`CgroupMap`], whatever its value type.
pub trait ReadMap: Send {
    fn fill(&self) -> MapFill;
    fn ids(&self, out: &mut Vec<u64>);
    fn read(&mut self, ebpf: &Ebpf) -> Result<(), String>;
    fn forget(&mut self, ebpf: &mut Ebpf, gone: &[u64]) -> Result<usize, String>;
    fn clear(&mut self);
}

pub struct CgroupMap<V> {
    /// Its name in the object, and in `kernel_map_entries{map}`.
    object_name: &'static str,
    metric_name: &'static str,
    pub capacity: u32,
    pub last: Option<HashMap<u64, V>>,
}

impl<V> CgroupMap<V> {
    pub const fn new(object_name: &'static str, metric_name: &'static str) -> Self {
        CgroupMap {
            object_name,
            metric_name,
            capacity: 0,
            last: None,
        }
    }

    pub fn object_name(&self) -> &'static str {
        self.object_name
    }
}

impl<V: PerCpuSum + Send> ReadMap for CgroupMap<V> {
    fn fill(&self) -> MapFill {
        MapFill {
            map: self.metric_name,
            capacity: self.capacity,
            entries: self.last.as_ref().map(HashMap::len),
        }
    }

    fn ids(&self, out: &mut Vec<u64>) {
        out.extend(self.last.iter().flat_map(|m| m.keys().copied()));
    }

    fn read(&mut self, ebpf: &Ebpf) -> Result<(), String> {
        let name = self.object_name;
        let map: PerCpuHashMap<&MapData, u64, V> =
            PerCpuHashMap::try_from(ebpf.map(name).ok_or(format!("{name} missing"))?)
                .map_err(|e| e.to_string())?;
        let mut out = HashMap::new();
        for item in map.iter() {
            let (k, per_cpu) = item.map_err(|e| e.to_string())?;
            let mut sum = V::zero();
            per_cpu.iter().for_each(|v| sum.add(v));
            out.insert(k, sum);
        }
        self.last = Some(out);
        Ok(())
    }

    /// Drop the entries of cgroups gone past their grace period (when the map was read).
    fn forget(&mut self, ebpf: &mut Ebpf, gone: &[u64]) -> Result<usize, String> {
        if self.last.is_none() {
            return Ok(0);
        }
        let name = self.object_name;
        let map = ebpf.map_mut(name).ok_or(format!("{name} missing"))?;
        let mut m: PerCpuHashMap<&mut MapData, u64, V> =
            PerCpuHashMap::try_from(map).map_err(|e| e.to_string())?;
        Ok(gone.iter().filter(|id| m.remove(id).is_ok()).count())
    }

    fn clear(&mut self) {
        self.last = None;
    }
}
