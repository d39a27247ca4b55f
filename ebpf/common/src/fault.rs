//! Fault injection for testing the agent's degradation (`agent run
//! --inject-verifier-reject`): a program whose bit is set makes the kernel's verifier reject
//! it; with the bit clear the verifier sees the branch is dead (the value sits in a frozen
//! read-only global) and never looks at it.

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultInjection {
    /// Programs to be rejected: bit i is `Program` number i.
    pub reject: u32,
    pub _pad: u32,
}

const _: () = assert!(core::mem::size_of::<FaultInjection>() == 8);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: #[repr(C)], integers only, no padding (size assert above).
    unsafe impl aya::Pod for super::FaultInjection {}
}
