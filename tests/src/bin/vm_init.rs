//! PID 1 of the initramfs that `cargo xtask vm-test` boots: mounts what the agent needs,
//! brings up loopback, runs every test executable in /tests and powers the machine off.
//! With `archscope.node=1` on the kernel command line it is a networked node instead: it
//! loads the NIC's modules, brings up eth0 (qemu's user network) and runs
//! /bin/archscope-node (tests/src/bin/node.rs), and no tests.
//! The console protocol (`=== begin`, libtest's `test result:`, `=== end … rc=`) is what
//! xtask tallies. A static binary, so it needs no shell or libc in the image (Debian has no
//! busybox for loong64).
use std::ffi::CStr;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Command;

const MOUNTS: &[(&str, &str)] = &[
    ("proc", "/proc"),
    ("sysfs", "/sys"),
    ("devtmpfs", "/dev"),
    ("tracefs", "/sys/kernel/tracing"),
    ("debugfs", "/sys/kernel/debug"),
    ("bpf", "/sys/fs/bpf"),
    ("cgroup2", "/sys/fs/cgroup"),
];

const ENV: &[(&str, &str)] = &[
    ("HOME", "/tmp"),
    ("TMPDIR", "/tmp"),
    ("XTASK_AGENT_BIN", "/bin/agent"),
    ("XTASK_WORKLOAD_BIN", "/bin/archscope-workload"),
    // the i386 workload of the compat test, assembled by xtask (x86_64 guests only)
    ("XTASK_COMPAT32_BIN", "/bin/archscope-compat32"),
    ("PATH", "/bin"),
    // lets a test skip what takes too long under instruction emulation
    ("XTASK_IN_VM", "1"),
];

fn main() {
    // Anywhere but as a VM's init this would mount over the host's own filesystems.
    if std::process::id() != 1 {
        eprintln!(
            "archscope-vm-init: refusing to run as pid {}: this is the init of the \
             `cargo xtask vm-test` guest and only runs as pid 1 there",
            std::process::id()
        );
        std::process::exit(2);
    }
    for (fs, dir) in MOUNTS {
        if let Err(e) = mount(fs, dir) {
            println!("archscope-vm-init: mount {fs} on {dir}: {e}");
        }
    }
    if let Err(e) = set_clock() {
        println!("archscope-vm-init: setting the clock from /etc/xtask-time: {e}");
    }
    if let Err(e) = loopback_up() {
        println!("archscope-vm-init: bringing up lo: {e}");
    }
    let (release, machine) = uname();
    println!("=== kernel {release} {machine}");
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let param = |k: &str| {
        cmdline
            .split_whitespace()
            .find_map(|w| w.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_string)
    };
    if param("archscope.node").as_deref() == Some("1") {
        node();
    }
    // `cargo xtask vm-bench`: run the agent with these arguments (one a line) and mark its
    // output (the results document) for xtask to extract from the console.
    if let Ok(args) = std::fs::read_to_string("/etc/xtask-bench") {
        let args: Vec<&str> = args.lines().filter(|l| !l.is_empty()).collect();
        let out = Command::new("/bin/agent")
            .args(&args)
            .envs(ENV.iter().copied())
            .output();
        match out {
            Ok(o) => {
                print!("{}", String::from_utf8_lossy(&o.stderr));
                println!("=== bench-json begin");
                print!("{}", String::from_utf8_lossy(&o.stdout));
                println!("=== bench-json end rc={}", o.status.code().unwrap_or(-1));
            }
            Err(e) => println!("archscope-vm-init: starting /bin/agent: {e}"),
        }
        power_off();
    }
    // xtask's boots may pass `archscope.tests=<test>,<test>…` (run only those test binaries)
    // and `archscope.icount=1` (qemu counts instructions: the PMU tests expect IPC 1).
    let only = param("archscope.tests");
    let mut env: Vec<(&str, &str)> = ENV.to_vec();
    if param("archscope.icount").as_deref() == Some("1") {
        env.push(("XTASK_VM_ICOUNT", "1"));
    }
    let mut tests: Vec<PathBuf> = std::fs::read_dir("/tests")
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    // test executables are named `<test>-<hash>`; `only` is a comma-separated list of tests
    tests.retain(|t| {
        only.as_deref().is_none_or(|list| {
            list.split(',').any(|p| {
                t.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{p}-")))
            })
        })
    });
    tests.sort();
    // what the agent can do on this kernel, for the support table (docs/kernel-support.md)
    match Command::new("/bin/agent")
        .args(["check", "--output", "json"])
        .envs(env.iter().copied())
        .output()
    {
        Ok(o) => {
            println!("=== check-json begin");
            print!("{}", String::from_utf8_lossy(&o.stdout));
            println!("=== check-json end");
        }
        Err(e) => println!("archscope-vm-init: agent check: {e}"),
    }
    for t in &tests {
        println!("=== begin {}", t.display());
        let rc = match Command::new(t)
            .arg("--test-threads=2")
            .envs(env.iter().copied())
            .status()
        {
            Ok(st) => st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)),
            Err(e) => {
                println!("archscope-vm-init: starting {}: {e}", t.display());
                127
            }
        };
        println!("=== end {} rc={rc}", t.display());
    }
    power_off();
}

