//! One export cut into requests a receiver takes. gRPC receivers (the OpenTelemetry
//! Collector, tonic) refuse a message over 4 MiB by default, and one export of a node with
//! a thousand containers is larger. Metrics are packed whole while they fit; a metric too
//! large for the room left is cut between its data points.
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{
    HistogramDataPoint, Metric, NumberDataPoint, metric::Data,
};
use prost::Message;

/// Encoded bytes per request at most: under gRPC's default 4 MiB, with room for framing.
pub const MAX_REQUEST_BYTES: usize = 3 << 20;

/// A field's tag and length prefix, at most.
const FRAMING: usize = 10;

enum Point {
    Number(NumberDataPoint),
    Histogram(HistogramDataPoint),
}

impl Point {
    fn len(&self) -> usize {
        FRAMING
            + match self {
                Point::Number(p) => p.encoded_len(),
                Point::Histogram(p) => p.encoded_len(),
            }
    }
}

/// The metric's points, leaving the metric with none.
fn take_points(m: &mut Metric) -> Vec<Point> {
    match &mut m.data {
        Some(Data::Gauge(g)) => g.data_points.drain(..).map(Point::Number).collect(),
        Some(Data::Sum(s)) => s.data_points.drain(..).map(Point::Number).collect(),
        Some(Data::Histogram(h)) => h.data_points.drain(..).map(Point::Histogram).collect(),
        _ => Vec::new(),
    }
}

fn push_point(m: &mut Metric, p: Point) {
    match (&mut m.data, p) {
        (Some(Data::Gauge(g)), Point::Number(p)) => g.data_points.push(p),
        (Some(Data::Sum(s)), Point::Number(p)) => s.data_points.push(p),
        (Some(Data::Histogram(h)), Point::Histogram(p)) => h.data_points.push(p),
        _ => {}
    }
}

fn points(m: &Metric) -> usize {
    match &m.data {
        Some(Data::Gauge(g)) => g.data_points.len(),
        Some(Data::Sum(s)) => s.data_points.len(),
        Some(Data::Histogram(h)) => h.data_points.len(),
        _ => 0,
    }
}

/// Requests, with their point counts, of at most `max` encoded bytes each (a single point
/// larger than that goes alone). Every point of `request` is in exactly one of them, in
/// order; each carries the same resource and scope.
pub fn split(
    request: ExportMetricsServiceRequest,
    max: usize,
) -> Vec<(ExportMetricsServiceRequest, usize)> {
    if request.encoded_len() <= max {
        let n = metrics_of(&request).iter().map(points).sum();
        return vec![(request, n)];
    }
    let mut shell = request;
    let metrics = shell
        .resource_metrics
        .first_mut()
        .and_then(|r| r.scope_metrics.first_mut())
        .map(|s| std::mem::take(&mut s.metrics))
        .unwrap_or_default();
    let mut packer = Packer {
        base: shell.encoded_len(),
        shell,
        out: Vec::new(),
        metrics: Vec::new(),
        size: 0,
        points: 0,
    };
    packer.size = packer.base;
    for mut m in metrics {
        let len = FRAMING + m.encoded_len();
        if packer.size + len <= max {
            packer.add(m, len);
            continue;
        }
        let all = take_points(&mut m);
        let empty_len = FRAMING + m.encoded_len();
        let mut part = m.clone();
        let mut part_len = empty_len;
        for p in all {
            let plen = p.len();
            if packer.size + part_len + plen > max && (points(&part) > 0 || packer.points > 0) {
                if points(&part) > 0 {
                    packer.add(std::mem::replace(&mut part, m.clone()), part_len);
                }
                packer.flush();
                part_len = empty_len;
            }
            push_point(&mut part, p);
            part_len += plen;
        }
        if points(&part) > 0 {
            packer.add(part, part_len);
        }
    }
    packer.flush();
    packer.out
}

fn metrics_of(r: &ExportMetricsServiceRequest) -> &[Metric] {
    r.resource_metrics
        .first()
        .and_then(|r| r.scope_metrics.first())
        .map_or(&[], |s| &s.metrics)
}

struct Packer {
    /// The request with no metrics: its resource and scope.
    shell: ExportMetricsServiceRequest,
    base: usize,
    out: Vec<(ExportMetricsServiceRequest, usize)>,
    metrics: Vec<Metric>,
    size: usize,
    points: usize,
}

impl Packer {
    fn add(&mut self, m: Metric, len: usize) {
        self.points += points(&m);
        self.size += len;
        self.metrics.push(m);
    }

    fn flush(&mut self) {
        if self.metrics.is_empty() {
            return;
        }
        let mut r = self.shell.clone();
        if let Some(s) = r
            .resource_metrics
            .first_mut()
            .and_then(|r| r.scope_metrics.first_mut())
        {
            s.metrics = std::mem::take(&mut self.metrics);
        }
        self.out.push((r, self.points));
        self.size = self.base;
        self.points = 0;
    }
}

#[cfg(test)]
#[path = "split_test.rs"]
mod tests;
