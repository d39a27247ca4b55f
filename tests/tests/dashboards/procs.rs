//! The processes the dashboards test measures besides its container: a host service and
//! a sidecar, each in a cgroup of its own.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use archscope_tests::containerd::Container;
use archscope_tests::{cgroup2_root, workload_bin, workload_cmd};

/// Processes in a cgroup made for them (`rel` below the cgroup2 root); on drop they are
/// killed and the cgroup removed, with its parent if nothing else is in it.
pub struct Procs {
    children: Vec<Child>,
    dir: PathBuf,
}

impl Procs {
    /// `cmds` gets the cgroup's `cgroup.procs`, for the workloads to move into.
    fn start(rel: impl AsRef<Path>, cmds: impl Fn(&Path) -> Vec<Command>) -> Procs {
        let dir = cgroup2_root().join(rel);
        std::fs::create_dir_all(&dir).unwrap();
        let children = cmds(&dir.join("cgroup.procs"))
            .iter_mut()
            .map(|c| c.stdout(Stdio::null()).spawn().unwrap())
            .collect();
        Procs { children, dir }
    }

    /// A host service as systemd lays it out (`system.slice/<name>.service`), running the
    /// steady workload: this host's PID 1 is not systemd, so nothing else carries `service`.
    pub fn host_service() -> Procs {
        let name = format!("archscope-dashboards-{}", std::process::id());
        Procs::start(format!("system.slice/{name}.service"), |procs| {
            vec![workload(procs, &["steady", "20", "5"])]
        })
    }

    /// A second container in the test's pod (`pod`), known to the agent by its cgroup
    /// alone: a TCP server and, every 200 ms, a client making 5 connections of 1000 bytes
    /// over loopback (until the server listens, the client fails and the loop goes on).
    pub fn sidecar(pod: &Path) -> Procs {
        let port = std::net::TcpListener::bind("127.0.0.1:0").map(|l| l.local_addr());
        let addr = port.unwrap().unwrap().to_string();
        Procs::start(pod.join(Container::nth_id(1)), |procs| {
            let mut clients = Command::new("sh");
            clients.args([
                "-c",
                r#"while :; do "$0" "$1" tcp-client "$2" 5 1000 2>/dev/null; sleep 0.2; done"#,
            ]);
            clients.arg(workload_bin()).arg(procs).arg(&addr);
            vec![
                workload(procs, &["tcp-server", &addr, "1000000000"]),
                clients,
            ]
        })
    }
}

fn workload(procs: &Path, args: &[&str]) -> Command {
    let mut c = workload_cmd();
    c.arg(procs).args(args);
    c
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for _ in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = std::fs::remove_dir(self.dir.parent().unwrap());
    }
}
