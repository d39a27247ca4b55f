//! The OTLP receiver as the tests drive it: a real `archscope-otlp-receiver` process on
//! loopback ports, stopped and restarted on the same ports, and what it has received,
//! as data points.
pub mod flatten;
pub mod tls;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::Metrics;

/// The receiver binary, beside the workload binary.
pub fn receiver_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("XTASK_OTLP_RECEIVER_BIN") {
        return p.into();
    }
    crate::workload_bin().with_file_name("archscope-otlp-receiver")
}

pub struct Receiver {
    child: Option<Child>,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    tls: Option<(PathBuf, PathBuf)>,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    /// `mode`: `ok`, `hang` (never answers) or `reject` (UNAVAILABLE / 503).
    pub fn start(mode: &str) -> Receiver {
        Self::start_with(mode, None)
    }

    /// Serve TLS with this certificate chain and key (PEM files).
    pub fn start_tls(mode: &str, cert: &Path, key: &Path) -> Receiver {
        Self::start_with(mode, Some((cert.into(), key.into())))
    }

    fn start_with(mode: &str, tls: Option<(PathBuf, PathBuf)>) -> Receiver {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let mut r = Receiver {
            child: None,
            grpc: any,
            http: any,
            tls,
            received: Arc::default(),
        };
        r.spawn(mode);
        r
    }

