//! The kernel half of `archscope_common::fault`: a read the verifier refuses, behind a
//! branch it proves dead unless the agent set the program's bit.
use archscope_common::{FaultInjection, Program};

/// Filled in by the agent before loading; zero in production.
#[unsafe(no_mangle)]
static FAULT_INJECTION: FaultInjection = FaultInjection { reject: 0, _pad: 0 };

#[inline(always)]
pub fn reject_if_injected(program: Program) {
    // SAFETY: a read-only global patched by the loader; volatile keeps the compiler from
    // folding the zero initialiser.
    let f = unsafe { core::ptr::read_volatile(&FAULT_INJECTION) };
    if f.reject & (1 << program as u32) != 0 {
        // SAFETY: never runs: the verifier refuses a load from a plain number (here 8).
        unsafe { core::ptr::read_volatile(core::ptr::dangling::<u64>()) };
    }
}
