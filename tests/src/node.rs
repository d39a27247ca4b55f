//! A Kubernetes-like node, the same on the host and in the arm64 qemu guest: one pod (a
//! kubepods cgroup with the workload's `pod` scenario in it), a kubeconfig for a stand-in
//! API server, and the guest itself, whose init runs `archscope-node` (the agent, the pod,
//! console markers) when its kernel command line says `archscope.node=1`; its /metrics
//! port is forwarded to a host port by qemu's user networking.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::{cgroup2_root, enter_on_exec, workload_cmd};

/// The agent's port in the guest, forwarded to the host port given to the guest.
pub const GUEST_AGENT_PORT: u16 = 9435;
/// The host as the guest reaches it through qemu's user networking: the host's 127.0.0.1.
pub const GUEST_HOST_ADDR: &str = "10.0.2.2";
/// What `archscope-node` prints on the console: the agent is up and the pod is waiting.
pub const READY: &str = "=== node ready";
/// The pod was told to start its batches (after GET /archscope-test/go answered 200).
pub const GO: &str = "=== node go";
/// The pod printed `done`: every batch has run.
pub const DONE: &str = "=== node done";
/// The kernel command line's parameters of node mode are `archscope.node.<key>=<value>`
/// (keys: api, name, pod_uid, container_id, workload).
pub const PARAM_PREFIX: &str = "archscope.node.";
/// The host's request that starts the guest's pod; 200 means go.
pub const GO_PATH: &str = "/archscope-test/go";
/// Where `cargo xtask vm-compare` puts the arm64 guest's kernel and initramfs.
pub const KERNEL_VAR: &str = "XTASK_ARM64_KERNEL";
pub const INITRD_VAR: &str = "XTASK_ARM64_INITRD";

/// The arm64 guest's kernel and initramfs from [`KERNEL_VAR`] and [`INITRD_VAR`], if set.
pub fn arm64_guest_artifacts() -> Option<(PathBuf, PathBuf)> {
    let k = std::env::var_os(KERNEL_VAR)?;
    let i = std::env::var_os(INITRD_VAR)?;
    Some((k.into(), i.into()))
}

/// The value of `archscope.node.<key>` on a kernel command line.
pub fn cmdline_param(cmdline: &str, key: &str) -> Option<String> {
    cmdline.split_whitespace().find_map(|w| {
        w.strip_prefix(PARAM_PREFIX)?
            .strip_prefix(key)?
            .strip_prefix('=')
            .map(str::to_string)
    })
}

/// The `pod` scenario: `batches` batches, one every `interval_ms` from the first, each
/// exactly `getppid_per_batch` getppid and `openat_missing_per_batch` failing openat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodWorkload {
    pub batches: u64,
    pub getppid_per_batch: u64,
    pub openat_missing_per_batch: u64,
    pub interval_ms: u64,
}

impl PodWorkload {
    /// `batches,getppid,openat,interval_ms`, as `archscope.node.workload=` carries it.
    pub fn parse(csv: &str) -> Option<PodWorkload> {
        let n: Vec<u64> = csv
            .split(',')
            .map(|p| p.trim().parse().ok())
            .collect::<Option<_>>()?;
        match n[..] {
            [
                batches,
                getppid_per_batch,
                openat_missing_per_batch,
                interval_ms,
            ] => Some(PodWorkload {
                batches,
                getppid_per_batch,
                openat_missing_per_batch,
                interval_ms,
            }),
            _ => None,
        }
    }

    pub fn csv(&self) -> String {
        self.args().join(",")
    }

    fn args(&self) -> [String; 4] {
        [
            self.batches,
            self.getppid_per_batch,
            self.openat_missing_per_batch,
            self.interval_ms,
        ]
        .map(|n| n.to_string())
    }
}

/// A pod: `<cgroup2>/kubepods/burstable/pod<uid>/<container id>` (the cgroupfs driver's
/// layout) with the workload started inside it, waiting for [`Pod::go`]. Its loader's
/// openat calls (libc and the like) are the container's too: read a baseline after
/// [`Pod::start`] returns. Dropping it kills the workload and removes the directories it
/// made.
pub struct Pod {
    pub uid: String,
    pub container_id: String,
    /// The container's cgroup directory.
    pub dir: PathBuf,
    child: Child,
    lines: mpsc::Receiver<String>,
    // dropped after the workload is killed (fields drop after Drop::drop)
    _dirs: Dirs,
}

