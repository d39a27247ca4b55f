//! Reading the per-cgroup traffic map at export time.
use std::collections::HashMap;

use archscope_common::Traffic;
use aya::Ebpf;
use aya::maps::{MapData, PerCpuHashMap};

/// One read of the traffic map, summed over CPUs, by cgroup id.
pub fn read(ebpf: &Ebpf) -> Result<HashMap<u64, Traffic>, String> {
    let mut out = HashMap::new();
    let traffic: PerCpuHashMap<&MapData, u64, Traffic> =
        PerCpuHashMap::try_from(ebpf.map("NET_TRAFFIC").ok_or("NET_TRAFFIC missing")?)
            .map_err(|e| e.to_string())?;
    for item in traffic.iter() {
        let (k, per_cpu) = item.map_err(|e| e.to_string())?;
        let mut sum = Traffic::default();
        per_cpu.iter().for_each(|v| sum.add(v));
        out.insert(k, sum);
    }
    Ok(out)
}

/// Drop the entries of cgroups gone past their grace period.
pub fn forget_cgroups(ebpf: &mut Ebpf, gone: &[u64]) -> Result<usize, String> {
    let map = ebpf.map_mut("NET_TRAFFIC").ok_or("NET_TRAFFIC missing")?;
    let mut m: PerCpuHashMap<&mut MapData, u64, Traffic> =
        PerCpuHashMap::try_from(map).map_err(|e| e.to_string())?;
    Ok(gone.iter().filter(|id| m.remove(id).is_ok()).count())
}
