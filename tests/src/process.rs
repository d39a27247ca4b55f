//! What `/proc` says of a test's processes.
use std::time::{Duration, Instant};

/// A `/proc/<pid>/status` figure: its first number (`VmRSS` in KiB,
/// `voluntary_ctxt_switches`, …).
pub fn status_number(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// Waits until `pid` sleeps in sigwait: every call it made before has returned, and it
/// is off the CPU. `/proc/<pid>/syscall` names the call a task is blocked in, once the
/// task is off the CPU ("running" while it runs). (Its blocked mask cannot tell: sigwait
/// unblocks the awaited signals; `wchan` reads 0 on kernels unwinding with ORC, such as
/// Debian's 5.10 for x86_64.)
pub fn wait_until_in_sigwait(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let want = libc::SYS_rt_sigtimedwait.to_string();
    loop {
        let call = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        if call.split_whitespace().next() == Some(want.as_str()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} never waited in sigwait: {call}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
