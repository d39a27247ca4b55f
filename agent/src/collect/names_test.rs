//! Every `archscope_*` name the dashboards and the docs mention is one the agent exports:
//! boards and docs are checked against the one list of metrics (`names::ALL`).
use std::collections::BTreeSet;
use std::path::Path;

use super::model::Kind;
use super::names::{ALL, MetricDef};

/// The sample names Prometheus sees for `def`.
fn exposed(def: &MetricDef) -> Vec<String> {
    let name = def.prometheus_name();
    match def.kind {
        Kind::Counter => {
            let base = name.trim_end_matches("_total").to_string();
            vec![name, base]
        }
        Kind::Gauge => vec![name],
        Kind::Histogram => ["_bucket", "_sum", "_count", ""]
            .iter()
            .map(|s| format!("{name}{s}"))
            .collect(),
    }
}

/// `archscope_…` words of `text` (metric names; a trailing `_` marks a prefix, as in
/// "`archscope_otlp_*`", and is skipped).
fn mentioned(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("archscope_") {
        let word: String = rest[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        rest = &rest[i + word.len()..];
        if !word.ends_with('_') {
            out.insert(word);
        }
    }
    out
}

/// Names that are not metrics of the agent: program names (the floor programs of `agent
/// bench overhead` too), crate names.
fn is_metric_name(word: &str) -> bool {
    archscope_common::Program::from_name(word).is_none()
        && !word.starts_with("archscope_floor_")
        && !word.starts_with("archscope_agent")
        && !word.starts_with("archscope_tests")
        && !word.starts_with("archscope_common")
        && !word.starts_with("archscope_probes")
}

#[test]
fn dashboards_and_docs_name_only_exported_metrics() {
    let exported: BTreeSet<String> = ALL.iter().flat_map(|d| exposed(d)).collect();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = vec![repo.join("README.md")];
    for dir in ["dashboards", "docs"] {
        let mut entries: Vec<_> = std::fs::read_dir(repo.join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json" || x == "md"))
            .collect();
        entries.sort();
        files.extend(entries);
    }
    let mut unknown = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for name in mentioned(&text) {
            if is_metric_name(&name) && !exported.contains(&name) {
                unknown.push(format!("{}: {name}", f.display()));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "names no configuration of the agent exports:\n{}",
        unknown.join("\n")
    );
}

#[test]
fn mentioned_names_are_whole_words() {
    let words = mentioned("rate(archscope_syscalls_total{a=\"b\"}[5m]) and `archscope_otlp_*`");
    assert_eq!(
        words.into_iter().collect::<Vec<_>>(),
        vec!["archscope_syscalls_total".to_string()]
    );
}
