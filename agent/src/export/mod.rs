//! Exporters: each renders the same `collect::Snapshot`.
pub mod prometheus;