    /// Start the process (on the same ports after the first time) and wait until it listens.
    fn spawn(&mut self, mode: &str) {
        let mut cmd = Command::new(receiver_bin());
        cmd.args(["--mode", mode])
            .args(["--grpc", &self.grpc.to_string()])
            .args(["--http", &self.http.to_string()]);
        if let Some((cert, key)) = &self.tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", receiver_bin().display()));
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = lines.next().and_then(Result::ok).unwrap_or_default();
        let addr = |key: &str| -> SocketAddr {
            let word = ready.split_whitespace().find_map(|w| w.strip_prefix(key));
            word.and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("receiver said `{ready}`"))
        };
        self.grpc = addr("grpc=");
        self.http = addr("http=");
        let received = Arc::clone(&self.received);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line).expect("receiver output is JSON");
                received.lock().unwrap().push(v);
            }
        });
        self.child = Some(child);
    }

    /// Kill the process (connections drop as in a crash); the ports stay ours to reuse.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn restart(&mut self, mode: &str) {
        self.stop();
        self.spawn(mode);
    }

    /// `http://` (or `https://` with TLS) `127.0.0.1:<port>` of `grpc` or `http`.
    pub fn endpoint(&self, transport: &str) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let addr = if transport == "grpc" {
            self.grpc
        } else {
            self.http
        };
        match &self.tls {
            Some(_) => format!("{scheme}://localhost:{}", addr.port()),
            None => format!("{scheme}://{addr}"),
        }
    }

    /// Requests received so far, removed from the receiver's record (long runs).
    pub fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }

    /// Requests received so far, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }

    /// Requests taken in `hang` mode (never answered).
    pub fn hung(&self) -> usize {
        let reqs = self.received.lock().unwrap();
        reqs.iter().filter(|r| r["hung"] == true).count()
    }

    /// Every data point of metric `name` whose attributes include `want`, in order.
    pub fn points(&self, name: &str, want: &[(&str, &str)]) -> Vec<Point> {
        let reqs = self.received.lock().unwrap();
        let mut out = Vec::new();
        for req in reqs.iter() {
            for rm in req["resource_metrics"].as_array().into_iter().flatten() {
                for m in rm["metrics"].as_array().into_iter().flatten() {
                    if m["name"] != name {
                        continue;
                    }
                    for p in m["points"].as_array().into_iter().flatten() {
                        let attrs = &p["attributes"];
                        if !want.iter().all(|(k, v)| attrs[*k].as_str() == Some(*v)) {
                            continue;
                        }
                        out.push(Point {
                            transport: req["transport"].as_str().unwrap_or("").into(),
                            resource: rm["resource"].as_object().cloned().unwrap_or_default(),
                            metric: metric_meta(m),
                            point: p.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// The last point of `name` matching `want`, waiting up to `within` for one that
    /// satisfies `ok`.
    pub fn wait_for(
        &self,
        name: &str,
        want: &[(&str, &str)],
        within: Duration,
        ok: impl Fn(&Point) -> bool,
    ) -> Point {
        let deadline = Instant::now() + within;
        loop {
            if let Some(p) = self.points(name, want).pop()
                && ok(&p)
            {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "no {name} {want:?} as wanted within {within:?}; last: {:?}",
                self.points(name, want).pop().map(|p| p.point)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A metric's fields without its points (which can be many).
fn metric_meta(m: &Value) -> Value {
    let fields = m.as_object().into_iter().flatten();
    let meta = fields.filter(|(k, _)| *k != "points");
    Value::Object(meta.map(|(k, v)| (k.clone(), v.clone())).collect())
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One data point with its metric and resource.
#[derive(Debug, Clone)]
pub struct Point {
    pub transport: String,
    pub resource: Map<String, Value>,
    pub metric: Value,
    pub point: Value,
}

impl Point {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.point["attributes"][key].as_str()
    }

    pub fn resource(&self, key: &str) -> Option<&str> {
        self.resource.get(key).and_then(Value::as_str)
    }

    pub fn int(&self) -> Option<i64> {
        self.point["int"].as_i64()
    }

    pub fn double(&self) -> Option<f64> {
        self.point["double"].as_str()?.parse().ok()
    }

    /// The value of a sum or gauge, integer or double.
    pub fn number(&self) -> Option<f64> {
        self.int().map(|v| v as f64).or_else(|| self.double())
    }

    pub fn count(&self) -> Option<u64> {
        self.point["count"].as_u64()
    }

    pub fn sum(&self) -> Option<f64> {
        self.point["sum"].as_str()?.parse().ok()
    }

    pub fn bounds(&self) -> Vec<f64> {
        let b = self.point["bounds"].as_array().cloned().unwrap_or_default();
        b.iter().filter_map(|v| v.as_str()?.parse().ok()).collect()
    }

    pub fn buckets(&self) -> Vec<u64> {
        let b = self.point["buckets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        b.iter().filter_map(Value::as_u64).collect()
    }

    pub fn start(&self) -> u64 {
        self.point["start"].as_u64().unwrap_or(0)
    }

    pub fn time(&self) -> u64 {
        self.point["time"].as_u64().unwrap_or(0)
    }

    pub fn meta(&self, key: &str) -> &Value {
        &self.metric[key]
    }

    /// This histogram point equals the Prometheus histogram `base` with labels `want` on
    /// /metrics: count, sum, and every cumulative bucket at the same bound.
    pub fn assert_histogram_equals(&self, m: &Metrics, base: &str, want: &[(&str, &str)]) {
        let count = m.value(&format!("{base}_count"), want);
        assert_eq!(self.count().map(|c| c as f64), count, "{want:?} count");
        let sum = m.value(&format!("{base}_sum"), want);
        assert_eq!(self.sum(), sum, "{want:?} sum");
        let prom: Vec<_> = m.find(&format!("{base}_bucket"), want).collect();
        let (bounds, counts) = (self.bounds(), self.buckets());
        assert_eq!(counts.len(), prom.len(), "{want:?}: one OTLP bucket per le");
        assert_eq!(bounds.len() + 1, counts.len(), "bounds omit +Inf");
        let mut cumulative = 0;
        for (i, n) in counts.iter().enumerate() {
            cumulative += n;
            let le = bounds.get(i).copied().unwrap_or(f64::INFINITY);
            let b = prom
                .iter()
                .find(|b| b.labels["le"].parse::<f64>().ok() == Some(le))
                .unwrap_or_else(|| panic!("{want:?}: no le={le} on /metrics"));
            assert_eq!(b.value, cumulative as f64, "{want:?} le={le}");
        }
    }
}
