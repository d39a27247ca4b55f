//! A workload with exactly known syscalls, for the integration tests. It first moves
//! itself into the cgroup whose `cgroup.procs` is given, then runs one scenario:
//!
//!   archscope-workload <cgroup.procs> basic <getppid> <openat-missing> [hold]
//!       (`hold`: then sleep until killed, so a container stays up for inspection)
//!   archscope-workload <cgroup.procs> on-signal <getppid> <openat-missing>
//!       (waits for SIGUSR1 before the work, then holds: counts after start-up are exact
//!       even when a runtime's own set-up ran in the same cgroup)
//!   archscope-workload <cgroup.procs> threads <threads> <getppid-per-thread>
//!   archscope-workload <cgroup.procs> exec <getppid-before> <getppid-after>
//!   archscope-workload <cgroup.procs> exit-mid <getppid>      (then exit_group, no return)
//!   archscope-workload <cgroup.procs> wait-stdin <getppid>    (blocks in read(0) first)
//!   archscope-workload <cgroup.procs> steady <getppid> <openat-missing>
//!       (that much every 100 ms until killed: a live workload for Prometheus)
//!
//! `-` as the cgroup skips the move (used after execve, already inside).
use std::ffi::CString;
use std::io::Write;

fn getppid_n(n: u64) {
    for _ in 0..n {
        // SAFETY: no preconditions.
        unsafe { libc::getppid() };
    }
}

fn openat_missing_n(n: u64) {
    let path = CString::new("/nonexistent/archscope-workload").unwrap();
    for _ in 0..n {
        // SAFETY: valid path; the call fails with ENOENT.
        let fd = unsafe { libc::openat(libc::AT_FDCWD, path.as_ptr(), libc::O_RDONLY) };
        assert_eq!(fd, -1);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize| -> u64 {
        args.get(i)
            .and_then(|s| s.parse().ok())
            .expect("usage: see source")
    };
    if args[1] != "-" {
        std::fs::write(&args[1], std::process::id().to_string()).expect("joining the cgroup");
    }
    match args[2].as_str() {
        "basic" => {
            getppid_n(num(3));
            openat_missing_n(num(4));
            if args.get(5).is_some_and(|a| a == "hold") {
                println!("done");
                std::io::stdout().flush().unwrap();
                loop {
                    std::thread::sleep(std::time::Duration::from_secs(3600));
                }
            }
        }
        "threads" => {
            let per = num(4);
            let hs: Vec<_> = (0..num(3))
                .map(|_| std::thread::spawn(move || getppid_n(per)))
                .collect();
            hs.into_iter().for_each(|h| h.join().unwrap());
        }
        "exec" => {
            getppid_n(num(3));
            use std::os::unix::process::CommandExt;
            let exe = std::env::current_exe().unwrap();
            let e = std::process::Command::new(exe)
                .args(["-", "basic", &args[4], "0"])
                .exec();
            panic!("execve failed: {e}");
        }
        "exit-mid" => {
            getppid_n(num(3));
            // SAFETY: ends the process here, mid-run, without returning.
            unsafe { libc::syscall(libc::SYS_exit_group, 0) };
            unreachable!();
        }
        "wait-stdin" => {
            println!("ready");
            std::io::stdout().flush().unwrap();
            let mut b = [0u8; 1];
            // SAFETY: reading one byte into a local buffer.
            unsafe { libc::read(0, b.as_mut_ptr().cast(), 1) };
            getppid_n(num(3));
        }
        "on-signal" => {
            // SAFETY: plain signal-mask calls on a local set.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGUSR1);
                libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                let mut sig = 0;
                libc::sigwait(&set, &mut sig);
            }
            getppid_n(num(3));
            openat_missing_n(num(4));
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        "steady" => loop {
            getppid_n(num(3));
            openat_missing_n(num(4));
            std::thread::sleep(std::time::Duration::from_millis(100));
        },
        other => panic!("unknown scenario {other}"),
    }
}
