//! Who a series belongs to: cgroup id → path → container, pod, runtime (from the path's
//! layout) → names (from containerd). Every per-cgroup series carries `IDENTITY_LABELS`.
pub mod cgroup_path;
pub mod cgroups;
pub mod containerd;
mod labeler;

pub use labeler::Labeler;
