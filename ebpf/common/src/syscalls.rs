//! Syscall aggregation: what the kernel programs write and the agent reads.

/// Latency histogram buckets (log2 of nanoseconds). Bucket `0` holds durations below
/// `2^HIST_FIRST_SHIFT` ns (~1 µs); bucket `i` holds `[2^(HIST_FIRST_SHIFT+i-1), 2^(HIST_FIRST_SHIFT+i))`;
/// the last bucket is open-ended (above ~17 s).
pub const HIST_BUCKETS: usize = 26;
/// The first bucket's upper bound is `2^10` ns = 1.024 µs.
pub const HIST_FIRST_SHIFT: u32 = 10;

/// Map the duration to its histogram bucket. Branch-only (no loops, no `ctlz`) so the
/// verifier and every BPF backend accept it.
#[inline(always)]
pub fn hist_bucket(ns: u64) -> usize {
    let log2 = log2_floor(ns);
    if log2 < HIST_FIRST_SHIFT {
        0
    } else {
        let b = (log2 - HIST_FIRST_SHIFT + 1) as usize;
        if b >= HIST_BUCKETS {
            HIST_BUCKETS - 1
        } else {
            b
        }
    }
}

/// floor(log2(v)), with log2_floor(0) == 0.
#[inline(always)]
pub fn log2_floor(mut v: u64) -> u32 {
    let mut r = 0;
    if v >= 1 << 32 {
        v >>= 32;
        r += 32;
    }
    if v >= 1 << 16 {
        v >>= 16;
        r += 16;
    }
    if v >= 1 << 8 {
        v >>= 8;
        r += 8;
    }
    if v >= 1 << 4 {
        v >>= 4;
        r += 4;
    }
    if v >= 1 << 2 {
        v >>= 2;
        r += 2;
    }
    if v >= 1 << 1 {
        r += 1;
    }
    r
}

/// Upper bound of bucket `i` in nanoseconds; `None` for the open-ended last bucket.
pub fn hist_upper_bound_ns(i: usize) -> Option<u64> {
    if i + 1 >= HIST_BUCKETS {
        None
    } else {
        Some(1u64 << (HIST_FIRST_SHIFT as usize + i))
    }
}

/// Key of the per-CPU syscall statistics map.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SyscallKey {
    /// cgroup v2 id (the inode number of the cgroup's directory).
    pub cgroup_id: u64,
    /// Syscall number in the running kernel's native table.
    pub nr: u32,
    pub _pad: u32,
}

/// Per-CPU value: calls are counted on exit (on entry for the calls that may not return,
/// see `SyscallConfig::enter_counted`), latency and failures on exit.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallStats {
    pub calls: u64,
    pub failed: u64,
    /// Completed calls whose latency went into `hist`.
    pub completed: u64,
    pub duration_ns_sum: u64,
    pub hist: [u64; HIST_BUCKETS],
}

impl SyscallStats {
    pub const ZERO: Self = Self {
        calls: 0,
        failed: 0,
        completed: 0,
        duration_ns_sum: 0,
        hist: [0; HIST_BUCKETS],
    };
}

/// Key of the per-CPU failed-call map: one counter per (cgroup, syscall, errno).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ErrnoKey {
    pub cgroup_id: u64,
    pub nr: u32,
    /// Positive errno value (`-ret`).
    pub errno: u32,
}

/// A syscall in flight on one thread, from sys_enter to sys_exit (keyed by thread id).
/// The raw sys_exit hook carries only the return value: the number comes from here.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct InFlight {
    /// `full` mode only.
    pub start_ns: u64,
    /// The cgroup the call was made in: a task moved during a call (the write to
    /// `cgroup.procs` that moves it) has its call counted where it made it.
    pub cgroup_id: u64,
    /// The number as keyed in the maps (with `COMPAT_BIT` for 32-bit compat calls).
    pub key_nr: u32,
    /// The entry belongs to this process: a thread id reused by another process never
    /// inherits a stale entry.
    pub tgid: u32,
    /// `INFLIGHT_*` bits; 0 once the exit has been seen.
    pub state: u32,
    pub _pad: u32,
}

/// An entry whose exit has not been seen yet.
pub const INFLIGHT_OPEN: u32 = 1;
/// The call was counted at entry (it may never return), so the exit must not count it.
pub const INFLIGHT_COUNTED: u32 = 2;

/// What the syscall programs do, set by the agent before loading.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyscallConfig {
    /// `SYSCALL_MODE_FULL` or `SYSCALL_MODE_COUNTS`.
    pub mode: u32,
    /// Native numbers of the calls counted at entry because they may never return on the
    /// same thread (`exit`, `exit_group`, `execve`, `execveat`), from the arch table;
    /// `u32::MAX` where the arch has no such call.
    pub enter_counted: [u32; 4],
    pub _pad: u32,
}

/// Calls, failures by errno and the latency histogram.
pub const SYSCALL_MODE_FULL: u32 = 0;
/// Calls and failures by errno only: no clock read, no histogram.
pub const SYSCALL_MODE_COUNTS: u32 = 1;

/// Set in `SyscallKey::nr` for a syscall made through the 32-bit compat ABI, whose number
/// belongs to another table (i386, arm32): the agent labels it `compat_<nr>`, never with
/// the native name of the same number.
pub const COMPAT_BIT: u32 = 1 << 31;

