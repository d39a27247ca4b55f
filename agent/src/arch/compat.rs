//! Where each architecture marks a syscall made through its 32-bit compat ABI. The field
//! is found in BTF at load time; the bit is data taken from the kernel's own headers and
//! checked against them in `compat_test`.
use super::Arch;

pub struct CompatFlag {
    /// Member of `struct thread_info`.
    pub field: &'static str,
    /// Bit(s) of that member's low 32 bits.
    pub mask: u32,
    /// The kernel's name for it, for the test and for humans.
    pub define: &'static str,
}

pub fn flag(arch: Arch) -> Option<CompatFlag> {
    match arch {
        // arch/x86/include/asm/thread_info.h: TS_COMPAT 0x0002 "32bit syscall active"
        Arch::X86_64 => Some(CompatFlag {
            field: "status",
            mask: 0x0002,
            define: "TS_COMPAT",
        }),
        // arch/arm64/include/asm/thread_info.h: TIF_32BIT 22 "32bit process"
        Arch::Aarch64 => Some(CompatFlag {
            field: "flags",
            mask: 1 << 22,
            define: "TIF_32BIT",
        }),
        // No 32-bit ABI on LoongArch64 or SW64.
        Arch::Loongarch64 | Arch::Sw64 => None,
    }
}

#[cfg(test)]
mod compat_test {
    use super::*;

    /// The constants as defined in Debian's linux-source-6.12 (installed by setup).
    #[test]
    fn bits_match_the_kernel_headers() {
        let tarball = "/usr/src/linux-source-6.12.tar.xz";
        let dir = std::env::temp_dir().join(format!("archscope-compat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let headers = ["x86", "arm64"]
            .map(|a| format!("linux-source-6.12/arch/{a}/include/asm/thread_info.h"));
        let st = std::process::Command::new("tar")
            .args(["xJf", tarball, "-C"])
            .arg(&dir)
            .args(&headers)
            .status()
            .expect("tar");
        assert!(st.success(), "{tarball} missing: run `cargo xtask setup`");
        let define = |h: &str, name: &str| -> u32 {
            let text = std::fs::read_to_string(dir.join(h)).unwrap();
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("#define {name}")))
                .unwrap();
            let v = line.split_whitespace().nth(2).unwrap();
            match v.strip_prefix("0x") {
                Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
                None => v.parse().unwrap(),
            }
        };
        let x = flag(Arch::X86_64).unwrap();
        assert_eq!(x.mask, define(&headers[0], x.define));
        let a = flag(Arch::Aarch64).unwrap();
        assert_eq!(a.mask, 1 << define(&headers[1], a.define));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
