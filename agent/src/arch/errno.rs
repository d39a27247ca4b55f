//! errno number → name (`ENOENT`). x86_64, arm64 and LoongArch share the asm-generic
//! numbering; the table is data generated from and tested against Debian's headers.
use std::collections::HashMap;
use std::sync::OnceLock;

const GENERIC: &str = include_str!("data/errno_generic.tsv");

fn table() -> &'static HashMap<u32, &'static str> {
    static T: OnceLock<HashMap<u32, &'static str>> = OnceLock::new();
    T.get_or_init(|| super::syscalls::parse_tsv(GENERIC).collect())
}

/// `ENOENT` for 2; `E<n>` for numbers the table lacks.
pub fn label(errno: u32) -> std::borrow::Cow<'static, str> {
    match table().get(&errno) {
        Some(n) => (*n).into(),
        None => format!("E{errno}").into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn common_errnos() {
        assert_eq!(super::label(2), "ENOENT");
        assert_eq!(super::label(1), "EPERM");
        assert_eq!(super::label(11), "EAGAIN");
        assert_eq!(super::label(110), "ETIMEDOUT");
        assert_eq!(super::label(9999), "E9999");
    }
}
