//! Fault injection for testing the agent's degradation (`agent run
//! --inject-verifier-reject`): a program whose bit is set makes the kernel's verifier reject
//! it; with the bit clear the verifier sees the branch is dead (the value sits in a frozen
//! read-only global) and never looks at it.

/// Bit of each program in `FaultInjection::reject`, in the agent's program table order.
pub const PROGRAM_NAMES: [&str; 9] = [
    "archscope_sys_enter",
    "archscope_sys_exit",
    "archscope_tcp_state",
    "archscope_tcp_retransmit",
    "archscope_skb_egress",
    "archscope_skb_ingress",
    "archscope_sched_switch",
    "archscope_sys_thread_exit",
    "archscope_cgroup_mkdir",
];

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultInjection {
    /// Programs to be rejected: bit i is `PROGRAM_NAMES[i]`.
    pub reject: u32,
    pub _pad: u32,
}

const _: () = assert!(core::mem::size_of::<FaultInjection>() == 8);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: #[repr(C)], integers only, no padding (size assert above).
    unsafe impl aya::Pod for super::FaultInjection {}
}
