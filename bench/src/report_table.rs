//! The terminal table: how the samples were taken and the band they are judged against,
//! one row per benchmark with the verdict coloured on a TTY (green when B is faster, red
//! when slower, yellow when inconclusive), then the per-category geometric means with
//! their intervals and the warnings.
use console::Style;

use super::compare::{Comparison, SideInfo, pmu_text, verdict_text};
use super::verdict::{Verdict, percent};

/// How one side's samples were taken and which calibration it carries.
pub fn side_method(s: &SideInfo) -> String {
    let cal = match &s.calibration {
        Some(c) => format!("calibration of {} ({} runs)", c.made_at, c.runs),
        None => "no calibration".into(),
    };
    format!("{}: {}; {cal}", s.label, s.sampling_text)
}

/// "±5 % (margin)", or the range when calibrations widen some benchmarks' bands.
pub fn band_text(c: &Comparison) -> String {
    let widest = c.rows.iter().map(|r| r.band.width).fold(c.margin, f64::max);
    if widest > c.margin {
        format!(
            "{} margin, up to {} where a calibration is wider",
            percent(c.margin),
            percent(widest)
        )
    } else {
        format!("{} margin", percent(c.margin))
    }
}

/// A number with 3–4 significant digits and no exponent for everyday magnitudes.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a >= 1e6 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.3}")
    } else if a >= 0.001 {
        format!("{v:.4}")
    } else {
        format!("{v:.2e}")
    }
}

pub fn p_text(p: f64) -> String {
    if p < 0.0001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

pub fn render(c: &Comparison, colour: bool) -> String {
    let style = |verdict: Verdict| {
        let s = match verdict {
            Verdict::Faster => Style::new().green(),
            Verdict::Slower => Style::new().red(),
            Verdict::Inconclusive => Style::new().yellow(),
            Verdict::Equivalent => Style::new().dim(),
        };
        s.force_styling(colour)
    };
    let bold = Style::new().bold().force_styling(colour);
    let (a, b) = (&c.a.label, &c.b.label);
    let mut out = String::new();
    out.push_str(&format!(
        "{}\n",
        bold.apply_to(format!(
            "{a} ({}, {}) vs {b} ({}, {})",
            c.a.host.cpu_model, c.a.host.hostname, c.b.host.cpu_model, c.b.host.hostname
        ))
    ));
    for side in [&c.a, &c.b] {
        out.push_str(&format!("  {}\n", side_method(side)));
    }
    out.push_str(&format!(
        "  compared: {}; band: {}\n\n",
        c.sample_unit,
        band_text(c)
    ));
    let header = [
        "benchmark".to_string(),
        "unit".into(),
        a.clone(),
        b.clone(),
        format!("{b}/{a}"),
        "95% CI".into(),
        "p".into(),
        "band".into(),
        format!("{b} is"),
        format!("PMU {a}"),
        format!("PMU {b}"),
    ];
    let rows: Vec<[String; 11]> = c
        .rows
        .iter()
        .map(|r| {
            [
                r.benchmark.clone(),
                r.unit.clone(),
                num(r.median_a),
                num(r.median_b),
                format!("{:.3}", r.ratio),
                format!("[{:.3}, {:.3}]", r.ci95[0], r.ci95[1]),
                p_text(r.p_value),
                percent(r.band.width),
                verdict_text(r),
                pmu_text(&r.pmu_a),
                pmu_text(&r.pmu_b),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String; 11], verdict: Option<Verdict>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let pad = w - cell.chars().count();
            let text = if i == 8 {
                verdict.map_or(cell.clone(), |v| style(v).apply_to(cell).to_string())
            } else {
                cell.clone()
            };
            // numbers right-aligned, text left-aligned
            if (2..=7).contains(&i) {
                s.push_str(&" ".repeat(pad));
                s.push_str(&text);
            } else {
                s.push_str(&text);
                s.push_str(&" ".repeat(pad));
            }
            s.push_str("  ");
        }
        s.trim_end().to_string() + "\n"
    };
    out.push_str(&bold.apply_to(line(&header, None)).to_string());
    for (cells, r) in rows.iter().zip(&c.rows) {
        out.push_str(&line(cells, Some(r.verdict)));
    }
    out.push_str(&format!(
        "\n{}\n",
        bold.apply_to(format!(
            "geometric mean of {b}'s speed-up over {a} (> 1: {b} faster)"
        ))
    ));
    for cat in &c.summary.categories {
        out.push_str(&format!(
            "  {:<12} {:>6.3}  [{:.3}, {:.3}]  ({} benchmarks)\n",
            cat.category,
            cat.geomean_speedup,
            cat.geomean_ci95[0],
            cat.geomean_ci95[1],
            cat.benchmarks
        ));
    }
    out.push_str(&format!(
        "  {:<12} {:>6.3}  [{:.3}, {:.3}]\n",
        "all", c.summary.geomean_speedup, c.summary.geomean_ci95[0], c.summary.geomean_ci95[1]
    ));
    if !c.warnings.is_empty() {
        out.push_str(&format!("\n{}\n", bold.apply_to("warnings")));
        for w in &c.warnings {
            out.push_str(&format!("  - {w}\n"));
        }
    }
    out
}
