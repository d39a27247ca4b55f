//! Source: a Prometheus server's HTTP API. Each selection is one `query_range` of the
//! per-container sums (over the other labels) at the window boundaries, with the bare
//! selector: the last sample at or before each boundary. So increases are exact
//! differences of the agents' counters, not `increase()`'s extrapolation, and a window
//! lasts from one scrape to the other (`timestamp()` of those samples).
use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use serde::Deserialize;

use super::series::{AgentState, ContainerKey, Observed, SELECTIONS, Selection, SeriesKey};
use super::{Window, label_matchers};
use crate::UsageError;
use crate::collect::names;

#[derive(Deserialize)]
struct Response {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    result: Vec<Matrix>,
}

#[derive(Deserialize)]
struct Matrix {
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

struct Client<'a> {
    http: reqwest::Client,
    base: &'a str,
    w: &'a Window,
}

/// Per agent and boundary, the scrape job whose sample is the latest there. An agent that
/// two jobs scrape (a ServiceMonitor beside a PodMonitor) is read through one job at each
/// boundary, all its series alike: a sum over jobs would count it twice, and a maximum
/// per series could mix one job's scrape from before an agent restart with the other's
/// from after it.
#[derive(Default)]
struct Jobs(BTreeMap<String, Vec<Option<(String, f64)>>>);

impl Jobs {
    fn offer(&mut self, instance: String, job: String, at: usize, t: f64, n: usize) {
        let slot = &mut self.0.entry(instance).or_insert_with(|| vec![None; n])[at];
        if slot.as_ref().is_none_or(|(_, best)| t > *best) {
            *slot = Some((job, t));
        }
    }

    /// Whether a series' labels `m` come from the chosen job of their agent at `at`.
    fn chosen(&self, m: &BTreeMap<String, String>, at: usize) -> bool {
        let job = m.get("job").map_or("", String::as_str);
        self.0
            .get(&label(m, "instance"))
            .and_then(|v| v[at].as_ref())
            .is_some_and(|(j, _)| j == job)
    }
}

impl Client<'_> {
    /// `(labels, [(boundary index, value)])` of every series the query returns.
    async fn range(
        &self,
        query: &str,
    ) -> anyhow::Result<Vec<(BTreeMap<String, String>, Vec<(usize, f64)>)>> {
        let step = self.w.step.as_secs_f64();
        let resp = self
            .http
            .get(format!("{}/api/v1/query_range", self.base))
            .query(&[
                ("query", query.to_string()),
                ("start", format!("{:.3}", self.w.start)),
                ("end", format!("{:.3}", self.w.end())),
                ("step", format!("{step}")),
            ])
            .send()
            .await
            .with_context(|| format!("{}: unreachable", self.base))?;
        let status = resp.status();
        let body = resp
            .text()
            .await
            .with_context(|| format!("{}: reading", self.base))?;
        let r: Response = serde_json::from_str(&body).with_context(|| {
            format!(
                "{}: HTTP {status}: not the query API's answer: {}",
                self.base,
                body.trim()
            )
        })?;
        if r.status != "success" {
            bail!(
                "{}: query `{query}` failed: {}",
                self.base,
                r.error.unwrap_or_else(|| format!("HTTP {status}"))
            );
        }
        let data = r.data.context("no data in the answer")?;
        Ok(data
            .result
            .into_iter()
            .map(|m| {
                let points = m
                    .values
                    .iter()
                    .filter_map(|(t, v)| {
                        let i = ((t - self.w.start) / step).round();
                        let v = super::series::parse_value(v)?;
                        (i >= 0.0 && (i as usize) <= self.w.windows).then_some((i as usize, v))
                    })
                    .collect();
                (m.metric, points)
            })
            .collect())
    }
}

/// The last value a series had among the boundaries.
fn last(points: &[(usize, f64)]) -> Option<f64> {
    points.iter().max_by_key(|(i, _)| *i).map(|(_, v)| *v)
}

pub fn observe(base: &str, w: &Window, rate_query: Option<&str>) -> anyhow::Result<Observed> {
    let base = base.trim_end_matches('/');
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        let c = Client { http, base, w };
        let mut o = Observed::new(w.times());
        let jobs = agents(&c, &mut o).await?;
        for (index, sel) in SELECTIONS.iter().enumerate() {
            selection(&c, &jobs, &mut o, index, sel).await?;
        }
        unlabelled(&c, &jobs, &mut o).await?;
        if let Some(q) = rate_query {
            rate(&c, &mut o, q).await?;
        }
        Ok(o)
    })
}

/// The agents: their architecture, when they were scraped (and by which job), their
/// features and PMU.
async fn agents(c: &Client<'_>, o: &mut Observed) -> anyhow::Result<Jobs> {
    let info = names::NODE_INFO.prometheus_name();
    for (m, points) in c
        .range(&format!("max by (instance, goarch) ({info})"))
        .await?
    {
        let instance = label(&m, "instance");
        o.agents.entry(instance.clone()).or_default().goarch = label(&m, "goarch");
        for (i, _) in points {
            o.set_up(&instance, i);
        }
    }
    if o.up.is_empty() {
        bail!(
            "{}: no {info} in the window: does this Prometheus scrape archscope agents?",
            c.base
        );
    }
    let mut jobs = Jobs::default();
    let stamps = format!("max by (job, instance) (timestamp({info}))");
    for (m, points) in c.range(&stamps).await? {
        for (i, t) in points {
            let n = o.times.len();
            jobs.offer(label(&m, "instance"), label(&m, "job"), i, t, n);
        }
    }
    for (instance, at) in &jobs.0 {
        for (i, chosen) in at.iter().enumerate() {
            if let Some((_, t)) = chosen {
                o.set_scraped(instance, i, *t);
            }
        }
    }
    let feature_up = names::FEATURE_UP.prometheus_name();
    let pmu = names::PMU_AVAILABLE.prometheus_name();
    for (name, key) in [(feature_up, "feature"), (pmu, "event")] {
        for (m, points) in c
            .range(&format!("max by (instance, {key}) ({name})"))
            .await?
        {
            let Some(v) = last(&points) else { continue };
            let s: &mut AgentState = o.agents.entry(label(&m, "instance")).or_default();
            let map = if key == "feature" {
                &mut s.features
            } else {
                &mut s.pmu_events
            };
            map.insert(label(&m, key), v > 0.0);
        }
    }
    Ok(jobs)
}

