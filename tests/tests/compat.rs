//! 32-bit compat syscalls carry numbers from another table: they must be counted as
//! `compat_<nr>`, never under the native name of the same number.
use std::process::Command;

use archscope_tests::{Agent, Cgroup};

#[test]
fn i386_syscalls_are_counted_as_compat() {
    if std::env::consts::ARCH != "x86_64" {
        eprintln!("skipped: the i386 workload needs an x86_64 kernel");
        return;
    }
    // the x86_64 guests carry it prebuilt (they have no binutils)
    let exe = match std::env::var_os("XTASK_COMPAT32_BIN") {
        Some(p) => std::path::PathBuf::from(p),
        None => assemble_i386_workload(),
    };
    let agent = Agent::start(&[]);
    let cg = Cgroup::new("compat32");
    let mut cmd = Command::new(&exe);
    cg.enter_on_exec(&mut cmd);
    assert!(cmd.status().unwrap().success());
    let m = agent.metrics();
    let calls = |s: &str| {
        m.value(
            "archscope_syscalls_total",
            &[("cgroup", &cg.label), ("syscall", s)],
        )
    };
    assert_eq!(calls("compat_64"), Some(1000.0), "i386 getppid");
    assert_eq!(calls("compat_1"), Some(1.0), "i386 exit");
    assert_eq!(
        calls("semget"),
        None,
        "never the native name of the same number"
    );
    assert_eq!(calls("write"), None);
    let completed = m.value(
        "archscope_syscall_duration_seconds_count",
        &[("cgroup", &cg.label), ("syscall", "compat_64")],
    );
    assert_eq!(completed, Some(1000.0));
}

/// The 32-bit workload, built with binutils alone (no multilib libc needed).
fn assemble_i386_workload() -> std::path::PathBuf {
    // kept until the process ends: the caller runs it
    let dir = std::env::temp_dir().join(format!("archscope-compat32-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src/compat32_x86.S");
    let obj = dir.join("w.o");
    let exe = dir.join("w32");
    assert!(
        Command::new("as")
            .args(["--32", src, "-o"])
            .arg(&obj)
            .status()
            .unwrap()
            .success()
    );
    assert!(
        Command::new("ld")
            .args(["-m", "elf_i386"])
            .arg(&obj)
            .arg("-o")
            .arg(&exe)
            .status()
            .unwrap()
            .success()
    );
    exe
}
