//! `compare A B --cluster`: find agents on nodes of each architecture and take their latest
//! results (or ask them to run the suite) over the agent's HTTP API.
//!
//! Agents come from the Kubernetes API (nodes labelled `kubernetes.io/arch`, the agent's
//! pods on them, selected by label, at their pod IP and port) and from `--agent URL`. An
//! agent's architecture is what its results say (`host.goarch`), so a URL needs no label.
use std::time::Duration;

use anyhow::Context;

use super::compare::{Side, side};
use super::schema::Results;
use crate::UsageError;

pub struct ClusterOptions {
    pub agents: Vec<String>,
    /// Skip the Kubernetes API (only `--agent`).
    pub no_kubernetes: bool,
    pub namespace: String,
    pub selector: String,
    pub port: u16,
    /// Ask each agent to run the suite (POST) instead of fetching its latest results.
    pub run: bool,
    pub quick: bool,
    pub timeout: Duration,
}

/// Base URLs of agent pods on nodes of architecture `goarch`.
pub async fn discover(o: &ClusterOptions, goarch: &str) -> anyhow::Result<Vec<String>> {
    use k8s_openapi::api::core::v1::{Node, Pod};
    use kube::api::{Api, ListParams};
    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes API (in-cluster service account or kubeconfig)")?;
    let nodes: Api<Node> = Api::all(client.clone());
    let nodes = nodes
        .list(&ListParams::default().labels(&format!("kubernetes.io/arch={goarch}")))
        .await
        .context("listing nodes")?;
    let names: Vec<String> = nodes
        .items
        .iter()
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    let pods: Api<Pod> = Api::namespaced(client, &o.namespace);
    let pods = pods
        .list(&ListParams::default().labels(&o.selector))
        .await
        .with_context(|| format!("listing pods {} in {}", o.selector, o.namespace))?;
    Ok(pods
        .items
        .iter()
        .filter(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.node_name.as_ref())
                .is_some_and(|n| names.contains(n))
        })
        .filter_map(|p| p.status.as_ref()?.pod_ip.clone())
        .map(|ip| {
            if ip.contains(':') {
                format!("http://[{ip}]:{}", o.port)
            } else {
                format!("http://{ip}:{}", o.port)
            }
        })
        .collect())
}

async fn fetch(
    client: &reqwest::Client,
    base: &str,
    o: &ClusterOptions,
) -> anyhow::Result<Results> {
    let base = base.trim_end_matches('/');
    let req = if o.run {
        client.post(format!(
            "{base}/api/v1/bench/run?quick={}",
            if o.quick { "true" } else { "false" }
        ))
    } else {
        client.get(format!("{base}/api/v1/bench/latest"))
    };
    let resp = req
        .send()
        .await
        .with_context(|| format!("{base}: unreachable"))?;
    let status = resp.status();
    let body = resp
        .text()
        .await
        .with_context(|| format!("{base}: reading"))?;
    anyhow::ensure!(
        status.is_success(),
        "{base}: HTTP {status}: {}",
        body.trim()
    );
    Results::from_json(&body, base).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The results of the agents of architecture `a` and `b` (GOARCH names). When several
/// agents serve one architecture, the newest results win (each is named in the log).
pub fn sides(a: &str, b: &str, o: &ClusterOptions) -> anyhow::Result<(Side, Side)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut urls: Vec<String> = o.agents.clone();
        if !o.no_kubernetes {
            for arch in [a, b] {
                match discover(o, arch).await {
                    Ok(found) => {
                        eprintln!(
                            "bench: {} {arch} agent(s) from the Kubernetes API",
                            found.len()
                        );
                        urls.extend(found);
                    }
                    Err(e) if !o.agents.is_empty() => {
                        eprintln!(
                            "bench: Kubernetes discovery skipped: {}",
                            crate::errors::chain(e.as_ref())
                        );
                    }
                    Err(e) => {
                        return Err(UsageError(format!(
                            "compare --cluster: {} (or name agents with --agent URL)",
                            crate::errors::chain(e.as_ref())
                        ))
                        .into());
                    }
                }
            }
        }
        let client = reqwest::Client::builder()
            .timeout(o.timeout)
            .build()
            .context("HTTP client")?;
        let (mut best_a, mut best_b): (Option<Side>, Option<Side>) = (None, None);
        for url in &urls {
            let r = match fetch(&client, url, o).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("bench: {}", crate::errors::chain(e.as_ref()));
                    continue;
                }
            };
            eprintln!(
                "bench: {url}: {} results from {} ({})",
                r.host.goarch, r.host.hostname, r.started_at
            );
            for (want, best) in [(a, &mut best_a), (b, &mut best_b)] {
                if r.host.goarch == want
                    && best
                        .as_ref()
                        .is_none_or(|s| r.started_at > s.results.started_at)
                {
                    *best = Some(side(r.clone(), url.clone()));
                }
            }
        }
        let missing = |arch: &str| {
            UsageError(format!(
                "compare --cluster: no agent served {arch} results ({} agent(s) asked)",
                urls.len()
            ))
        };
        Ok((
            best_a.ok_or_else(|| missing(a))?,
            best_b.ok_or_else(|| missing(b))?,
        ))
    })
}