impl Pod {
    /// Start the workload in the pod's cgroup and wait (2 minutes at most) for its `ready`.
    pub fn start(uid: &str, container_id: &str, w: PodWorkload) -> Pod {
        let mut dir = cgroup2_root();
        let mut dirs = Dirs(Vec::new());
        let pod_dir = format!("pod{uid}");
        for part in ["kubepods", "burstable", pod_dir.as_str(), container_id] {
            dir.push(part);
            if !dir.exists() {
                std::fs::create_dir(&dir)
                    .unwrap_or_else(|e| panic!("creating {} (root?): {e}", dir.display()));
                dirs.0.insert(0, dir.clone());
            }
        }
        let mut cmd = workload_cmd();
        // `-`: it starts inside the cgroup, so no call of its own falls outside
        cmd.args(["-", "pod"])
            .args(w.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        enter_on_exec(&dir.join("cgroup.procs"), &mut cmd);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        let out = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let pod = Pod {
            uid: uid.to_string(),
            container_id: container_id.to_string(),
            dir,
            child,
            lines,
            _dirs: dirs,
        };
        pod.wait_line("ready", Duration::from_secs(120));
        pod
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Start the batches (SIGUSR1).
    pub fn go(&self) {
        // SAFETY: signalling our own child, which has SIGUSR1 blocked and waits for it.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGUSR1) };
    }

    /// Wait for `done`: every batch has run. Panics after `timeout`.
    pub fn wait_done(&self, timeout: Duration) {
        self.wait_line("done", timeout);
    }

    fn wait_line(&self, want: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(l) if l == want => return,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the pod's workload printed no `{want}` in {timeout:?}")
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("the pod's workload ended before printing `{want}`")
                }
            }
        }
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Directories made for a pod, innermost first; removed on drop (a cgroup whose last
/// process was just reaped may still be busy for a moment).
struct Dirs(Vec<PathBuf>);

impl Drop for Dirs {
    fn drop(&mut self) {
        for dir in &self.0 {
            for _ in 0..50 {
                if std::fs::remove_dir(dir).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// A kubeconfig in `dir` for the API server at `server` (`http://host:port`), with a
/// bearer token.
pub fn kubeconfig(dir: &Path, server: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\n\
             clusters:\n- name: t\n  cluster:\n    server: {server}\n\
             contexts:\n- name: t\n  context:\n    cluster: t\n    user: u\n\
             users:\n- name: u\n  user:\n    token: test-token\n"
        ),
    )
    .unwrap();
    path
}

/// qemu for the arm64 guest in node mode: the kernel of `cargo xtask vm-test arm64` (6.1),
/// its initramfs, `archscope.node.<key>=<value>` for each of `params`, and a virtio-mmio
/// NIC on user networking whose guest port 9435 is the host's `127.0.0.1:fwd_port`
/// (virtio-mmio: a PCI NIC would want qemu's option ROMs).
pub fn arm64_guest_command(
    kernel: &Path,
    initrd: &Path,
    fwd_port: u16,
    params: &[(&str, &str)],
) -> Command {
    let mut append = String::from("console=ttyAMA0 rdinit=/init quiet archscope.node=1");
    for (k, v) in params {
        append.push_str(&format!(" {PARAM_PREFIX}{k}={v}"));
    }
    let mut c = Command::new("qemu-system-aarch64");
    // pauth-impdef: as vm-test's guests, or TCG spends most of its time on QARMA5
    c.args(["-M", "virt", "-cpu", "max,pauth-impdef=on", "-m", "1024"])
        .args(["-smp", "2", "-kernel"])
        .arg(kernel)
        .arg("-initrd")
        .arg(initrd)
        .arg("-append")
        .arg(append)
        .args(["-nographic", "-no-reboot", "-netdev"])
        .arg(format!(
            "user,id=n0,hostfwd=tcp:127.0.0.1:{fwd_port}-:{GUEST_AGENT_PORT}"
        ))
        .args(["-device", "virtio-net-device,netdev=n0"]);
    c
}

/// A running guest, its console going to a log file; killed on drop.
pub struct Guest {
    child: Child,
    log: PathBuf,
}

impl Guest {
    pub fn spawn(mut cmd: Command, log: &Path) -> Guest {
        let f = std::fs::File::create(log)
            .unwrap_or_else(|e| panic!("creating {}: {e}", log.display()));
        let child = cmd
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
        Guest {
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The console so far.
    pub fn console(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).replace('\r', "")
    }

    /// Wait for a console line containing `marker`; that line. Panics, with the console's
    /// last lines, after `timeout` or when qemu exits first.
    pub fn wait_for_line(&mut self, marker: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let console = self.console();
            if let Some(l) = console.lines().find(|l| l.contains(marker)) {
                return l.to_string();
            }
            let exited = self.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                let lines: Vec<&str> = console.lines().collect();
                let tail = lines[lines.len().saturating_sub(60)..].join("\n");
                panic!(
                    "no `{marker}` on the guest's console ({}; log {}):\n{tail}",
                    exited.map_or(format!("{timeout:?} passed"), |s| format!("qemu {s}")),
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_workload_round_trip() {
        let w = PodWorkload::parse("20,500,50,500").unwrap();
        let csv = w.csv();
        assert_eq!(csv, "20,500,50,500");
        assert_eq!(PodWorkload::parse("1,2,3"), None);
        let c = arm64_guest_command(
            Path::new("k"),
            Path::new("i"),
            1234,
            &[("api", "10.0.2.2:1"), ("workload", csv.as_str())],
        );
        let args: Vec<String> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let append = &args[args.iter().position(|a| a == "-append").unwrap() + 1];
        assert_eq!(cmdline_param(append, "api").as_deref(), Some("10.0.2.2:1"));
        assert_eq!(
            cmdline_param(append, "workload").as_deref(),
            Some("20,500,50,500")
        );
        assert_eq!(cmdline_param(append, "name"), None);
        assert!(args.contains(&"user,id=n0,hostfwd=tcp:127.0.0.1:1234-:9435".to_string()));
    }
}
