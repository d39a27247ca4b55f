//! Exporters: each renders the same `collect::Snapshot`.
pub mod otlp;
pub mod prometheus;
