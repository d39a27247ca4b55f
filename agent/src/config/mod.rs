//! The agent's configuration: flags > `ARCHSCOPE_*` environment > config file > defaults.
//! Every bad input is a `ConfigError`, printed as one line naming the field, exit status 2.
//! The sources have a module each (`flags`: flags and environment, `file`: the config
//! file), `values` parses the settings that need more than a number; here they merge into
//! the validated `Config`.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod file;
mod flags;
mod values;

pub use file::FileConfig;
pub use flags::{ENV_VARS, Overrides};

pub use crate::errors::ConfigError;
use flags::check_env;
use values::{feature_names, memory_limit, pod_label_keys, program_bits};

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

/// The agent's memory budget (`collect::memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryLimit {
    /// A share of the agent's own cgroup memory limit, off when it has none.
    Auto,
    Off,
    Bytes(u64),
}

/// v1 controllers the agent can key by (each has its own hierarchy on v1 hosts).
pub const V1_CONTROLLERS: &[&str] = &[
    "memory", "cpu", "cpuacct", "pids", "cpuset", "blkio", "devices", "freezer",
];

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub listen: SocketAddr,
    pub log: String,
    pub max_series_per_metric: usize,
    pub memory_limit: MemoryLimit,
    pub syscalls: SyscallMode,
    /// Features whose programs are not loaded (`features_off`).
    pub features_off: Vec<crate::probes::Feature>,
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
            features_off: Vec::new(),
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
        let features_off = match o.features_off.clone().or(f.features_off) {
            None => d.features_off,
            Some(s) => feature_names(&s)?,
        };
        let inject_verifier_reject = match &o.inject_verifier_reject {
            None => 0,
            Some(s) => program_bits(s)?,
        };
        Ok(Config {
            syscalls,
            features_off,
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

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
