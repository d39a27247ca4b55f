//! Capabilities: what each feature needs and whether this process has it.
use caps::{CapSet, Capability};

/// A capability requirement: any one of `any_of` suffices.
pub struct Need {
    pub what: &'static str,
    pub any_of: &'static [Capability],
}

/// Loading programs and creating maps; attaching tracing programs. (Kernels before 5.8
/// have no CAP_BPF/CAP_PERFMON and need CAP_SYS_ADMIN.)
pub const RUN: &[Need] = &[
    Need {
        what: "load eBPF programs and maps",
        any_of: &[Capability::CAP_BPF, Capability::CAP_SYS_ADMIN],
    },
    Need {
        what: "attach tracepoint programs",
        any_of: &[Capability::CAP_PERFMON, Capability::CAP_SYS_ADMIN],
    },
];

pub fn has(c: Capability) -> bool {
    caps::has_cap(None, CapSet::Effective, c).unwrap_or(false)
}

/// The capabilities any feature asks for that this process holds.
pub fn relevant() -> Vec<String> {
    let mut v: Vec<String> = RUN
        .iter()
        .flat_map(|n| n.any_of.iter())
        .filter(|c| has(**c))
        .map(|c| c.to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The needs this process does not meet, as readable lines.
pub fn missing(needs: &[Need]) -> Vec<String> {
    needs
        .iter()
        .filter(|n| !n.any_of.iter().any(|c| has(*c)))
        .map(|n| {
            let names: Vec<String> = n.any_of.iter().map(|c| c.to_string()).collect();
            format!("{} needs {}", n.what, names.join(" or "))
        })
        .collect()
}

pub fn require_for_run() -> Result<(), String> {
    let m = missing(RUN);
    if m.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "missing privilege: {} (run as root or grant the capabilities)",
            m.join("; ")
        ))
    }
}
