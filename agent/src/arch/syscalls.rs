//! Syscall number → name, per architecture. The tables are data (`data/syscalls_*.tsv`),
//! generated from and tested against Debian's kernel headers for each arch.
use std::collections::HashMap;

use super::Arch;

const X86_64: &str = include_str!("data/syscalls_x86_64.tsv");
const AARCH64: &str = include_str!("data/syscalls_aarch64.tsv");
const LOONGARCH64: &str = include_str!("data/syscalls_loongarch64.tsv");
const SW_64: &str = include_str!("data/syscalls_sw_64.tsv");

/// A syscall table: number → name.
#[derive(Debug, Clone)]
pub struct SyscallTable {
    pub arch: Arch,
    names: HashMap<u32, &'static str>,
}

impl SyscallTable {
    pub fn for_arch(arch: Arch) -> SyscallTable {
        let src = match arch {
            Arch::X86_64 => X86_64,
            Arch::Aarch64 => AARCH64,
            Arch::Loongarch64 => LOONGARCH64,
            Arch::Sw64 => SW_64,
        };
        SyscallTable {
            arch,
            names: parse_tsv(src).collect(),
        }
    }

    pub fn name(&self, nr: u32) -> Option<&'static str> {
        self.names.get(&nr).copied()
    }

    /// Name for a label: the table's name, or `unknown_<nr>` for numbers newer than the
    /// table (counted, never dropped).
    pub fn label(&self, nr: u32) -> std::borrow::Cow<'static, str> {
        if nr & archscope_common::COMPAT_BIT != 0 {
            // A 32-bit compat call: its number is from another table; never mislabel it.
            return format!("compat_{}", nr & !archscope_common::COMPAT_BIT).into();
        }
        match self.name(nr) {
            Some(n) => n.into(),
            None => format!("unknown_{nr}").into(),
        }
    }

    pub fn number(&self, name: &str) -> Option<u32> {
        self.names
            .iter()
            .find(|(_, n)| **n == name)
            .map(|(nr, _)| *nr)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// `number<TAB>name` lines; `#` starts a comment.
pub(crate) fn parse_tsv(src: &'static str) -> impl Iterator<Item = (u32, &'static str)> {
    src.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (nr, name) = l.split_once('\t')?;
            Some((nr.parse().ok()?, name.trim()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_numbers_differ_per_arch() {
        let x = SyscallTable::for_arch(Arch::X86_64);
        let a = SyscallTable::for_arch(Arch::Aarch64);
        let l = SyscallTable::for_arch(Arch::Loongarch64);
        assert_eq!(x.name(0), Some("read"));
        assert_eq!(x.name(110), Some("getppid"));
        assert_eq!(x.name(257), Some("openat"));
        assert_eq!(a.name(63), Some("read"));
        assert_eq!(a.name(173), Some("getppid"));
        assert_eq!(a.name(56), Some("openat"));
        assert_eq!(a.name(280), Some("bpf"));
        assert_eq!(l.name(173), Some("getppid"));
        assert_eq!(x.label(100_000), "unknown_100000");
        assert_eq!(x.label(64 | archscope_common::COMPAT_BIT), "compat_64");
        // Sunway keeps Alpha's numbering for the old calls, with its own additions.
        let s = SyscallTable::for_arch(Arch::Sw64);
        assert_eq!(s.name(1), Some("exit"));
        assert_eq!(s.name(3), Some("read"));
        assert_eq!(s.name(175), Some("getppid"));
        assert_eq!(s.name(450), Some("openat"));
        assert_eq!(s.name(405), Some("exit_group"));
        assert_eq!(s.name(170), Some("bpf"));
    }

    #[test]
    fn generic_table_extras_per_arch() {
        let a = SyscallTable::for_arch(Arch::Aarch64);
        let l = SyscallTable::for_arch(Arch::Loongarch64);
        // arm64 keeps renameat, newfstatat/fstat, getrlimit/setrlimit and memfd_secret ...
        for name in [
            "renameat",
            "newfstatat",
            "fstat",
            "getrlimit",
            "setrlimit",
            "memfd_secret",
        ] {
            assert!(a.number(name).is_some(), "arm64 lacks {name}");
        }
        // ... which LoongArch's ABI lacks (statx and prlimit64 replace them); Linux 6.11
        // gave it newfstatat/fstat back.
        for name in ["renameat", "getrlimit", "setrlimit", "memfd_secret"] {
            assert!(l.number(name).is_none(), "loongarch64 has {name}");
        }
        assert_eq!(l.number("newfstatat"), Some(79));
        // Calls newer than Debian's 6.1 headers come from linux-source-6.12.
        assert_eq!(
            SyscallTable::for_arch(Arch::X86_64).name(452),
            Some("fchmodat2")
        );
        assert_eq!(a.name(462), Some("mseal"));
        assert_eq!(a.number("renameat"), Some(38));
    }
}
