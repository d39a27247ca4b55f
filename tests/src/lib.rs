//! Helpers for the kernel integration tests: a real agent process, real cgroups, a
//! workload with known syscalls, and a parser for what /metrics says.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod chromium;
pub mod containerd;
pub mod exposition;
pub mod floors;
pub mod kube_api;
pub mod manifests;
pub mod node;
pub mod otlp_receiver;
pub mod process;

pub use exposition::{Metrics, Sample};
pub mod prometheus;

/// True (with a note) inside the qemu VMs: tests whose subject does not depend on the
/// architecture and that lean on wall-clock timing (export intervals, 10,000 spawns) run
/// on the host only; instruction emulation makes their clocks meaningless.
pub fn skip_under_emulation() -> bool {
    let vm = std::env::var_os("XTASK_IN_VM").is_some();
    if vm {
        eprintln!("skipped under emulation (covered by the host run)");
    }
    vm
}

/// A command running the agent under test; with XTASK_AGENT_CAPS (e.g.
/// `bpf,perfmon,net_admin`, what the docs list) it runs through `setpriv` holding only
/// those capabilities, so a whole suite run proves that set sufficient.
pub fn agent_cmd() -> Command {
    let Some(caps) = std::env::var("XTASK_AGENT_CAPS")
        .ok()
        .filter(|c| !c.is_empty())
    else {
        return Command::new(agent_bin());
    };
    let set: String = std::iter::once("-all".to_string())
        .chain(caps.split(',').map(|c| format!("+{}", c.trim())))
        .collect::<Vec<_>>()
        .join(",");
    let mut c = Command::new("setpriv");
    c.args([
        "--bounding-set",
        &set,
        "--inh-caps",
        &set,
        "--ambient-caps",
        &set,
    ])
    .arg("--")
    .arg(agent_bin());
    c
}

/// The agent binary under test (`cargo xtask test` sets XTASK_AGENT_BIN).
pub fn agent_bin() -> PathBuf {
    std::env::var_os("XTASK_AGENT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/agent"))
}

/// The cgroup2 mount (`/sys/fs/cgroup` or `/sys/fs/cgroup/unified` on hybrid hosts).
pub fn cgroup2_root() -> PathBuf {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    info.lines()
        .find_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            if post.split_whitespace().next()? != "cgroup2" {
                return None;
            }
            Some(PathBuf::from(pre.split_whitespace().nth(4)?))
        })
        .expect("no cgroup2 mounted")
}

/// A fresh cgroup v2 directory, removed on drop.
pub struct Cgroup {
    pub dir: PathBuf,
    /// The agent's `cgroup` label for it.
    pub label: String,
    /// Directories made for it, removed on drop in this order (`dir` first).
    made: Vec<PathBuf>,
}

impl Cgroup {
    pub fn new(name: &str) -> Cgroup {
        let label = format!("/archscope-test-{}-{name}", std::process::id());
        let dir = cgroup2_root().join(label.trim_start_matches('/'));
        std::fs::create_dir(&dir)
            .unwrap_or_else(|e| panic!("creating {} (run as root): {e}", dir.display()));
        Cgroup {
            made: vec![dir.clone()],
            dir,
            label,
        }
    }

    /// A cgroup at `rel` below this one (e.g. a runtime's `kubepods/.../<id>` layout),
    /// with every directory on the way; removed on drop, before this one.
    pub fn nested(&self, rel: &str) -> Cgroup {
        let mut made = Vec::new();
        let mut dir = self.dir.clone();
        for part in rel.split('/') {
            dir.push(part);
            std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
            made.insert(0, dir.clone());
        }
        Cgroup {
            label: format!("{}/{rel}", self.label),
            dir,
            made,
        }
    }

    pub fn procs(&self) -> String {
        self.dir.join("cgroup.procs").display().to_string()
    }

    /// Make `cmd`'s process start in this cgroup (it moves itself between fork and exec),
    /// so that no other process's calls mix with its own.
    pub fn enter_on_exec(&self, cmd: &mut Command) {
        enter_on_exec(Path::new(&self.procs()), cmd);
    }
}

