//! Who a series belongs to: cgroup id → path → container, pod, runtime (from the path's
//! layout) → names (from containerd, and the Kubernetes API for pods and their workloads). Every per-cgroup series carries `IDENTITY_LABELS`.
pub mod asks;
pub mod cgroup_path;
pub mod cgroups;
pub mod containerd;
pub mod kubernetes;
mod labeler;
pub mod source;

pub use labeler::{IDENTITY_LABELS, Labeler};
