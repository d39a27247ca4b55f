//! The agent's flags and their `ARCHSCOPE_*` environment twins (clap reads both), and the
//! check that no other `ARCHSCOPE_*` variable is set.
use std::path::PathBuf;

use super::ConfigError;

/// Environment variables the agent reads; any other `ARCHSCOPE_*` variable is an error
/// (a typo would otherwise be silently ignored).
pub const ENV_VARS: &[&str] = &[
    "ARCHSCOPE_CONFIG",
    "ARCHSCOPE_LISTEN",
    "ARCHSCOPE_LOG",
    "ARCHSCOPE_MAX_SERIES_PER_METRIC",
    "ARCHSCOPE_SYSCALLS",
    "ARCHSCOPE_FEATURES_OFF",
    "ARCHSCOPE_SYSCALL_MAP_ENTRIES",
    "ARCHSCOPE_INFLIGHT_MAP_ENTRIES",
    "ARCHSCOPE_PMU_MAP_ENTRIES",
    "ARCHSCOPE_CGROUP_CACHE_ENTRIES",
    "ARCHSCOPE_CONTAINER_GRACE_PERIOD",
    "ARCHSCOPE_TRACEFS",
    "ARCHSCOPE_HOST_ROOT",
    "ARCHSCOPE_CONTAINERD_SOCKET",
    "ARCHSCOPE_METADATA_CACHE_ENTRIES",
    "ARCHSCOPE_OTLP_QUEUE_POINTS",
    "ARCHSCOPE_CGROUP_MODE",
    "ARCHSCOPE_CGROUP_V1_CONTROLLER",
    "ARCHSCOPE_KUBERNETES",
    "ARCHSCOPE_KUBECONFIG",
    "ARCHSCOPE_KUBERNETES_POD_LABELS",
    "ARCHSCOPE_BENCH_RESULTS_DIR",
];

