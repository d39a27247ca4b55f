//! The DaemonSet's pod, as close as this machine allows without a kubelet: the rendered
//! manifest's container is run by containerd and runc with exactly its volume mounts
//! (hostPath binds, the ConfigMap as a file), its capabilities (all dropped but BPF and
//! PERFMON), a read-only root filesystem, the host's PID namespace (`hostPID`) and
//! `NODE_NAME`. The agent must become ready, attach every program, see the host's cgroup
//! tree and containerd, and hold no capability beyond the two.
use std::path::Path;
use std::time::{Duration, Instant};

use archscope_tests::containerd::{Containerd, rootfs_of};
use archscope_tests::manifests::{agent, documents, kind};
use archscope_tests::{Cgroup, Metrics, agent_bin, skip_under_emulation, workload};
use serde_json::Value;

/// `ctr run` arguments for the DaemonSet's first container.
fn ctr_args(ds: &Value, dir: &Path, config: &str) -> (Vec<String>, Vec<String>) {
    let pod = &ds["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let mut args = Vec::new();
    assert_eq!(pod["hostPID"], true);
    // this process is in the host's PID namespace (PID 1 may not be readable here)
    args.push(format!("--with-ns=pid:/proc/{}/ns/pid", std::process::id()));
    // the pod's network namespace would hide the port from this test: host network, and
    // the rendering's port
    args.push("--net-host".into());
    if c["securityContext"]["readOnlyRootFilesystem"] == true {
        args.push("--read-only".into());
    }
    let caps = &c["securityContext"]["capabilities"];
    assert_eq!(caps["drop"], serde_json::json!(["ALL"]));
    // ctr has no "ALL": drop containerd's default set one by one (CapEff is checked below)
    for cap in [
        "CHOWN",
        "DAC_OVERRIDE",
        "FSETID",
        "FOWNER",
        "MKNOD",
        "NET_RAW",
        "SETGID",
        "SETUID",
        "SETFCAP",
        "SETPCAP",
        "NET_BIND_SERVICE",
        "SYS_CHROOT",
        "KILL",
        "AUDIT_WRITE",
    ] {
        args.push(format!("--cap-drop=CAP_{cap}"));
    }
    for cap in caps["add"].as_array().unwrap() {
        args.push(format!("--cap-add=CAP_{}", cap.as_str().unwrap()));
    }
    for e in c["env"].as_array().unwrap() {
        assert_eq!(e["valueFrom"]["fieldRef"]["fieldPath"], "spec.nodeName");
        args.push(format!("--env={}=test-node", e["name"].as_str().unwrap()));
    }
    let volumes = pod["volumes"].as_array().unwrap();
    for m in c["volumeMounts"].as_array().unwrap() {
        let v = volumes
            .iter()
            .find(|v| v["name"] == m["name"])
            .expect("volumeMount without volume");
        let src = if let Some(path) = v["hostPath"]["path"].as_str() {
            path.to_string()
        } else {
            assert!(v["configMap"].is_object(), "{v}");
            let d = dir.join("configmap");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("config.toml"), config).unwrap();
            d.display().to_string()
        };
        let ro = if m["readOnly"] == true { ":ro" } else { "" };
        args.push(format!(
            "--mount=type=bind,src={src},dst={},options=rbind{ro}",
            m["mountPath"].as_str().unwrap()
        ));
    }
    let image_args = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    (args, image_args)
}

