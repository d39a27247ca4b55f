//! `agent install`: the committed deploy/ files are the default renderings; every rendering
//! passes the Kubernetes schemas (PyPI kubernetes-validate, from `cargo xtask setup`); the
//! unit passes `systemd-analyze verify`; and the agent runs with only the capabilities the
//! manifests and the unit grant.
use std::process::Command;

use archscope_tests::manifests::{agent, documents, kind, repo, venv_bin, with_stdin};
use archscope_tests::{agent_bin, skip_under_emulation};
use serde_json::Value;

#[test]
fn committed_deploy_files_are_the_default_renderings() {
    if skip_under_emulation() {
        return;
    }
    let cases: [(&[&str], &str); 4] = [
        (
            &["install", "kubernetes"],
            "deploy/kubernetes/archscope.yaml",
        ),
        (
            &["install", "kubernetes", "--privileged"],
            "deploy/kubernetes/archscope-privileged.yaml",
        ),
        (
            &["install", "kubernetes", "--service-monitor"],
            "deploy/kubernetes/archscope-servicemonitor.yaml",
        ),
        (
            &["install", "systemd", "--dry-run"],
            "deploy/systemd/archscope.service",
        ),
    ];
    for (args, file) in cases {
        let committed = std::fs::read_to_string(repo().join(file)).unwrap();
        assert!(
            agent(args) == committed,
            "{file} differs from `agent {}`: regenerate it with `agent {0} > {file}`",
            args.join(" ")
        );
    }
}

#[test]
fn every_rendering_passes_the_kubernetes_schemas() {
    if skip_under_emulation() {
        return;
    }
    let variants: [&[&str]; 5] = [
        &[],
        &["--privileged"],
        &["--kernel-before-5-11"],
        &["--service-monitor"],
        &[
            "--namespace=observability",
            "--image=registry.local:5000/tools/archscope",
            "--tag=0.1.0-rc1",
            "--arch=arm64,loong64",
            "--port=9500",
            "--cpu-request=100m",
            "--cpu-limit=1",
            "--memory-request=64Mi",
            "--memory-limit=1Gi",
            "--containerd-socket=/run/k3s/containerd/containerd.sock",
            "--log=debug",
        ],
    ];
    for flags in variants {
        let mut args = vec!["install", "kubernetes"];
        args.extend(flags);
        let yaml = agent(&args);
        let docs = documents(&yaml);
        // the oldest and the newest schemas kubernetes-validate carries
        for version in ["1.25.0", "1.37.0"] {
            let out = with_stdin(
                Command::new(venv_bin("kubernetes-validate"))
                    .args(["--strict", "-k", version, "-"]),
                &yaml,
            );
            let report = String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{flags:?} on {version}:\n{report}");
            let passed = report.matches(" passed for resource ").count();
            // ServiceMonitor is a CRD: no schema in the Kubernetes set
            let crds = docs
                .iter()
                .filter(|d| d["kind"] == "ServiceMonitor")
                .count();
            assert_eq!(
                passed + crds,
                docs.len(),
                "{flags:?} on {version}:\n{report}"
            );
        }
        check_daemonset(flags, &docs);
        check_config_map(flags, &docs);
    }
}

