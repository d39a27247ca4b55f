//! The kernel half of `archscope_common::fault`: a read the verifier refuses, behind a
//! branch it proves dead unless the agent set the program's bit.
use archscope_common::FaultInjection;

/// Filled in by the agent before loading; zero in production.
#[unsafe(no_mangle)]
static FAULT_INJECTION: FaultInjection = FaultInjection { reject: 0, _pad: 0 };

/// Program bits (`archscope_common::fault::PROGRAM_NAMES`).
pub const SYS_ENTER: u32 = 0;
pub const SYS_EXIT: u32 = 1;
pub const TCP_STATE: u32 = 2;
pub const TCP_RETRANSMIT: u32 = 3;
pub const SKB_EGRESS: u32 = 4;
pub const SKB_INGRESS: u32 = 5;
pub const SCHED_SWITCH: u32 = 6;
pub const SYS_THREAD_EXIT: u32 = 7;
pub const CGROUP_MKDIR: u32 = 8;

#[inline(always)]
pub fn reject_if_injected(program: u32) {
    // SAFETY: a read-only global patched by the loader; volatile keeps the compiler from
    // folding the zero initialiser.
    let f = unsafe { core::ptr::read_volatile(&FAULT_INJECTION) };
    if f.reject & (1 << program) != 0 {
        // SAFETY: never runs: the verifier refuses a load from a plain number.
        unsafe { core::ptr::read_volatile(8 as *const u64) };
    }
}
