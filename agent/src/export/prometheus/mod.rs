//! /metrics: OpenMetrics to clients that ask for it (Prometheus does), the Prometheus text
//! format 0.0.4 to every other client, as node_exporter does. The exposition is streamed
//! from the snapshot in chunks (text.rs), never held whole.
mod text;

#[cfg(test)]
mod reference_test;

use crate::collect::{Collector, Snapshot};

/// The exposition formats /metrics speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    /// The Prometheus text format, version 0.0.4.
    Text,
}

impl Format {
    /// OpenMetrics when the `Accept` header names it with a non-zero weight; otherwise
    /// the text format, which every scraper reads.
    pub fn negotiate(accept: Option<&str>) -> Format {
        let asks_openmetrics = accept.unwrap_or("").split(',').any(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            media.eq_ignore_ascii_case("application/openmetrics-text") && !refused
        });
        if asks_openmetrics {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
        }
    }
}

/// The whole exposition of `snapshot` as one string (tests, and the bench's own check).
pub fn render(snapshot: &Snapshot, format: Format) -> String {
    let mut out = Vec::new();
    encode(snapshot, format, |chunk| {
        out.extend_from_slice(&chunk);
        true
    });
    String::from_utf8(out).expect("the exposition is written from UTF-8 strings")
}

/// Encode `snapshot` in chunks of about `text::CHUNK` bytes, handing each to `send`;
/// stops when `send` returns false (the scraper hung up).
pub fn encode(snapshot: &Snapshot, format: Format, send: impl FnMut(Vec<u8>) -> bool) {
    let mut w = text::Writer::new(format, send);
    for f in &snapshot.families {
        if !w.family(f) {
            return;
        }
    }
    w.finish();
}

/// A fresh snapshot from the collector, streamed in `format`. The collector's lock is
/// held only while the snapshot is built, not while it is written out.
pub fn scrape(c: &Collector, format: Format, send: impl FnMut(Vec<u8>) -> bool) {
    let snapshot = c.snapshot();
    encode(&snapshot, format, send);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accept headers as scrapers send them.
    #[test]
    fn openmetrics_only_to_clients_that_ask_for_it() {
        let prometheus_2_42 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
        for (accept, want) in [
            (Some(prometheus_2_42), Format::OpenMetrics),
            (Some(prometheus_3), Format::OpenMetrics),
            (
                Some("text/plain;version=0.0.4;q=1.0,*/*;q=0.1"),
                Format::Text,
            ),
            (Some("*/*"), Format::Text),
            (Some("application/openmetrics-text;q=0"), Format::Text),
            (None, Format::Text),
        ] {
            assert_eq!(Format::negotiate(accept), want, "{accept:?}");
        }
    }
}
