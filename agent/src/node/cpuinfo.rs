//! /proc/cpuinfo: per-processor `key : value` blocks. Keys are compared case-insensitively
//! because architectures (and kernel generations) spell them differently: LoongArch prints
//! `Model Name`, x86 `model name`, old-world LoongArch kernels differ again.
use std::collections::BTreeMap;

use super::models;

#[derive(Debug, Default)]
pub struct CpuInfo {
    /// Lines outside any processor block (`system type` on LoongArch, `Hardware` on arm).
    global: Vec<(String, String)>,
    procs: Vec<Proc>,
}

#[derive(Debug)]
struct Proc {
    id: u32,
    fields: Vec<(String, String)>,
}

/// Vendor and model of one kind of CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuType {
    pub vendor: String,
    pub model: String,
}

/// x86 `vendor_id` values (Intel, AMD, Hygon, Zhaoxin/Centaur, VIA, and rarer ones).
const X86_VENDORS: &[&str] = &[
    "GenuineIntel",
    "AuthenticAMD",
    "HygonGenuine",
    "CentaurHauls",
    "Shanghai",
    "VIA VIA VIA",
    "GenuineTMx86",
    "CyrixInstead",
];

impl CpuInfo {
    pub fn parse(text: &str) -> CpuInfo {
        let mut info = CpuInfo::default();
        let mut current: Option<Proc> = None;
        for line in text.lines() {
            if line.trim().is_empty() {
                // A blank line ends a processor block; what follows (arm's `Hardware`,
                // `Revision`) belongs to the whole machine.
                info.procs.extend(current.take());
                continue;
            }
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let key = k.trim().to_ascii_lowercase();
            let value = v.trim().to_string();
            // Old arm kernels print `Processor : ARMv7 Processor rev 10`: not a CPU number.
            if key == "processor"
                && let Ok(id) = value.parse::<u32>()
            {
                info.procs.extend(current.take());
                current = Some(Proc {
                    id,
                    fields: Vec::new(),
                });
                continue;
            }
            match current.as_mut() {
                Some(p) => p.fields.push((key, value)),
                None => info.global.push((key, value)),
            }
        }
        info.procs.extend(current);
        info
    }

    /// Processor numbers, in file order.
    pub fn processors(&self) -> impl Iterator<Item = u32> + '_ {
        self.procs.iter().map(|p| p.id)
    }

    /// First value of `key` (lower case) for processor `id`, then outside any block.
    pub fn get(&self, id: u32, key: &str) -> Option<&str> {
        let own = self.procs.iter().find(|p| p.id == id);
        own.and_then(|p| find(&p.fields, key))
            .or_else(|| find(&self.global, key))
    }

    /// First value of `key` anywhere: for machine-wide facts such as x86 `flags`.
    pub fn any(&self, key: &str) -> Option<&str> {
        self.procs
            .iter()
            .find_map(|p| find(&p.fields, key))
            .or_else(|| find(&self.global, key))
    }

    /// The distinct CPU types in order of first appearance, and each processor's index in
    /// that list. A processor that names no vendor or model (old arm kernels print the
    /// fields once, after the processor lines) takes the first type, as lscpu does.
    pub fn types(&self) -> (Vec<CpuType>, BTreeMap<u32, usize>) {
        let mut types: Vec<CpuType> = Vec::new();
        let mut of: BTreeMap<u32, usize> = BTreeMap::new();
        let mut untyped = Vec::new();
        for p in &self.procs {
            let t = self.identify(|k| find(&p.fields, k).or_else(|| find(&self.global, k)));
            if t.vendor.is_empty() && t.model.is_empty() {
                untyped.push(p.id);
                continue;
            }
            let idx = types.iter().position(|x| *x == t).unwrap_or_else(|| {
                types.push(t);
                types.len() - 1
            });
            of.insert(p.id, idx);
        }
        if types.is_empty() {
            // No processor block named anything: try the machine-wide lines.
            let t = self.identify(|k| find(&self.global, k));
            types.push(t);
        }
        for id in untyped {
            of.insert(id, 0);
        }
        (types, of)
    }

    fn identify<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> CpuType {
        if let Some(imp) = get("cpu implementer") {
            let (vendor, model) = models::arm_identity(imp, get("cpu part"));
            return CpuType { vendor, model };
        }
        let model = ["model name", "cpu model"]
            .iter()
            .find_map(|k| get(k))
            .unwrap_or("")
            .to_string();
        let vendor = get("vendor_id")
            .or_else(|| get("vendor"))
            .map(str::to_string)
            .or_else(|| family_vendor(get("cpu family")?))
            .unwrap_or_default();
        CpuType { vendor, model }
    }

    /// The architecture these lines come from, for a dump taken on another machine.
    pub fn infer_arch(&self) -> Option<&'static str> {
        let lower = |k: &str| self.any(k).map(str::to_ascii_lowercase);
        if self.any("cpu implementer").is_some() {
            return Some("aarch64");
        }
        let isa = lower("isa").unwrap_or_default();
        let family = lower("cpu family").unwrap_or_default();
        let model = lower("model name").unwrap_or_default();
        if isa.contains("loongarch") || family.starts_with("loongson") {
            return Some("loongarch64");
        }
        if model.starts_with("loongson") && !isa.contains("mips") {
            return Some("loongarch64");
        }
        let vendor = lower("vendor_id").unwrap_or_default();
        let flags = lower("flags").unwrap_or_default();
        let has_flag = |f: &str| flags.split_whitespace().any(|x| x == f);
        // Sunway prints `flags : fpu simd vpn upn cpuid`; no x86 flag is called `upn`.
        if has_flag("upn") || vendor.contains("sunway") || model.starts_with("sw") {
            return Some("sw_64");
        }
        let x86_vendor = X86_VENDORS
            .iter()
            .any(|v| vendor.trim() == v.to_ascii_lowercase());
        if x86_vendor || has_flag("lm") {
            return Some("x86_64");
        }
        None
    }
}

