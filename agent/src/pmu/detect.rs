//! Which counters to open on which CPU, decided from what the machine says about itself:
//! the PMU devices in `/sys/bus/event_source/devices` (`type`, `cpus`/`cpumask`, `events/`,
//! `caps/`) and the CPU model in `/proc/cpuinfo`. Works on a dump of another machine's
//! root, so the unit tests run it on real samples.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use archscope_common::PmuEvent;

use super::tables::{self, EventCode};
use crate::node::cpuinfo::CpuInfo;
use crate::node::cpuset::{self, CpuSet};

/// One event source device.
#[derive(Debug, Clone)]
pub struct Device {
    pub name: String,
    /// `perf_event_attr.type` for its raw events.
    pub pmu_type: u32,
    /// The CPUs it serves (`cpus` on arm, `cpumask` on others); `None`: all.
    pub cpus: Option<CpuSet>,
    pub events: BTreeSet<String>,
    pub caps: BTreeMap<String, String>,
}

/// What one CPU gets.
#[derive(Debug, Clone)]
pub struct CpuPlan {
    pub cpu: u32,
    pub pmu: String,
    pub table: &'static str,
    pub model: String,
    /// The driver's name for the microarchitecture (x86 `caps/pmu_name`, e.g. `skylake`).
    pub pmu_name: Option<String>,
    /// (event, attr type, config) to open.
    pub open: Vec<(PmuEvent, u32, u64)>,
    /// Events this CPU's PMU does not offer, and why.
    pub missing: Vec<(PmuEvent, String)>,
}

#[derive(Debug)]
pub struct Plan {
    pub cpus: Vec<CpuPlan>,
    /// CPUs that no core PMU serves.
    pub uncovered: Vec<u32>,
}

/// Every device under `<root>/sys/bus/event_source/devices`.
pub fn devices(root: &Path) -> Vec<Device> {
    let dir = root.join("sys/bus/event_source/devices");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<Device> = rd
        .flatten()
        .filter_map(|e| {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let pmu_type = cpuset::read_number(&p.join("type"))?;
            let names = |sub: &str| -> BTreeSet<String> {
                std::fs::read_dir(p.join(sub))
                    .map(|d| {
                        d.flatten()
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let caps = names("caps")
                .into_iter()
                .map(|c| {
                    let v = cpuset::read_trimmed(&p.join("caps").join(&c)).unwrap_or_default();
                    (c, v)
                })
                .collect();
            Some(Device {
                pmu_type: u32::try_from(pmu_type).ok()?,
                cpus: cpuset::read_set(&p, "cpus", "cpumask"),
                events: names("events"),
                caps,
                name,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The plan for `arch` (`uname -m`) on the machine at `root`. `Err` says why there are no
/// hardware counters at all.
pub fn plan(root: &Path, arch: &str) -> Result<Plan, String> {
    let devs = devices(root);
    let core: Vec<&Device> = devs
        .iter()
        .filter(|d| tables::is_core_pmu(&d.name))
        .collect();
    if core.is_empty() {
        let names: Vec<&str> = devs.iter().map(|d| d.name.as_str()).collect();
        return Err(format!(
            "no hardware PMU: the kernel's event sources are {} (a VM without a virtual PMU, or a kernel without the CPU's perf driver)",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    let cpuinfo = std::fs::read_to_string(root.join("proc/cpuinfo"))
        .map(|t| CpuInfo::parse(&t))
        .unwrap_or_default();
    let online = cpuset::read_trimmed(&root.join("sys/devices/system/cpu/online"))
        .and_then(|s| cpuset::parse_list(&s))
        .unwrap_or_else(|| cpuinfo.processors().collect());
    let mut plan = Plan {
        cpus: Vec::new(),
        uncovered: Vec::new(),
    };
    for cpu in online {
        // A device without a CPU list serves every CPU; one with a list only those.
        let dev = core
            .iter()
            .find(|d| d.cpus.as_ref().is_some_and(|c| c.contains(&cpu)))
            .or_else(|| core.iter().find(|d| d.cpus.is_none()));
        let Some(dev) = dev else {
            plan.uncovered.push(cpu);
            continue;
        };
        let model = model_of(&cpuinfo, cpu);
        let table_name = tables::table_name_for(arch, &dev.name, &model);
        let table = tables::table(table_name)?;
        let mut cp = CpuPlan {
            cpu,
            pmu: dev.name.clone(),
            table: table.name,
            model,
            pmu_name: dev.caps.get("pmu_name").cloned(),
            open: Vec::new(),
            missing: Vec::new(),
        };
        for event in PmuEvent::ALL {
            match table.get(event) {
                None => cp
                    .missing
                    .push((event, format!("not offered by the {table_name} table"))),
                Some(code) => match check(dev, code) {
                    Ok(()) => {
                        cp.open
                            .push((event, code.encoding.attr_type(dev.pmu_type), code.config))
                    }
                    Err(why) => cp.missing.push((event, why)),
                },
            }
        }
        plan.cpus.push(cp);
    }
    Ok(plan)
}

/// A PMU that lists its events must list this one.
fn check(dev: &Device, code: &EventCode) -> Result<(), String> {
    match code.sysfs {
        Some(name) if !dev.events.contains(name) => Err(format!(
            "{} does not list events/{name} (the core does not implement it)",
            dev.name
        )),
        _ => Ok(()),
    }
}

/// `model name`, or on arm the implementer/part decoded (e.g. `Kunpeng-920`).
fn model_of(info: &CpuInfo, cpu: u32) -> String {
    if let Some(m) = info.get(cpu, "model name") {
        return m.to_string();
    }
    match info.get(cpu, "cpu implementer") {
        Some(imp) => crate::node::models::arm_identity(imp, info.get(cpu, "cpu part")).1,
        None => String::new(),
    }
}
