//! Markdown: the same table for an issue, a wiki page or a migration report.
use super::compare::{Comparison, pmu_text, verdict_text};
use super::report_table::{band_text, num, p_text, side_method};
use super::verdict::{Verdict, percent};

pub fn render(c: &Comparison) -> String {
    let (a, b) = (&c.a.label, &c.b.label);
    let mut out = format!("## archscope bench: {a} vs {b}\n\n");
    out.push_str("| | A | B |\n|---|---|---|\n");
    for (k, va, vb) in [
        ("architecture", &c.a.host.goarch, &c.b.host.goarch),
        ("CPU", &c.a.host.cpu_model, &c.b.host.cpu_model),
        ("host", &c.a.host.hostname, &c.b.host.hostname),
        ("kernel", &c.a.host.kernel, &c.b.host.kernel),
        ("OS", &c.a.host.os, &c.b.host.os),
        (
            "virtualization",
            &c.a.host.virtualization,
            &c.b.host.virtualization,
        ),
        ("run", &c.a.started_at, &c.b.started_at),
    ] {
        out.push_str(&format!("| {k} | {} | {} |\n", cell(va), cell(vb)));
    }
    out.push_str(&format!(
        "| CPUs | {} | {} |\n\n",
        c.a.host.cpus, c.b.host.cpus
    ));
    for side in [&c.a, &c.b] {
        out.push_str(&format!("- samples of {}\n", side_method(side)));
    }
    out.push_str(&format!(
        "- compared: {}; band: {}\n\n",
        c.sample_unit,
        band_text(c)
    ));
    out.push_str(&format!(
        "| benchmark | unit | {a} | {b} | {b}/{a} | 95% CI | p | band | {b} is | PMU {a} | PMU {b} |\n"
    ));
    out.push_str("|---|---|--:|--:|--:|--:|--:|--:|---|---|---|\n");
    for r in &c.rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | [{:.3}, {:.3}] | {} | {} | {} | {} | {} |\n",
            r.benchmark,
            r.unit,
            num(r.median_a),
            num(r.median_b),
            r.ratio,
            r.ci95[0],
            r.ci95[1],
            p_text(r.p_value),
            percent(r.band.width),
            match r.verdict {
                Verdict::Faster | Verdict::Slower => format!("**{}**", verdict_text(r)),
                _ => verdict_text(r),
            },
            pmu_text(&r.pmu_a),
            pmu_text(&r.pmu_b)
        ));
    }
    out.push_str(&format!(
        "\nGeometric mean of {b}'s speed-up over {a} (> 1: {b} faster):\n\n| category | benchmarks | speed-up | 95% CI |\n|---|--:|--:|--:|\n"
    ));
    for cat in &c.summary.categories {
        out.push_str(&format!(
            "| {} | {} | {:.3} | [{:.3}, {:.3}] |\n",
            cat.category,
            cat.benchmarks,
            cat.geomean_speedup,
            cat.geomean_ci95[0],
            cat.geomean_ci95[1]
        ));
    }
    out.push_str(&format!(
        "| **all** | {} | **{:.3}** | [{:.3}, {:.3}] |\n",
        c.rows.len(),
        c.summary.geomean_speedup,
        c.summary.geomean_ci95[0],
        c.summary.geomean_ci95[1]
    ));
    if !c.warnings.is_empty() {
        out.push_str("\nWarnings:\n\n");
        for w in &c.warnings {
            out.push_str(&format!("- {w}\n"));
        }
    }
    out.push_str(&format!(
        "\nMethod: ratio = {}; {}; {}; {}.\n",
        c.method.ratio, c.method.ci, c.method.test, c.method.verdict
    ));
    out
}

fn cell(s: &str) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s.replace('|', "\\|")
    }
}
