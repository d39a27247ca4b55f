//! The one data path: kernel maps → `Snapshot` (series with labels) → exporters. A scrape
//! asks for a snapshot; it never reaches into maps or caches itself.
mod budget;
mod health;
mod kubernetes;
pub mod memory;
pub mod model;
pub mod names;
#[cfg(test)]
mod names_test;

pub mod collector;

pub use collector::Collector;
pub use model::{Family, Snapshot, Value};
