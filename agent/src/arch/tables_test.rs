//! The arch tables checked against the kernel headers Debian ships for each arch
//! (`linux-libc-dev`, `linux-libc-dev-arm64-cross`; LoongArch: the asm-generic header with
//! the `__ARCH_WANT_*` switches of arch/loongarch/include/uapi/asm/unistd.h), all Linux 6.1,
//! and against the syscall tables of Debian's `linux-source-6.12`, which add the calls of
//! 6.2–6.12 (cachestat, fchmodat2, futex_wait, mseal, …). The two agree where they overlap;
//! each table is their union.
//! `XTASK_BLESS=1 cargo test -p archscope-agent tables_test` rewrites the data files.
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::Arch;

/// Run the C preprocessor over `include` and return every `#define`d macro.
fn macros(
    include: &str,
    args: &[&str],
    extra_header_dir: Option<&Path>,
) -> BTreeMap<String, String> {
    let mut cmd = Command::new("gcc");
    cmd.args(["-E", "-dM", "-x", "c"]).args(args);
    if let Some(dir) = extra_header_dir {
        cmd.arg("-I").arg(dir);
    }
    let out = cmd
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            writeln!(child.stdin.take().unwrap(), "#include <{include}>")?;
            child.wait_with_output()
        })
        .expect("gcc (run `cargo xtask setup`)");
    assert!(
        out.status.success(),
        "gcc -dM <{include}> {args:?} failed (run `cargo xtask setup`)"
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| {
            let mut it = l.strip_prefix("#define ")?.splitn(2, ' ');
            Some((
                it.next()?.to_string(),
                it.next().unwrap_or("").trim().to_string(),
            ))
        })
        .collect()
}

/// Resolve `prefix*` macros to numbers, following aliases such as
/// `__NR_newfstatat -> __NR3264_fstatat -> 79`.
fn numbered(
    defs: &BTreeMap<String, String>,
    prefix: &str,
    strip: bool,
    skip: &[&str],
) -> BTreeMap<u32, String> {
    let resolve = |v: &String| {
        let mut v: &str = v;
        for _ in 0..4 {
            if let Ok(n) = v.trim_matches(|c| c == '(' || c == ')').parse::<u32>() {
                return Some(n);
            }
            v = defs.get(v)?;
        }
        None
    };
    let mut out = BTreeMap::new();
    for (k, v) in defs {
        let Some(name) = k.strip_prefix(prefix) else {
            continue;
        };
        if skip.contains(&k.as_str()) || name.is_empty() {
            continue;
        }
        // Aliases (EWOULDBLOCK = EAGAIN) keep the canonical name: the one with a number.
        let direct = v.parse::<u32>().is_ok();
        if let Some(n) = resolve(v)
            && (direct || !out.contains_key(&n))
        {
            out.insert(n, if strip { name.to_string() } else { k.clone() });
        }
    }
    out
}

fn headers_table(arch: Arch) -> BTreeMap<u32, String> {
    let skip = ["__NR_syscalls", "__NR_arch_specific_syscall"];
    match arch {
        Arch::Sw64 => unreachable!("sw_64 is checked against its syscall.tbl"),
        Arch::X86_64 => numbered(&macros("asm/unistd_64.h", &[], None), "__NR_", true, &skip),
        Arch::Aarch64 => {
            let sysroot = "/usr/aarch64-linux-gnu/include";
            assert!(
                Path::new(sysroot).exists(),
                "{sysroot} missing: run `cargo xtask setup`"
            );
            numbered(
                &macros("asm/unistd.h", &["-nostdinc", "-I", sysroot], None),
                "__NR_",
                true,
                &skip,
            )
        }
        Arch::Loongarch64 => {
            // arch/loongarch/include/uapi/asm/unistd.h (6.1): clone and clone3 on top of the
            // asm-generic table, 64-bit longs.
            let dir = std::env::temp_dir().join("archscope-loongarch-asm");
            std::fs::create_dir_all(dir.join("asm")).unwrap();
            std::fs::write(
                dir.join("asm/bitsperlong.h"),
                "#define __BITS_PER_LONG 64\n",
            )
            .unwrap();
            let args = [
                "-nostdinc",
                "-I",
                "/usr/include",
                "-D__ARCH_WANT_SYS_CLONE",
                "-D__ARCH_WANT_SYS_CLONE3",
            ];
            numbered(
                &macros("asm-generic/unistd.h", &args, Some(&dir)),
                "__NR_",
                true,
                &skip,
            )
        }
    }
}

fn data_path(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/arch/data")
        .join(file)
}

fn check_or_bless(file: &str, source: &str, want: &BTreeMap<u32, String>) {
    let path = data_path(file);
    if std::env::var_os("XTASK_BLESS").is_some() {
        let mut s = format!(
            "# generated from {source} by `XTASK_BLESS=1 cargo test -p archscope-agent tables_test`\n"
        );
        for (nr, name) in want {
            s.push_str(&format!("{nr}\t{name}\n"));
        }
        std::fs::write(&path, s).unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let have: BTreeMap<u32, String> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (nr, name) = l.split_once('\t').unwrap();
            (nr.parse().unwrap(), name.to_string())
        })
        .collect();
    for (nr, name) in want {
        assert_eq!(
            have.get(nr),
            Some(name),
            "{file}: entry {nr} differs from {source}"
        );
    }
    for (nr, name) in &have {
        assert!(
            want.contains_key(nr),
            "{file}: {nr} {name} is not in {source}"
        );
    }
}

