//! Project tasks, `cargo xtask <task>`: setup, build, run, test (the whole suite as CI runs
//! it), vm-test and vm-bench (a real kernel of another architecture under qemu),
//! vm-compare (the same pod on the host and in the arm64 guest as a networked node), dist,
//! test-offline, test-least-privilege, perf, fuzz and dashboards. Modules that serve them:
//! ebpf (the one eBPF object every build embeds), cross (cross builds), guests, qemu,
//! initramfs, kernel and kernels (the qemu guests and the kernels they boot), node_guest
//! (vm-compare), support (the kernel support table the guests are held to).
mod apt;
mod cross;
mod dashboards;
mod dist;
mod ebpf;
mod fuzz;
mod guests;
mod initramfs;
mod kernel;
mod kernels;
mod node_guest;
mod offline;
mod qemu;
mod setup;
mod support;
mod test;
mod vm;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install what building and testing need (Debian packages, bpf-linker, the
    /// `ebpf-1.96` toolchain link). Idempotent.
    Setup,
    /// Build the agent (installing what is missing first); `--target` cross-builds a
    /// release binary for x86_64/amd64, aarch64/arm64 or loongarch64/loong64.
    Build {
        #[arg(long)]
        release: bool,
        #[arg(long)]
        target: Option<String>,
    },
    /// Run the kernel integration tests on a real kernel of another architecture under
    /// qemu: arm64 (Debian's kernel) or loongarch64 (built from linux-source-6.12).
    VmTest {
        arch: String,
        /// a kernel of the matrix (xtask/src/kernels.rs), or `all` for every kernel of
        /// the arch that CI boots [default: the arch's first]
        #[arg(long)]
        kernel: Option<String>,
        /// arm64 only: then boot again with one CPU under `-icount shift=0` and run the
        /// PMU tests, whose exact-IPC check needs it (about a minute more)
        #[arg(long)]
        icount: bool,
    },
    /// Run `agent bench run` on a real kernel of another architecture under qemu and write
    /// the results document it prints (arguments after `--` go to `agent bench run`,
    /// default `--quick`).
    VmBench {
        arch: String,
        #[arg(long)]
        out: PathBuf,
        /// Use the binaries of the last cross build as they are
        #[arg(long)]
        no_build: bool,
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// The same pod workload on the host and in the arm64 guest (Debian 12's 6.1 booted as
    /// a networked Kubernetes-like node), both scraped by a real Prometheus:
    /// tests/tests/workload_compare/. Needs root.
    VmCompare,
    /// Build and run `agent run`, passing on any arguments after `--`.
    Run {
        #[arg(long)]
        release: bool,
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// The whole test suite (needs root): formatting, lints (the kernel programs' too), unit
    /// tests, the integration tests on the running kernel and in the guests of the kernel
    /// matrix, short fuzzing and the offline bundle build.
    Test,
    /// Release archives under target/dist for each `--target` (default: x86_64, aarch64,
    /// loongarch64) with the agent, README, docs/, dashboards, deploy/ and SHA256SUMS, and the image
    /// build context; `--offline`: the vendored source bundle for air-gapped builds.
    Dist {
        #[arg(long, value_delimiter = ',')]
        target: Vec<String>,
        #[arg(long)]
        offline: bool,
    },
    /// Regenerate the Grafana dashboards in dashboards/*.json
    Dashboards,
    /// Regenerate docs/metrics.md's metric table from the catalogue
    /// (agent/src/collect/names/)
    Docs,
    /// Build the offline bundle as an air-gapped site would (no network, empty
    /// CARGO_HOME, no eBPF toolchain) and smoke-test the binary. Several minutes.
    TestOffline,
    /// The host integration tests with every agent holding only CAP_BPF, CAP_PERFMON and
    /// CAP_NET_ADMIN (or XTASK_AGENT_CAPS): the documented set, proven sufficient.
    TestLeastPrivilege,
    /// Measure the release agent against the project's performance goals (the table in
    /// docs/PERFORMANCE.md); `--quick` for a short smoke run. Needs root.
    Perf {
        #[arg(long)]
        quick: bool,
    },
    /// Fuzz the parsers of host and user text (cgroup paths, cpuinfo, sysfs values,
    /// tracefs formats, the config file) from the committed seeds, each for --seconds.
    Fuzz {
        /// seconds per target
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// unoptimised build (a quicker build for short runs, as CI does)
        #[arg(long)]
        dev: bool,
        /// targets to run (default: all)
        targets: Vec<String>,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().cmd {
        Cmd::Setup => setup::run(true, setup::Need::Test),
        Cmd::Build {
            release,
            target: None,
        } => {
            setup::run(false, setup::Need::Run)?;
            build(release)
        }
        Cmd::Build {
            target: Some(t), ..
        } => {
            let t = cross::Target::parse(&t)?;
            setup::run(false, setup::Need::Cross)?;
            cross::build(t)?;
            eprintln!("built {}", t.out_dir().join("agent").display());
            Ok(())
        }
        Cmd::VmTest {
            arch,
            kernel,
            icount,
        } => {
            let t = cross::Target::parse(&arch)?;
            setup::run(false, setup::Need::Cross)?;
            vm::run(t, kernel.as_deref(), icount)
        }
        Cmd::VmCompare => {
            setup::run(false, setup::Need::Test)?;
            node_guest::run()
        }
        Cmd::VmBench {
            arch,
            out,
            no_build,
            args,
        } => {
            let t = cross::Target::parse(&arch)?;
            setup::run(false, setup::Need::Cross)?;
            let args = if args.is_empty() {
                vec!["--quick".to_string()]
            } else {
                args
            };
            vm::bench(t, &out, &args, no_build)
        }
        Cmd::Run { release, args } => {
            setup::run(false, setup::Need::Run)?;
            build(release)?;
            let bin = target_dir()
                .join(if release { "release" } else { "debug" })
                .join("agent");
            let mut cmd = Command::new(bin);
            cmd.arg("run").args(args);
            use std::os::unix::process::CommandExt;
            Err(cmd.exec()).context("starting the agent")
        }
        Cmd::Test => {
            setup::run(false, setup::Need::Test)?;
            test::run()
        }
        Cmd::Dist { target, offline } => {
            setup::run(false, setup::Need::Cross)?;
            if offline {
                offline::bundle()?;
                return Ok(());
            }
            let targets = if target.is_empty() {
                vec![
                    cross::Target::X86_64,
                    cross::Target::Aarch64,
                    cross::Target::Loongarch64,
                ]
            } else {
                target
                    .iter()
                    .map(|t| cross::Target::parse(t))
                    .collect::<anyhow::Result<_>>()?
            };
            dist::archives(&targets)?;
            Ok(())
        }
        Cmd::Dashboards => dashboards::write(),
        // The catalogue is the agent's own code: its test writes the table when blessed.
        Cmd::Docs => status(
            cargo()
                .args(["test", "-p", "archscope-agent", "--lib"])
                .arg("collect::names::reference::metrics_doc_lists_the_catalogue")
                .env("ARCHSCOPE_BLESS", "1"),
        ),
        Cmd::TestOffline => {
            setup::run(false, setup::Need::Run)?;
            offline::test()
        }
        Cmd::TestLeastPrivilege => {
            setup::run(false, setup::Need::Test)?;
            test::least_privilege()
        }
        Cmd::Fuzz {
            seconds,
            dev,
            targets,
        } => {
            setup::run(false, setup::Need::Test)?;
            fuzz::run(seconds, dev, &targets)
        }
        Cmd::Perf { quick } => {
            setup::run(false, setup::Need::Test)?;
            status(cargo().args([
                "build",
                "--release",
                "-p",
                "archscope-agent",
                "-p",
                "archscope-tests",
                "--bins",
            ]))?;
            let dir = target_dir().join("release");
            let mut perf = std::process::Command::new(dir.join("archscope-perf"));
            if quick {
                perf.arg("--quick");
            }
            perf.env("XTASK_AGENT_BIN", dir.join("agent"));
            status(&mut perf)
        }
    }
}

fn build(release: bool) -> anyhow::Result<()> {
    let mut cmd = cargo();
    cmd.args(["build", "-p", "archscope-agent"]);
    if release {
        cmd.arg("--release");
    }
    status(&mut cmd)
}

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// cargo of the toolchain that runs xtask (rustup stable), in the workspace root.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root());
    c
}

pub fn status(cmd: &mut Command) -> anyhow::Result<()> {
    let st = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !st.success() {
        bail!("{cmd:?} failed ({st})");
    }
    Ok(())
}
