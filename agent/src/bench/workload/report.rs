//! The workload report as a terminal table and as Markdown: what was compared and how,
//! each side's pods and syscall counts, every figure, and where B differs most.
use std::fmt::Write;

use super::analysis::{Report, Row, Side, times};
use crate::bench::report_table::{num, p_text};
use archscope_bench::verdict::percent;

/// A value in its unit: seconds as ns, µs, ms or s.
pub fn value(v: f64, unit: &str) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    if unit == "s" {
        let a = v.abs();
        return if a < 1e-6 {
            format!("{:.0} ns", v * 1e9)
        } else if a < 1e-3 {
            format!("{:.1} µs", v * 1e6)
        } else if a < 1.0 {
            format!("{:.1} ms", v * 1e3)
        } else {
            format!("{v:.2} s")
        };
    }
    num(v)
}

pub fn ratio_text(r: &Row) -> String {
    match (r.ratio, r.ratio_ci95) {
        (Some(x), Some([lo, hi])) => format!("{} [{}, {}]", times(x), num(lo), num(hi)),
        (Some(x), None) => times(x),
        _ => "-".into(),
    }
}

pub fn verdict_text(r: &Row) -> String {
    let mut s = r.direction.text().to_string();
    if let Some(n) = &r.note {
        write!(s, " ({n})").ok();
    }
    s
}

/// "2 pods, 24 samples: checkout-7d9f-abcde (12 windows, via http://…)".
pub fn side_line(s: &Side) -> String {
    let pods: Vec<String> = s
        .pods
        .iter()
        .map(|p| format!("{} ({} windows, {})", p.pod, p.windows, p.agent))
        .collect();
    format!(
        "{}: {} pod(s), {} samples{}{}",
        s.arch,
        s.pods.len(),
        s.samples,
        if pods.is_empty() { "" } else { ": " },
        pods.join(", ")
    )
}

pub fn method_lines(r: &Report) -> Vec<String> {
    vec![
        format!(
            "{} from {}, {} windows of {} s ({} s in all)",
            r.workload,
            r.source,
            (r.window_seconds / r.step_seconds).round(),
            r.step_seconds,
            r.window_seconds
        ),
        format!("one sample: {}", r.sample_unit),
        format!(
            "B against A: ratio of medians with a 95 % bootstrap interval ({} resamples), \
             Mann–Whitney U; higher or lower needs p < 0.05 and the whole interval outside \
             the band {}, equivalent is an interval inside it",
            r.resamples,
            percent(r.margin)
        ),
    ]
}

fn rows_table(r: &Report) -> Vec<[String; 7]> {
    r.rows
        .iter()
        .map(|x| {
            [
                x.figure.group.to_string(),
                x.label.clone(),
                format!("{} (n={})", value(x.a.median, x.unit), x.a.n),
                format!("{} (n={})", value(x.b.median, x.unit), x.b.n),
                ratio_text(x),
                x.p_value.map(p_text).unwrap_or_else(|| "-".into()),
                verdict_text(x),
            ]
        })
        .collect()
}

fn header(r: &Report) -> [String; 7] {
    [
        "group".into(),
        "figure".into(),
        format!("A: {}", r.a.arch),
        format!("B: {}", r.b.arch),
        "B/A [95% CI]".into(),
        "p".into(),
        "verdict".into(),
    ]
}

fn totals(s: &Side) -> String {
    let t: Vec<String> = s
        .syscalls
        .iter()
        .map(|(n, t)| format!("{n} {} ({} failed)", t.calls, t.errors))
        .collect();
    format!("{} syscalls in the window: {}", s.arch, t.join(", "))
}

/// Why figures are missing, and the warnings.
pub fn notes(r: &Report) -> Vec<String> {
    let mut n = Vec::new();
    for s in [&r.a, &r.b] {
        for (group, why) in &s.missing {
            n.push(format!("{} has no {group} figures: {why}", s.arch));
        }
    }
    n.extend(r.warnings.iter().cloned());
    n
}

pub fn table(r: &Report) -> String {
    let mut out = String::new();
    for l in method_lines(r) {
        writeln!(out, "{l}").ok();
    }
    writeln!(out).ok();
    for s in [&r.a, &r.b] {
        writeln!(out, "{}", side_line(s)).ok();
        writeln!(out, "  {}", totals(s)).ok();
    }
    writeln!(out).ok();
    let mut lines = vec![header(r)];
    lines.extend(rows_table(r));
    let mut width = [0usize; 7];
    for l in &lines {
        for (w, c) in width.iter_mut().zip(l) {
            *w = (*w).max(c.chars().count());
        }
    }
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .zip(width)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        writeln!(out, "{}", cells.join("  ").trim_end()).ok();
    }
    writeln!(out, "\nwhere {} differs most from {}:", r.b.arch, r.a.arch).ok();
    if r.differences.is_empty() {
        writeln!(out, "  nothing beyond the band").ok();
    }
    for d in &r.differences {
        writeln!(out, "  {d}").ok();
    }
    for n in notes(r) {
        writeln!(out, "note: {n}").ok();
    }
    out
}

pub fn markdown(r: &Report) -> String {
    let mut out = format!("# {}: {} against {}\n\n", r.workload, r.b.arch, r.a.arch);
    for l in method_lines(r) {
        writeln!(out, "- {l}").ok();
    }
    writeln!(out).ok();
    for s in [&r.a, &r.b] {
        writeln!(out, "- {}\n  - {}", side_line(s), totals(s)).ok();
    }
    writeln!(out, "\n## Where {} differs most\n", r.b.arch).ok();
    if r.differences.is_empty() {
        writeln!(out, "Nothing beyond the band.").ok();
    }
    for d in &r.differences {
        writeln!(out, "1. {d}").ok();
    }
    writeln!(out, "\n## Every figure\n").ok();
    writeln!(out, "| {} |", header(r).join(" | ")).ok();
    writeln!(out, "|{}", "---|".repeat(7)).ok();
    for row in rows_table(r) {
        writeln!(out, "| {} |", row.join(" | ")).ok();
    }
    let n = notes(r);
    if !n.is_empty() {
        writeln!(out, "\n## Notes\n").ok();
        for x in n {
            writeln!(out, "- {x}").ok();
        }
    }
    out
}