/// The ConfigMap's config.toml is a config the agent accepts (a bad key would crash-loop
/// every pod): `agent check --config` with it passes here.
fn check_config_map(flags: &[&str], docs: &[Value]) {
    let toml = kind(docs, "ConfigMap")["data"]["config.toml"]
        .as_str()
        .unwrap();
    let file = std::env::temp_dir().join(format!("archscope-cm-{}.toml", std::process::id()));
    std::fs::write(&file, toml).unwrap();
    let out = archscope_tests::agent_cmd()
        .args(["check", "--output", "json", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "{flags:?}: agent check --config <ConfigMap>: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the issue asks of the DaemonSet, read back from the rendering.
fn check_daemonset(flags: &[&str], docs: &[Value]) {
    let ds = kind(docs, "DaemonSet");
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true);
    assert_eq!(pod["tolerations"][0]["operator"], "Exists");
    let c = &pod["containers"][0];
    let env = &c["env"][0];
    assert_eq!(
        (&env["name"], &env["valueFrom"]["fieldRef"]["fieldPath"]),
        (&Value::from("NODE_NAME"), &Value::from("spec.nodeName"))
    );
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(c["resources"]["requests"]["memory"].is_string());
    assert!(c["resources"]["limits"]["cpu"].is_string());
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    let caps = &sc["capabilities"]["add"];
    if flags.contains(&"--privileged") {
        assert_eq!(sc["privileged"], true);
        assert!(caps.is_null());
    } else if flags.contains(&"--kernel-before-5-11") {
        assert_eq!(
            *caps,
            serde_json::json!(["BPF", "PERFMON", "NET_ADMIN", "SYS_RESOURCE"])
        );
    } else {
        assert_eq!(*caps, serde_json::json!(["BPF", "PERFMON", "NET_ADMIN"]));
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(sc["allowPrivilegeEscalation"], false);
    }
    let mounts: Vec<&str> = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    for m in [
        "/sys/kernel/tracing",
        "/sys/fs/bpf",
        "/sys/fs/cgroup",
        "/host/proc",
        "/run/containerd/containerd.sock",
    ] {
        assert!(mounts.contains(&m), "{flags:?}: no {m} in {mounts:?}");
    }
    let arch = &pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        [0]["matchExpressions"][1];
    assert_eq!(arch["key"], "kubernetes.io/arch");
    let role = kind(docs, "ClusterRole");
    assert_eq!(
        role["rules"],
        serde_json::json!([
            {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get", "list", "watch"]}
        ])
    );
    let svc = kind(docs, "Service");
    assert_eq!(
        svc["metadata"]["annotations"]["prometheus.io/scrape"],
        "true"
    );
    assert!(kind(docs, "ConfigMap")["data"]["config.toml"].is_string());
    if flags.contains(&"--service-monitor") {
        let sm = kind(docs, "ServiceMonitor");
        assert_eq!(sm["spec"]["endpoints"][0]["port"], "metrics");
    }
}

#[test]
fn systemd_unit_installs_and_verifies() {
    if skip_under_emulation() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("archscope-systemd-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for privileged in [false, true] {
        let unit = dir.join("archscope.service");
        let bin = dir.join("bin/agent");
        let (unit_s, bin_s) = (unit.display().to_string(), bin.display().to_string());
        let mut args = vec!["install", "systemd", "--path", &unit_s, "--bin", &bin_s];
        if privileged {
            args.push("--privileged");
        }
        agent(&args);
        assert!(bin.is_file(), "the binary was not installed");
        args.push("--dry-run");
        assert_eq!(std::fs::read_to_string(&unit).unwrap(), agent(&args));
        let out = Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit)
            .output()
            .expect("systemd-analyze (Debian's systemd; `cargo xtask setup`)");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "systemd-analyze verify: {err}");
        // other units on this machine may draw warnings; ours must draw none
        assert!(!err.contains("archscope.service"), "{err}");
        let text = std::fs::read_to_string(&unit).unwrap();
        let caps = if privileged {
            "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_ADMIN"
        } else {
            "CAP_BPF CAP_PERFMON CAP_NET_ADMIN"
        };
        assert!(
            text.contains(&format!("\nCapabilityBoundingSet={caps}\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("\nAmbientCapabilities={caps}\n")),
            "{text}"
        );
        for k in [
            "NoNewPrivileges=yes",
            "ProtectSystem=strict",
            "LimitMEMLOCK=infinity",
        ] {
            assert!(text.contains(k), "{k}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The capability set both the manifests and the unit grant is enough: `agent check`
/// loads and attaches every program with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN only (as root, which
/// owns tracefs and the containerd socket, with no other capability).
#[test]
fn the_agent_runs_with_bpf_and_perfmon_only() {
    if skip_under_emulation() {
        return; // no setpriv in the VM's initramfs
    }
    let caps = "-all,+bpf,+perfmon,+net_admin";
    let out = Command::new("setpriv")
        .args([
            "--bounding-set",
            caps,
            "--inh-caps",
            caps,
            "--ambient-caps",
            caps,
        ])
        .arg("--")
        .arg(agent_bin())
        .arg("check")
        .output()
        .expect("setpriv (util-linux)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("capabilities  CAP_BPF CAP_PERFMON\n"),
        "{text}"
    );
    assert!(text.contains("result: the agent can run here"), "{text}");
    assert!(
        text.contains("archscope_skb_egress [traffic] cgroup_skb/egress: loaded and attached"),
        "{text}"
    );
}
