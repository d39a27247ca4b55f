//! errno number → name (`ENOENT`). x86_64, arm64 and LoongArch share the asm-generic
//! numbering; the table is data generated from and tested against Debian's headers.
//! Sunway keeps Alpha's errno numbers, for which the project has no verified table yet:
//! there the label is the number (`E35`), never a wrong name.
use std::collections::HashMap;
use std::sync::OnceLock;

use super::Arch;

const GENERIC: &str = include_str!("data/errno_generic.tsv");

fn table() -> &'static HashMap<u32, &'static str> {
    static T: OnceLock<HashMap<u32, &'static str>> = OnceLock::new();
    T.get_or_init(|| super::syscalls::parse_tsv(GENERIC).collect())
}

/// `ENOENT` for 2; `E<n>` for numbers the table lacks.
pub fn label(arch: Arch, errno: u32) -> std::borrow::Cow<'static, str> {
    let known = match arch {
        Arch::X86_64 | Arch::Aarch64 | Arch::Loongarch64 => table().get(&errno),
        Arch::Sw64 => None,
    };
    match known {
        Some(n) => (*n).into(),
        None => format!("E{errno}").into(),
    }
}

/// The number of errno `name` on this architecture; `None` where the table is unknown.
pub fn number(arch: Arch, name: &str) -> Option<u32> {
    match arch {
        Arch::X86_64 | Arch::Aarch64 | Arch::Loongarch64 => {
            table().iter().find(|(_, n)| **n == name).map(|(v, _)| *v)
        }
        Arch::Sw64 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Arch;

    #[test]
    fn socket_errnos_by_name() {
        assert_eq!(super::number(Arch::X86_64, "ECONNREFUSED"), Some(111));
        assert_eq!(super::number(Arch::Aarch64, "ETIMEDOUT"), Some(110));
        assert_eq!(super::number(Arch::Loongarch64, "ECONNRESET"), Some(104));
        assert_eq!(super::number(Arch::X86_64, "EPIPE"), Some(32));
        assert_eq!(super::number(Arch::Sw64, "ECONNREFUSED"), None);
    }

    #[test]
    fn sw64_errnos_stay_numeric() {
        assert_eq!(super::label(Arch::Sw64, 35), "E35");
    }

    #[test]
    fn common_errnos() {
        assert_eq!(super::label(Arch::X86_64, 2), "ENOENT");
        assert_eq!(super::label(Arch::X86_64, 1), "EPERM");
        assert_eq!(super::label(Arch::X86_64, 11), "EAGAIN");
        assert_eq!(super::label(Arch::X86_64, 110), "ETIMEDOUT");
        assert_eq!(super::label(Arch::X86_64, 9999), "E9999");
    }
}
