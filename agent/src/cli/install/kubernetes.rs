//! `agent install kubernetes`: the manifests for a cluster, least-privileged by default.
use crate::UsageError;

const TEMPLATE: &str = include_str!("kubernetes.yaml");
const SERVICE_MONITOR: &str = include_str!("servicemonitor.yaml");

/// Architectures the multi-arch image is built for (`kubernetes.io/arch` values).
pub const ARCHS: &[&str] = &["amd64", "arm64", "loong64"];

#[derive(Debug, Clone, clap::Args)]
pub struct KubernetesArgs {
    /// Namespace to install into (created by the manifests)
    #[arg(long, default_value = "archscope", value_name = "NAME")]
    pub namespace: String,
    /// Image repository, without the tag
    #[arg(long, default_value = "ghcr.io/archscope/agent", value_name = "REPO")]
    pub image: String,
    /// Image tag [default: this agent's version]
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// Run privileged: for kernels before 5.8, which have no CAP_BPF/CAP_PERFMON (e.g.
    /// Kylin V10's 4.19, CentOS 7), and container runtimes that do not know those names
    #[arg(long)]
    pub privileged: bool,
    /// Add CAP_SYS_RESOURCE so the agent can raise RLIMIT_MEMLOCK: kernels before 5.11
    /// charge eBPF maps to it
    #[arg(long)]
    pub kernel_before_5_11: bool,
    /// Node architectures to run on (kubernetes.io/arch), comma-separated
    #[arg(long, value_delimiter = ',', default_value = "amd64,arm64,loong64")]
    pub arch: Vec<String>,
    /// Also emit a ServiceMonitor (needs the Prometheus Operator's CRDs)
    #[arg(long)]
    pub service_monitor: bool,
    /// Port for /metrics, /healthz, /readyz
    #[arg(long, default_value_t = 9435, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// The containerd socket on the nodes (k3s: /run/k3s/containerd/containerd.sock)
    #[arg(
        long,
        default_value = "/run/containerd/containerd.sock",
        value_name = "PATH"
    )]
    pub containerd_socket: String,
    /// Log filter
    #[arg(long, default_value = "info", value_name = "FILTER")]
    pub log: String,
    #[arg(long, default_value = "50m", value_name = "CPU")]
    pub cpu_request: String,
    #[arg(long, default_value = "128Mi", value_name = "BYTES")]
    pub memory_request: String,
    #[arg(long, default_value = "500m", value_name = "CPU")]
    pub cpu_limit: String,
    #[arg(long, default_value = "512Mi", value_name = "BYTES")]
    pub memory_limit: String,
}

