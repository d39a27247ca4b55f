//! archscope's kernel programs, one object for every little-endian architecture: syscalls
//! (raw tracepoints), tcp (tracepoints), traffic (cgroup_skb), pmu (sched_switch reading
//! perf counters), cgroup_paths (cgroup_mkdir),
//! scheduler (raw sched_switch and wakeups), and the empty floor programs of `agent
//! bench overhead`; cgroup, maps, losses and fault are what they share. Record layouts
//! (tracefs `format` files), struct offsets (BTF), modes and fault injection arrive as
//! read-only globals the agent sets at load time. Program names are
//! `archscope_common::Program`'s.
#![cfg_attr(target_arch = "bpf", no_std)]
#![cfg_attr(target_arch = "bpf", no_main)]
// Atomic adds on per-CPU counters (see losses::add); the eBPF build already runs with
// RUSTC_BOOTSTRAP for -Z build-std.
#![cfg_attr(target_arch = "bpf", feature(core_intrinsics))]
#![cfg_attr(target_arch = "bpf", allow(internal_features))]

#[cfg(target_arch = "bpf")]
mod cgroup;
#[cfg(target_arch = "bpf")]
mod cgroup_paths;
#[cfg(target_arch = "bpf")]
mod fault;
#[cfg(target_arch = "bpf")]
mod losses;
#[cfg(target_arch = "bpf")]
mod maps;
#[cfg(target_arch = "bpf")]
mod pmu;
#[cfg(target_arch = "bpf")]
mod scheduler;
#[cfg(target_arch = "bpf")]
mod syscalls;
#[cfg(target_arch = "bpf")]
mod tcp;
#[cfg(target_arch = "bpf")]
mod traffic;

#[cfg(target_arch = "bpf")]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Unreachable in verified code: the verifier rejects any path that could get here.
    loop {}
}

#[cfg(target_arch = "bpf")]
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";

// The host build of this crate only exists so cargo tracks it as agent's build-dependency.
#[cfg(not(target_arch = "bpf"))]
fn main() {}
