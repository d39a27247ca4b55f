//! Names on the OpenTelemetry side: each family's metric name and UCUM unit come from
//! the catalogue (`collect::names`); attribute keys for each label are here. The semantic
//! conventions are used where they define a name; `archscope.*` otherwise. The
//! Prometheus names do not change. docs/metrics.md prints this table; keep the two in step.
use crate::collect::names;
use opentelemetry_semantic_conventions::attribute as attr;

use crate::collect::names::OtlpMetric;

/// The OTLP metric of a family; `None` for one missing from the catalogue, which then goes
/// out as `archscope.<family>` with unit `1`.
pub fn metric(family: &str) -> Option<OtlpMetric> {
    names::by_name(family).map(|d| d.otlp)
}

/// Label key → attribute key.
const ATTRIBUTES: &[(&str, &str)] = &[
    // No convention names a cgroup path for a series (`process.linux.cgroup` is a
    // process's /proc/PID/cgroup line), nor a syscall.
    ("cgroup", "archscope.cgroup.path"),
    ("syscall", "archscope.syscall.name"),
    // a logical CPU number, as the convention's cpu.logical_number
    ("cpu", attr::CPU_LOGICAL_NUMBER),
    // errno names (ENOENT) are this domain's error identifiers.
    ("errno", attr::ERROR_TYPE),
    ("protocol", attr::NETWORK_TRANSPORT),
    ("direction", attr::NETWORK_IO_DIRECTION),
    ("container_id", attr::CONTAINER_ID),
    ("container", attr::K8S_CONTAINER_NAME),
    ("pod", attr::K8S_POD_NAME),
    ("pod_uid", attr::K8S_POD_UID),
    ("namespace", attr::K8S_NAMESPACE_NAME),
    // The conventions name each kind (k8s.deployment.name, …) but no kind-neutral workload.
    ("workload", "k8s.workload.name"),
    ("workload_kind", "archscope.workload.kind"),
    // `host` or the container runtime; `container.runtime.name` has no value for the host.
    ("runtime", "archscope.runtime"),
    // the systemd unit of a host process (not `service.name`, which is the agent)
    ("service", "archscope.systemd.unit"),
];

/// The attribute key of a label; labels without a convention become `archscope.<label>`.
pub fn attribute(label: &'static str) -> std::borrow::Cow<'static, str> {
    ATTRIBUTES
        .iter()
        .find(|(l, _)| *l == label)
        .map_or_else(|| format!("archscope.{label}").into(), |(_, a)| (*a).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_map_to_conventions() {
        assert_eq!(attribute("errno"), "error.type");
        assert_eq!(attribute("pod"), "k8s.pod.name");
        assert_eq!(attribute("container_id"), "container.id");
        assert_eq!(attribute("reason"), "archscope.reason");
        assert_eq!(metric("agent_cpu").unwrap().name, "process.cpu.time");
        assert_eq!(metric("nonexistent"), None);
    }
}