/// Make `cmd`'s process start in the cgroup (v2, or a v1 hierarchy's) whose
/// `cgroup.procs` is `procs`: it moves itself between fork and exec.
pub fn enter_on_exec(procs: &Path, cmd: &mut Command) {
    let procs = std::ffi::CString::new(procs.display().to_string()).unwrap();
    // SAFETY: only async-signal-safe calls between fork and exec; "0" moves the writer.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(cmd, move || {
            let fd = libc::open(procs.as_ptr(), libc::O_WRONLY);
            if fd < 0 || libc::write(fd, b"0".as_ptr().cast(), 1) != 1 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(fd);
            Ok(())
        })
    };
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        for dir in &self.made {
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// A `/proc/<pid>/status` figure in KiB (`VmRSS`, `VmHWM`).
pub fn proc_status_kib(pid: u32, key: &str) -> u64 {
    process::status_number(pid, key)
}

/// The workload binary: XTASK_WORKLOAD_BIN, else beside the test binary's `deps/`.
pub fn workload_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("XTASK_WORKLOAD_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap();
    let dir = if dir.ends_with("deps") {
        dir.parent().unwrap()
    } else {
        dir
    };
    dir.join("archscope-workload")
}

/// Run the workload to completion inside `cg`.
pub fn workload(cg: &Cgroup, args: &[&str]) {
    let st = workload_cmd().arg(cg.procs()).args(args).status().unwrap();
    assert!(st.success(), "workload {args:?}: {st}");
}

pub fn workload_cmd() -> Command {
    Command::new(workload_bin())
}

/// The Accept header Prometheus sends: /metrics answers it in OpenMetrics, whose `# EOF`
/// marks a whole response (any other client gets the text format 0.0.4).
pub const OPENMETRICS: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

/// A running `agent run` on a free loopback port, stopped (SIGTERM) on drop.
pub struct Agent {
    child: Child,
    pub addr: String,
}

impl Agent {
    pub fn start(extra: &[&str]) -> Agent {
        Self::start_with_env(extra, &[])
    }

    /// As `start`, but ready once it serves /healthz: for agents whose syscall programs
    /// are meant to be off (then /readyz says 503).
    pub fn start_healthy(extra: &[&str]) -> Agent {
        Self::spawn(agent_cmd(), extra, &[], "/healthz")
    }

    /// As `start`, with the agent run by `cmd` (a wrapper such as `unshare`, whose last
    /// argument is the agent binary).
    pub fn start_via(cmd: Command, extra: &[&str]) -> Agent {
        Self::spawn(cmd, extra, &[], "/readyz")
    }

    /// As `start`, with these environment variables set for the agent.
    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> Agent {
        Self::spawn(agent_cmd(), extra, env, "/readyz")
    }

    fn spawn(mut cmd: Command, extra: &[&str], env: &[(&str, &str)], ready: &str) -> Agent {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let child = cmd
            .args(["run", "--listen", &addr])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", agent_bin().display()));
        let mut agent = Agent { child, addr };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = ureq::get(&format!("http://{}{ready}", agent.addr)).call()
                && r.status() == 200
            {
                return agent;
            }
            if let Ok(Some(st)) = agent.child.try_wait() {
                panic!("agent exited before ready: {st}");
            }
            assert!(Instant::now() < deadline, "agent not ready after 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn get(&self, path: &str) -> String {
        get_text(&format!("http://{}{path}", self.addr), OPENMETRICS)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn metrics(&self) -> Metrics {
        Metrics::parse(&self.get("/metrics"))
    }

    /// Scrape until `ok` holds (30 s at most, then fail naming `what`); that scrape.
    pub fn wait_for(&self, what: &str, ok: impl Fn(&Metrics) -> bool) -> Metrics {
        let m = self.scrape_until(Duration::from_secs(30), &ok);
        assert!(ok(&m), "timed out waiting: {what}");
        m
    }

    /// Scrape until `ok` holds or `limit` has passed; the last scrape either way.
    pub fn scrape_until(&self, limit: Duration, ok: impl Fn(&Metrics) -> bool) -> Metrics {
        let deadline = Instant::now() + limit;
        loop {
            let m = self.metrics();
            if ok(&m) || Instant::now() >= deadline {
                return m;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Send SIGTERM and wait; returns the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.terminate()
    }

    fn terminate(&mut self) -> std::process::ExitStatus {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        self.child.wait().unwrap()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.terminate();
        }
    }
}

/// The body of a GET of `url` asking for `accept`; any failure panics with the URL.
pub fn get_text(url: &str, accept: &str) -> String {
    ureq::get(url)
        .header("accept", accept)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .into_body()
        .with_config()
        .limit(1 << 30) // a node with many containers has a big /metrics
        .read_to_string()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}
