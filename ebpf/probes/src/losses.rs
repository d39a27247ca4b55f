//! Loss accounting shared by every program family: one per-CPU counter per `Loss` kind,
//! read and exported by the agent.
use archscope_common::{LOSS_KINDS, Loss};
use aya_ebpf::{macros::map, maps::PerCpuArray};

#[map]
static LOSSES: PerCpuArray<u64> = PerCpuArray::with_max_entries(LOSS_KINDS as u32, 0);

/// One flag per loss kind and CPU: the first occurrence is logged through aya-log, the
/// rest are only counted, so a full map never floods the log ring.
#[map]
static LOSS_LOGGED: PerCpuArray<u8> = PerCpuArray::with_max_entries(LOSS_KINDS as u32, 0);

/// Add to a per-CPU counter atomically. The network and counter programs run in softirq
/// as well as task context, so on one CPU one can interrupt another's read-modify-write
/// of the same value, and the loss counters are shared by every program. (The syscall
/// programs run only in task context with preemption off and use plain adds.)
///
/// # Safety
/// `p` must point into a live map value of this CPU.
#[inline(always)]
pub unsafe fn add(p: *mut u64, v: u64) {
    // The bpf target's `core` offers atomic load/store only, so the intrinsic is used
    // directly; it lowers to BPF's atomic add (an XADD, as the result is unused).
    // SAFETY: the caller's pointer is valid and 8-byte aligned (map values are).
    unsafe {
        core::intrinsics::atomic_xadd::<u64, u64, { core::intrinsics::AtomicOrdering::Relaxed }>(
            p, v,
        );
    }
}

#[inline(always)]
pub fn count(kind: Loss) {
    if let Some(slot) = LOSSES.get_ptr_mut(kind as u32) {
        // SAFETY: a slot of this CPU's value.
        unsafe { add(slot, 1) };
    }
}

/// Count the loss and report its first occurrence on this CPU.
#[inline(always)]
pub fn count_and_log<C: aya_ebpf::EbpfContext>(ctx: &C, kind: Loss) {
    count(kind);
    if let Some(flag) = LOSS_LOGGED.get_ptr_mut(kind as u32) {
        // SAFETY: as above.
        unsafe {
            if *flag == 0 {
                *flag = 1;
                aya_log_ebpf::warn!(
                    ctx,
                    "archscope: loss kind {} (first on this CPU)",
                    kind as u32
                );
            }
        }
    }
}
