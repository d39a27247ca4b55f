//! The workload report as one self-contained HTML page: inline CSS and SVG, no script and
//! no network. A chart of every ratio with its interval and the band, then the tables.
use std::fmt::Write;

use super::analysis::{Direction, Report};
use super::report::{method_lines, notes, ratio_text, side_line, value, verdict_text};
use crate::bench::report_html::esc;
use crate::bench::report_table::p_text;

fn colour(d: Direction) -> &'static str {
    match d {
        Direction::Higher => "#1565c0",
        Direction::Lower => "#ef6c00",
        Direction::Inconclusive => "#b26a00",
        Direction::Equivalent => "#757575",
    }
}

/// Ratios and intervals on a log axis, the band shaded; rows without a ratio are left out.
fn chart(r: &Report) -> String {
    // an interval reaching 0 (medians of 0 in resamples) is drawn from the axis' end
    let rows: Vec<_> = r
        .rows
        .iter()
        .filter_map(|x| Some((x, x.ratio?, x.ratio_ci95?)))
        .filter(|(_, x, _)| x.is_finite() && *x > 0.0)
        .collect();
    let (label_w, plot_w, row_h) = (260.0, 480.0, 20.0);
    let h = 40.0 + row_h * rows.len() as f64;
    let (mut lo, mut hi) = (0.5f64, 2.0f64);
    for (_, x, [a, b]) in &rows {
        for v in [*x, *a, *b]
            .into_iter()
            .filter(|v| v.is_finite() && *v > 0.0)
        {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    // log2 axis, whole powers, at most 2^-20 to 2^20
    let (lo, hi) = (lo.log2().floor().max(-20.0), hi.log2().ceil().min(20.0));
    let x = |v: f64| {
        let e = if v > 0.0 { v.log2().clamp(lo, hi) } else { lo };
        label_w + (e - lo) / (hi - lo) * plot_w
    };
    let mut s = format!(
        r#"<svg id="chart-ratios" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="B/A per figure">"#,
        w = label_w + plot_w + 20.0
    );
    let (band_lo, band_hi) = (x(1.0 / (1.0 + r.margin)), x(1.0 + r.margin));
    write!(
        s,
        r##"<rect x="{band_lo:.1}" y="20" width="{:.1}" height="{:.1}" fill="#eeeeee"/><line x1="{one:.1}" x2="{one:.1}" y1="20" y2="{:.1}" stroke="#999"/>"##,
        band_hi - band_lo,
        h - 30.0,
        h - 10.0,
        one = x(1.0)
    )
    .ok();
    for p in lo as i32..=hi as i32 {
        let v = 2f64.powi(p);
        write!(
            s,
            r#"<text x="{:.1}" y="14" font-size="10" text-anchor="middle">{}×</text>"#,
            x(v),
            v
        )
        .ok();
    }
    for (i, (row, ratio, [a, b])) in rows.iter().enumerate() {
        let y = 30.0 + row_h * i as f64;
        let c = colour(row.direction);
        write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text><line x1="{:.1}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" stroke="{c}" stroke-width="2"/><circle class="point" cx="{:.1}" cy="{y:.1}" r="4" fill="{c}"/>"#,
            label_w - 8.0,
            y + 4.0,
            esc(&row.label),
            x(*a),
            x(*b),
            x(*ratio)
        )
        .ok();
    }
    s.push_str("</svg>");
    s
}

pub fn html(r: &Report) -> String {
    let title = esc(&format!(
        "{}: {} against {}",
        r.workload, r.b.arch, r.a.arch
    ));
    let mut out = String::from("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
    write!(out, "<title>{title}</title>").ok();
    out.push_str(
        "<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
         td,th{padding:3px 8px;border-bottom:1px solid #ddd;text-align:left}\
         td.num{text-align:right;font-variant-numeric:tabular-nums}</style></head><body>",
    );
    write!(out, "<h1>{title}</h1><ul id=\"method\">").ok();
    for l in method_lines(r) {
        write!(out, "<li>{}</li>", esc(&l)).ok();
    }
    out.push_str("</ul><ul id=\"sides\">");
    for s in [&r.a, &r.b] {
        write!(out, "<li>{}</li>", esc(&side_line(s))).ok();
    }
    write!(
        out,
        "</ul><h2>Where {} differs most</h2><ol id=\"differences\">",
        esc(&r.b.arch)
    )
    .ok();
    for d in &r.differences {
        write!(out, "<li>{}</li>", esc(d)).ok();
    }
    out.push_str("</ol>");
    if r.differences.is_empty() {
        out.push_str("<p>Nothing beyond the band.</p>");
    }
    out.push_str(&chart(r));
    write!(
        out,
        "<h2>Every figure</h2><table id=\"figures\"><thead><tr><th>group</th><th>figure</th><th>A: {}</th><th>B: {}</th><th>B/A [95% CI]</th><th>p</th><th>verdict</th></tr></thead><tbody>",
        esc(&r.a.arch),
        esc(&r.b.arch)
    )
    .ok();
    for x in &r.rows {
        write!(
            out,
            "<tr data-direction=\"{}\"><td>{}</td><td>{}</td><td class=\"num\">{} (n={})</td><td class=\"num\">{} (n={})</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td style=\"color:{}\">{}</td></tr>",
            x.direction.text(),
            x.figure.group,
            esc(&x.label),
            esc(&value(x.a.median, x.unit)),
            x.a.n,
            esc(&value(x.b.median, x.unit)),
            x.b.n,
            esc(&ratio_text(x)),
            x.p_value.map(p_text).unwrap_or_else(|| "-".into()),
            colour(x.direction),
            esc(&verdict_text(x))
        )
        .ok();
    }
    out.push_str("</tbody></table><h2>Syscalls in the window</h2><table id=\"totals\"><tr><th>arch</th><th>syscall</th><th>calls</th><th>failed</th></tr>");
    for s in [&r.a, &r.b] {
        for (n, t) in &s.syscalls {
            write!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                esc(&s.arch),
                esc(n),
                t.calls,
                t.errors
            )
            .ok();
        }
    }
    out.push_str("</table><ul id=\"notes\">");
    for n in notes(r) {
        write!(out, "<li>{}</li>", esc(&n)).ok();
    }
    out.push_str("</ul></body></html>\n");
    out
}
