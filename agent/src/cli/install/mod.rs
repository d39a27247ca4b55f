//! `agent install kubernetes | systemd`: the deployment files, rendered from templates
//! embedded in the binary. `deploy/` in the repository holds the default renderings (a
//! test keeps them equal).
pub mod kubernetes;
pub mod systemd;

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    #[command(subcommand)]
    pub what: Install,
}

#[derive(Debug, clap::Subcommand)]
pub enum Install {
    /// Print the Kubernetes manifests (DaemonSet, RBAC, Service, ConfigMap…); pipe to
    /// `kubectl apply -f -`
    Kubernetes(kubernetes::KubernetesArgs),
    /// Install the systemd unit (and the binary) on a bare host
    Systemd(systemd::SystemdArgs),
}

pub fn install(args: InstallArgs) -> anyhow::Result<()> {
    match args.what {
        Install::Kubernetes(a) => {
            print!("{}", kubernetes::render(&a)?);
            Ok(())
        }
        Install::Systemd(a) => systemd::install(a),
    }
}

/// Replace every `{{key}}` in `template`. A multi-line value is indented to the
/// placeholder's column, so YAML blocks can be substituted as a unit.
pub fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() + 1024);
    for line in template.split_inclusive('\n') {
        let mut line = line.to_string();
        for (k, v) in vars {
            let ph = format!("{{{{{k}}}}}");
            while let Some(col) = line.find(&ph) {
                let indent = format!("\n{}", " ".repeat(col));
                line.replace_range(col..col + ph.len(), &v.replace('\n', &indent));
            }
        }
        out.push_str(&line);
    }
    debug_assert!(!out.contains("{{"), "unfilled placeholder in:\n{out}");
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_blocks_at_the_placeholder_column() {
        let t = "a: {{x}}\n  b:\n    {{block}}\nc: {{x}}{{x}}\n";
        let out = super::render(t, &[("x", "1".into()), ("block", "p: 1\nq:\n  - r".into())]);
        assert_eq!(out, "a: 1\n  b:\n    p: 1\n    q:\n      - r\nc: 11\n");
    }
}
