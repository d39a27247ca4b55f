//! The agent's configuration: flags > `ARCHSCOPE_*` environment > config file > defaults.
//! Every bad input is a `ConfigError`, printed as one line naming the field, exit status 2.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::errors::ConfigError;

/// Environment variables the agent reads; any other `ARCHSCOPE_*` variable is an error
/// (a typo would otherwise be silently ignored).
pub const ENV_VARS: &[&str] = &[
    "ARCHSCOPE_CONFIG",
    "ARCHSCOPE_LISTEN",
    "ARCHSCOPE_LOG",
    "ARCHSCOPE_MAX_SERIES_PER_METRIC",
    "ARCHSCOPE_SYSCALLS",
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

const DEFAULT_POD_LABELS: &[&str] = &[
    "app",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
];

/// What the syscall feature collects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyscallMode {
    /// Calls, failures by errno, latency histograms.
    Full,
    /// Calls and failures by errno: no clock reads, no histogram.
    Counts,
    /// No syscall programs attached.
    Off,
}

impl SyscallMode {
    pub fn name(self) -> &'static str {
        match self {
            SyscallMode::Full => "full",
            SyscallMode::Counts => "counts",
            SyscallMode::Off => "off",
        }
    }

    pub fn parse(s: &str) -> Result<SyscallMode, ConfigError> {
        match s.trim() {
            "full" => Ok(SyscallMode::Full),
            "counts" => Ok(SyscallMode::Counts),
            "off" => Ok(SyscallMode::Off),
            other => Err(ConfigError::Field {
                field: "syscalls",
                msg: format!("`{other}` is not one of full, counts, off"),
            }),
        }
    }
}

/// (cgroup, syscall) keys in the preallocated per-CPU statistics map when not configured:
/// 16384, or fewer on machines with so many possible CPUs that 16384 would take more than
/// 64 MiB (each key holds 240 bytes per possible CPU), but never fewer than 1024.
pub fn default_syscall_map_entries() -> u32 {
    let cpus = aya::util::nr_cpus().unwrap_or(1).max(1) as u64;
    let per_key = core::mem::size_of::<archscope_common::SyscallStats>() as u64 * cpus;
    ((64 << 20) / per_key).clamp(1024, 16_384) as u32
}

/// Which cgroup hierarchy events are charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    /// v2 when a cgroup2 hierarchy is mounted (unified or hybrid hosts), else v1.
    Auto,
    V2,
    /// The task's cgroup in one v1 hierarchy (`cgroup_v1_controller`).
    V1,
}

/// `archscope_sys_enter,tcp_retransmit` → the programs' bits in `FaultInjection::reject`
/// (the `archscope_` prefix may be left out).
fn program_bits(s: &str) -> Result<u32, ConfigError> {
    use archscope_common::Program;
    let mut bits = 0;
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let full = if name.starts_with("archscope_") {
            name.to_string()
        } else {
            format!("archscope_{name}")
        };
        let program = Program::from_name(&full).ok_or_else(|| ConfigError::Field {
            field: "inject_verifier_reject",
            msg: format!(
                "`{name}` is not one of {}",
                Program::ALL.map(Program::name).join(", ")
            ),
        })?;
        bits |= 1 << program as u32;
    }
    Ok(bits)
}

/// The agent's memory budget (`collect::memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryLimit {
    /// A share of the agent's own cgroup memory limit, off when it has none.
    Auto,
    Off,
    Bytes(u64),
}

/// `auto`, `off`, or a size as sysfs and Kubernetes write them (`256MiB`, `256Mi`,
/// `256M`, `1G`, bytes), at least 16 MiB.
fn memory_limit(s: &str) -> Result<MemoryLimit, ConfigError> {
    let t = s.trim();
    let err = |msg: String| ConfigError::Field {
        field: "memory_limit",
        msg,
    };
    match t {
        "auto" => return Ok(MemoryLimit::Auto),
        "off" => return Ok(MemoryLimit::Off),
        _ => {}
    }
    let bytes = crate::node::cache::parse_size(t.strip_suffix('i').unwrap_or(t))
        .ok_or_else(|| err(format!("`{s}` is not auto, off or a size such as 256MiB")))?;
    if bytes < 16 << 20 {
        return Err(err(format!("`{s}` is under the 16MiB minimum")));
    }
    Ok(MemoryLimit::Bytes(bytes))
}

