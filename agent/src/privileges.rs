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

/// Kernels before 5.11 charge eBPF maps to RLIMIT_MEMLOCK (later ones to the memory
/// cgroup): there, raise it to unlimited. That needs CAP_SYS_RESOURCE unless the limit is
/// already unlimited (systemd's `LimitMEMLOCK=infinity`).
pub fn raise_memlock() -> Result<&'static str, String> {
    let release = sysinfo::System::kernel_version().unwrap_or_default();
    if !kernel_before(&release, (5, 11)) {
        return Ok("eBPF maps are charged to the memory cgroup (kernel 5.11+)");
    }
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) } != 0 {
        return Err(format!(
            "kernel {release} charges eBPF maps to RLIMIT_MEMLOCK and raising it failed ({}): grant CAP_SYS_RESOURCE or set the limit to unlimited",
            std::io::Error::last_os_error()
        ));
    }
    Ok("RLIMIT_MEMLOCK raised to unlimited (kernel before 5.11)")
}

/// `4.19.90-23.8.v2101.ky10.aarch64` is before (5, 11); unparsable releases are not.
fn kernel_before(release: &str, (major, minor): (u32, u32)) -> bool {
    let mut it = release
        .split(|c: char| !c.is_ascii_digit())
        .map(|s| s.parse::<u32>().ok());
    match (it.next().flatten(), it.next().flatten()) {
        (Some(a), Some(b)) => (a, b) < (major, minor),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn kernel_releases_compare() {
        use super::kernel_before;
        assert!(kernel_before("4.19.90-23.8.v2101.ky10.aarch64", (5, 11)));
        assert!(kernel_before("5.10.0-60.18.0.50.oe2203.x86_64", (5, 11)));
        assert!(!kernel_before("5.11.0", (5, 11)));
        assert!(!kernel_before("6.18.0", (5, 11)));
        assert!(!kernel_before("", (5, 11)));
    }
}