/// Node mode: the NIC's modules, eth0 as qemu's user network expects it, then
/// archscope-node until it ends.
fn node() -> ! {
    if let Err(e) = load_modules() {
        println!("archscope-vm-init: loading modules: {e}");
    }
    // the NIC registers in virtio_net's init; wait a little in case its probe is deferred
    for _ in 0..50 {
        if std::path::Path::new("/sys/class/net/eth0").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    match interface_up("eth0", Some(([10, 0, 2, 15], [255, 255, 255, 0]))) {
        Ok(()) => println!("=== eth0 10.0.2.15/24 up"),
        Err(e) => println!("archscope-vm-init: bringing up eth0: {e}"),
    }
    match Command::new("/bin/archscope-node")
        .envs(ENV.iter().copied())
        .status()
    {
        Ok(st) => println!("archscope-vm-init: archscope-node ended: {st}"),
        Err(e) => println!("archscope-vm-init: starting /bin/archscope-node: {e}"),
    }
    power_off();
}

/// The modules xtask put in /lib/modules, in the order /etc/xtask-modules lists them
/// (dependencies first: there is no modprobe). Built in or loaded already is fine.
fn load_modules() -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    for name in std::fs::read_to_string("/etc/xtask-modules")?.lines() {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        let f = std::fs::File::open(format!("/lib/modules/{name}"))?;
        // SAFETY: an open fd and an empty NUL-terminated parameter string.
        let rc = unsafe { libc::syscall(libc::SYS_finit_module, f.as_raw_fd(), c"".as_ptr(), 0) };
        let err = std::io::Error::last_os_error();
        if rc != 0 && err.raw_os_error() != Some(libc::EEXIST) {
            return Err(std::io::Error::new(err.kind(), format!("{name}: {err}")));
        }
    }
    Ok(())
}

fn power_off() -> ! {
    // SAFETY: sync and reboot take no pointers; powering off is the point of this program.
    unsafe {
        libc::sync();
        libc::reboot(libc::RB_POWER_OFF);
    }
    println!(
        "archscope-vm-init: power-off failed: {}",
        std::io::Error::last_os_error()
    );
    std::process::exit(1);
}

fn mount(fs: &str, dir: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let fs_c = std::ffi::CString::new(fs)?;
    let dir_c = std::ffi::CString::new(dir)?;
    // SAFETY: valid NUL-terminated strings; no mount data.
    let rc = unsafe {
        libc::mount(
            fs_c.as_ptr(),
            dir_c.as_ptr(),
            fs_c.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The LoongArch guest has no RTC and would live in 1970, before any certificate's
/// validity: xtask writes the host's time (Unix seconds) into /etc/xtask-time.
fn set_clock() -> std::io::Result<()> {
    let host: i64 = std::fs::read_to_string("/etc/xtask-time")?
        .trim()
        .parse()
        .map_err(std::io::Error::other)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if now >= host {
        return Ok(()); // a guest with a real clock (arm64's PL031)
    }
    let ts = libc::timespec {
        tv_sec: host as libc::time_t,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec; we are root in the guest.
    if unsafe { libc::clock_settime(libc::CLOCK_REALTIME, &ts) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// `ip link set lo up`: the tests talk HTTP to the agent on 127.0.0.1.
fn loopback_up() -> std::io::Result<()> {
    interface_up("lo", None)
}

/// `ip link set <name> up`, after `ip addr add <addr>/<mask> dev <name>` when given.
fn interface_up(name: &str, addr: Option<([u8; 4], [u8; 4])>) -> std::io::Result<()> {
    // SAFETY: plain socket call; the fd is closed below.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    // fd is an open socket and req a valid ifreq naming the interface, as every call
    // expects. (The request type is c_ulong on glibc, c_int on musl.)
    let ioctl = |request: libc::c_ulong, req: &mut libc::ifreq| {
        // SAFETY: as above.
        if unsafe { libc::ioctl(fd, request as _, req as *mut libc::ifreq) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    let result = (|| {
        if let Some((ip, mask)) = addr {
            for (request, a) in [(libc::SIOCSIFADDR, ip), (libc::SIOCSIFNETMASK, mask)] {
                let sin = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: 0,
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_ne_bytes(a),
                    },
                    sin_zero: [0; 8],
                };
                // SAFETY: sockaddr_in fits in the union's sockaddr, as the kernel reads it.
                unsafe {
                    std::ptr::write_unaligned(
                        (&raw mut req.ifr_ifru.ifru_addr).cast::<libc::sockaddr_in>(),
                        sin,
                    )
                };
                ioctl(request, &mut req)?;
            }
        }
        ioctl(libc::SIOCGIFFLAGS, &mut req)?;
        // SAFETY: SIOCGIFFLAGS filled the flags member.
        unsafe { req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short };
        ioctl(libc::SIOCSIFFLAGS, &mut req)
    })();
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd) };
    result
}

fn uname() -> (String, String) {
    // SAFETY: utsname is plain data; uname fills it with NUL-terminated strings.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return ("?".into(), "?".into());
    }
    // SAFETY: the fields are NUL-terminated after a successful uname.
    let s = |f: &[libc::c_char]| {
        unsafe { CStr::from_ptr(f.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    };
    (s(&u.release), s(&u.machine))
}
