//! The config file: TOML whose keys are the flags' names.
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;

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
    pub features_off: Option<String>,
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
