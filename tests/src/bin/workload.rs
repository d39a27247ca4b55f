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
//!   archscope-workload <cgroup.procs> tcp-server <addr:port> <connections>
//!       (prints `listening`, accepts that many connections, reads each to EOF, closes;
//!       prints the bytes received)
//!   archscope-workload <cgroup.procs> tcp-client <addr:port> <connections> <bytes-each>
//!       (one after another: connect, write, shut down writing, read to EOF, close)
//!   archscope-workload <cgroup.procs> tcp-refused <addr:port> <attempts>
//!   archscope-workload <cgroup.procs> udp-recv <addr:port> <datagrams>
//!   archscope-workload <cgroup.procs> udp-send <addr:port> <datagrams> <bytes-each>
//!   archscope-workload <cgroup.procs> spin <iterations>       (a CPU-bound loop, no syscalls)
//!   archscope-workload <cgroup.procs> rate <getppid-per-second> <seconds>
//!       (getppid at that rate, in batches every 10 ms; prints the seconds it took)
//!   archscope-workload <cgroup.procs> sleeps <n>
//!       (waits for SIGUSR1, sleeps 1 ms n times, prints `slept`, waits for SIGUSR1 again)
//!   archscope-workload <cgroup.procs> contend <ms>
//!       (two threads pinned to one CPU, each busy for that many ms of wall time; prints
//!       the CPU, and the nanoseconds of wall time and of time kept off the CPU (wall
//!       time less the thread's CPU time) of both threads together)
//!   archscope-workload <cgroup.procs> busy <ms>      (busy for that many ms of wall time)
//!   archscope-workload <cgroup.procs> steady <getppid> <openat-missing>
//!       (that much every 100 ms until killed: a live workload for Prometheus)
//!   archscope-workload <cgroup.procs> pod <batches> <getppid-per-batch>
//!                      <openat-missing-per-batch> <interval-ms>
//!       (prints `ready`, waits for SIGUSR1, runs the batches one every interval from
//!       the first, prints `done`, then holds: a pod of tests/src/node.rs)
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

mod net {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};

    pub fn run(scenario: &str, addr: &str, n: u64, size: Option<u64>) {
        let say = |s: &str| {
            println!("{s}");
            std::io::stdout().flush().unwrap();
        };
        match scenario {
            "tcp-server" => {
                let l = TcpListener::bind(addr).expect("bind");
                say("listening");
                let mut total = 0u64;
                for _ in 0..n {
                    let (mut c, _) = l.accept().expect("accept");
                    let mut buf = Vec::new();
                    c.read_to_end(&mut buf).expect("read");
                    total += buf.len() as u64;
                }
                say(&format!("received {total}"));
            }
            "tcp-client" => {
                let data = vec![0x5a; size.expect("bytes") as usize];
                for _ in 0..n {
                    let mut c = TcpStream::connect(addr).expect("connect");
                    c.write_all(&data).expect("write");
                    c.shutdown(Shutdown::Write).expect("shutdown");
                    let mut rest = Vec::new();
                    c.read_to_end(&mut rest).expect("read");
                }
                say("sent");
            }
            "tcp-refused" => {
                for _ in 0..n {
                    let e = TcpStream::connect(addr).expect_err("connect should be refused");
                    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
                }
                say("refused");
            }
            "udp-recv" => {
                let s = UdpSocket::bind(addr).expect("bind");
                say("listening");
                let mut buf = [0u8; 65536];
                let mut total = 0;
                for _ in 0..n {
                    total += s.recv(&mut buf).expect("recv") as u64;
                }
                say(&format!("received {total}"));
            }
            "udp-send" => {
                let s = UdpSocket::bind("0.0.0.0:0").expect("bind");
                let data = vec![0xa5; size.expect("bytes") as usize];
                for _ in 0..n {
                    s.send_to(&data, addr).expect("send");
                    // pace the sender so the receiver's buffer never overflows
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                say("sent");
            }
            _ => unreachable!(),
        }
    }
}

/// Block SIGUSR1 and wait for it (the mask is kept, so a second call waits again).
fn wait_for_sigusr1() {
    let set = block_sigusr1();
    let mut sig = 0;
    // SAFETY: waiting on a valid set.
    unsafe { libc::sigwait(&set, &mut sig) };
}