fn find<'a>(fields: &'a [(String, String)], key: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// LoongArch has no vendor line; `CPU Family : Loongson-64bit` names it. x86's numeric
/// `cpu family` names nobody.
fn family_vendor(family: &str) -> Option<String> {
    let name = family.split(['-', ' ']).next()?.trim();
    (!name.is_empty() && !name.chars().all(|c| c.is_ascii_digit())).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_case_insensitive_and_blocks_split() {
        let text = "system type\t\t: generic-loongson-machine\n\nprocessor\t\t: 0\n\
                    CPU Family\t\t: Loongson-64bit\nModel Name\t\t: Loongson-3A6000\n\n\
                    processor\t\t: 1\nCPU Family\t\t: Loongson-64bit\nMODEL NAME : Loongson-3A6000\n";
        let info = CpuInfo::parse(text);
        assert_eq!(info.processors().collect::<Vec<_>>(), [0, 1]);
        assert_eq!(info.get(1, "system type"), Some("generic-loongson-machine"));
        let (types, of) = info.types();
        assert_eq!(
            types,
            [CpuType {
                vendor: "Loongson".into(),
                model: "Loongson-3A6000".into()
            }]
        );
        assert_eq!(of.values().copied().collect::<Vec<_>>(), [0, 0]);
        assert_eq!(info.infer_arch(), Some("loongarch64"));
    }

    #[test]
    fn arch_from_contents() {
        let arch = |t: &str| CpuInfo::parse(t).infer_arch();
        assert_eq!(
            arch("processor : 0\nCPU implementer : 0x48\n"),
            Some("aarch64")
        );
        assert_eq!(
            arch("processor : 0\nvendor_id : HygonGenuine\n"),
            Some("x86_64")
        );
        assert_eq!(arch("processor : 0\nflags : fpu lm sse\n"), Some("x86_64"));
        let sunway = "processor\t: 0\nvendor_id\t: WXDX\ncpu family\t: 6\n\
                      model name\t: SW3231 CPU @ 2.40GHz\nflags\t\t: fpu simd vpn upn cpuid\n";
        assert_eq!(arch(sunway), Some("sw_64"));
        assert_eq!(
            arch("processor : 0\nisa : mips64r2\nmodel name : Loongson-3A4000\n"),
            None
        );
        assert_eq!(arch(""), None);
    }

    #[test]
    fn old_arm_layout_shares_one_type() {
        // Early arm64 kernels: processor lines first, then the fields once.
        let text = "Processor\t: AArch64 Processor rev 4 (aarch64)\nprocessor\t: 0\n\
                    processor\t: 1\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\n\
                    CPU part\t: 0xd03\n";
        let (types, of) = CpuInfo::parse(text).types();
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].model, "Cortex-A53");
        assert_eq!(of.len(), 2);
    }
}
