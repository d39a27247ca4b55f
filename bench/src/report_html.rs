//! A self-contained HTML report: inline CSS, inline SVG charts (speed-up with its
//! interval per benchmark, geometric means per category, every raw sample of both sides),
//! and a small inline script that makes the table sortable. No network access.
use std::fmt::Write;

use super::compare::{Comparison, Row, pmu_text, verdict_text};
use super::report_table::{band_text, num, p_text, side_method};
use super::verdict::{Verdict, percent};

/// Text as HTML (also in attribute values).
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const GREEN: &str = "#2e7d32";
const RED: &str = "#c62828";
const GREY: &str = "#757575";
const BLUE: &str = "#1565c0";
const ORANGE: &str = "#ef6c00";

const AMBER: &str = "#b26a00";

fn colour(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Faster => GREEN,
        Verdict::Slower => RED,
        Verdict::Inconclusive => AMBER,
        Verdict::Equivalent => GREY,
    }
}

fn speedup_ci(r: &Row) -> (f64, f64) {
    (r.speedup_ci95[0], r.speedup_ci95[1])
}

/// Log-scale axis bounds covering every value, at least [1/2, 2].
fn log_bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (0.5f64, 2.0f64);
    for v in values.filter(|v| v.is_finite() && *v > 0.0) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo.log2().floor().exp2(), hi.log2().ceil().exp2())
}

fn forest(c: &Comparison) -> String {
    let (label_w, plot_w, row_h) = (190.0, 520.0, 22.0);
    let h = 40.0 + row_h * c.rows.len() as f64;
    let (lo, hi) = log_bounds(c.rows.iter().flat_map(|r| {
        let (a, b) = speedup_ci(r);
        let w = r.band.width;
        [a, b, r.speedup, 1.0 / (1.0 + w), 1.0 + w]
    }));
    let x = |v: f64| label_w + (v.log2() - lo.log2()) / (hi.log2() - lo.log2()) * plot_w;
    let mut s = format!(
        r#"<svg id="chart-speedup" class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="speed-up per benchmark">"#,
        w = label_w + plot_w + 20.0
    );
    let mut t = lo;
    while t <= hi * 1.0001 {
        let _ = write!(
            s,
            r##"<line x1="{0:.1}" y1="20" x2="{0:.1}" y2="{1:.1}" stroke="#ddd"/><text x="{0:.1}" y="14" font-size="11" text-anchor="middle">{2}×</text>"##,
            x(t),
            h - 10.0,
            num(t)
        );
        t *= 2.0;
    }
    let _ = write!(
        s,
        r##"<line x1="{0:.1}" y1="20" x2="{0:.1}" y2="{1:.1}" stroke="#333" stroke-width="1.5"/>"##,
        x(1.0),
        h - 10.0
    );
    for (i, r) in c.rows.iter().enumerate() {
        let y = 32.0 + row_h * i as f64;
        let (a, b) = speedup_ci(r);
        let col = colour(r.verdict);
        let w = r.band.width;
        let _ = write!(
            s,
            r##"<rect class="band" x="{bx:.1}" y="{by:.1}" width="{bw:.1}" height="16" fill="#eceff1"><title>band {pc} ({src})</title></rect>"##,
            bx = x(1.0 / (1.0 + w)),
            by = y - 8.0,
            bw = x(1.0 + w) - x(1.0 / (1.0 + w)),
            pc = percent(w),
            src = esc(&r.band.source),
        );
        let _ = write!(
            s,
            r#"<text x="{lx}" y="{ty:.1}" font-size="12" text-anchor="end">{name}</text><line x1="{x1:.1}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="{col}" stroke-width="2"/><circle cx="{cx:.1}" cy="{y:.1}" r="5" fill="{col}"><title>{name}: {vt} (speed-up {sp:.3}, 95% CI [{a:.3}, {b:.3}], p = {p})</title></circle>"#,
            lx = label_w - 8.0,
            ty = y + 4.0,
            name = esc(&r.benchmark),
            x1 = x(a),
            x2 = x(b),
            cx = x(r.speedup),
            vt = esc(&verdict_text(r)),
            sp = r.speedup,
            p = p_text(r.p_value),
        );
    }
    s.push_str("</svg>");
    s
}

