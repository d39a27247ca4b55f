//! Workloads that measure the kernel: syscall round trip, context switch, process spawn,
//! TCP over loopback.
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::json;

use super::suite::{Ctx, Prepared, Rep, ok};

/// The environment variable that makes `agent` exit at once (process.spawn's child).
pub const NOOP_ENV: &str = "ARCHSCOPE_BENCH_NOOP";

/// `calls` getppid(2) through syscall(2), so that no libc cache can answer.
pub fn getppid_loop(calls: u64) -> f64 {
    let t = Instant::now();
    for _ in 0..calls {
        // SAFETY: getppid takes no arguments and cannot fail.
        std::hint::black_box(unsafe { libc::syscall(libc::SYS_getppid) });
    }
    t.elapsed().as_nanos() as f64 / calls as f64
}

pub fn getppid(ctx: &Ctx) -> Prepared {
    let calls = if ctx.quick { 200_000 } else { 2_000_000 };
    ok(
        move || {
            Ok(Rep {
                values: vec![getppid_loop(calls)],
                ops: calls as f64,
            })
        },
        &[("calls", json!(calls))],
    )
}

fn pipe() -> anyhow::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        bail!("pipe2: {}", std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors were just opened and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `trips` one-byte round trips through two pipes to a thread: two context switches
/// each; ns per round trip.
pub fn pipe_round_trips(trips: u64) -> anyhow::Result<f64> {
    let (a_r, a_w) = pipe()?;
    let (b_r, b_w) = pipe()?;
    let (mut a_r, mut a_w) = (std::fs::File::from(a_r), std::fs::File::from(a_w));
    let (mut b_r, mut b_w) = (std::fs::File::from(b_r), std::fs::File::from(b_w));
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let mut byte = [0u8; 1];
        for _ in 0..trips {
            a_r.read_exact(&mut byte)?;
            b_w.write_all(&byte)?;
        }
        Ok(())
    });
    let mut byte = [1u8; 1];
    let t = Instant::now();
    for _ in 0..trips {
        a_w.write_all(&byte)?;
        b_r.read_exact(&mut byte)?;
    }
    let ns = t.elapsed().as_nanos() as f64 / trips as f64;
    echo.join()
        .map_err(|_| anyhow::anyhow!("echo thread panicked"))??;
    Ok(ns)
}

pub fn pipe_pingpong(ctx: &Ctx) -> Prepared {
    let trips = if ctx.quick { 5_000 } else { 50_000 };
    ok(
        move || {
            Ok(Rep {
                values: vec![pipe_round_trips(trips)?],
                ops: trips as f64,
            })
        },
        &[("round_trips", json!(trips))],
    )
}

/// The environment variable that makes `agent` the spawner of process.spawn: it forks and
/// execs itself (with [`NOOP_ENV`]) that many times and prints microseconds per spawn.
pub const SPAWNER_ENV: &str = "ARCHSCOPE_BENCH_SPAWNER";

/// Each repetition execs a fresh spawner, which times the forks from a process of the
/// agent's startup size: a fork's cost grows with the parent's memory, and the bench's
/// own (after the memory workloads, with the HTTP runtime's threads) depends on what ran
/// before it.
pub fn spawn(ctx: &Ctx) -> Prepared {
    let n = if ctx.quick { 20 } else { 200 };
    let exe = std::env::current_exe().context("the agent's own path")?;
    ok(
        move || {
            let out = std::process::Command::new(&exe)
                .env(SPAWNER_ENV, n.to_string())
                .output()
                .context("starting the spawner")?;
            let text = String::from_utf8_lossy(&out.stdout);
            anyhow::ensure!(
                out.status.success(),
                "the spawner failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
            let us: f64 = text
                .trim()
                .parse()
                .with_context(|| format!("the spawner printed `{}`", text.trim()))?;
            Ok(Rep {
                values: vec![us],
                ops: n as f64,
            })
        },
        &[
            ("spawns", json!(n)),
            ("from", json!("a fresh agent process")),
        ],
    )
}

/// The spawner's whole life (`agent` with [`SPAWNER_ENV`]): `n` spawns, microseconds
/// per spawn on stdout; 0 on success.
pub fn spawner_main(n: &str) -> u8 {
    let result = n
        .parse::<u32>()
        .map_err(|e| anyhow::anyhow!("{SPAWNER_ENV}={n}: {e}"))
        .and_then(spawn_loop);
    match result {
        Ok(us) => {
            println!("{us}");
            0
        }
        Err(e) => {
            eprintln!("{e:#}");
            1
        }
    }
}

/// `n` × (fork, exec of the agent, which exits at once, waitpid): microseconds each.
fn spawn_loop(n: u32) -> anyhow::Result<f64> {
    let exe = std::env::current_exe().context("the agent's own path")?;
    let path = CString::new(exe.as_os_str().as_encoded_bytes())?;
    let argv = [path.clone(), CString::new("bench-noop")?];
    let envp = [CString::new(format!("{NOOP_ENV}=1"))?];
    let argv_p: Vec<*const libc::c_char> = argv
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let envp_p: Vec<*const libc::c_char> = envp
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let t = Instant::now();
    for _ in 0..n {
        // SAFETY: the child only calls execve and _exit, which are async-signal-safe;
        // every pointer was prepared before the fork.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            unsafe {
                libc::execve(path.as_ptr(), argv_p.as_ptr(), envp_p.as_ptr());
                libc::_exit(127);
            }
        }
        if pid < 0 {
            bail!("fork: {}", std::io::Error::last_os_error());
        }
        let mut status = 0;
        // SAFETY: waiting for the child forked above.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            bail!("waitpid: {}", std::io::Error::last_os_error());
        }
        if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
            bail!("the spawned agent failed (status {status:#x})");
        }
    }
    Ok(t.elapsed().as_nanos() as f64 / f64::from(n) / 1e3)
}

pub fn tcp_loopback(ctx: &Ctx) -> Prepared {
    const CHUNK: usize = 64 << 10;
    let total: usize = if ctx.quick { 64 << 20 } else { 1 << 30 };
    ok(
        move || {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let sink = std::thread::spawn(move || -> std::io::Result<u64> {
                let (mut s, _) = listener.accept()?;
                let mut buf = vec![0u8; CHUNK];
                let mut got = 0u64;
                loop {
                    match s.read(&mut buf)? {
                        0 => return Ok(got),
                        n => got += n as u64,
                    }
                }
            });
            let mut s = std::net::TcpStream::connect(addr)?;
            let _ = s.set_nodelay(true);
            let buf = vec![0x5au8; CHUNK];
            let t = Instant::now();
            let mut sent = 0;
            while sent < total {
                s.write_all(&buf)?;
                sent += CHUNK;
            }
            // SAFETY: shutting down the write side of our own socket.
            unsafe { libc::shutdown(s.as_raw_fd(), libc::SHUT_WR) };
            let got = sink
                .join()
                .map_err(|_| anyhow::anyhow!("receiver panicked"))??;
            let secs = t.elapsed().as_secs_f64();
            if got != sent as u64 {
                bail!("sent {sent} bytes, received {got}");
            }
            Ok(Rep {
                values: vec![sent as f64 * 8.0 / secs / 1e9],
                ops: sent as f64,
            })
        },
        &[("bytes", json!(total)), ("write_bytes", json!(CHUNK))],
    )
}
