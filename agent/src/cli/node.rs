//! `agent node`: what this node is (architecture, CPU, topology, caches, NUMA, OS), read
//! from a host root so that a DaemonSet sees the host rather than its own image.
use std::path::PathBuf;

use super::Output;
use crate::UsageError;
use crate::node::NodeInfo;

#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// The host's root directory (a DaemonSet mounts the host's / at e.g. /host)
    #[arg(
        long,
        env = "ARCHSCOPE_HOST_ROOT",
        value_name = "DIR",
        default_value = "/"
    )]
    pub host_root: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

pub fn node(args: NodeArgs) -> anyhow::Result<()> {
    let info = NodeInfo::read(&args.host_root).map_err(|e| UsageError(e.to_string()))?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&info)?),
        Output::Text => print_text(&info),
    }
    Ok(())
}

fn print_text(n: &NodeInfo) {
    let or_dash = |s: &str| {
        if s.is_empty() {
            "-".to_string()
        } else {
            s.to_string()
        }
    };
    println!(
        "arch              {} (GOARCH {}, Debian {})",
        n.arch, n.goarch, n.debian_arch
    );
    println!("cpu vendor        {}", or_dash(&n.cpu_vendor));
    println!("cpu model         {}", or_dash(&n.cpu_model));
    println!(
        "cpus              {} ({} socket(s) × {} core(s) × {} thread(s))",
        n.cpus, n.sockets, n.cores_per_socket, n.threads_per_core
    );
    println!("numa nodes        {}", n.numa_nodes);
    for node in &n.numa {
        println!("  node{:<14} {}", node.node, or_dash(&node.cpus));
    }
    for (name, bytes) in [
        ("l1d", n.l1d_bytes),
        ("l1i", n.l1i_bytes),
        ("l2", n.l2_bytes),
        ("l3", n.l3_bytes),
    ] {
        println!("{name:<17} {}", size(bytes));
    }
    println!("os                {}", or_dash(&n.os));
    println!("os id             {}", or_dash(&n.os_id));
    println!("kernel            {}", or_dash(&n.kernel));
}

/// lscpu-style: `1.5 MiB`, `64 KiB`; `-` when unknown.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    if bytes == 0 {
        return "-".into();
    }
    let (mut v, mut u) = (bytes as f64, 0);
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    let v = format!("{v:.1}");
    format!("{} {}", v.trim_end_matches(".0"), UNITS[u])
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    #[test]
    fn sizes_print_as_lscpu_does() {
        assert_eq!(size(1536 << 10), "1.5 MiB");
        assert_eq!(size(64 << 10), "64 KiB");
        assert_eq!(size(128 << 20), "128 MiB");
        assert_eq!(size(0), "-");
    }

    #[test]
    fn flags() {
        let cli =
            Cli::try_parse_from(["agent", "node", "--host-root", "/host", "--output", "json"]);
        let Ok(Cli {
            command: Command::Node(a),
        }) = cli
        else {
            panic!("{cli:?}");
        };
        assert_eq!(
            (a.host_root, a.output),
            (PathBuf::from("/host"), Output::Json)
        );
        if std::env::var_os("ARCHSCOPE_HOST_ROOT").is_none() {
            let Ok(Cli {
                command: Command::Node(a),
            }) = Cli::try_parse_from(["agent", "node"])
            else {
                panic!("agent node does not parse");
            };
            assert_eq!((a.host_root, a.output), (PathBuf::from("/"), Output::Text));
        }
    }
}