/// Syscall tables of Linux 6.12 from Debian's linux-source-6.12, extracted once.
fn source_6_12() -> &'static Path {
    static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let tarball = "/usr/src/linux-source-6.12.tar.xz";
        let dir = std::env::temp_dir().join(format!("archscope-tables-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("tar")
            .args(["xJf", tarball, "-C"])
            .arg(&dir)
            .args([
                "linux-source-6.12/arch/x86/entry/syscalls/syscall_64.tbl",
                "linux-source-6.12/scripts/syscall.tbl",
                "linux-source-6.12/arch/arm64/kernel/Makefile.syscalls",
                "linux-source-6.12/arch/loongarch/kernel/Makefile.syscalls",
            ])
            .status()
            .expect("tar");
        assert!(st.success(), "{tarball}: run `cargo xtask setup`");
        dir.join("linux-source-6.12")
    })
}

/// Entries of a `syscall.tbl` whose ABI is one of `abis`.
fn tbl_with_abis(text: &str, abis: &[&str]) -> BTreeMap<u32, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 3 || !abis.contains(&f[1]) {
                return None;
            }
            Some((f[0].parse().ok()?, f[2].to_string()))
        })
        .collect()
}

fn source_table(arch: Arch) -> BTreeMap<u32, String> {
    let src = source_6_12();
    let read = |p: &str| std::fs::read_to_string(src.join(p)).unwrap();
    // `syscall_abis_64 += renameat rlimit memfd_secret` in arch/<arch>/kernel/Makefile.syscalls
    let extra_abis = |arch_dir: &str| -> Vec<String> {
        let mk = read(&format!("arch/{arch_dir}/kernel/Makefile.syscalls"));
        mk.lines()
            .filter_map(|l| l.strip_prefix("syscall_abis_64 +="))
            .flat_map(|v| v.split_whitespace().map(String::from))
            .collect()
    };
    match arch {
        Arch::X86_64 => tbl_with_abis(
            &read("arch/x86/entry/syscalls/syscall_64.tbl"),
            &["common", "64"],
        ),
        Arch::Aarch64 | Arch::Loongarch64 => {
            let dir = if arch == Arch::Aarch64 {
                "arm64"
            } else {
                "loongarch"
            };
            let mut abis = vec!["common".to_string(), "64".to_string()];
            abis.extend(extra_abis(dir));
            let abis: Vec<&str> = abis.iter().map(String::as_str).collect();
            tbl_with_abis(&read("scripts/syscall.tbl"), &abis)
        }
        Arch::Sw64 => unreachable!(),
    }
}

#[test]
fn syscall_tables_match_debian_headers() {
    let sources = [
        (
            Arch::X86_64,
            "syscalls_x86_64.tsv",
            "linux-libc-dev asm/unistd_64.h",
        ),
        (
            Arch::Aarch64,
            "syscalls_aarch64.tsv",
            "linux-libc-dev-arm64-cross asm/unistd.h",
        ),
        (
            Arch::Loongarch64,
            "syscalls_loongarch64.tsv",
            "linux-libc-dev asm-generic/unistd.h with LoongArch's __ARCH_WANT_SYS_CLONE{,3}",
        ),
    ];
    for (arch, file, source) in sources {
        let mut want = headers_table(arch);
        assert!(want.len() > 280, "{source}: only {} syscalls", want.len());
        for (nr, name) in source_table(arch) {
            match want.get(&nr) {
                Some(h) => assert_eq!(
                    h, &name,
                    "{file}: {nr} is {h} in the headers, {name} in 6.12"
                ),
                None => {
                    want.insert(nr, name);
                }
            }
        }
        check_or_bless(file, &format!("{source} and linux-source-6.12"), &want);
    }
}

/// `nr abi name entry` lines of a kernel `syscall.tbl`; entries without an entry point
/// (reserved numbers) are left out, as the kernel's generators do.
fn from_syscall_tbl(text: &str) -> BTreeMap<u32, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 4 {
                return None;
            }
            Some((f[0].parse().ok()?, f[2].to_string()))
        })
        .collect()
}

#[test]
fn sw64_table_matches_the_sw_64_kernel_tree() {
    let path = data_path("sources/sw_64-syscall.tbl");
    let want = from_syscall_tbl(&std::fs::read_to_string(path).unwrap());
    assert_eq!(want.len(), 376);
    check_or_bless(
        "syscalls_sw_64.tsv",
        "arch/sw_64/kernel/syscalls/syscall.tbl of the deepin kernel (Linux 6.6), see data/sources/README.md",
        &want,
    );
}

#[test]
fn errno_table_matches_debian_headers() {
    let defs = macros("asm/errno.h", &[], None);
    let want = numbered(&defs, "E", false, &[]);
    assert_eq!(want.get(&2).map(String::as_str), Some("ENOENT"));
    check_or_bless("errno_generic.tsv", "linux-libc-dev asm/errno.h", &want);
}