/// v1 controllers the agent can key by (each has its own hierarchy on v1 hosts).
pub const V1_CONTROLLERS: &[&str] = &[
    "memory", "cpu", "cpuacct", "pids", "cpuset", "blkio", "devices", "freezer",
];

/// Values as the config file spells them. All optional: what is absent falls through to
/// the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct FileConfig {
    pub listen: Option<String>,
    pub log: Option<String>,
    pub max_series_per_metric: Option<u64>,
    pub memory_limit: Option<String>,
    pub syscalls: Option<String>,
    pub syscall_map_entries: Option<u64>,
    pub inflight_map_entries: Option<u64>,
    pub pmu_map_entries: Option<u64>,
    pub cgroup_cache_entries: Option<u64>,
    pub container_grace_period: Option<String>,
    pub tracefs: Option<PathBuf>,
    pub host_root: Option<PathBuf>,
    pub bench_results_dir: Option<PathBuf>,
    pub containerd_socket: Option<PathBuf>,
    pub metadata_cache_entries: Option<u64>,
    pub cgroup_mode: Option<String>,
    pub cgroup_v1_controller: Option<String>,
    pub kubernetes: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub kubernetes_pod_labels: Option<String>,
    // OTLP export (resolved in export/otlp/settings.rs)
    pub otlp_endpoint: Option<String>,
    pub otlp_protocol: Option<String>,
    pub otlp_headers: Option<String>,
    pub otlp_timeout: Option<String>,
    pub otlp_interval: Option<String>,
    pub otlp_temporality: Option<String>,
    pub otlp_ca_file: Option<PathBuf>,
    pub otlp_queue_points: Option<u64>,
}

impl FileConfig {
    /// The file's `otlp_*` keys in the shape of the flags they share names with.
    pub fn otlp(&self) -> crate::export::otlp::OtlpFlags {
        crate::export::otlp::OtlpFlags {
            otlp_endpoint: self.otlp_endpoint.clone(),
            otlp_protocol: self.otlp_protocol.clone(),
            otlp_headers: self.otlp_headers.clone(),
            otlp_timeout: self.otlp_timeout.clone(),
            otlp_interval: self.otlp_interval.clone(),
            otlp_temporality: self.otlp_temporality.clone(),
            otlp_ca_file: self.otlp_ca_file.clone(),
            otlp_queue_points: self.otlp_queue_points.map(|n| n.to_string()),
        }
    }
}

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

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub listen: SocketAddr,
    pub log: String,
    pub max_series_per_metric: usize,
    pub memory_limit: MemoryLimit,
    pub syscalls: SyscallMode,
    pub syscall_map_entries: u32,
    pub inflight_map_entries: u32,
    pub pmu_map_entries: u32,
    pub cgroup_cache_entries: usize,
    pub container_grace_period: Duration,
    pub tracefs: Option<PathBuf>,
    pub host_root: PathBuf,
    /// `agent bench` results directory (served over HTTP and as series).
    pub bench_results_dir: PathBuf,
    /// None: metadata from containerd is off.
    pub containerd_socket: Option<PathBuf>,
    pub metadata_cache_entries: usize,
    pub cgroup_mode: CgroupMode,
    pub cgroup_v1_controller: String,
    /// Kubernetes API source: off, or on with the in-cluster config or this kubeconfig.
    pub kubernetes: bool,
    pub kubeconfig: Option<PathBuf>,
    pub kubernetes_pod_labels: Vec<String>,
    /// OTLP export; `None` when off.
    pub otlp: Option<crate::export::otlp::OtlpConfig>,
    /// Bits of the programs to be rejected (`archscope_common::fault`); 0 in production.
    pub inject_verifier_reject: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "0.0.0.0:9435".parse().unwrap(),
            log: "info".into(),
            max_series_per_metric: 10_000,
            memory_limit: MemoryLimit::Auto,
            syscalls: SyscallMode::Full,
            syscall_map_entries: default_syscall_map_entries(),
            inflight_map_entries: 65_536,
            pmu_map_entries: 8_192,
            cgroup_cache_entries: 16_384,
            container_grace_period: Duration::from_secs(60),
            tracefs: None,
            host_root: PathBuf::from("/"),
            bench_results_dir: crate::bench::schema::default_dir_without_env(),
            containerd_socket: Some(PathBuf::from("/run/containerd/containerd.sock")),
            metadata_cache_entries: 16_384,
            cgroup_mode: CgroupMode::Auto,
            cgroup_v1_controller: "memory".into(),
            kubernetes: true,
            kubeconfig: None,
            kubernetes_pod_labels: DEFAULT_POD_LABELS.iter().map(|s| s.to_string()).collect(),
            otlp: None,
            inject_verifier_reject: 0,
        }
    }
}

