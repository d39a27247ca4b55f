//! `agent run`: load, attach, serve until SIGINT/SIGTERM.
use std::sync::Arc;

use anyhow::Context;

use super::RunArgs;
use crate::arch::{Arch, syscalls::SyscallTable};
use crate::collect::Collector;
use crate::config::Config;
use std::time::Duration;

use crate::identity::Labeler;
use crate::identity::cgroups::CgroupResolver;
use crate::identity::containerd::ContainerdSource;
use crate::identity::kubernetes::{Endpoint, KubernetesSource};
use crate::probes::{Feature, Probes};
use crate::tracefs::Tracefs;
use crate::{UsageError, privileges};

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let cfg = Config::resolve(&args.overrides, args.config.as_deref()).map_err(UsageError::from)?;
    crate::init_logging(&cfg.log);
    privileges::require_for_run().map_err(UsageError::from)?;
    if let Err(e) = privileges::raise_memlock() {
        tracing::warn!("{e}");
    }
    let arch = Arch::running().context("unsupported architecture")?;
    let tracefs = Tracefs::find_or_mount(cfg.tracefs.as_deref()).map_err(|e| e.to_string());
    // The counters live in this process's namespaces, so the PMU is read from its own /sys.
    // Why it is off is logged once, with the program it disables (probes).
    let pmu = crate::pmu::Pmu::open(std::path::Path::new("/"), arch.uname());
    let probes = Probes::load(
        &cfg,
        Some(arch),
        tracefs.as_ref().map_err(Clone::clone),
        pmu.as_ref().map_err(Clone::clone),
    );
    if let Some(e) = &probes.object_error {
        tracing::error!("{e}");
    }
    if probes.switched_off(Feature::Syscalls) {
        tracing::info!("syscall tracing is off (syscalls = off)");
    } else if !probes.feature_up(Feature::Syscalls) {
        tracing::warn!("syscall tracing is disabled; serving the agent's own health only");
    } else {
        tracing::info!("syscall tracing: {}", cfg.syscalls.name());
    }
    let hierarchy = probes.hierarchy.clone().map_err(UsageError::from)?;
    tracing::info!("charging events to {}", hierarchy.describe());
    let cgroups = CgroupResolver::new(
        hierarchy.root.clone(),
        cfg.cgroup_cache_entries,
        cfg.container_grace_period,
    );
    if cgroups.root().is_none() {
        tracing::warn!("no cgroup2 hierarchy mounted: series are labelled by cgroup id");
    }
    let node = crate::node::NodeInfo::read(&cfg.host_root)
        .inspect_err(|e| tracing::warn!("node identity unavailable: {e}"))
        .ok();
    let table = SyscallTable::for_arch(arch);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        // Scrapes build snapshots on blocking threads: a few suffice, and each extra
        // thread would keep a malloc arena of its own.
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    // The metadata refresher runs on the runtime; the snapshot only reads its map.
    let containerd = cfg.containerd_socket.clone().map(|socket| {
        let _rt = rt.enter();
        ContainerdSource::spawn(socket, cfg.metadata_cache_entries, Duration::from_secs(30))
    });
    let kubernetes = kubernetes_endpoint(&cfg)?.map(|(endpoint, node)| {
        let _rt = rt.enter();
        KubernetesSource::spawn(
            endpoint,
            node,
            cfg.kubernetes_pod_labels.clone(),
            cfg.metadata_cache_entries,
            Duration::from_secs(30),
        )
    });
    let collector = Arc::new(Collector::new(
        probes,
        table,
        cgroups,
        Labeler::new(containerd).with_kubernetes(kubernetes),
        crate::collect::collector::SeriesLimits {
            max_series_per_metric: cfg.max_series_per_metric,
            memory_limit: memory_budget(cfg.memory_limit),
        },
        node.as_ref(),
        pmu.ok(),
    ));

    collector.attach_bench(Arc::new(crate::bench::Latest::new(
        cfg.bench_results_dir.clone(),
        cfg.host_root.clone(),
    )));

    rt.block_on(async move {
        if let Some(otlp) = &cfg.otlp {
            crate::export::otlp::start(otlp, Arc::clone(&collector), node.as_ref())
                .map_err(|e| UsageError(format!("otlp: {e}")))?;
        }
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| UsageError(format!("listen: cannot bind {}: {e}", cfg.listen)))?;
        tracing::info!(addr = %listener.local_addr()?, "serving /metrics, /healthz, /readyz");
        axum::serve(listener, crate::server::router(collector))
            .with_graceful_shutdown(shutdown())
            .await
            .context("http server")?;
        tracing::info!("shutting down: detaching programs");
        anyhow::Ok(())
    })
}

/// The Kubernetes API to ask, and this node's name: a kubeconfig given explicitly, or the
/// in-cluster service account when the agent runs in a pod. `NODE_NAME` (the downward
/// API's `spec.nodeName`) limits the pods to this node's.
fn kubernetes_endpoint(cfg: &Config) -> Result<Option<(Endpoint, String)>, UsageError> {
    if !cfg.kubernetes {
        return Ok(None);
    }
    let endpoint = match (&cfg.kubeconfig, std::env::var_os("KUBERNETES_SERVICE_HOST")) {
        (Some(p), _) => Endpoint::Kubeconfig(p.clone()),
        (None, Some(_)) => Endpoint::InCluster,
        (None, None) => return Ok(None), // not in a cluster: the source is simply off
    };
    match std::env::var("NODE_NAME") {
        Ok(n) if !n.trim().is_empty() => Ok(Some((endpoint, n.trim().to_string()))),
        _ => Err(UsageError(
            "NODE_NAME: required for the Kubernetes API source (set it from spec.nodeName, \
             or pass --kubernetes off)"
                .into(),
        )),
    }
}

async fn shutdown() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
}

/// The memory budget in bytes, `auto` resolved against the agent's own cgroup.
fn memory_budget(limit: crate::config::MemoryLimit) -> Option<u64> {
    use crate::config::MemoryLimit;
    let bytes = match limit {
        MemoryLimit::Off => None,
        MemoryLimit::Bytes(b) => Some(b),
        MemoryLimit::Auto => std::fs::read_to_string("/proc/self/cgroup")
            .ok()
            .and_then(|c| {
                crate::collect::memory::auto_limit(&c, std::path::Path::new("/sys/fs/cgroup"))
            }),
    };
    match (bytes, limit) {
        (Some(b), _) => tracing::info!("memory budget {} MiB", b >> 20),
        (None, MemoryLimit::Auto) => {
            tracing::info!("no memory budget: the agent's cgroup has no memory limit")
        }
        (None, _) => tracing::info!("memory budget off"),
    }
    bytes
}
