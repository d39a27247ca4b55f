//! Parsers of the settings whose text is more than a number, a duration or a name from a
//! list, each error naming its field.
use super::{ConfigError, MemoryLimit};

/// `archscope_sys_enter,tcp_retransmit` → the programs' bits in `FaultInjection::reject`
/// (the `archscope_` prefix may be left out).
pub(super) fn program_bits(s: &str) -> Result<u32, ConfigError> {
    use archscope_common::Program;
    let mut bits = 0;
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let full = if name.starts_with("archscope_") {
            name.to_string()
        } else {
            format!("archscope_{name}")
        };
        let program = Program::from_name(&full).ok_or_else(|| ConfigError::Field {
            field: "inject_verifier_reject",
            msg: format!(
                "`{name}` is not one of {}",
                Program::ALL.map(Program::name).join(", ")
            ),
        })?;
        bits |= 1 << program as u32;
    }
    Ok(bits)
}

/// `tcp,scheduler` → those features (switched off).
pub(super) fn feature_names(s: &str) -> Result<Vec<crate::probes::Feature>, ConfigError> {
    use crate::probes::Feature;
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|name| {
            Feature::from_name(name).ok_or_else(|| ConfigError::Field {
                field: "features_off",
                msg: format!(
                    "`{name}` is not one of {}",
                    Feature::ALL.map(Feature::name).join(", ")
                ),
            })
        })
        .collect()
}

/// `auto`, `off`, or a size as sysfs and Kubernetes write them (`256MiB`, `256Mi`,
/// `256M`, `1G`, bytes), at least 16 MiB.
pub(super) fn memory_limit(s: &str) -> Result<MemoryLimit, ConfigError> {
    let t = s.trim();
    let err = |msg: String| ConfigError::Field {
        field: "memory_limit",
        msg,
    };
    match t {
        "auto" => return Ok(MemoryLimit::Auto),
        "off" => return Ok(MemoryLimit::Off),
        _ => {}
    }
    let bytes = crate::node::cache::parse_size(t.strip_suffix('i').unwrap_or(t))
        .ok_or_else(|| err(format!("`{s}` is not auto, off or a size such as 256MiB")))?;
    if bytes < 16 << 20 {
        return Err(err(format!("`{s}` is under the 16MiB minimum")));
    }
    Ok(MemoryLimit::Bytes(bytes))
}

/// Label keys as Kubernetes allows them (`[prefix/]name`, at most 63 characters of
/// `[A-Za-z0-9._-]` in the name), at most 32 of them.
pub(super) fn pod_label_keys(s: &str) -> Result<Vec<String>, ConfigError> {
    let err = |msg: String| ConfigError::Field {
        field: "kubernetes_pod_labels",
        msg,
    };
    let keys: Vec<String> = s
        .split(',')
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(String::from)
        .collect();
    if keys.len() > 32 {
        return Err(err(format!("{} keys; at most 32", keys.len())));
    }
    for k in &keys {
        let name = k.rsplit('/').next().unwrap_or(k);
        let ok = |c: char| c.is_ascii_alphanumeric() || "._-/".contains(c);
        if name.is_empty() || name.len() > 63 || !k.chars().all(ok) || k.matches('/').count() > 1 {
            return Err(err(format!("`{k}` is not a Kubernetes label key")));
        }
    }
    Ok(keys)
}