impl Config {
    /// Merge the sources in precedence order and validate the result.
    pub fn resolve(o: &Overrides, file: Option<&Path>) -> Result<Config, ConfigError> {
        check_env()?;
        let f = match file {
            Some(p) => FileConfig::load(p)?,
            None => FileConfig::default(),
        };
        Config::merge(o, f)
    }

    /// Validate flags over a parsed config file (the environment's OTEL_* variables
    /// included); `resolve` without reading anything but the environment.
    pub fn merge(o: &Overrides, f: FileConfig) -> Result<Config, ConfigError> {
        let d = Config::default();
        let otlp =
            crate::export::otlp::settings::resolve(&o.otlp, &f.otlp(), &|k| std::env::var(k).ok())?;
        let num =
            |field, flag: &Option<String>, file: Option<u64>, def: u64, min: u64, max: u64| {
                let v = match (flag, file) {
                    (Some(s), _) => s.trim().parse::<u64>().map_err(|_| ConfigError::Field {
                        field,
                        msg: format!("`{s}` is not a whole number"),
                    })?,
                    (None, Some(v)) => v,
                    (None, None) => def,
                };
                if !(min..=max).contains(&v) {
                    return Err(ConfigError::Field {
                        field,
                        msg: format!("{v} is outside {min}..={max}"),
                    });
                }
                Ok(v)
            };
        let listen = o.listen.clone().or(f.listen).map_or(Ok(d.listen), |s| {
            s.parse::<SocketAddr>().map_err(|_| ConfigError::Field {
                field: "listen",
                msg: format!("`{s}` is not an address such as 0.0.0.0:9435"),
            })
        })?;
        let log = o.log.clone().or(f.log).unwrap_or(d.log);
        tracing_subscriber::EnvFilter::try_new(&log).map_err(|e| ConfigError::Field {
            field: "log",
            msg: format!("`{log}`: {e}"),
        })?;
        let grace = o
            .container_grace_period
            .clone()
            .or(f.container_grace_period);
        let container_grace_period = match grace {
            None => d.container_grace_period,
            Some(s) => humantime::parse_duration(s.trim()).map_err(|e| ConfigError::Field {
                field: "container_grace_period",
                msg: format!("`{s}`: {e} (e.g. 30s, 1m)"),
            })?,
        };
        let cgroup_mode = match o
            .cgroup_mode
            .clone()
            .or(f.cgroup_mode)
            .as_deref()
            .map(str::trim)
        {
            None | Some("auto") => CgroupMode::Auto,
            Some("v2") => CgroupMode::V2,
            Some("v1") => CgroupMode::V1,
            Some(other) => {
                return Err(ConfigError::Field {
                    field: "cgroup_mode",
                    msg: format!("`{other}` is not one of auto, v2, v1"),
                });
            }
        };
        let controller = o
            .cgroup_v1_controller
            .clone()
            .or(f.cgroup_v1_controller)
            .unwrap_or(d.cgroup_v1_controller);
        if !V1_CONTROLLERS.contains(&controller.trim()) {
            return Err(ConfigError::Field {
                field: "cgroup_v1_controller",
                msg: format!("`{controller}` is not one of {}", V1_CONTROLLERS.join(", ")),
            });
        }
        let kubernetes = match o
            .kubernetes
            .clone()
            .or(f.kubernetes)
            .as_deref()
            .map(str::trim)
        {
            None | Some("auto") => true,
            Some("off") => false,
            Some(other) => {
                return Err(ConfigError::Field {
                    field: "kubernetes",
                    msg: format!("`{other}` is not one of auto, off"),
                });
            }
        };
        let kubernetes_pod_labels =
            match o.kubernetes_pod_labels.clone().or(f.kubernetes_pod_labels) {
                None => d.kubernetes_pod_labels,
                Some(s) => pod_label_keys(&s)?,
            };
        let memory_limit = match o.memory_limit.clone().or(f.memory_limit) {
            None => d.memory_limit,
            Some(s) => memory_limit(&s)?,
        };
        let syscalls = match o.syscalls.clone().or(f.syscalls) {
            None => d.syscalls,
            Some(s) => SyscallMode::parse(&s)?,
        };
        let inject_verifier_reject = match &o.inject_verifier_reject {
            None => 0,
            Some(s) => program_bits(s)?,
        };
        Ok(Config {
            syscalls,
            inject_verifier_reject,
            memory_limit,
            kubernetes_pod_labels,
            cgroup_mode,
            cgroup_v1_controller: controller.trim().to_string(),
            kubernetes,
            kubeconfig: o.kubeconfig.clone().or(f.kubeconfig),
            listen,
            log,
            max_series_per_metric: num(
                "max_series_per_metric",
                &o.max_series_per_metric,
                f.max_series_per_metric,
                10_000,
                1,
                10_000_000,
            )? as usize,
            syscall_map_entries: num(
                "syscall_map_entries",
                &o.syscall_map_entries,
                f.syscall_map_entries,
                u64::from(d.syscall_map_entries),
                64,
                1 << 22,
            )? as u32,
            inflight_map_entries: num(
                "inflight_map_entries",
                &o.inflight_map_entries,
                f.inflight_map_entries,
                65_536,
                64,
                1 << 22,
            )? as u32,
            pmu_map_entries: num(
                "pmu_map_entries",
                &o.pmu_map_entries,
                f.pmu_map_entries,
                8_192,
                64,
                1 << 22,
            )? as u32,
            cgroup_cache_entries: num(
                "cgroup_cache_entries",
                &o.cgroup_cache_entries,
                f.cgroup_cache_entries,
                16_384,
                16,
                1 << 22,
            )? as usize,
            container_grace_period,
            tracefs: o.tracefs.clone().or(f.tracefs),
            host_root: o.host_root.clone().or(f.host_root).unwrap_or(d.host_root),
            bench_results_dir: o
                .bench_results_dir
                .clone()
                .or(f.bench_results_dir)
                .unwrap_or(d.bench_results_dir),
            containerd_socket: match o.containerd_socket.clone().or(f.containerd_socket) {
                Some(p) if p.as_os_str().is_empty() => None,
                Some(p) => Some(p),
                None => d.containerd_socket,
            },
            metadata_cache_entries: num(
                "metadata_cache_entries",
                &o.metadata_cache_entries,
                f.metadata_cache_entries,
                16_384,
                16,
                1 << 22,
            )? as usize,
            otlp,
        })
    }
}

