//! `agent bench compare A B --workload NS/NAME`: the sources, the analysis, the report.
use super::{CompareArgs, Format};
use crate::UsageError;
use crate::bench::workload::{self, Window, WorkloadName, agents, analysis, prometheus};
use crate::bench::{cluster, compare as bench_compare};

fn http_url(u: &str) -> bool {
    u.starts_with("http://") || u.starts_with("https://")
}

fn arch(s: &str) -> Result<&'static str, UsageError> {
    bench_compare::goarch(s).ok_or_else(|| {
        UsageError(format!(
            "compare --workload: `{s}` is not an architecture (amd64, arm64, loong64, sw64)"
        ))
    })
}

/// The agents to read: `--agent`, else the agent pods on nodes of A and B.
fn agent_urls(a: &CompareArgs, arch: [&str; 2]) -> anyhow::Result<Vec<String>> {
    if !a.agents.is_empty() {
        if let Some(bad) = a.agents.iter().find(|u| !http_url(u)) {
            return Err(UsageError(format!("--agent: `{bad}` is not an http(s) URL")).into());
        }
        return Ok(a.agents.clone());
    }
    if a.no_kubernetes {
        return Err(UsageError(
            "compare --workload: give --prometheus URL or --agent URL (--no-kubernetes leaves no agents to find)".into(),
        )
        .into());
    }
    let o = cluster::ClusterOptions {
        agents: Vec::new(),
        no_kubernetes: false,
        namespace: a.namespace.clone(),
        selector: a.selector.clone(),
        port: a.port,
        run: false,
        quick: false,
        timeout: a.timeout,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut urls = Vec::new();
    for x in arch {
        let found = rt.block_on(cluster::discover(&o, x))?;
        if found.is_empty() {
            anyhow::bail!(
                "no agent pod ({} in {}) on a node labelled kubernetes.io/arch={x}",
                a.selector,
                a.namespace
            );
        }
        eprintln!(
            "bench: {} {x} agent(s) from the Kubernetes API",
            found.len()
        );
        urls.extend(found);
    }
    Ok(urls)
}

pub fn compare(a: CompareArgs) -> anyhow::Result<()> {
    let name = WorkloadName::parse(a.workload.as_deref().unwrap_or_default())?;
    let arch = [arch(&a.a)?, arch(&a.b)?];
    if arch[0] == arch[1] {
        return Err(UsageError(format!("compare --workload: A and B are both {}", arch[0])).into());
    }
    if a.cluster || a.run {
        return Err(UsageError(
            "compare --workload reads live series: --cluster and --run are for benchmark results"
                .into(),
        )
        .into());
    }
    for (set, flag) in [
        (a.rate_query.is_some(), "--rate-query"),
        (a.end.is_some(), "--end"),
    ] {
        if set && a.prometheus.is_none() {
            return Err(UsageError(format!(
                "{flag} needs --prometheus (the agents are read from now on)"
            ))
            .into());
        }
    }
    if a.prometheus.is_some() && !a.agents.is_empty() {
        return Err(
            UsageError("compare --workload: --prometheus or --agent, not both".into()).into(),
        );
    }
    let step = a.step.unwrap_or_else(|| workload::default_step(a.window));
    let (observed, source, window) = match &a.prometheus {
        Some(url) => {
            if !http_url(url) {
                return Err(
                    UsageError(format!("--prometheus: `{url}` is not an http(s) URL")).into(),
                );
            }
            let end = a.end.unwrap_or_else(workload::now);
            let w = Window::ending(end, a.window, step, name.clone())?;
            let o = prometheus::observe(url, &w, a.rate_query.as_deref())?;
            (o, format!("Prometheus {url}"), w)
        }
        None => {
            let w = Window::ending(workload::now(), a.window, step, name.clone())?;
            let urls = agent_urls(&a, arch)?;
            eprintln!(
                "bench: reading {} agent(s) every {} for {}",
                urls.len(),
                humantime::format_duration(step),
                humantime::format_duration(a.window)
            );
            let o = agents::observe(&urls, arch, &w, &name)?;
            (o, format!("{} agent(s) read directly", urls.len()), w)
        }
    };
    let report = analysis::analyse(
        arch,
        &observed,
        analysis::Frame {
            workload: name.to_string(),
            source,
            step: window.step.as_secs_f64(),
        },
        &analysis::Options {
            resamples: a.resamples as usize,
            seed: a.seed,
            margin: a.margin,
        },
    );
    let text = match a.format {
        Format::Table => workload::table(&report),
        Format::Markdown => workload::markdown(&report),
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Html => workload::html(&report),
    };
    super::compare::write_report(a.output.as_deref(), &text)
}
