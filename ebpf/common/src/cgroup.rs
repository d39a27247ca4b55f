//! Which cgroup an event is charged to. On cgroup v2 (and hybrid hosts whose runtime
//! joins the unified hierarchy) it is the task's v2 cgroup. On cgroup v1 hosts the v2 id
//! is the root for every task, so the agent can ask for the task's cgroup in one v1
//! hierarchy instead: `task->cgroups->subsys[controller]->cgroup->kn->id`, with every
//! offset and the controller's index taken from BTF at load time.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CgroupV1Layout {
    /// 0: use the v2 cgroup (bpf_get_current_cgroup_id).
    pub enabled: u32,
    /// `task_struct.cgroups` (a `struct css_set *`).
    pub task_cgroups: u32,
    /// `css_set.subsys[index]`: the array's offset plus 8 × the controller's
    /// `enum cgroup_subsys_id` value.
    pub css_set_subsys: u32,
    /// `cgroup_subsys_state.cgroup`.
    pub css_cgroup: u32,
    /// `cgroup.kn`.
    pub cgroup_kn: u32,
    /// `kernfs_node.id`: the inode number of the cgroup's directory in that hierarchy.
    pub kn_id: u32,
}

const _: () = assert!(core::mem::size_of::<CgroupV1Layout>() == 24);

#[cfg(feature = "user")]
// SAFETY: #[repr(C)] integers only, no padding (size assert above).
unsafe impl aya::Pod for CgroupV1Layout {}
