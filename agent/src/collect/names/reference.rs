//! docs/metrics.md's metric table, generated from the catalogue so the docs cannot drift
//! from what the agent exports. The prose around the markers is written by hand.
//! `cargo xtask docs` (this test with ARCHSCOPE_BLESS=1) rewrites the table.
use std::path::PathBuf;

use super::{ALL, MetricDef};
use crate::collect::model::Kind;

const BEGIN: &str = "<!-- generated: cargo xtask docs -->\n";
const END: &str = "<!-- end generated -->\n";

fn row(d: &MetricDef) -> String {
    let kind = match d.kind {
        Kind::Counter => "counter",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
    };
    let otlp_type = match d.kind {
        Kind::Counter => "sum",
        Kind::Gauge if d.otlp.up_down => "non-monotonic sum",
        Kind::Gauge => "gauge",
        Kind::Histogram => "histogram",
    };
    let labels: Vec<String> = d
        .identity
        .then(|| "identity".to_string())
        .into_iter()
        .chain(d.labels.iter().map(|l| format!("`{l}`")))
        .collect();
    format!(
        "| `{}` | {kind} | {} | `{}` | {otlp_type} | `{}` | {} | {} |\n",
        d.prometheus_name(),
        labels.join(", "),
        d.otlp.name,
        d.otlp.unit,
        d.owner.name(),
        d.help.replace('|', "\\|"),
    )
}

fn table() -> String {
    let mut out = String::from(
        "| Prometheus | type | labels | OTLP | OTLP type | OTLP unit | feature | meaning |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for d in ALL {
        out.push_str(&row(d));
    }
    out
}

/// `text` with the part between the markers replaced by `table`; `None` without markers.
fn with_table(text: &str, table: &str) -> Option<String> {
    let start = text.find(BEGIN)? + BEGIN.len();
    let end = start + text[start..].find(END)?;
    Some(format!("{}{table}{}", &text[..start], &text[end..]))
}

#[test]
fn metrics_doc_lists_the_catalogue() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/metrics.md");
    let committed = std::fs::read_to_string(&path).unwrap();
    let generated = with_table(&committed, &table())
        .unwrap_or_else(|| panic!("{} lacks the markers {BEGIN:?} … {END:?}", path.display()));
    if std::env::var_os("ARCHSCOPE_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("wrote {}", path.display());
    } else {
        assert!(
            committed == generated,
            "docs/metrics.md's metric table is stale: run `cargo xtask docs`"
        );
    }
}

#[test]
fn table_goes_between_the_markers() {
    let text = format!("intro\n{BEGIN}old\n{END}outro\n");
    assert_eq!(
        with_table(&text, "new\n").unwrap(),
        format!("intro\n{BEGIN}new\n{END}outro\n")
    );
    assert_eq!(with_table("no markers\n", "new\n"), None);
}