/// Where the kernel keeps "this is a compat syscall", found by the agent in BTF at load
/// time: a 32-bit word at `offset` into `task_struct`, tested with `mask`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompatLayout {
    pub offset: u32,
    pub mask: u32,
    /// 0: the architecture has no compat ABI, or BTF did not say where the flag is.
    pub enabled: u32,
    pub _pad: u32,
}

crate::named_enum! {
    /// Indices of the per-CPU loss counters the programs keep (`LOSSES` map); the names
    /// are the `reason` label of `archscope_kernel_losses_total`.
    pub enum Loss {
        /// The statistics map was full: a call was not counted.
        StatsMapFull = "syscall_stats_map_full",
        /// The errno map was full: a failure was not broken down by errno.
        ErrnoMapFull = "syscall_errno_map_full",
        /// The in-flight map could not take an entry: the call was counted at entry, its
        /// latency and failure were not measured.
        InFlightMapFull = "syscall_inflight_map_full",
        /// A sys_exit whose entry was not seen (started before the agent attached, or the
        /// child's return from clone/fork).
        ExitWithoutEnter = "syscall_exit_without_enter",
        /// The tracepoint record could not be read.
        ReadFailed = "tracepoint_read_failed",
        /// A network map (TCP statistics or traffic) was full: an event was not counted.
        NetMapFull = "net_map_full",
        /// The TCP socket map could not take an entry: a connect latency or an open
        /// connection was not tracked.
        SockMapFull = "tcp_sock_map_full",
        /// The per-cgroup counter map was full: a counter delta was not charged.
        PmuMapFull = "pmu_stats_map_full",
        /// A counter could not be read at a context switch (other than "no counter on this
        /// CPU"): its delta goes to the next reading's cgroup.
        PmuReadFailed = "pmu_read_failed",
        /// The new-cgroup path map was full (the agent had not drained it): a cgroup made then
        /// is named only if it still exists at the next walk of the tree.
        CgroupPathsFull = "cgroup_paths_map_full",
        /// The scheduler's per-cgroup map was full: a task's CPU time, switch and wait
        /// were not charged.
        SchedMapFull = "sched_stats_map_full",
        /// The scheduler's map of runnable threads was full (more live threads than its
        /// entries): a wait was not measured.
        SchedRunnableFull = "sched_runnable_map_full",
        /// A thread came on a CPU with no time it became runnable (runnable since before
        /// the programs attached, or its wakeup was missed): that wait was not measured.
        SchedWaitUnseen = "sched_wait_unseen",
        /// A thread left a CPU the programs had not seen it come onto (the kernel did not
        /// run the program for that switch): its time there and its wait before were not
        /// charged.
        SchedSwitchUnseen = "sched_switch_unseen",
    }
}

pub const LOSS_KINDS: usize = Loss::COUNT;

const _: () = assert!(core::mem::size_of::<SyscallKey>() == 16);
const _: () = assert!(core::mem::size_of::<SyscallStats>() == 8 * (4 + HIST_BUCKETS));
const _: () = assert!(core::mem::size_of::<ErrnoKey>() == 16);
const _: () = assert!(core::mem::size_of::<InFlight>() == 32);
const _: () = assert!(core::mem::size_of::<SyscallConfig>() == 24);
const _: () = assert!(core::mem::size_of::<CompatLayout>() == 16);

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all are #[repr(C)] integer-only types without padding (size asserts above).
    unsafe impl aya::Pod for super::SyscallKey {}
    unsafe impl aya::Pod for super::SyscallStats {}
    unsafe impl aya::Pod for super::ErrnoKey {}
    unsafe impl aya::Pod for super::InFlight {}
    unsafe impl aya::Pod for super::SyscallConfig {}
    unsafe impl aya::Pod for super::CompatLayout {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_matches_std() {
        for v in [
            1u64,
            2,
            3,
            4,
            1023,
            1024,
            1025,
            u32::MAX as u64,
            1 << 40,
            u64::MAX,
        ] {
            assert_eq!(log2_floor(v), 63 - v.leading_zeros(), "v={v}");
        }
        assert_eq!(log2_floor(0), 0);
    }

    #[test]
    fn buckets_cover_1us_to_10s() {
        assert_eq!(hist_bucket(0), 0);
        assert_eq!(hist_bucket(1023), 0);
        assert_eq!(hist_bucket(1024), 1);
        assert_eq!(hist_bucket(2047), 1);
        assert_eq!(hist_bucket(2048), 2);
        // every value lands in the bucket whose bounds hold it
        for ns in [
            1u64,
            999,
            1024,
            5_000,
            1_000_000,
            999_999_999,
            10_000_000_000,
        ] {
            let b = hist_bucket(ns);
            assert!(
                hist_upper_bound_ns(b).is_none_or(|ub| ns < ub),
                "{ns} above bucket {b}"
            );
            assert!(
                b == 0 || ns >= hist_upper_bound_ns(b - 1).unwrap(),
                "{ns} below bucket {b}"
            );
        }
        // 10 s still falls in a bounded bucket; only > ~17 s is open-ended
        assert!(hist_upper_bound_ns(hist_bucket(10_000_000_000)).is_some());
        assert_eq!(hist_bucket(u64::MAX), HIST_BUCKETS - 1);
    }
}
