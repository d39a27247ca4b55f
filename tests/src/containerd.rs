//! A private containerd (own root, state and socket, no CRI plugin) and a rootfs holding
//! the workload, for tests that need real containers.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::workload_bin;

/// A private containerd (own root, state and socket), stopped on drop.
pub struct Containerd {
    child: Child,
    pub dir: PathBuf,
    pub socket: PathBuf,
}

impl Containerd {
    pub fn start() -> Option<Containerd> {
        if Command::new("containerd")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!(
                "skipped: containerd is not installed here (`cargo xtask setup` installs it)"
            );
            return None;
        }
        // One directory per instance: tests of one binary run side by side.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("archscope-containerd-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("containerd.sock");
        let config = dir.join("config.toml");
        // No CRI plugin: this instance only runs what the test asks ctr for.
        std::fs::write(
            &config,
            "version = 2\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n",
        )
        .unwrap();
        let child = spawn(&dir, &socket);
        Some(Containerd { child, dir, socket })
    }

    /// Stop containerd (SIGTERM, as systemd would); its containers' shims keep running.
    pub fn stop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }

    /// Start it again on the same root, state and socket.
    pub fn restart(&mut self) {
        self.child = spawn(&self.dir, &self.socket);
    }

    pub fn ctr(&self, args: &[&str]) -> std::process::Output {
        Command::new("ctr")
            .arg("--address")
            .arg(&self.socket)
            .args(["-n", "k8s.io"])
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Start containerd with the instance's config, root, state and socket; wait for the socket.
fn spawn(dir: &Path, socket: &Path) -> Child {
    let _ = std::fs::remove_file(socket);
    let child = Command::new("containerd")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--state")
        .arg(dir.join("state"))
        .arg("--address")
        .arg(socket)
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("containerd.log"))
                .unwrap(),
        )
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !socket.exists() {
        assert!(
            Instant::now() < deadline,
            "containerd did not start; see {}/containerd.log",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

/// A rootfs holding the workload and the shared libraries it links.
pub fn rootfs(dir: &Path) -> PathBuf {
    rootfs_of(&dir.join("rootfs"), &workload_bin())
}

/// A rootfs at `root` holding `bin` (at `/<its file name>`) and the libraries it links.
pub fn rootfs_of(root: &Path, bin: &Path) -> PathBuf {
    std::fs::create_dir_all(root).unwrap();
    std::fs::copy(bin, root.join(bin.file_name().unwrap())).unwrap();
    let ldd = Command::new("ldd").arg(bin).output().unwrap();
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = line.split_whitespace().find(|w| w.starts_with('/'));
        if let Some(p) = path {
            let dst = root.join(p.trim_start_matches('/'));
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::copy(p, &dst).unwrap();
        }
    }
    root.to_path_buf()
}

/// A container with the labels CRI puts on a Kubernetes pod's container (pod `web-7d9f`
/// in namespace `shop`, container `app`) in a kubepods cgroup, running the workload with
/// `args`; killed and deleted on drop.
pub struct Container<'a> {
    containerd: &'a Containerd,
    pub id: String,
}

impl<'a> Container<'a> {
    pub fn start(containerd: &'a Containerd, rootfs: &Path, workload: &[&str]) -> Container<'a> {
        Container::start_nth(containerd, rootfs, 0, workload)
    }

    /// The same, the `n`th of this test process's containers (each has its own id).
    pub fn start_nth(
        containerd: &'a Containerd,
        rootfs: &Path,
        n: u32,
        workload: &[&str],
    ) -> Container<'a> {
        let id = Container::nth_id(n);
        let args = Container::run_args(rootfs, &id, workload);
        let out = containerd.ctr(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            out.status.success(),
            "ctr run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Container { containerd, id }
    }

    /// The id of this test process's `n`th container.
    pub fn nth_id(n: u32) -> String {
        format!(
            "{:064x}",
            (std::process::id() as u128 * 0x2545_f491_4f6c_dd1d).wrapping_add(n as u128 * 0x9e37)
        )
    }

    /// `ctr` arguments that run container `id` detached (`run -d`); put `--rm` first and
    /// drop `-d` for a container removed when its workload exits.
    pub fn run_args(rootfs: &Path, id: &str, workload: &[&str]) -> Vec<String> {
        let uid = "0c9a7f2e-1b3d-4c5e-8f6a-7b8c9d0e1f2a";
        let cgroup = format!("kubepods/burstable/pod{uid}/{id}");
        let mut args: Vec<String> = ["run", "-d", "--cgroup", &cgroup]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for l in [
            "io.kubernetes.pod.name=web-7d9f",
            "io.kubernetes.pod.namespace=shop",
            "io.kubernetes.container.name=app",
            &format!("io.kubernetes.pod.uid={uid}"),
        ] {
            args.extend(["--label".to_string(), l.to_string()]);
        }
        args.extend([
            "--rootfs".to_string(),
            rootfs.display().to_string(),
            id.to_string(),
        ]);
        args.extend(["/archscope-workload", "-"].iter().map(|s| s.to_string()));
        args.extend(workload.iter().map(|s| s.to_string()));
        args
    }
}

impl Drop for Container<'_> {
    fn drop(&mut self) {
        let c = self.containerd;
        let _ = c.ctr(&["task", "kill", "-s", "SIGKILL", &self.id]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while c.ctr(&["task", "delete", &self.id]).status.code() != Some(0)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = c.ctr(&["container", "delete", &self.id]);
    }
}
