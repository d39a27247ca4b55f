//! The guests of `cargo xtask test`, booted side by side. One TCG guest keeps about 1.2 of
//! this machine kind's two cores busy (its tests wait on scrapes and sleeps much of the
//! time), so two at once use what one leaves idle. Each boot keeps its console for its
//! log and shows its end only when it fails.
use std::collections::VecDeque;
use std::sync::Mutex;

use anyhow::bail;

use crate::vm::{self, Boot, Echo, Prepared};

/// Boots at once by default; `XTASK_GUESTS_AT_ONCE` changes it (1: one after another).
const DEFAULT_AT_ONCE: usize = 2;

pub fn at_once() -> anyhow::Result<usize> {
    match std::env::var("XTASK_GUESTS_AT_ONCE") {
        Err(_) => Ok(DEFAULT_AT_ONCE),
        Ok(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => bail!("XTASK_GUESTS_AT_ONCE: `{v}` is not a number of guests (1 or more)"),
        },
    }
}

/// Every kernel of every prepared architecture, then arm64's icount boot (when `icount`),
/// in the order given (the longest first, so the last to start are the short ones).
pub fn boot_all(prepared: &[Prepared], icount: bool, at_once: usize) -> anyhow::Result<()> {
    let mut jobs: VecDeque<(&Prepared, Boot)> = prepared
        .iter()
        .flat_map(|p| (0..p.kernels.len()).map(move |i| (p, Boot::Kernel(i))))
        .collect();
    if icount {
        let arm64 = prepared
            .iter()
            .find(|p| p.t == crate::cross::Target::Aarch64);
        match arm64 {
            Some(p) => jobs.push_back((p, Boot::Icount)),
            None => bail!("the icount boot needs the arm64 guest"),
        }
    }
    let queue = Mutex::new(jobs);
    let failed = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..at_once {
            s.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                    let Some((p, which)) = next else { break };
                    let name = match which {
                        Boot::Kernel(i) => format!("{} {}", p.t.goarch(), p.kernels[i].0.name),
                        Boot::Icount => format!("{} (icount)", p.t.goarch()),
                    };
                    let ok = vm::boot(p, which, Echo::Quiet).unwrap_or_else(|e| {
                        eprintln!("vm-test {name}: {e:#}");
                        false
                    });
                    if !ok {
                        failed.lock().unwrap_or_else(|e| e.into_inner()).push(name);
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap_or_else(|e| e.into_inner());
    if !failed.is_empty() {
        bail!("guests failed: {}", failed.join(", "));
    }
    Ok(())
}
