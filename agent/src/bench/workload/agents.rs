//! Source: the agents themselves. Every agent's `/metrics` is read at each window boundary
//! for the length of the window, and the workload's series are kept per container (its
//! cgroup) as the Prometheus source's queries keep them.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::series::{AgentState, Observed, SELECTIONS, SeriesKey};
use super::{Window, WorkloadName};
use crate::collect::names;
use crate::identity::cgroup_path;

/// One sample of the exposition text.
#[derive(Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// The Prometheus text format the agent writes (`export/prometheus/text.rs`): one sample
/// a line, `name{k="v",…} value`, label values escaped with `\\`, `\"` and `\n`.
pub fn parse(text: &str) -> Result<Vec<Sample>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |what: &str| format!("line {}: {what}: {line}", n + 1);
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => return Err(bad("no value")),
        };
        let mut labels = BTreeMap::new();
        let mut rest = rest;
        if let Some(mut r) = rest.strip_prefix('{') {
            loop {
                r = r.trim_start_matches(',');
                if let Some(after) = r.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let (k, v) = r
                    .split_once("=\"")
                    .ok_or_else(|| bad("a label without a value"))?;
                let (value, after) =
                    unescape(v).ok_or_else(|| bad("an unterminated label value"))?;
                labels.insert(k.to_string(), value);
                r = after;
            }
        }
        let value = rest
            .split_whitespace()
            .next()
            .ok_or_else(|| bad("no value"))?;
        let value = super::series::parse_value(value).ok_or_else(|| bad("not a number"))?;
        out.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(out)
}

/// The value up to its closing quote, and what follows it.
fn unescape(s: &str) -> Option<(String, &str)> {
    let mut v = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((v, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => v.push('\n'),
                other => v.push(other),
            },
            c => v.push(c),
        }
    }
    None
}

/// Adds one agent's scrape at boundary `at` to `o`.
pub fn add_scrape(o: &mut Observed, agent: &str, samples: &[Sample], at: usize, w: &WorkloadName) {
    let info = names::NODE_INFO.prometheus_name();
    let (feature_up, pmu) = (
        names::FEATURE_UP.prometheus_name(),
        names::PMU_AVAILABLE.prometheus_name(),
    );
    let selections: Vec<(usize, String)> = SELECTIONS
        .iter()
        .map(|s| s.sample_name())
        .enumerate()
        .collect();
    for s in samples {
        let label = |k: &str| s.labels.get(k).cloned().unwrap_or_default();
        if s.name == info {
            o.set_up(agent, at);
            o.agents.entry(agent.to_string()).or_default().goarch = label("goarch");
        } else if s.name == feature_up || s.name == pmu {
            let st: &mut AgentState = o.agents.entry(agent.to_string()).or_default();
            let (map, key) = if s.name == pmu {
                (&mut st.pmu_events, "event")
            } else {
                (&mut st.features, "feature")
            };
            map.insert(label(key), s.value > 0.0);
        } else if let Some((i, _)) = selections.iter().find(|(_, n)| *n == s.name) {
            let sel = &SELECTIONS[*i];
            if !sel.matchers.iter().all(|(k, v)| label(k) == *v) {
                continue;
            }
            let key = SeriesKey {
                instance: agent.to_string(),
                pod: label("pod"),
                cgroup: label("cgroup"),
                sel: *i,
                labels: sel.group().iter().map(|k| label(k)).collect(),
            };
            if label("namespace") == w.namespace && label("workload") == w.name {
                if !key.pod.is_empty() {
                    o.set(key, at, s.value);
                }
            } else if label("workload").is_empty()
                && [String::new(), w.namespace.clone()].contains(&label("namespace"))
                && *o
                    .pod_cgroups
                    .entry(key.cgroup.clone())
                    .or_insert_with(|| cgroup_path::parse(&key.cgroup).pod_uid.is_some())
            {
                // a pod's container whose pod is not known yet: perhaps the workload's
                o.set_unlabelled(key.container(), at, s.value);
            }
        }
    }
}

async fn scrape(http: &reqwest::Client, base: &str) -> anyhow::Result<Vec<Sample>> {
    let resp = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .with_context(|| format!("{base}: unreachable"))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .with_context(|| format!("{base}: reading"))?;
    anyhow::ensure!(status.is_success(), "{base}/metrics: HTTP {status}");
    parse(&text).map_err(|e| anyhow::anyhow!("{base}/metrics: {e}"))
}

/// Reads every agent at each boundary, from now for the window's length. An agent that
/// does not answer at a boundary leaves a gap (its windows on both sides of it are not
/// samples); it is named once.
pub fn observe(
    agents: &[String],
    arch: [&str; 2],
    w: &Window,
    name: &WorkloadName,
) -> anyhow::Result<Observed> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let started = Instant::now();
        let mut times = Vec::with_capacity(w.windows + 1);
        let mut o = Observed::new(vec![0.0; w.windows + 1]);
        let mut failed: BTreeMap<&str, String> = BTreeMap::new();
        for at in 0..=w.windows {
            tokio::time::sleep_until((started + w.step * at as u32).into()).await;
            times.push(super::now());
            // side by side, so every agent is read at the same moment
            let mut set = tokio::task::JoinSet::new();
            for (n, a) in agents.iter().enumerate() {
                let (http, a) = (http.clone(), a.trim_end_matches('/').to_string());
                // the window's ends are when each agent answered, not when it was asked
                set.spawn(async move {
                    let r = scrape(&http, &a).await;
                    (n, super::now(), r)
                });
            }
            let mut scrapes: Vec<_> = set.join_all().await;
            scrapes.sort_by_key(|(n, _, _)| *n);
            for (a, (_, answered, r)) in agents.iter().zip(scrapes) {
                match r {
                    Ok(samples) => {
                        let agent = a.trim_end_matches('/');
                        add_scrape(&mut o, agent, &samples, at, name);
                        o.set_scraped(agent, at, answered);
                    }
                    Err(e) => {
                        failed.entry(a).or_insert_with(|| {
                            eprintln!("bench: {e:#}");
                            format!("{e:#}")
                        });
                    }
                }
            }
            eprintln!(
                "bench: read {} agent(s), boundary {}/{}",
                agents.len(),
                at + 1,
                w.windows + 1
            );
            // a side without an agent would only show at the end of the window
            for x in arch.iter().filter(|_| at == 0) {
                if !o.agents.values().any(|s| s.goarch == *x) {
                    let why: Vec<&String> = failed.values().collect();
                    anyhow::bail!("no {x} agent answered at the start ({why:?})");
                }
            }
        }
        o.times = times;
        if o.up.is_empty() {
            anyhow::bail!(
                "no agent answered: {}",
                failed.into_values().collect::<Vec<_>>().join("; ")
            );
        }
        o.drop_other_unlabelled();
        Ok(o)
    })
}
