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

/// Where `cgroup:cgroup_mkdir`'s record keeps its fields (offsets from tracefs), and the
/// hierarchy whose new cgroups are named: 0 is cgroup v2's, a v1 hierarchy's number is
/// the one `/proc/cgroups` gives.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CgroupMkdirLayout {
    /// `int root`: the hierarchy's number.
    pub root: u32,
    /// `id`: u64 since 5.7 (the kernfs id), an int before.
    pub id: u32,
    pub id_size: u32,
    /// `__data_loc char[] path`: the path's offset (low 16 bits) and length (high 16)
    /// within the record.
    pub path: u32,
    pub hierarchy: u32,
    pub _pad: u32,
}

/// Bytes of a cgroup path kept, its final NUL included; a longer path is cut, and the
/// agent then leaves it to its walk of the tree.
pub const CGROUP_PATH_MAX: usize = 256;

/// A new cgroup's path relative to its hierarchy's root, as `cgroup_mkdir` gives it, so
/// that the agent can name a cgroup that was created and removed between two snapshots.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CgroupPath {
    /// Bytes of `path` before its NUL; `CGROUP_PATH_MAX - 1` means it may have been cut.
    pub len: u32,
    pub _pad: u32,
    pub path: [u8; CGROUP_PATH_MAX],
}

const _: () = assert!(core::mem::size_of::<CgroupMkdirLayout>() == 24);
const _: () = assert!(core::mem::size_of::<CgroupPath>() == 8 + CGROUP_PATH_MAX);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: #[repr(C)], integers only, no padding (size asserts above).
    unsafe impl aya::Pod for super::CgroupMkdirLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::CgroupPath {}
}