fn categories(c: &Comparison) -> String {
    let (label_w, plot_w, row_h) = (120.0, 400.0, 24.0);
    let n = c.summary.categories.len() + 1;
    let h = 30.0 + row_h * n as f64;
    let (lo, hi) = log_bounds(
        c.summary
            .categories
            .iter()
            .flat_map(|k| [k.geomean_speedup, k.geomean_ci95[0], k.geomean_ci95[1]])
            .chain(c.summary.geomean_ci95),
    );
    let x = |v: f64| label_w + (v.log2() - lo.log2()) / (hi.log2() - lo.log2()) * plot_w;
    let mut s = format!(
        r#"<svg id="chart-categories" class="chart" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="geometric mean per category">"#,
        w = label_w + plot_w + 70.0
    );
    let items = c
        .summary
        .categories
        .iter()
        .map(|k| (k.category.as_str(), k.geomean_speedup, k.geomean_ci95))
        .chain([("all", c.summary.geomean_speedup, c.summary.geomean_ci95)]);
    for (i, (name, v, ci)) in items.enumerate() {
        let y = 20.0 + row_h * i as f64;
        let (x0, x1) = (x(1.0), x(v));
        let col = if v >= 1.0 { GREEN } else { RED };
        let _ = write!(
            s,
            r#"<text x="{lx}" y="{ty:.1}" font-size="12" text-anchor="end">{name}</text><rect x="{rx:.1}" y="{y:.1}" width="{rw:.1}" height="16" fill="{col}"><title>{name}: {v:.3}</title></rect><text x="{tx:.1}" y="{ty:.1}" font-size="11">{v:.3}×</text>"#,
            lx = label_w - 8.0,
            ty = y + 12.0,
            name = esc(name),
            rx = x0.min(x1),
            rw = (x1 - x0).abs().max(1.0),
            tx = x0.max(x1).max(x(ci[1])) + 4.0,
        );
        let _ = write!(
            s,
            r##"<line class="ci" x1="{:.1}" y1="{yl:.1}" x2="{:.1}" y2="{yl:.1}" stroke="#333" stroke-width="1.5"><title>{name}: 95% CI [{:.3}, {:.3}]</title></line>"##,
            x(ci[0]),
            x(ci[1]),
            ci[0],
            ci[1],
            yl = y + 8.0,
            name = esc(name),
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{0:.1}" y1="14" x2="{0:.1}" y2="{1:.1}" stroke="#333"/></svg>"##,
        x(1.0),
        h - 6.0
    );
    s
}

/// Every raw sample of both sides on one axis.
fn strip(r: &Row, a: &str, b: &str) -> String {
    let (w, h) = (300.0, 70.0);
    let all = r.samples_a.iter().chain(&r.samples_b);
    let lo = all.clone().copied().fold(f64::INFINITY, f64::min);
    let hi = all.copied().fold(f64::NEG_INFINITY, f64::max);
    let span = if hi > lo { hi - lo } else { 1.0 };
    let x = |v: f64| 10.0 + (v - lo) / span * (w - 20.0);
    let mut s = format!(
        r#"<svg class="chart strip" width="{w}" height="{h}" viewBox="0 0 {w} {h}"><text x="4" y="12" font-size="11">{name} ({unit})</text>"#,
        name = esc(&r.benchmark),
        unit = esc(&r.unit)
    );
    for (y, samples, col, who, med) in [
        (28.0, &r.samples_a, BLUE, a, r.median_a),
        (50.0, &r.samples_b, ORANGE, b, r.median_b),
    ] {
        for v in samples {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{y}" r="3.5" fill="{col}" fill-opacity="0.7"><title>{}: {}</title></circle>"#,
                x(*v),
                esc(who),
                num(*v)
            );
        }
        let _ = write!(
            s,
            r#"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="{col}" stroke-width="2"/>"#,
            x(med),
            y - 8.0,
            y + 8.0
        );
    }
    let _ = write!(
        s,
        r#"<text x="10" y="66" font-size="9">{}</text><text x="{}" y="66" font-size="9" text-anchor="end">{}</text></svg>"#,
        num(lo),
        w - 10.0,
        num(hi)
    );
    s
}

const SCRIPT: &str = r#"
(function () {
  var table = document.getElementById('results');
  var heads = table.tHead.rows[0].cells;
  for (var i = 0; i < heads.length; i++) {
    heads[i].addEventListener('click', (function (col) {
      return function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var dir = table.getAttribute('data-sort') === String(col) ? -1 : 1;
        rows.sort(function (x, y) {
          var a = x.cells[col].getAttribute('data-v') || x.cells[col].textContent;
          var b = y.cells[col].getAttribute('data-v') || y.cells[col].textContent;
          var na = parseFloat(a), nb = parseFloat(b);
          if (!isNaN(na) && !isNaN(nb)) { return (na - nb) * dir; }
          return a.localeCompare(b) * dir;
        });
        rows.forEach(function (r) { body.appendChild(r); });
        table.setAttribute('data-sort', dir === 1 ? String(col) : '');
      };
    })(i));
  }
  document.body.setAttribute('data-ready', String(document.querySelectorAll('svg.chart').length));
})();
"#;