#[test]
fn the_daemonset_pod_runs_least_privileged() {
    if skip_under_emulation() {
        return;
    }
    let Some(containerd) = Containerd::start() else {
        panic!("containerd missing: run `cargo xtask setup`");
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let socket = containerd.socket.display().to_string();
    let yaml = agent(&[
        "install",
        "kubernetes",
        "--port",
        &port,
        "--containerd-socket",
        &socket,
    ]);
    let docs = documents(&yaml);
    let ds = kind(&docs, "DaemonSet");
    let config = kind(&docs, "ConfigMap")["data"]["config.toml"]
        .as_str()
        .unwrap();
    let root = rootfs_of(&containerd.dir.join("agent-rootfs"), &agent_bin());
    let (mut args, cmd) = ctr_args(ds, &containerd.dir, config);
    let id = format!("archscope-ds-{}", std::process::id());
    let root_s = root.display().to_string();
    let mut run = vec!["run".to_string(), "-d".into()];
    run.append(&mut args);
    run.extend(["--rootfs".into(), root_s, id.clone(), "/agent".into()]);
    run.extend(cmd);
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    let out = containerd.ctr(&run);
    assert!(
        out.status.success(),
        "ctr {run:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _guard = Task {
        containerd: &containerd,
        id: &id,
    };

    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if ureq::get(&format!("{url}/readyz"))
            .call()
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        assert!(Instant::now() < deadline, "the pod's agent is not ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    // every program attached, node identity from /host, the host's cgroup paths, containerd
    let deadline = Instant::now() + Duration::from_secs(30);
    let m = loop {
        let text =
            archscope_tests::get_text(&format!("{url}/metrics"), archscope_tests::OPENMETRICS);
        let m = Metrics::parse(&text);
        if m.value("archscope_metadata_source_up", &[("source", "containerd")]) == Some(1.0) {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "containerd not reached via the socket mount"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    let programs: Vec<_> = m.find("archscope_program_up", &[]).collect();
    assert!(!programs.is_empty());
    // every program attaches, but for hardware counters on a host without a PMU
    let no_pmu = m.value("archscope_feature_up", &[("feature", "pmu")]) == Some(0.0)
        && !std::path::Path::new("/sys/bus/event_source/devices/cpu").exists()
        && !std::path::Path::new("/sys/bus/event_source/devices/armv8_pmuv3_0").exists();
    let expected = |s: &&&archscope_tests::Sample| !(no_pmu && s.labels["feature"] == "pmu");
    assert!(
        programs.iter().filter(expected).all(|s| s.value == 1.0),
        "{programs:?}"
    );
    assert!(
        m.find("archscope_node_info", &[("arch", std::env::consts::ARCH)])
            .next()
            .is_some()
    );
    // a workload in a fresh host cgroup, counted under its host path: the pod sees the
    // host's cgroup tree, not its own namespaced one
    let cg = Cgroup::new("daemonset");
    workload(&cg, &["basic", "1000", "10"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text =
            archscope_tests::get_text(&format!("{url}/metrics"), archscope_tests::OPENMETRICS);
        let m = Metrics::parse(&text);
        let n = m.value(
            "archscope_syscalls_total",
            &[("cgroup", &cg.label), ("syscall", "getppid")],
        );
        if n == Some(1000.0) {
            break;
        }
        assert!(Instant::now() < deadline, "{} getppid: {n:?}", cg.label);
        std::thread::sleep(Duration::from_millis(300));
    }
    // the agent's effective capabilities: CAP_NET_ADMIN (12), CAP_PERFMON (38) and
    // CAP_BPF (39), nothing else
    let pid = task_pid(&containerd, &id).unwrap();
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid.trim())).unwrap();
    let cap_eff = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .unwrap()
        .trim();
    assert_eq!(
        cap_eff,
        format!("{:016x}", (1u64 << 12) | (1 << 38) | (1 << 39))
    );
}

fn task_pid(c: &Containerd, id: &str) -> Option<String> {
    let out = c.ctr(&["task", "ls"]);
    String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
        let mut f = l.split_whitespace();
        (f.next() == Some(id)).then(|| f.next().unwrap().to_string())
    })
}

struct Task<'a> {
    containerd: &'a Containerd,
    id: &'a str,
}

impl Drop for Task<'_> {
    fn drop(&mut self) {
        let c = self.containerd;
        let _ = c.ctr(&["task", "kill", "-s", "SIGKILL", self.id]);
        let deadline = Instant::now() + Duration::from_secs(20);
        while c.ctr(&["task", "delete", self.id]).status.code() != Some(0)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = c.ctr(&["container", "delete", self.id]);
    }
}
