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

#[inline(always)]
pub fn count(kind: Loss) {
    if let Some(slot) = LOSSES.get_ptr_mut(kind as u32) {
        // SAFETY: per-CPU slot; tracepoint programs run with migration disabled.
        unsafe { *slot += 1 };
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
