//! archscope-node: what the arm64 guest runs in node mode (`archscope.node=1`, started by
//! archscope-vm-init): a Kubernetes-like node whose agent serves /metrics on port 9435
//! (forwarded to the host) and resolves one pod through the host's stand-in API. Its
//! parameters are `archscope.node.<key>=<value>` words of /proc/cmdline: `api` (host:port
//! of the stand-in API as the guest reaches it, e.g. 10.0.2.2:38001), `name` (NODE_NAME),
//! `pod_uid`, `container_id` and `workload` (the pod scenario's
//! `batches,getppid,openat,interval_ms`). It prints `=== node ready` once the agent traces
//! syscalls and the pod waits, starts the pod when GET <api>/archscope-test/go answers
//! 200 (`=== node go`), prints `=== node done` after the last batch, then idles until the
//! host kills qemu.
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use archscope_tests::node::{self, Pod, PodWorkload};
use archscope_tests::{Metrics, agent_bin};

/// Loading and verifying the programs under TCG is slow; the agent gets this long.
const AGENT_UP: Duration = Duration::from_secs(600);

fn main() {
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    let param = |k: &str| {
        node::cmdline_param(&cmdline, k).unwrap_or_else(|| {
            fail(&format!(
                "no {}{k}= on the kernel command line",
                node::PARAM_PREFIX
            ))
        })
    };
    let (api, name) = (param("api"), param("name"));
    let (uid, cid) = (param("pod_uid"), param("container_id"));
    let workload = PodWorkload::parse(&param("workload"))
        .unwrap_or_else(|| fail("archscope.node.workload: not batches,getppid,openat,interval_ms"));
    let http = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    );
    let started = Instant::now();
    let kubeconfig = node::kubeconfig(
        std::path::Path::new("/tmp/archscope-node"),
        &format!("http://{api}"),
    );
    let listen = format!("0.0.0.0:{}", node::GUEST_AGENT_PORT);
    let mut agent = Command::new(agent_bin())
        .args(["run", "--listen", &listen, "--containerd-socket="])
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .env("NODE_NAME", &name)
        .stdin(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("starting {}: {e}", agent_bin().display())));
    // ready means tracing: /readyz alone would not say the syscall programs are attached
    let metrics = format!("http://127.0.0.1:{}/metrics", node::GUEST_AGENT_PORT);
    loop {
        let up = http
            .get(&metrics)
            .call()
            .ok()
            .and_then(|r| {
                r.into_body()
                    .with_config()
                    .limit(1 << 30)
                    .read_to_string()
                    .ok()
            })
            .is_some_and(|text| {
                Metrics::parse(&text).value("archscope_feature_up", &[("feature", "syscalls")])
                    == Some(1.0)
            });
        if up {
            break;
        }
        if let Ok(Some(st)) = agent.try_wait() {
            fail(&format!("the agent exited: {st}"));
        }
        if started.elapsed() > AGENT_UP {
            fail(&format!("the agent traced no syscalls after {AGENT_UP:?}"));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    say(&format!(
        "archscope-node: agent tracing after {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    let pod = Pod::start(&uid, &cid, workload);
    say(node::READY);
    let go = format!("http://{api}{}", node::GO_PATH);
    while http.get(&go).call().is_err() {
        // non-2xx is an error too: not yet
        std::thread::sleep(Duration::from_millis(200));
    }
    pod.go();
    say(node::GO);
    let batches = Duration::from_millis(workload.batches * workload.interval_ms);
    pod.wait_done(batches + Duration::from_secs(600));
    say(node::DONE);
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn say(line: &str) {
    println!("{line}");
    let _ = std::io::stdout().flush();
}

fn fail(why: &str) -> ! {
    say(&format!("=== node failed: {why}"));
    std::process::exit(1);
}
