//! The kernel programs, named once: aya names a program after its function in ebpf/probes
//! (the agent's unit test `programs_match_the_object` keeps the two equal), the agent loads
//! and reports them by these names, and fault injection gives each the bit of its place.

crate::named_enum! {
    /// A program in the eBPF object; its number is its bit in `FaultInjection::reject`.
    pub enum Program {
        SysEnter = "archscope_sys_enter",
        SysExit = "archscope_sys_exit",
        TcpState = "archscope_tcp_state",
        TcpRetransmit = "archscope_tcp_retransmit",
        SkbEgress = "archscope_skb_egress",
        SkbIngress = "archscope_skb_ingress",
        SchedSwitch = "archscope_sched_switch",
        SysThreadExit = "archscope_sys_thread_exit",
        CgroupMkdir = "archscope_cgroup_mkdir",
        RunqSwitch = "archscope_runq_switch",
        RunqWakeup = "archscope_runq_wakeup",
        RunqWakeupNew = "archscope_runq_wakeup_new",
        RunqThreadExit = "archscope_runq_thread_exit",
    }
}

// Every program needs a bit of the u32.
const _: () = assert!(Program::COUNT <= 32);

crate::named_enum! {
    /// The floor of `agent bench overhead`: empty programs on the syscall and scheduler features' hooks,
    /// which `agent run` never loads (so they have no fault bit).
    pub enum FloorProgram {
        SysEnter = "archscope_floor_sys_enter",
        SysExit = "archscope_floor_sys_exit",
        SchedSwitch = "archscope_floor_sched_switch",
        SchedWakeup = "archscope_floor_sched_wakeup",
        SchedWakeupNew = "archscope_floor_sched_wakeup_new",
        SchedThreadExit = "archscope_floor_sched_thread_exit",
    }
}
