//! The exposition written straight into chunks of about `CHUNK` bytes: no whole-response
//! string, one label encoding per series (a histogram's `_sum`, `_count` and buckets reuse
//! it), each bucket bound formatted once per scrape. Numbers are formatted as
//! prometheus-client formats them (itoa for integers, dtoa for floats), and
//! reference_test.rs holds the output equal to prometheus-client's for the same snapshot.
use super::Format;
use crate::collect::model::{Family, Kind, Unit, Value};

/// Chunk size: large enough that a scrape is a few dozen writes, small enough that the
/// chunks in flight (the response channel holds a few) stay far below the exposition.
pub const CHUNK: usize = 64 * 1024;

const PREFIX: &str = "archscope_";

/// Writes families into chunks handed to `send`; `send` says whether the reader still
/// wants more (a scraper that hung up stops the encoding).
pub struct Writer<F: FnMut(Vec<u8>) -> bool> {
    format: Format,
    send: F,
    open: bool,
    buf: Vec<u8>,
    /// The family's full name: prefix, name and unit suffix.
    name: Vec<u8>,
    /// One series' labels, `k="v",…` without braces.
    labels: Vec<u8>,
    /// Bucket bounds met this scrape, formatted as `le` values.
    bounds: Vec<(u64, Box<str>)>,
}

impl<F: FnMut(Vec<u8>) -> bool> Writer<F> {
    pub fn new(format: Format, send: F) -> Self {
        Writer {
            format,
            send,
            open: true,
            buf: Vec::with_capacity(CHUNK + CHUNK / 8),
            name: Vec::with_capacity(96),
            labels: Vec::with_capacity(512),
            bounds: Vec::new(),
        }
    }

    /// Write one family; false once the reader is gone.
    pub fn family(&mut self, f: &Family) -> bool {
        if f.series.is_empty() || !self.open {
            return self.open;
        }
        self.name.clear();
        self.name.extend_from_slice(PREFIX.as_bytes());
        self.name.extend_from_slice(f.name.as_bytes());
        let unit = f.unit.map(|u| match u {
            Unit::Seconds => "seconds",
            Unit::Bytes => "bytes",
        });
        if let Some(u) = unit {
            self.name.push(b'_');
            self.name.extend_from_slice(u.as_bytes());
        }
        self.metadata(f, unit);
        for s in &f.series {
            self.labels.clear();
            for (i, (k, v)) in s.labels.iter().enumerate() {
                if i > 0 {
                    self.labels.push(b',');
                }
                self.labels.extend_from_slice(k.as_bytes());
                self.labels.extend_from_slice(b"=\"");
                escape_into(&mut self.labels, v, true);
                self.labels.push(b'"');
            }
            match &s.value {
                Value::Counter(v) => self.sample("_total", itoa::Buffer::new().format(*v)),
                Value::Gauge(v) if f.kind == Kind::Counter => {
                    self.sample("_total", dtoa::Buffer::new().format(*v))
                }
                Value::Gauge(v) => self.sample("", dtoa::Buffer::new().format(*v)),
                Value::Histogram {
                    sum,
                    count,
                    buckets,
                } => self.histogram(*sum, *count, buckets),
            }
            if self.buf.len() >= CHUNK {
                self.flush();
                if !self.open {
                    return false;
                }
            }
        }
        true
    }

    /// End the exposition and hand over what is left; false if the reader is gone.
    pub fn finish(mut self) -> bool {
        if self.format == Format::OpenMetrics {
            self.buf.extend_from_slice(b"# EOF\n");
        }
        if self.open && !self.buf.is_empty() {
            self.flush();
        }
        self.open
    }

