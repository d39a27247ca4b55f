//! The scheduler feature: what its programs write and the agent reads.
use crate::syscalls::HIST_BUCKETS;

/// Where the programs find a task's thread id and state, from BTF at load time
/// (`task_struct.pid`, and `__state` since 5.14, `state` before: read as 32 bits, which
/// on little-endian is the low half of the older `long`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedLayout {
    pub task_pid: u32,
    pub task_state: u32,
    /// 0: not configured, the programs do nothing.
    pub enabled: u32,
    pub _pad: u32,
}

/// Per cgroup, summed over CPUs by the agent. Everything is charged when a task leaves a
/// CPU, in its own context: its time on the CPU since it came on, the kind of switch, and
/// the wait that preceded its coming on (if it was woken, new, or preempted while
/// runnable).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SchedStats {
    pub cpu_ns: u64,
    /// The task gave up the CPU (it blocked).
    pub voluntary: u64,
    /// The task was preempted and stayed runnable.
    pub involuntary: u64,
    /// Run-queue waits: how many, their sum and log2 ns buckets (as the syscall histogram).
    pub wait_count: u64,
    pub wait_ns_sum: u64,
    pub wait_hist: [u64; HIST_BUCKETS],
}

impl SchedStats {
    pub const ZERO: SchedStats = SchedStats {
        cpu_ns: 0,
        voluntary: 0,
        involuntary: 0,
        wait_count: 0,
        wait_ns_sum: 0,
        wait_hist: [0; HIST_BUCKETS],
    };

    pub fn add(&mut self, o: &SchedStats) {
        self.cpu_ns += o.cpu_ns;
        self.voluntary += o.voluntary;
        self.involuntary += o.involuntary;
        self.wait_count += o.wait_count;
        self.wait_ns_sum += o.wait_ns_sum;
        for (a, b) in self.wait_hist.iter_mut().zip(o.wait_hist.iter()) {
            *a += b;
        }
    }
}

/// One per CPU: the task on it, since when, and the wait it had before coming on.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedCpu {
    pub tid: u32,
    /// 1: `wait_ns` is the task's run-queue wait, charged when it leaves.
    pub waited: u32,
    pub since_ns: u64,
    pub wait_ns: u64,
}

const _: () = assert!(core::mem::size_of::<SchedLayout>() == 16);
const _: () = assert!(core::mem::size_of::<SchedStats>() == 8 * (5 + HIST_BUCKETS));
const _: () = assert!(core::mem::size_of::<SchedCpu>() == 24);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: repr(C), integers only, no padding (asserted above).
    unsafe impl aya::Pod for super::SchedLayout {}
    unsafe impl aya::Pod for super::SchedStats {}
    unsafe impl aya::Pod for super::SchedCpu {}
}
