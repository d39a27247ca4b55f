//! The per-CPU counters (perf-event crate): opened once, read at every snapshot, and lent
//! to the kernel program by fd. Counts are scaled by enabled/running time, because a PMU
//! with fewer counters than events has the kernel rotate them.
use std::os::fd::{AsRawFd, RawFd};

use archscope_common::PmuEvent;
use perf_event::{Builder, Counter};

use super::detect::Plan;

/// One event on one CPU.
pub struct Slot {
    pub cpu: u32,
    pub event: PmuEvent,
    pub counter: Result<Counter, String>,
    /// Highest scaled value exported so far: an estimate must never make a counter go back.
    pub exported: u64,
    pub last: Reading,
}

/// A raw reading: count, and the nanoseconds the counter was enabled and running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reading {
    pub count: u64,
    pub enabled: u64,
    pub running: u64,
}

impl Reading {
    /// count × enabled / running: what it would have counted had it run all the time it
    /// was enabled. `None` when it never ran: there is nothing to scale.
    pub fn scaled(self) -> Option<u64> {
        if self.running == 0 {
            return None;
        }
        if self.running >= self.enabled {
            return Some(self.count);
        }
        let v = u128::from(self.count) * u128::from(self.enabled) / u128::from(self.running);
        Some(u64::try_from(v).unwrap_or(u64::MAX))
    }
}

/// Open every planned (cpu, event). A failure stays in its slot with the reason.
pub fn open(plan: &Plan) -> Vec<Slot> {
    let mut out = Vec::new();
    for cp in &plan.cpus {
        for &(event, attr_type, config) in &cp.open {
            out.push(Slot {
                cpu: cp.cpu,
                event,
                counter: open_one(cp.cpu, attr_type, config),
                exported: 0,
                last: Reading::default(),
            });
        }
    }
    out
}

fn open_one(cpu: u32, attr_type: u32, config: u64) -> Result<Counter, String> {
    let mut b = Builder::new().one_cpu(cpu as usize).any_pid();
    let a = b.attrs_mut();
    a.type_ = attr_type;
    a.config = config;
    // Count kernel time too: a container's syscalls are its work. Sunway's driver refuses
    // any of the exclude_hv/idle/host/guest bits, so none is set.
    a.set_exclude_kernel(0);
    a.set_exclude_hv(0);
    let mut c = b.build().map_err(|e| open_error(&e))?;
    c.enable().map_err(|e| format!("enable: {e}"))?;
    Ok(c)
}

fn open_error(e: &std::io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(libc::ENOENT) => " (the PMU driver does not map this event)",
        Some(libc::EOPNOTSUPP) => " (not supported in counting mode here)",
        Some(libc::EACCES) | Some(libc::EPERM) => " (needs CAP_PERFMON)",
        Some(libc::ENODEV) => " (no PMU for this CPU)",
        _ => "",
    };
    format!("perf_event_open: {e}{hint}")
}

impl Slot {
    pub fn fd(&self) -> Option<RawFd> {
        self.counter.as_ref().ok().map(AsRawFd::as_raw_fd)
    }

    /// Read and remember the counter.
    pub fn read(&mut self) -> Option<Reading> {
        let c = self.counter.as_mut().ok()?;
        let cat = c.read_count_and_time().ok()?;
        self.last = Reading {
            count: cat.count,
            enabled: cat.time_enabled,
            running: cat.time_running,
        };
        Some(self.last)
    }

    /// The scaled value to export, kept monotonic.
    pub fn monotonic(&mut self) -> Option<u64> {
        let v = self.last.scaled()?;
        self.exported = self.exported.max(v);
        Some(self.exported)
    }
}