impl FileConfig {
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
            path: path.into(),
            msg: e.to_string(),
        })?;
        Self::parse(&text).map_err(|msg| ConfigError::File {
            path: path.into(),
            msg,
        })
    }

    /// Parse TOML; the error is one line with the line number and the offending key.
    pub fn parse(text: &str) -> Result<FileConfig, String> {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().replace('\n', " ");
            match line {
                Some(l) => format!("line {l}: {}", msg.trim()),
                None => msg.trim().to_string(),
            }
        })
    }
}

/// Label keys as Kubernetes allows them (`[prefix/]name`, at most 63 characters of
/// `[A-Za-z0-9._-]` in the name), at most 32 of them.
fn pod_label_keys(s: &str) -> Result<Vec<String>, ConfigError> {
    let err = |msg: String| ConfigError::Field {
        field: "kubernetes_pod_labels",
        msg,
    };
    let keys: Vec<String> = s
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(String::from)
        .collect();
    if keys.len() > 32 {
        return Err(err(format!("{} keys; at most 32", keys.len())));
    }
    for k in &keys {
        let name = k.rsplit('/').next().unwrap_or(k);
        let ok = |c: char| c.is_ascii_alphanumeric() || "._-/".contains(c);
        if name.is_empty() || name.len() > 63 || !k.chars().all(ok) || k.matches('/').count() > 1 {
            return Err(err(format!("`{k}` is not a Kubernetes label key")));
        }
    }
    Ok(keys)
}

fn check_env() -> Result<(), ConfigError> {
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

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
