//! New cgroups' paths, from `cgroup:cgroup_mkdir`: a container that lives and dies
//! between two snapshots is otherwise never found by the agent's walk of the tree, and its
//! counts would be exported under a bare id. The agent takes the entries out of the map
//! at each snapshot, so the map only holds the cgroups made since the last one.
use archscope_common::{CGROUP_PATH_MAX, CgroupMkdirLayout, CgroupPath, Loss, Program};
use aya_ebpf::{
    EbpfContext,
    helpers::bpf_probe_read_kernel_str_bytes,
    macros::{map, tracepoint},
    maps::{HashMap, PerCpuArray},
    programs::TracePointContext,
};

use crate::losses;

/// Filled in by the agent before loading (see `CgroupMkdirLayout`).
#[unsafe(no_mangle)]
static CGROUP_MKDIR_LAYOUT: CgroupMkdirLayout = CgroupMkdirLayout {
    root: 0,
    id: 0,
    id_size: 0,
    path: 0,
    hierarchy: 0,
    _pad: 0,
};

/// cgroup id → path, drained by the agent; preallocated (an insert fails only when full).
#[map]
static CGROUP_PATHS: HashMap<u64, CgroupPath> = HashMap::with_max_entries(4096, 0);

/// Where the path is assembled: too large for the program's stack.
#[map]
static CGROUP_PATH_SCRATCH: PerCpuArray<CgroupPath> = PerCpuArray::with_max_entries(1, 0);

#[tracepoint]
pub fn archscope_cgroup_mkdir(ctx: TracePointContext) -> u32 {
    crate::fault::reject_if_injected(Program::CgroupMkdir);
    if record(&ctx).is_err() {
        losses::count(Loss::ReadFailed);
    }
    0
}

fn record(ctx: &TracePointContext) -> Result<(), i64> {
    // SAFETY: a read-only global patched by the loader; volatile keeps the compiler from
    // folding the zero initialiser.
    let l = unsafe { core::ptr::read_volatile(&CGROUP_MKDIR_LAYOUT) };
    // SAFETY: offsets within the record, from its tracefs format.
    let root: i32 = unsafe { ctx.read_at(l.root as usize) }?;
    if root as u32 != l.hierarchy {
        return Ok(());
    }
    // SAFETY: as above.
    let id: u64 = unsafe {
        if l.id_size == 8 {
            ctx.read_at::<u64>(l.id as usize)?
        } else {
            ctx.read_at::<u32>(l.id as usize)? as u64
        }
    };
    // SAFETY: as above.
    let loc: u32 = unsafe { ctx.read_at(l.path as usize) }?;
    let scratch = CGROUP_PATH_SCRATCH.get_ptr_mut(0).ok_or(0i64)?;
    // SAFETY: this CPU's scratch value; the path lies within the record.
    unsafe {
        let src = (ctx.as_ptr() as *const u8).add((loc & 0xffff) as usize);
        let buf = &mut (*scratch).path;
        let n = bpf_probe_read_kernel_str_bytes(src, buf)
            .map_err(i64::from)?
            .len();
        (*scratch).len = n.min(CGROUP_PATH_MAX - 1) as u32;
        // By reference: by value the 264-byte path would be copied onto the 512-byte stack.
        #[allow(clippy::needless_borrows_for_generic_args)]
        let inserted = CGROUP_PATHS.insert(id, &*scratch, 0);
        if inserted.is_err() {
            losses::count(Loss::CgroupPathsFull);
        }
    }
    Ok(())
}
