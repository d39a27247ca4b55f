//! The words of the reports: a verdict as a reader says it, and the PMU context.
use super::compare::Row;
use super::schema::Pmu;
use super::verdict::{self, Verdict};

/// "1.23× faster", "1.05× slower", "equivalent within ±5 %", "inconclusive (1.04×)".
pub fn verdict_text(r: &Row) -> String {
    let x = if r.speedup >= 1.0 {
        r.speedup
    } else {
        1.0 / r.speedup
    };
    match r.verdict {
        Verdict::Faster => format!("{x:.2}× faster"),
        Verdict::Slower => format!("{x:.2}× slower"),
        Verdict::Equivalent => format!("equivalent within {}", verdict::percent(r.band.width)),
        Verdict::Inconclusive => format!("inconclusive ({:.2}×)", r.speedup),
    }
}

/// A short PMU context: `IPC 1.52, 3.1 cache-MPKI`, or why there is none.
pub fn pmu_text(p: &Pmu) -> String {
    let mut parts = Vec::new();
    if let Some(ipc) = p.ipc {
        parts.push(format!("IPC {ipc:.2}"));
    }
    if let Some(m) = p.cache_mpki {
        parts.push(format!("{m:.1} cache-MPKI"));
    } else if let Some(m) = p.per_op.get("cache_misses") {
        parts.push(format!("{} cache-miss/op", super::report_table::num(*m)));
    }
    if parts.is_empty()
        && let Some(c) = p.per_op.get("cycles")
    {
        parts.push(format!("{} cycles/op", super::report_table::num(*c)));
    }
    if parts.is_empty() {
        return if p.unavailable.is_empty() {
            "n/a".into()
        } else {
            "n/a (no PMU)".into()
        };
    }
    parts.join(", ")
}
