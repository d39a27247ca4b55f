//! The pods of this node as the Kubernetes API describes them: one info series per pod
//! with its allowed labels, to join on `namespace` and `pod` in PromQL (as
//! kube-state-metrics' `kube_pod_labels`), instead of copying labels onto every series.
use super::model::{Family, Labels, Series, Value, label};
use super::names;
use crate::identity::kubernetes::KubernetesSource;

pub fn pod_labels(k: &KubernetesSource) -> Family {
    let mut f = names::KUBERNETES_POD_LABELS.family_empty();
    for p in k.pods() {
        let mut labels: Labels = vec![
            ("namespace", label(p.namespace.as_str())),
            ("pod", label(p.name.as_str())),
            ("workload", label(p.workload.as_str())),
            ("workload_kind", label(p.workload_kind.as_str())),
        ];
        for (key, prom) in k.label_keys.iter() {
            let v = p
                .labels
                .iter()
                .find(|(k2, _)| k2 == key)
                .map_or("", |(_, v)| v);
            labels.push((prom, label(v)));
        }
        f.series.push(Series {
            labels,
            value: Value::Gauge(1.0),
        });
    }
    f
}