pub fn render(a: &KubernetesArgs) -> Result<String, UsageError> {
    let bad = |flag: &str, v: &str, why: &str| UsageError(format!("--{flag}: `{v}` {why}"));
    let label = regex::Regex::new(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$").unwrap();
    if !label.is_match(&a.namespace) {
        return Err(bad(
            "namespace",
            &a.namespace,
            "is not a DNS label (a-z, 0-9, -)",
        ));
    }
    let repo = regex::Regex::new(r"^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)+$|^[a-z0-9]+([._-][a-z0-9]+)*$").unwrap();
    if !repo.is_match(&a.image) {
        return Err(bad(
            "image",
            &a.image,
            "is not an image repository such as registry.example/archscope/agent (the tag goes in --tag)",
        ));
    }
    let version = env!("CARGO_PKG_VERSION");
    let tag = a.tag.clone().unwrap_or_else(|| version.to_string());
    let tag_re = regex::Regex::new(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$").unwrap();
    if !tag_re.is_match(&tag) {
        return Err(bad("tag", &tag, "is not an image tag"));
    }
    if a.arch.is_empty() {
        return Err(bad("arch", "", "names no architecture"));
    }
    for arch in &a.arch {
        if !ARCHS.contains(&arch.as_str()) {
            return Err(bad(
                "arch",
                arch,
                &format!("is not one the image is built for ({})", ARCHS.join(", ")),
            ));
        }
    }
    if !a.containerd_socket.starts_with('/') || a.containerd_socket.contains(char::is_whitespace) {
        return Err(bad(
            "containerd-socket",
            &a.containerd_socket,
            "is not an absolute path",
        ));
    }
    if tracing_subscriber::EnvFilter::try_new(&a.log).is_err() || a.log.contains('"') {
        return Err(bad("log", &a.log, "is not a log filter such as info"));
    }
    let cpu_req = quantity("cpu-request", &a.cpu_request, true)?;
    let cpu_lim = quantity("cpu-limit", &a.cpu_limit, true)?;
    let mem_req = quantity("memory-request", &a.memory_request, false)?;
    let mem_lim = quantity("memory-limit", &a.memory_limit, false)?;
    if cpu_req > cpu_lim {
        return Err(bad("cpu-request", &a.cpu_request, "exceeds --cpu-limit"));
    }
    if mem_req > mem_lim {
        return Err(bad(
            "memory-request",
            &a.memory_request,
            "exceeds --memory-limit",
        ));
    }
    let archs = a
        .arch
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let vars = [
        ("version", version.to_string()),
        ("flags", flags(a)),
        ("namespace", a.namespace.clone()),
        ("image", a.image.clone()),
        ("tag", tag),
        ("archs", archs),
        ("port", a.port.to_string()),
        ("log", a.log.clone()),
        ("containerd_socket", a.containerd_socket.clone()),
        ("cpu_request", a.cpu_request.clone()),
        ("memory_request", a.memory_request.clone()),
        ("cpu_limit", a.cpu_limit.clone()),
        ("memory_limit", a.memory_limit.clone()),
        ("security_context", security_context(a)),
    ];
    let mut out = super::render(TEMPLATE, &vars);
    if a.service_monitor {
        out.push_str(&super::render(SERVICE_MONITOR, &vars));
    }
    Ok(out)
}

/// The container's security context: capabilities by feature, or privileged.
fn security_context(a: &KubernetesArgs) -> String {
    let mut s = String::from("runAsUser: 0\nreadOnlyRootFilesystem: true\n");
    if a.privileged {
        s.push_str(
            "# kernels before 5.8: loading and attaching programs needs CAP_SYS_ADMIN, and\n\
             # runtimes of that era reject the names CAP_BPF and CAP_PERFMON\n\
             privileged: true\n",
        );
    } else {
        s.push_str("privileged: false\nallowPrivilegeEscalation: false\ncapabilities:\n");
        s.push_str("  drop: [\"ALL\"]\n");
        s.push_str(
            "  # BPF: programs and maps; PERFMON: attach tracepoints, read kernel memory;\n  # NET_ADMIN: attach the traffic programs to the cgroup2 root (cgroup_skb)\n",
        );
        if a.kernel_before_5_11 {
            s.push_str("  # SYS_RESOURCE: raise RLIMIT_MEMLOCK, which kernels before 5.11 charge maps to\n");
            s.push_str("  add: [\"BPF\", \"PERFMON\", \"NET_ADMIN\", \"SYS_RESOURCE\"]\n");
        } else {
            s.push_str("  add: [\"BPF\", \"PERFMON\", \"NET_ADMIN\"]\n");
        }
    }
    s.push_str(
        "# the default profiles of containerd before 1.7 and Docker before 23 allow bpf()\n\
         # and perf_event_open() only with CAP_SYS_ADMIN\n\
         seccompProfile:\n  type: Unconfined",
    );
    s
}

/// The flags that differ from the defaults, for the header comment.
fn flags(a: &KubernetesArgs) -> String {
    let d = defaults();
    let mut f = String::new();
    let mut opt = |name: &str, v: &str, def: &str| {
        if v != def {
            f.push_str(&format!(" --{name} {v}"));
        }
    };
    opt("namespace", &a.namespace, &d.namespace);
    opt("image", &a.image, &d.image);
    opt("tag", a.tag.as_deref().unwrap_or(""), "");
    opt("arch", &a.arch.join(","), &d.arch.join(","));
    opt("port", &a.port.to_string(), &d.port.to_string());
    opt(
        "containerd-socket",
        &a.containerd_socket,
        &d.containerd_socket,
    );
    opt("log", &a.log, &d.log);
    opt("cpu-request", &a.cpu_request, &d.cpu_request);
    opt("memory-request", &a.memory_request, &d.memory_request);
    opt("cpu-limit", &a.cpu_limit, &d.cpu_limit);
    opt("memory-limit", &a.memory_limit, &d.memory_limit);
    for (on, name) in [
        (a.privileged, "privileged"),
        (a.kernel_before_5_11, "kernel-before-5-11"),
        (a.service_monitor, "service-monitor"),
    ] {
        if on {
            f.push_str(&format!(" --{name}"));
        }
    }
    f
}

pub fn defaults() -> KubernetesArgs {
    #[derive(clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        a: KubernetesArgs,
    }
    <Wrap as clap::Parser>::parse_from(["agent"]).a
}

/// A Kubernetes quantity (`500m`, `1`, `128Mi`, `1G`) as a number, for comparing.
fn quantity(flag: &str, v: &str, cpu: bool) -> Result<f64, UsageError> {
    let re = regex::Regex::new(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$").unwrap();
    let err = || {
        UsageError(format!(
            "--{flag}: `{v}` is not a Kubernetes quantity such as {}",
            if cpu { "250m or 1" } else { "128Mi or 1Gi" }
        ))
    };
    let c = re.captures(v).ok_or_else(err)?;
    let n: f64 = c[1].parse().map_err(|_| err())?;
    let mult = match c.get(2).map_or("", |m| m.as_str()) {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        _ => 1024.0f64.powi(4),
    };
    if n <= 0.0 {
        return Err(err());
    }
    Ok(n * mult)
}