/// One selection's series, per agent, pod and container.
async fn selection(
    c: &Client<'_>,
    jobs: &Jobs,
    o: &mut Observed,
    index: usize,
    sel: &Selection,
) -> anyhow::Result<()> {
    let group = sel.group();
    let by: Vec<&str> = ["instance", "pod", "cgroup"]
        .into_iter()
        .chain(group.iter().copied())
        .collect();
    let by = by.join(", ");
    let q = format!(
        "sum by (job, {by}) ({}{{{}}})",
        sel.sample_name(),
        label_matchers(c.w, sel.matchers)
    );
    for (m, points) in c.range(&q).await? {
        let key = SeriesKey {
            instance: label(&m, "instance"),
            pod: label(&m, "pod"),
            cgroup: label(&m, "cgroup"),
            sel: index,
            labels: group.iter().map(|k| label(&m, k)).collect(),
        };
        if key.pod.is_empty() {
            continue;
        }
        for (i, v) in points.into_iter().filter(|(i, _)| jobs.chosen(&m, *i)) {
            o.set(key.clone(), i, v);
        }
    }
    Ok(())
}

/// The containers whose workload series are missing at some boundary before they show:
/// their values where they were exported without a workload label (the pod not known
/// yet, at its start or after its agent restarted).
async fn unlabelled(c: &Client<'_>, jobs: &Jobs, o: &mut Observed) -> anyhow::Result<()> {
    let mut cgroups: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for k in o.late() {
        cgroups.entry(k.sel).or_default().insert(k.cgroup.clone());
    }
    let mut found = Vec::new();
    for (index, all) in cgroups {
        let sel = &SELECTIONS[index];
        let by: Vec<&str> = ["instance", "cgroup"]
            .into_iter()
            .chain(sel.group())
            .collect();
        let by = by.join(", ");
        let extra: String = sel
            .matchers
            .iter()
            .map(|(k, v)| format!(",{k}=\"{v}\""))
            .collect();
        // a few at a time: the query goes in the URL
        let all: Vec<String> = all.into_iter().collect();
        for chunk in all.chunks(20) {
            let q = format!(
                "sum by (job, {by}) ({}{{cgroup=~\"{}\",workload=\"\"{extra}}})",
                sel.sample_name(),
                regex_of(chunk)
            );
            for (m, points) in c.range(&q).await? {
                let key = ContainerKey {
                    instance: label(&m, "instance"),
                    cgroup: label(&m, "cgroup"),
                    sel: index,
                    labels: sel.group().iter().map(|k| label(&m, k)).collect(),
                };
                let points: Vec<(usize, f64)> = points
                    .into_iter()
                    .filter(|(i, _)| jobs.chosen(&m, *i))
                    .collect();
                found.push((key, points));
            }
        }
    }
    for (key, points) in found {
        for (at, v) in points {
            o.set_unlabelled(key.clone(), at, v);
        }
    }
    Ok(())
}

/// A PromQL regex (RE2, inside a double-quoted string) matching exactly these values.
pub fn regex_of(values: &[String]) -> String {
    let escaped: Vec<String> = values
        .iter()
        .map(|v| {
            let mut e = String::new();
            for ch in v.chars() {
                match ch {
                    // a newline cannot stand in a PromQL string: its escape
                    '\n' => e.push_str("\\n"),
                    // a regex escape, each backslash escaped for the string
                    '\\' => e.push_str("\\\\\\\\"),
                    _ if ".+*?()|[]{}^$".contains(ch) => {
                        e.push_str("\\\\");
                        e.push(ch);
                    }
                    '"' => e.push_str("\\\""),
                    _ => e.push(ch),
                }
            }
            e
        })
        .collect();
    escaped.join("|")
}

/// `--rate-query`, `$step` standing for the step: each pod's rate at each boundary.
async fn rate(c: &Client<'_>, o: &mut Observed, query: &str) -> anyhow::Result<()> {
    let q = query.replace("$step", &format!("{}ms", c.w.step.as_millis()));
    for (m, points) in c.range(&q).await? {
        // a pod of the same name in another namespace is not the workload's
        if m.get("namespace")
            .is_some_and(|ns| *ns != c.w.workload.namespace)
        {
            continue;
        }
        let Some(pod) = m.get("pod") else {
            return Err(UsageError(format!(
                "--rate-query: its series need a `pod` label, e.g. sum by (pod) (rate(…[$step])); one has {m:?}"
            ))
            .into());
        };
        let slot = o
            .rate
            .entry(pod.clone())
            .or_insert_with(|| vec![None; c.w.windows + 1]);
        // a rate of 0/0 is no sample
        for (i, v) in points.into_iter().filter(|(_, v)| v.is_finite()) {
            slot[i] = Some(slot[i].unwrap_or(0.0) + v);
        }
    }
    Ok(())
}

fn label(m: &BTreeMap<String, String>, k: &str) -> String {
    m.get(k).cloned().unwrap_or_default()
}
