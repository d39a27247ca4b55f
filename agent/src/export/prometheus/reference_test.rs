//! The streamed exposition against prometheus-client's, for the same snapshot: the same
//! lines in the same order, byte for byte, in both formats. prometheus-client is the
//! reference the agent used before it streamed; it is kept here, in the tests, for that.
use std::sync::Arc;

use prometheus_client::collector::Collector as PromCollector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit as PromUnit};

use super::{Format, encode, render};
use crate::collect::model::{Family, Kind, Series, Snapshot, Unit, Value, label};
use crate::collect::names;

fn series(labels: &[(&'static str, &str)], value: Value) -> Series {
    Series {
        labels: labels.iter().map(|(k, v)| (*k, label(*v))).collect(),
        value,
    }
}

fn histogram(sum: f64, counts: [u64; 3]) -> Value {
    Value::Histogram {
        sum,
        count: counts.iter().sum(),
        buckets: vec![
            (1e-6, counts[0]),
            (2.5e-4, counts[1]),
            (f64::INFINITY, counts[2]),
        ],
    }
}

/// Every shape the agent exports: counters, a float counter, gauges with and without
/// labels, histograms sharing bounds, and label values that need escaping.
fn sample() -> Snapshot {
    let a = [("cgroup", "/a"), ("syscall", "getppid")];
    let odd = [
        ("cgroup", "/k8s/\"quoted\"\\path\nnext"),
        ("syscall", "read"),
    ];
    let mut calls = names::SYSCALLS.family_empty();
    calls.series.push(series(&a, Value::Counter(1000)));
    calls.series.push(series(&odd, Value::Counter(u64::MAX)));
    let mut d = names::SYSCALL_DURATION.family_empty();
    d.series.push(series(&a, histogram(0.5, [1, 2, 0])));
    d.series.push(series(&odd, histogram(1e-9, [0, 0, 7])));
    let mut cpu = names::CPU_TIME.family_empty();
    cpu.series
        .push(series(&[("cgroup", "/a")], Value::Gauge(1.002384)));
    let mut rss = names::AGENT_RSS.family_empty();
    rss.series.push(series(&[], Value::Gauge(5e7)));
    let empty = names::SYSCALL_ERRORS.family_empty();
    Snapshot {
        families: vec![calls, d, empty, cpu, rss],
    }
}

#[derive(Debug)]
struct Frozen(Arc<Snapshot>);

impl PromCollector for Frozen {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for f in self.0.families.iter().filter(|f| !f.series.is_empty()) {
            reference_family(&mut encoder, f)?;
        }
        Ok(())
    }
}

fn reference_family(encoder: &mut DescriptorEncoder, f: &Family) -> Result<(), std::fmt::Error> {
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

/// prometheus-client's OpenMetrics. It writes an empty label set as `{}`, which the
/// streamed encoder leaves out (both parse the same).
fn reference_openmetrics(snapshot: &Snapshot) -> String {
    let mut registry = Registry::with_prefix("archscope");
    registry.register_collector(Box::new(Frozen(Arc::new(snapshot.clone()))));
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, &registry).unwrap();
    out.replace("{} ", " ")
}

/// The text format 0.0.4 from OpenMetrics, as the agent made it before it streamed: the
/// same samples; a counter's HELP and TYPE name its `_total` sample, no UNIT, no EOF.
fn reference_text(om: &str) -> String {
    let mut out = String::new();
    let mut lines = om.lines().peekable();
    while let Some(line) = lines.next() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            let counter = lines
                .peek()
                .is_some_and(|t| *t == format!("# TYPE {name} counter"));
            let suffix = if counter { "_total" } else { "" };
            out.push_str(&format!("# HELP {name}{suffix} {help}\n"));
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

#[test]
fn openmetrics_is_prometheus_clients_byte_for_byte() {
    let snap = sample();
    assert_eq!(
        render(&snap, Format::OpenMetrics),
        reference_openmetrics(&snap)
    );
}

#[test]
fn the_text_format_is_the_same_samples_with_text_metadata() {
    let snap = sample();
    let text = render(&snap, Format::Text);
    assert_eq!(text, reference_text(&reference_openmetrics(&snap)));
    for line in [
        "# HELP archscope_syscalls_total Syscalls entered, by cgroup and syscall.",
        "# TYPE archscope_syscalls_total counter",
        "# TYPE archscope_syscall_duration_seconds histogram",
        "archscope_syscall_duration_seconds_bucket{le=\"0.00025\",cgroup=\"/a\",syscall=\"getppid\"} 3",
        "archscope_syscall_duration_seconds_bucket{le=\"+Inf\",cgroup=\"/a\",syscall=\"getppid\"} 3",
        "archscope_syscalls_total{cgroup=\"/k8s/\\\"quoted\\\"\\\\path\\nnext\",syscall=\"read\"} 18446744073709551615",
        "archscope_agent_resident_memory_bytes 50000000.0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    assert!(
        !text.contains("# UNIT") && !text.contains("# EOF"),
        "{text}"
    );
}

/// A large exposition leaves in several chunks that join to the whole, none much past
/// the chunk size; a reader that hangs up stops the encoding.
#[test]
fn streams_in_bounded_chunks_and_stops_when_the_reader_leaves() {
    let mut d = names::SYSCALL_DURATION.family_empty();
    for i in 0..3000 {
        let cgroup = format!("/kubepods/pod{i}");
        d.series.push(series(
            &[("cgroup", &cgroup), ("syscall", "futex")],
            histogram(0.25, [i, 1, 2]),
        ));
    }
    let snap = Snapshot { families: vec![d] };
    let whole = render(&snap, Format::OpenMetrics);
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    encode(&snap, Format::OpenMetrics, |c| {
        chunks.push(c);
        true
    });
    assert!(chunks.len() > 3, "{} chunks", chunks.len());
    let limit = super::text::CHUNK + 4096;
    assert!(chunks.iter().all(|c| c.len() <= limit));
    assert_eq!(chunks.concat(), whole.as_bytes());
    let mut sent = 0;
    encode(&snap, Format::OpenMetrics, |_| {
        sent += 1;
        false
    });
    assert_eq!(sent, 1, "nothing is encoded after the reader left");
}