/// Block SIGUSR1 (it then waits for sigwait instead of ending the process); the set.
fn block_sigusr1() -> libc::sigset_t {
    // SAFETY: plain signal-mask calls on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGUSR1);
        libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

mod sched {
    use std::time::{Duration, Instant};

    /// This thread's CPU time.
    fn thread_cpu() -> Duration {
        let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
        // SAFETY: a valid timespec to fill.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }

    /// Spin until `d` of wall time has passed; the wall time it took, and the time this
    /// thread was kept off the CPU meanwhile (wall time less its own CPU time).
    pub fn busy_for(d: Duration) -> (Duration, Duration) {
        let (wall0, cpu0) = (Instant::now(), thread_cpu());
        let mut x = 0u64;
        while wall0.elapsed() < d {
            for i in 0..10_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
        }
        let (cpu1, wall) = (thread_cpu(), wall0.elapsed());
        (wall, wall.saturating_sub(cpu1 - cpu0))
    }

    fn pin_to(cpu: usize) {
        // SAFETY: a zeroed cpu_set_t with one CPU set, for this thread (0).
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            assert_eq!(
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set),
                0
            );
        }
    }

    pub fn contend(ms: u64) {
        // the first CPU this process may run on
        let cpu = {
            let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
            // SAFETY: filling a local set.
            unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
            (0..libc::CPU_SETSIZE as usize)
                .find(|&c| unsafe { libc::CPU_ISSET(c, &set) })
                .unwrap()
        };
        let threads: Vec<_> = (0..2)
            .map(|_| {
                std::thread::spawn(move || {
                    pin_to(cpu);
                    busy_for(Duration::from_millis(ms))
                })
            })
            .collect();
        let (mut wall, mut off) = (Duration::ZERO, Duration::ZERO);
        for t in threads {
            let (w, o) = t.join().unwrap();
            (wall, off) = (wall + w, off + o);
        }
        println!("{cpu} {} {}", wall.as_nanos(), off.as_nanos());
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
            // a number: linger that many milliseconds (a short-lived container's life)
            if let Some(ms) = args.get(5).and_then(|a| a.parse::<u64>().ok()) {
                std::thread::sleep(std::time::Duration::from_millis(ms));
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
        "exec-thread" => {
            // execve from a thread other than the leader: the kernel gives the exec'ing
            // thread the leader's id, so the call returns on another thread id
            getppid_n(num(3));
            let rest = args[4].clone();
            std::thread::spawn(move || {
                use std::os::unix::process::CommandExt;
                let exe = std::env::current_exe().unwrap();
                let e = std::process::Command::new(exe)
                    .args(["-", "basic", &rest, "0"])
                    .exec();
                panic!("execve failed: {e}");
            });
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
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
            wait_for_sigusr1();
            getppid_n(num(3));
            openat_missing_n(num(4));
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        "tcp-server" | "tcp-client" | "tcp-refused" | "udp-recv" | "udp-send" => net::run(
            &args[2],
            &args[3],
            num(4),
            args.get(5).and_then(|s| s.parse().ok()),
        ),
        "spin" => {
            let mut x = 0u64;
            for i in 0..num(3) {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            std::hint::black_box(x);
        }
        "sleeps" => {
            wait_for_sigusr1();
            for _ in 0..num(3) {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            println!("slept");
            std::io::stdout().flush().unwrap();
            wait_for_sigusr1();
        }
        "contend" => sched::contend(num(3)),
        "busy" => {
            sched::busy_for(std::time::Duration::from_millis(num(3)));
        }
        "steady" => loop {
            getppid_n(num(3));
            openat_missing_n(num(4));
            std::thread::sleep(std::time::Duration::from_millis(100));
        },
        // one process standing for many containers: it joins each listed cgroup in turn
        // (their `cgroup.procs`, from stdin, one per line) and calls getppid there, once a
        // second; a fleet of 10,000 series-bearing cgroups needs no 10,000 processes, and
        // its moves between cgroups leave the machine's CPUs mostly to the agent
        "visit" => {
            let procs: Vec<String> = std::io::stdin().lines().map_while(Result::ok).collect();
            let me = std::process::id().to_string();
            loop {
                for p in &procs {
                    std::fs::write(p, &me).expect("joining a cgroup");
                    getppid_n(num(3));
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        "rate" => {
            // getppid at a set rate: a batch every 10 ms, then sleep to the next tick
            let (per_tick, ticks) = (num(3) / 100, num(4) * 100);
            let start = std::time::Instant::now();
            for t in 1..=ticks {
                getppid_n(per_tick);
                let next = start + std::time::Duration::from_millis(10 * t);
                std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
            }
            println!("{:.3}", start.elapsed().as_secs_f64());
        }
        "pod" => {
            let (batches, getppid, openat) = (num(3), num(4), num(5));
            let interval = std::time::Duration::from_millis(num(6));
            // blocked before `ready`: a SIGUSR1 sent right after it waits for sigwait
            block_sigusr1();
            println!("ready");
            std::io::stdout().flush().unwrap();
            wait_for_sigusr1();
            let start = std::time::Instant::now();
            for b in 1..=batches {
                getppid_n(getppid);
                openat_missing_n(openat);
                if b < batches {
                    let next = start + interval * b as u32;
                    std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
                }
            }
            println!("done");
            std::io::stdout().flush().unwrap();
            loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            }
        }
        other => panic!("unknown scenario {other}"),
    }
}
