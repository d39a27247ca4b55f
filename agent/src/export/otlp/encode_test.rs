use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::common::v1::any_value;

use super::*;
use crate::collect::model::{Series, label};
use crate::collect::names;

fn snap(calls: u64, hist: [u64; 3]) -> Snapshot {
    let labels = || vec![("cgroup", label("/a")), ("syscall", label("getppid"))];
    let mut c = names::SYSCALLS.family_empty();
    c.series.push(Series {
        labels: labels(),
        value: Value::Counter(calls),
    });
    let mut d = names::SYSCALL_DURATION.family_empty();
    d.series.push(Series {
        labels: labels(),
        value: Value::Histogram {
            sum: hist.iter().sum::<u64>() as f64 * 1e-6,
            count: hist.iter().sum(),
            buckets: vec![(1e-6, hist[0]), (2e-6, hist[1]), (f64::INFINITY, hist[2])],
        },
    });
    let mut up = names::FEATURE_UP.family_empty();
    up.series.push(Series {
        labels: vec![("feature", label("syscalls"))],
        value: Value::Gauge(1.0),
    });
    let mut rss = names::AGENT_RSS.family_empty();
    rss.series.push(Series {
        labels: vec![],
        value: Value::Gauge(4096.0),
    });
    Snapshot {
        families: vec![c, d, up, rss, names::SCRAPES.family_empty()],
    }
}

fn t(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000 + s)
}

const S: u64 = 1_000_000_000;

fn metrics(b: &Batch) -> &[Metric] {
    &b.request.resource_metrics[0].scope_metrics[0].metrics
}

fn find<'a>(b: &'a Batch, name: &str) -> &'a Metric {
    metrics(b).iter().find(|m| m.name == name).unwrap()
}

fn sum_point(m: &Metric) -> (&NumberDataPoint, &Sum) {
    let Some(Data::Sum(s)) = &m.data else {
        panic!("{} is not a sum", m.name)
    };
    (&s.data_points[0], s)
}

fn int(p: &NumberDataPoint) -> i64 {
    match p.value {
        Some(number_data_point::Value::AsInt(v)) => v,
        _ => panic!("not an int"),
    }
}

#[test]
fn cumulative_names_units_attributes_and_start_times() {
    let mut e = Encoder::new(Resource::default(), Temporality::Cumulative, t(0));
    let b = e.encode(snap(1000, [1, 2, 0]), t(10));
    // empty families are left out, as on /metrics
    assert_eq!(metrics(&b).len(), 4);
    assert_eq!(b.points, 4);
    let calls = find(&b, "archscope.syscall.calls");
    assert_eq!(calls.unit, "{call}");
    let (p, sum) = sum_point(calls);
    assert!(sum.is_monotonic);
    assert_eq!(
        sum.aggregation_temporality,
        AggregationTemporality::Cumulative as i32
    );
    assert_eq!(int(p), 1000);
    assert_eq!(
        (p.start_time_unix_nano, p.time_unix_nano),
        (1000 * S, 1010 * S)
    );
    let keys: Vec<_> = p.attributes.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(keys, ["archscope.cgroup.path", "archscope.syscall.name"]);
    let Some(any_value::Value::StringValue(v)) = &p.attributes[0].value.as_ref().unwrap().value
    else {
        panic!()
    };
    assert_eq!(v, "/a");

    let d = find(&b, "archscope.syscall.duration");
    assert_eq!(d.unit, "s");
    let Some(Data::Histogram(h)) = &d.data else {
        panic!()
    };
    let hp = &h.data_points[0];
    assert_eq!(hp.explicit_bounds, [1e-6, 2e-6]);
    assert_eq!(hp.bucket_counts, [1, 2, 0]);
    assert_eq!(hp.count, 3);

    let Some(Data::Gauge(_)) = &find(&b, "archscope.feature.up").data else {
        panic!("gauge")
    };
    let (rss, s) = sum_point(find(&b, "process.memory.usage"));
    assert!(!s.is_monotonic, "an UpDownCounter");
    assert_eq!(rss.value, Some(number_data_point::Value::AsDouble(4096.0)));

    // the next export keeps the start and sends the running total
    let b = e.encode(snap(1500, [1, 3, 1]), t(20));
    let (p, _) = sum_point(find(&b, "archscope.syscall.calls"));
    assert_eq!((int(p), p.start_time_unix_nano), (1500, 1000 * S));
}

#[test]
fn reset_and_new_series_start_after_the_previous_export() {
    let mut e = Encoder::new(Resource::default(), Temporality::Cumulative, t(0));
    e.encode(snap(1000, [1, 0, 0]), t(10));
    let b = e.encode(snap(7, [1, 0, 0]), t(20));
    let (p, _) = sum_point(find(&b, "archscope.syscall.calls"));
    assert_eq!((int(p), p.start_time_unix_nano), (7, 1010 * S));
    // gone for one export, then back: a new series
    e.encode(Snapshot::default(), t(30));
    let b = e.encode(snap(3, [1, 0, 0]), t(40));
    let (p, _) = sum_point(find(&b, "archscope.syscall.calls"));
    assert_eq!((int(p), p.start_time_unix_nano), (3, 1030 * S));
}

#[test]
fn delta_points_add_up_to_the_total() {
    let mut e = Encoder::new(Resource::default(), Temporality::Delta, t(0));
    let mut total = 0;
    let mut hist = vec![0u64; 3];
    for (i, (calls, h)) in [
        (100, [1, 0, 0]),
        (250, [1, 2, 0]),
        (250, [1, 2, 0]),
        (900, [4, 2, 9]),
    ]
    .into_iter()
    .enumerate()
    {
        let b = e.encode(snap(calls, h), t(10 * (i as u64 + 1)));
        let (p, s) = sum_point(find(&b, "archscope.syscall.calls"));
        assert_eq!(
            s.aggregation_temporality,
            AggregationTemporality::Delta as i32
        );
        assert_eq!(p.start_time_unix_nano, 1000 * S + 10 * S * i as u64);
        total += int(p);
        let Some(Data::Histogram(hh)) = &find(&b, "archscope.syscall.duration").data else {
            panic!()
        };
        for (a, n) in hist.iter_mut().zip(&hh.data_points[0].bucket_counts) {
            *a += n;
        }
    }
    assert_eq!(total, 900);
    assert_eq!(hist, [4, 2, 9]);
}
