//! A real Prometheus (Debian's package) scraping an agent every second, and its query API.
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One scrape job: its name, its targets and any further settings (YAML lines).
struct Job {
    name: String,
    targets: Vec<String>,
    settings: String,
}

impl Job {
    fn new(name: &str, targets: &[&str], settings: &str) -> Job {
        Job {
            name: name.into(),
            targets: targets.iter().map(|t| t.to_string()).collect(),
            settings: settings.into(),
        }
    }

    fn yaml(&self) -> String {
        let t: Vec<String> = self.targets.iter().map(|t| format!("\"{t}\"")).collect();
        format!(
            "  - job_name: {}\n{}    static_configs:\n      - targets: [{}]\n",
            self.name,
            self.settings,
            t.join(", ")
        )
    }
}

pub struct Prometheus {
    child: Child,
    dir: PathBuf,
    pub url: String,
}

impl Prometheus {
    /// Debian 12's Prometheus (2.42): it asks for OpenMetrics and gzip.
    pub fn start(target: &str) -> Prometheus {
        Prometheus::launch(
            std::path::Path::new("prometheus"),
            &[Job::new("archscope", &[target], "")],
        )
    }

    /// As `start`, scraping every one of `targets` (one job: each is its own `instance`)
    /// every `interval` seconds, which is also the scrape's timeout; a second job scrapes
    /// `twice` as well, as a ServiceMonitor beside a PodMonitor would.
    pub fn start_all(targets: &[&str], interval: u32, twice: &[&str]) -> Prometheus {
        let every = format!("    scrape_interval: {interval}s\n    scrape_timeout: {interval}s\n");
        let mut jobs = vec![Job::new("archscope", targets, &every)];
        if !twice.is_empty() {
            jobs.push(Job::new("archscope-again", twice, &every));
        }
        Prometheus::launch(std::path::Path::new("prometheus"), &jobs)
    }

    /// Debian 13's Prometheus (2.53, which `cargo xtask setup` fetches into the project's
    /// .cache), told to scrape the Prometheus text format 0.0.4 only: 2.42 cannot be.
    pub fn start_text_format(target: &str) -> Prometheus {
        let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../.cache/prometheus-trixie/prometheus");
        assert!(
            bin.exists(),
            "{} is missing: `cargo xtask setup` fetches it",
            bin.display()
        );
        let text = "    scrape_protocols: [PrometheusText0.0.4]\n";
        Prometheus::launch(&bin, &[Job::new("archscope", &[target], text)])
    }

    fn launch(bin: &std::path::Path, jobs: &[Job]) -> Prometheus {
        let dir = std::env::temp_dir().join(format!(
            "archscope-prometheus-{}-{}",
            std::process::id(),
            jobs[0].targets[0].replace([':', '.'], "-")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("prometheus.yml");
        let jobs: String = jobs.iter().map(Job::yaml).collect();
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n{jobs}"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{} ({e}): `cargo xtask setup` installs it", bin.display()));
        let p = Prometheus {
            child,
            dir,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_for(60, "prometheus ready", || {
            ureq::get(&format!("{}/-/ready", p.url))
                .call()
                .is_ok_and(|r| r.status() == 200)
        });
        p
    }

    /// What the scraped target said of a metric family (HELP, TYPE), by its name.
    pub fn metadata(&self, metric: &str) -> Value {
        self.api("metadata", "metric", metric)[metric].clone()
    }

    pub fn query(&self, expr: &str) -> Value {
        self.api("query", "query", expr)
    }

    /// `GET /api/v1/<endpoint>?<key>=<value>`: its `data`, once its status says success.
    fn api(&self, endpoint: &str, key: &str, value: &str) -> Value {
        let body = ureq::get(&format!("{}/api/v1/{endpoint}", self.url))
            .query(key, value)
            .call()
            .unwrap_or_else(|e| panic!("{endpoint} {value}: {e}"))
            .into_body()
            .read_to_string()
            .unwrap();
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "{value}: {body}");
        v["data"].clone()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn wait_for(secs: u64, what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
