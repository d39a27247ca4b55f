//! A real Prometheus (Debian's package) scraping an agent every second, and its query API.
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Prometheus {
    child: Child,
    dir: PathBuf,
    pub url: String,
}

impl Prometheus {
    /// Debian 12's Prometheus (2.42): it asks for OpenMetrics and gzip.
    pub fn start(target: &str) -> Prometheus {
        Prometheus::launch(std::path::Path::new("prometheus"), &[target], "")
    }

    /// As `start`, scraping every one of `targets` (one job: each is its own `instance`)
    /// every `interval` seconds, which is also the scrape's timeout.
    pub fn start_all(targets: &[&str], interval: u32) -> Prometheus {
        let job = format!("    scrape_interval: {interval}s\n    scrape_timeout: {interval}s\n");
        Prometheus::launch(std::path::Path::new("prometheus"), targets, &job)
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
        Prometheus::launch(
            &bin,
            &[target],
            "    scrape_protocols: [PrometheusText0.0.4]\n",
        )
    }

    fn launch(bin: &std::path::Path, targets: &[&str], job: &str) -> Prometheus {
        let dir = std::env::temp_dir().join(format!(
            "archscope-prometheus-{}-{}",
            std::process::id(),
            targets[0].replace([':', '.'], "-")
        ));
        let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: archscope\n{job}    static_configs:\n      - targets: [{}]\n",
                targets.join(", ")
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
