//! Types that cross the kernel/user boundary. Every type is `#[repr(C)]`, has no
//! implicit padding (checked by the size asserts below) and holds only integers, so the
//! `aya::Pod` impls behind the `user` feature are sound.
#![no_std]

pub mod cgroup;
pub mod fault;
pub mod named;
pub mod net;
pub mod pmu;
pub mod programs;
pub mod scheduler;
pub mod syscalls;

pub use cgroup::*;
pub use fault::FaultInjection;
pub use net::*;
pub use pmu::*;
pub use programs::{FloorProgram, Program};
pub use scheduler::*;
pub use syscalls::*;