/// Values from flags or the environment (clap resolves those two), as strings so that
/// every source is validated by the same code.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Overrides {
    /// Address for /metrics, /healthz and /readyz [default: 0.0.0.0:9435]
    #[arg(long, env = "ARCHSCOPE_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Log filter, e.g. `info` or `archscope_agent=debug` [default: info]
    #[arg(long, env = "ARCHSCOPE_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// Series per metric before the rest fold into an overflow series [default: 10000]
    #[arg(long, env = "ARCHSCOPE_MAX_SERIES_PER_METRIC", value_name = "N")]
    pub max_series_per_metric: Option<String>,
    /// Resident memory above which the least active series are shed: auto (80 % of the agent's cgroup memory limit), off, or a size such as 256MiB [default: auto]
    #[arg(long, env = "ARCHSCOPE_MEMORY_LIMIT", value_name = "auto|off|SIZE")]
    pub memory_limit: Option<String>,
    /// What syscall tracing collects: full (calls, failures by errno, latency), counts (calls and failures only, cheaper) or off [default: full]
    #[arg(long, env = "ARCHSCOPE_SYSCALLS", value_name = "full|counts|off")]
    pub syscalls: Option<String>,
    /// Features switched off, comma-separated (syscalls, tcp, traffic, pmu, cgroup_paths, scheduler): their programs are not loaded [default: none]
    #[arg(long, env = "ARCHSCOPE_FEATURES_OFF", value_name = "FEATURES")]
    pub features_off: Option<String>,
    /// Kernel map size for (cgroup, syscall) statistics, preallocated per possible CPU [default: 16384, fewer above 17 CPUs: at most 64 MiB]
    #[arg(long, env = "ARCHSCOPE_SYSCALL_MAP_ENTRIES", value_name = "N")]
    pub syscall_map_entries: Option<String>,
    /// Kernel map size for syscalls in flight, one per thread [default: 65536]
    #[arg(long, env = "ARCHSCOPE_INFLIGHT_MAP_ENTRIES", value_name = "N")]
    pub inflight_map_entries: Option<String>,
    /// Kernel map size for (cgroup, hardware event) sums, nine per cgroup [default: 8192]
    #[arg(long, env = "ARCHSCOPE_PMU_MAP_ENTRIES", value_name = "N")]
    pub pmu_map_entries: Option<String>,
    /// cgroup id → path cache size [default: 16384]
    #[arg(long, env = "ARCHSCOPE_CGROUP_CACHE_ENTRIES", value_name = "N")]
    pub cgroup_cache_entries: Option<String>,
    /// How long a removed cgroup's series stay before they are dropped [default: 1m]
    #[arg(
        long,
        env = "ARCHSCOPE_CONTAINER_GRACE_PERIOD",
        value_name = "DURATION"
    )]
    pub container_grace_period: Option<String>,
    /// tracefs mount point [default: found in /proc/self/mountinfo, mounted if absent]
    #[arg(long, env = "ARCHSCOPE_TRACEFS", value_name = "DIR")]
    pub tracefs: Option<PathBuf>,
    /// The host's / as the agent sees it, for node identity (a DaemonSet mounts it at /host) [default: /]
    #[arg(long, env = "ARCHSCOPE_HOST_ROOT", value_name = "DIR")]
    pub host_root: Option<PathBuf>,
    /// `agent bench` results served at /api/v1/bench and as archscope_bench_* [default: /var/lib/archscope/bench as root]
    #[arg(long, env = "ARCHSCOPE_BENCH_RESULTS_DIR", value_name = "DIR")]
    pub bench_results_dir: Option<PathBuf>,
    /// containerd's API socket for container names and pod labels; "" turns it off [default: /run/containerd/containerd.sock]
    #[arg(
        long,
        env = "ARCHSCOPE_CONTAINERD_SOCKET",
        value_name = "PATH",
        // clap's PathBuf parser refuses "", which is how the source is turned off
        value_parser = clap::builder::TypedValueParser::map(
            clap::builder::OsStringValueParser::new(),
            PathBuf::from
        )
    )]
    pub containerd_socket: Option<PathBuf>,
    /// Containers kept in the metadata cache [default: 16384]
    #[arg(long, env = "ARCHSCOPE_METADATA_CACHE_ENTRIES", value_name = "N")]
    pub metadata_cache_entries: Option<String>,
    /// cgroup hierarchy to charge events to: auto, v2 or v1 [default: auto: v2 when cgroup2 is mounted]
    #[arg(long, env = "ARCHSCOPE_CGROUP_MODE", value_name = "MODE")]
    pub cgroup_mode: Option<String>,
    /// In v1 mode, the controller whose hierarchy names containers [default: memory]
    #[arg(long, env = "ARCHSCOPE_CGROUP_V1_CONTROLLER", value_name = "NAME")]
    pub cgroup_v1_controller: Option<String>,
    /// Pod labels and owning workloads from the Kubernetes API: auto (in a cluster, or with --kubeconfig) or off [default: auto]
    #[arg(long, env = "ARCHSCOPE_KUBERNETES", value_name = "auto|off")]
    pub kubernetes: Option<String>,
    /// kubeconfig for the Kubernetes API instead of the in-cluster service account
    #[arg(long, env = "ARCHSCOPE_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Pod labels exported (as `label_<name>` on archscope_kubernetes_pod_labels), comma-separated [default: app,app.kubernetes.io/name,app.kubernetes.io/instance,app.kubernetes.io/component]
    #[arg(long, env = "ARCHSCOPE_KUBERNETES_POD_LABELS", value_name = "KEYS")]
    pub kubernetes_pod_labels: Option<String>,
    /// Testing aid: make the kernel's verifier reject these programs (comma-separated
    /// names as `agent check` lists them), to see the agent degrade and alerts fire
    #[arg(long, value_name = "PROGRAMS")]
    pub inject_verifier_reject: Option<String>,
    #[command(flatten)]
    pub otlp: crate::export::otlp::OtlpFlags,
}

pub(super) fn check_env() -> Result<(), ConfigError> {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("ARCHSCOPE_") && !ENV_VARS.contains(&k.as_ref()) {
            return Err(ConfigError::UnknownEnv {
                name: k.into_owned(),
                known: ENV_VARS.join(", "),
            });
        }
    }
    Ok(())
}