pub fn render(c: &Comparison) -> String {
    let (a, b) = (esc(&c.a.label), esc(&c.b.label));
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>archscope bench: {a} vs {b}</title><style>
body{{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fff}}
table{{border-collapse:collapse;font-size:13px}}td,th{{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}}
th{{cursor:pointer;background:#f5f5f5}}td.n{{text-align:right;font-variant-numeric:tabular-nums}}
.faster{{color:{GREEN};font-weight:600}}.slower{{color:{RED};font-weight:600}}.equivalent{{color:{GREY}}}.inconclusive{{color:{AMBER}}}
.grid{{display:flex;flex-wrap:wrap;gap:8px}}.warn{{color:#8d6e00}}
</style></head><body><h1>archscope bench: {a} vs {b}</h1>"#
    );
    s.push_str("<table><tr><th></th><th>A</th><th>B</th></tr>");
    let ha = &c.a.host;
    let hb = &c.b.host;
    for (k, va, vb) in [
        ("architecture", ha.goarch.clone(), hb.goarch.clone()),
        (
            "CPU",
            format!("{} {}", ha.cpu_vendor, ha.cpu_model),
            format!("{} {}", hb.cpu_vendor, hb.cpu_model),
        ),
        ("CPUs", ha.cpus.to_string(), hb.cpus.to_string()),
        ("MHz", num(ha.cpu_mhz), num(hb.cpu_mhz)),
        (
            "memory",
            format!("{} MiB", ha.memory_bytes >> 20),
            format!("{} MiB", hb.memory_bytes >> 20),
        ),
        ("kernel", ha.kernel.clone(), hb.kernel.clone()),
        ("OS", ha.os.clone(), hb.os.clone()),
        (
            "virtualization",
            ha.virtualization.clone(),
            hb.virtualization.clone(),
        ),
        ("host", ha.hostname.clone(), hb.hostname.clone()),
        ("run", c.a.started_at.clone(), c.b.started_at.clone()),
        ("results", c.a.origin.clone(), c.b.origin.clone()),
    ] {
        let _ = write!(
            s,
            "<tr><td>{k}</td><td>{}</td><td>{}</td></tr>",
            esc(&va),
            esc(&vb)
        );
    }
    s.push_str("</table><ul id=\"method\">");
    for side in [&c.a, &c.b] {
        let _ = write!(s, "<li>samples of {}</li>", esc(&side_method(side)));
    }
    let _ = write!(
        s,
        "<li>compared: {}; band: {}</li></ul>",
        esc(c.sample_unit),
        esc(&band_text(c))
    );
    let _ = write!(
        s,
        "<h2>Speed-up of {b} over {a}</h2><p>Dot: ratio of medians as a speed-up (&gt; 1: {b} faster); bar: 95&nbsp;% bootstrap interval; grey box: the equivalence band. Green/red: a difference (Mann–Whitney p &lt; 0.05 and the whole interval beyond the band); grey: equivalent (the interval inside the band); amber: inconclusive.</p>{}",
        forest(c)
    );
    let _ = write!(
        s,
        "<h2>Geometric mean per category</h2><p>Bar: the geometric mean of the speed-ups; line: its 95&nbsp;% bootstrap interval.</p>{}",
        categories(c)
    );
    let _ = write!(
        s,
        "<h2>Results</h2><table id=\"results\"><thead><tr><th>benchmark</th><th>unit</th><th>{a}</th><th>{b}</th><th>{b}/{a}</th><th>95% CI</th><th>p</th><th>band</th><th>{b} is</th><th>PMU {a}</th><th>PMU {b}</th></tr></thead><tbody>"
    );
    for r in &c.rows {
        let class = r.verdict.class();
        let _ = write!(
            s,
            r#"<tr><td>{}</td><td>{}</td><td class="n" data-v="{}">{}</td><td class="n" data-v="{}">{}</td><td class="n" data-v="{}">{:.3}</td><td class="n">[{:.3}, {:.3}]</td><td class="n" data-v="{}">{}</td><td class="n" data-v="{}">{}</td><td class="{class}" data-v="{}">{}</td><td>{}</td><td>{}</td></tr>"#,
            esc(&r.benchmark),
            esc(&r.unit),
            r.median_a,
            num(r.median_a),
            r.median_b,
            num(r.median_b),
            r.ratio,
            r.ratio,
            r.ci95[0],
            r.ci95[1],
            r.p_value,
            p_text(r.p_value),
            r.band.width,
            percent(r.band.width),
            r.speedup,
            esc(&verdict_text(r)),
            esc(&pmu_text(&r.pmu_a)),
            esc(&pmu_text(&r.pmu_b)),
        );
    }
    s.push_str("</tbody></table>");
    let _ = write!(
        s,
        "<h2>Every repetition</h2><p><span style=\"color:{BLUE}\">●</span> {a} &nbsp; <span style=\"color:{ORANGE}\">●</span> {b}: every repetition; bars: the medians compared ({}).</p><div class=\"grid\">",
        esc(c.sample_unit)
    );
    for r in &c.rows {
        s.push_str(&strip(r, &c.a.label, &c.b.label));
    }
    s.push_str("</div>");
    if !c.warnings.is_empty() {
        s.push_str("<h2>Warnings</h2><ul class=\"warn\">");
        for w in &c.warnings {
            let _ = write!(s, "<li>{}</li>", esc(w));
        }
        s.push_str("</ul>");
    }
    let _ = writeln!(
        s,
        "<p><small>ratio = {}; {}; {}; {}. Generated by archscope agent {}.</small></p><script>{SCRIPT}</script></body></html>",
        esc(c.method.ratio),
        esc(&c.method.ci),
        esc(c.method.test),
        esc(&c.method.verdict),
        env!("CARGO_PKG_VERSION")
    );
    s
}
