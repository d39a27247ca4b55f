//! Architecture tables, held as data files generated from the kernel headers Debian ships
//! (see `tables_test.rs`, which checks them against those headers and regenerates them
//! with `XTASK_BLESS=1`).
pub mod compat;
pub mod errno;
pub mod syscalls;
#[cfg(test)]
mod tables_test;

/// Architectures the agent knows, with the names each ecosystem uses for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
    Loongarch64,
    /// Sunway SW64 (`sw_64` in uname and the kernel tree).
    Sw64,
}

impl Arch {
    /// The running kernel's architecture (`uname -m`), which picks the syscall table.
    pub fn running() -> Option<Arch> {
        Self::from_name(&sysinfo::System::cpu_arch())
            .or_else(|| Self::from_name(std::env::consts::ARCH))
    }

    /// Accepts `uname -m`, Rust, Go/Kubernetes and Debian names.
    pub fn from_name(name: &str) -> Option<Arch> {
        match name {
            "x86_64" | "amd64" => Some(Arch::X86_64),
            "aarch64" | "arm64" => Some(Arch::Aarch64),
            "loongarch64" | "loong64" => Some(Arch::Loongarch64),
            "sw_64" | "sw64" => Some(Arch::Sw64),
            _ => None,
        }
    }

    /// `uname -m`.
    pub fn uname(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Loongarch64 => "loongarch64",
            Arch::Sw64 => "sw_64",
        }
    }

    /// Go / Kubernetes `GOARCH` (the `kubernetes.io/arch` label).
    pub fn goarch(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
            Arch::Loongarch64 => "loong64",
            Arch::Sw64 => "sw64",
        }
    }
}
