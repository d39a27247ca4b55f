//! Who a series belongs to. At this stage: the cgroup v2 path of a cgroup id.
pub mod cgroups;