    fn flush(&mut self) {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + CHUNK / 8));
        self.open = (self.send)(chunk);
    }

    /// HELP, TYPE and (OpenMetrics) UNIT. The text format names a counter by its
    /// `_total` sample and has no UNIT line.
    fn metadata(&mut self, f: &Family, unit: Option<&str>) {
        let om = self.format == Format::OpenMetrics;
        let total: &[u8] = if !om && f.kind == Kind::Counter {
            b"_total"
        } else {
            b""
        };
        self.buf.extend_from_slice(b"# HELP ");
        self.buf.extend_from_slice(&self.name);
        self.buf.extend_from_slice(total);
        self.buf.push(b' ');
        escape_into(&mut self.buf, f.help, om);
        self.buf.extend_from_slice(b"\n# TYPE ");
        self.buf.extend_from_slice(&self.name);
        self.buf.extend_from_slice(total);
        self.buf.extend_from_slice(match f.kind {
            Kind::Counter => b" counter\n",
            Kind::Gauge => b" gauge\n",
            Kind::Histogram => b" histogram\n",
        });
        if let (true, Some(u)) = (om, unit) {
            self.buf.extend_from_slice(b"# UNIT ");
            self.buf.extend_from_slice(&self.name);
            self.buf.push(b' ');
            self.buf.extend_from_slice(u.as_bytes());
            self.buf.push(b'\n');
        }
    }

    /// `name{labels} value`.
    fn sample(&mut self, suffix: &str, value: &str) {
        self.buf.extend_from_slice(&self.name);
        self.buf.extend_from_slice(suffix.as_bytes());
        if !self.labels.is_empty() {
            self.buf.push(b'{');
            self.buf.extend_from_slice(&self.labels);
            self.buf.push(b'}');
        }
        self.buf.push(b' ');
        self.buf.extend_from_slice(value.as_bytes());
        self.buf.push(b'\n');
    }

    /// `_sum`, `_count`, then the cumulative buckets with `le` first.
    fn histogram(&mut self, sum: f64, count: u64, buckets: &[(f64, u64)]) {
        self.sample("_sum", dtoa::Buffer::new().format(sum));
        self.sample("_count", itoa::Buffer::new().format(count));
        let mut cumulative = 0u64;
        for (i, (bound, n)) in buckets.iter().enumerate() {
            cumulative += n;
            self.buf.extend_from_slice(&self.name);
            self.buf.extend_from_slice(b"_bucket{le=\"");
            let le = bound_text(&mut self.bounds, i, *bound);
            self.buf.extend_from_slice(le.as_bytes());
            self.buf.push(b'"');
            if !self.labels.is_empty() {
                self.buf.push(b',');
                self.buf.extend_from_slice(&self.labels);
            }
            self.buf.extend_from_slice(b"} ");
            self.buf
                .extend_from_slice(itoa::Buffer::new().format(cumulative).as_bytes());
            self.buf.push(b'\n');
        }
    }
}

/// The `i`th bucket bound as an `le` value, formatted once per scrape: the agent's
/// histograms share one set of bounds, so the cache by position nearly always hits.
fn bound_text(cache: &mut Vec<(u64, Box<str>)>, i: usize, bound: f64) -> &str {
    let bits = bound.to_bits();
    if cache.get(i).is_none_or(|(b, _)| *b != bits) {
        let text: Box<str> = if bound == f64::INFINITY {
            "+Inf".into()
        } else {
            dtoa::Buffer::new().format(bound).into()
        };
        if i < cache.len() {
            cache[i] = (bits, text);
        } else {
            cache.resize(i, (f64::NAN.to_bits(), "".into()));
            cache.push((bits, text));
        }
    }
    &cache[i].1
}

/// Escapes `\` and newline, and `"` when `quotes` (label values always; HELP text in
/// OpenMetrics only).
fn escape_into(out: &mut Vec<u8>, s: &str, quotes: bool) {
    if !s.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.extend_from_slice(s.as_bytes());
        return;
    }
    for b in s.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'"' if quotes => out.extend_from_slice(b"\\\""),
            b => out.push(b),
        }
    }
}
