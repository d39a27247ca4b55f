//! OTLP metrics export: the same `collect::Snapshot` that /metrics renders, sent to an
//! OpenTelemetry receiver over gRPC or HTTP/protobuf.
//!
//! The snapshot is encoded straight into the OTLP protocol types of `opentelemetry-proto`.
//! The SDK's reader and `opentelemetry-otlp`'s exporter are not used: they export only what
//! SDK instruments aggregated, and their `ResourceMetrics` cannot be built from outside
//! the SDK, while our counters and histograms are already aggregated in the kernel. Going
//! through SDK instruments would be a second aggregation that could drift from /metrics.
mod encode;
mod kvlist;
mod queue;
mod resource;
pub mod semconv;
pub mod settings;
mod split;
mod stats;
mod task;
mod transport;
mod values;

use std::sync::Arc;

pub use settings::{OtlpConfig, OtlpFlags};
pub use stats::OtlpStats;

use crate::collect::Collector;
use crate::node::NodeInfo;

/// Start the export task on the current tokio runtime. Fails only on a client that cannot
/// be built (a bad CA file); an unreachable receiver is the task's business, not ours.
pub fn start(
    cfg: &OtlpConfig,
    collector: Arc<Collector>,
    node: Option<&NodeInfo>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let transport = transport::Transport::new(cfg)?;
    let resource = resource::build(&resource::Detected::from_system(node), &cfg.resource);
    let stats = Arc::new(OtlpStats::with_capacity(cfg.queue_points));
    collector.attach_otlp_stats(Arc::clone(&stats));
    tracing::info!(
        endpoint = %cfg.url,
        protocol = ?cfg.protocol,
        interval = ?cfg.interval,
        temporality = ?cfg.temporality,
        "exporting OTLP metrics"
    );
    let exporter = task::Exporter::new(cfg, collector, transport, stats, resource);
    Ok(tokio::spawn(exporter.run()))
}
