//! The OTLP resource: who is reporting. The agent and the node it watches, in the
//! semantic conventions' resource attributes, then `OTEL_RESOURCE_ATTRIBUTES` and
//! `OTEL_SERVICE_NAME`, which win over what the agent detects.
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_semantic_conventions::resource as res;

use crate::arch::Arch;
use crate::node::NodeInfo;

/// What the resource is built from, gathered at start-up.
#[derive(Debug, Clone, Default)]
pub struct Detected {
    pub host_name: Option<String>,
    /// `NODE_NAME` (set from the downward API in the DaemonSet).
    pub k8s_node_name: Option<String>,
    pub arch: Option<Arch>,
    pub node: Option<NodeInfo>,
}

impl Detected {
    pub fn from_system(node: Option<&NodeInfo>) -> Detected {
        let arch = node
            .and_then(|n| Arch::from_name(&n.arch))
            .or_else(Arch::running);
        Detected {
            host_name: sysinfo::System::host_name().ok(),
            k8s_node_name: std::env::var("NODE_NAME")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            arch,
            node: node.cloned(),
        }
    }
}

/// `host.arch` as the conventions spell it (`amd64`, `arm64`); they define no value for
/// LoongArch or SW64, so those take their own names.
pub fn host_arch(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "amd64",
        Arch::Aarch64 => "arm64",
        Arch::Loongarch64 => "loongarch64",
        Arch::Sw64 => "sw64",
    }
}

pub fn build(d: &Detected, user: &[(String, String)]) -> Resource {
    let mut attrs: Vec<(String, String)> = vec![
        (res::SERVICE_NAME.into(), "archscope".into()),
        (
            res::SERVICE_VERSION.into(),
            env!("CARGO_PKG_VERSION").into(),
        ),
        (res::OS_TYPE.into(), "linux".into()),
    ];
    let mut add = |k: &str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attrs.push((k.into(), v.into()));
        }
    };
    add(res::HOST_NAME, d.host_name.as_deref());
    add(res::HOST_ARCH, d.arch.map(host_arch));
    if let Some(n) = &d.node {
        add(res::OS_DESCRIPTION, Some(&n.os));
        add(res::HOST_CPU_VENDOR_ID, Some(&n.cpu_vendor));
        add(res::HOST_CPU_MODEL_NAME, Some(&n.cpu_model));
    }
    add(res::K8S_NODE_NAME, d.k8s_node_name.as_deref());
    for (k, v) in user {
        attrs.retain(|(have, _)| have != k);
        attrs.push((k.clone(), v.clone()));
    }
    Resource {
        attributes: attrs.into_iter().map(|(k, v)| string_kv(k, v)).collect(),
        ..Default::default()
    }
}

pub fn string_kv(key: impl Into<String>, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.into())),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(r: &'a Resource, key: &str) -> Option<&'a str> {
        r.attributes.iter().find(|kv| kv.key == key).and_then(|kv| {
            match kv.value.as_ref()?.value.as_ref()? {
                any_value::Value::StringValue(s) => Some(s.as_str()),
                _ => None,
            }
        })
    }

    #[test]
    fn conventions_then_user_attributes_win() {
        let d = Detected {
            host_name: Some("n1".into()),
            k8s_node_name: Some("node-1".into()),
            arch: Some(Arch::Loongarch64),
            node: None,
        };
        let user = [
            ("service.name".to_string(), "edge".to_string()),
            ("deployment.environment.name".to_string(), "lab".to_string()),
        ];
        let r = build(&d, &user);
        assert_eq!(get(&r, "host.arch"), Some("loongarch64"));
        assert_eq!(get(&r, "k8s.node.name"), Some("node-1"));
        assert_eq!(get(&r, "os.type"), Some("linux"));
        assert_eq!(get(&r, "service.name"), Some("edge"));
        assert_eq!(get(&r, "deployment.environment.name"), Some("lab"));
        let names = r.attributes.iter().filter(|kv| kv.key == "service.name");
        assert_eq!(names.count(), 1);
        assert_eq!(host_arch(Arch::X86_64), "amd64");
        assert_eq!(host_arch(Arch::Sw64), "sw64");
    }
}
