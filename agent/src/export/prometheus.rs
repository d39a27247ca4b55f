//! Prometheus/OpenMetrics text for /metrics, encoded by prometheus-client from a snapshot.
//! OpenMetrics to clients that ask for it (Prometheus does), the Prometheus text format
//! 0.0.4 to every other client, as node_exporter does.
use std::sync::Arc;

use prometheus_client::collector::Collector as PromCollector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit as PromUnit};

use crate::collect::model::{Kind, Unit};
use crate::collect::{Collector, Family, Snapshot, Value};

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

/// Render a snapshot as OpenMetrics text.
pub fn render(snapshot: Snapshot) -> Result<String, std::fmt::Error> {
    let mut registry = Registry::with_prefix("archscope");
    registry.register_collector(Box::new(Frozen(Arc::new(snapshot))));
    let mut out = String::with_capacity(64 * 1024);
    prometheus_client::encoding::text::encode(&mut out, &registry)?;
    Ok(out)
}

/// Render a fresh snapshot from the collector in `format`.
pub fn scrape(c: &Collector, format: Format) -> Result<String, std::fmt::Error> {
    let text = render(c.snapshot())?;
    Ok(match format {
        Format::OpenMetrics => text,
        Format::Text => openmetrics_to_text(&text),
    })
}

/// The text format 0.0.4 from prometheus-client's OpenMetrics output. The samples are
/// the same; what differs is metadata: a counter's HELP and TYPE name its `_total`
/// sample, there are no UNIT lines and no `# EOF`, and HELP escapes no quotes.
fn openmetrics_to_text(om: &str) -> String {
    let mut out = String::with_capacity(om.len());
    let mut lines = om.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            // HELP comes first; the family's TYPE line follows it
            let counter = lines
                .peek()
                .is_some_and(|t| *t == format!("# TYPE {name} counter"));
            let suffix = if counter { "_total" } else { "" };
            out.push_str(&format!(
                "# HELP {name}{suffix} {}\n",
                help.replace("\\\"", "\"")
            ));
            continue;
        }
        if let Some(name) = line
            .strip_prefix("# TYPE ")
            .and_then(|r| r.strip_suffix(" counter"))
        {
            out.push_str(&format!("# TYPE {name}_total counter\n"));
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[derive(Debug)]
struct Frozen(Arc<Snapshot>);

impl PromCollector for Frozen {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in &self.0.families {
            if f.series.is_empty() {
                continue;
            }
            encode_family(&mut encoder, f)?;
        }
        Ok(())
    }
}

fn encode_family(encoder: &mut DescriptorEncoder, f: &Family) -> Result<(), std::fmt::Error> {
    let unit = f.unit.map(|u| match u {
        Unit::Seconds => PromUnit::Seconds,
        Unit::Bytes => PromUnit::Bytes,
    });
    let ty = match f.kind {
        Kind::Counter => MetricType::Counter,
        Kind::Gauge => MetricType::Gauge,
        Kind::Histogram => MetricType::Histogram,
    };
    let mut metric = encoder.encode_descriptor(f.name, f.help, unit.as_ref(), ty)?;
    for s in &f.series {
        let labels: Vec<(&str, &str)> = s.labels.iter().map(|(k, v)| (*k, &**v)).collect();
        let mut enc = metric.encode_family(&labels)?;
        match (&s.value, f.kind) {
            (Value::Counter(v), _) => enc.encode_counter::<NoLabelSet, _, u64>(v, None)?,
            (Value::Gauge(v), Kind::Counter) => {
                enc.encode_counter::<NoLabelSet, _, f64>(v, None)?
            }
            (Value::Gauge(v), _) => enc.encode_gauge(v)?,
            (
                Value::Histogram {
                    sum,
                    count,
                    buckets,
                },
                _,
            ) => enc.encode_histogram::<NoLabelSet>(*sum, *count, buckets, None)?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::model::{Series, label};
    use crate::collect::names;

    fn sample() -> Snapshot {
        let mut calls = names::SYSCALLS.family_empty();
        calls.series.push(Series {
            labels: vec![("cgroup", label("/a")), ("syscall", label("getppid"))],
            value: Value::Counter(1000),
        });
        let mut d = names::SYSCALL_DURATION.family_empty();
        d.series.push(Series {
            labels: vec![("cgroup", label("/a")), ("syscall", label("getppid"))],
            value: Value::Histogram {
                sum: 0.5,
                count: 3,
                buckets: vec![(1e-6, 1), (2e-6, 2), (f64::INFINITY, 0)],
            },
        });
        let mut rss = names::AGENT_RSS.family_empty();
        rss.series.push(Series {
            labels: vec![],
            value: Value::Gauge(5e7),
        });
        Snapshot {
            families: vec![calls, d, rss],
        }
    }

    #[test]
    fn names_units_and_cumulative_buckets() {
        let text = render(sample()).unwrap();
        assert!(
            text.contains("archscope_syscalls_total{cgroup=\"/a\",syscall=\"getppid\"} 1000\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE archscope_syscall_duration_seconds histogram"),
            "{text}"
        );
        assert!(text.contains("archscope_syscall_duration_seconds_bucket{le=\"0.000002\",cgroup=\"/a\",syscall=\"getppid\"} 3"), "{text}");
        assert!(text.contains("archscope_syscall_duration_seconds_bucket{le=\"+Inf\",cgroup=\"/a\",syscall=\"getppid\"} 3"), "{text}");
        assert!(
            text.contains(
                "archscope_syscall_duration_seconds_count{cgroup=\"/a\",syscall=\"getppid\"} 3"
            ),
            "{text}"
        );
    }

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

    #[test]
    fn the_text_format_names_counters_by_their_sample_and_has_no_units_or_eof() {
        let om = render(sample()).unwrap();
        let text = openmetrics_to_text(&om);
        let expected_metadata = [
            "# HELP archscope_syscalls_total Syscalls entered, by cgroup and syscall.",
            "# TYPE archscope_syscalls_total counter",
            "# TYPE archscope_syscall_duration_seconds histogram",
            "# TYPE archscope_agent_resident_memory_bytes gauge",
        ];
        for line in expected_metadata {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
        assert!(
            !text.contains("# UNIT") && !text.contains("# EOF"),
            "{text}"
        );
        // the samples are the same lines in the same order
        let samples = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(samples(&om), samples(&text));
        assert!(text.ends_with('\n'));
    }
}
