//! cgroup path → container, pod and runtime, by the rules in `data/cgroup_layouts.tsv`
//! (containerd/CRI, CRI-O, Docker, Podman; systemd and cgroupfs drivers; kubepods QoS
//! classes; systemd services). Tested on real paths from real systems.
use std::sync::OnceLock;

use regex::Regex;

const LAYOUTS: &str = include_str!("data/cgroup_layouts.tsv");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Kubepods,
    Qos,
    Pod,
    PodContainer,
    Container,
    Conmon,
    Parent,
    Service,
}

struct Rule {
    kind: Kind,
    runtime: Option<&'static str>,
    re: Regex,
}

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        LAYOUTS
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&'static str> = l.split('\t').collect();
                let kind = match f[0] {
                    "kubepods" => Kind::Kubepods,
                    "qos" => Kind::Qos,
                    "pod" => Kind::Pod,
                    "podcontainer" => Kind::PodContainer,
                    "container" => Kind::Container,
                    "conmon" => Kind::Conmon,
                    "parent" => Kind::Parent,
                    "service" => Kind::Service,
                    k => panic!("cgroup_layouts.tsv: unknown kind {k}"),
                };
                let runtime = Some(f[1]).filter(|r| *r != "-");
                Rule {
                    kind,
                    runtime,
                    re: Regex::new(f[2]).expect("cgroup_layouts.tsv: bad regex"),
                }
            })
            .collect()
    })
}

/// What a cgroup path says about its processes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathIdentity {
    /// 64-hex container id (the innermost, for nested runtimes).
    pub container_id: Option<String>,
    /// containerd, cri-o, docker, podman; `cri` for a bare id under kubepods (cgroupfs
    /// driver: the runtime is not in the path).
    pub runtime: Option<&'static str>,
    pub pod_uid: Option<String>,
    /// guaranteed, burstable or besteffort, for pods.
    pub qos: Option<String>,
    /// The runtime's monitor process beside a container (conmon), not the container.
    pub conmon: bool,
    /// A systemd service (`system.slice/nginx.service` → `nginx`), for host processes.
    pub service: Option<String>,
}

impl PathIdentity {
    pub fn is_container(&self) -> bool {
        self.container_id.is_some()
    }
}

pub fn parse(path: &str) -> PathIdentity {
    let mut out = PathIdentity::default();
    let (mut in_kubepods, mut parent_runtime) = (false, None);
    for comp in path.split('/').filter(|c| !c.is_empty()) {
        let Some((rule, caps)) = rules()
            .iter()
            .find_map(|r| r.re.captures(comp).map(|c| (r, c)))
        else {
            parent_runtime = None;
            continue;
        };
        let cap = |n: &str| caps.name(n).map(|m| m.as_str().to_string());
        match rule.kind {
            Kind::Kubepods => in_kubepods = true,
            Kind::Qos => out.qos = cap("qos"),
            Kind::Pod => {
                in_kubepods = true;
                out.pod_uid = cap("uid").map(|u| u.replace('_', "-"));
            }
            Kind::PodContainer => {
                out.pod_uid = cap("uid").map(|u| u.replace('_', "-"));
                out.qos = cap("qos");
                out.container_id = cap("id");
                out.runtime = rule.runtime;
                out.service = None;
            }
            Kind::Container | Kind::Conmon => {
                out.container_id = cap("id");
                out.conmon = rule.kind == Kind::Conmon;
                out.runtime = rule
                    .runtime
                    .or(parent_runtime)
                    .or(in_kubepods.then_some("cri"));
                out.service = None;
            }
            Kind::Parent => {}
            Kind::Service => out.service = cap("service"),
        }
        parent_runtime = if rule.kind == Kind::Parent {
            rule.runtime
        } else {
            None
        };
    }
    if out.pod_uid.is_some() && out.qos.is_none() {
        out.qos = Some("guaranteed".into());
    }
    out
}

#[cfg(test)]
#[path = "cgroup_path_test.rs"]
mod tests;
