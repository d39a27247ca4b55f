//! One qemu guest of `vm-test` and `vm-bench`: its command line per architecture, and the
//! run that collects its console and stops it at a deadline.
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::cross::Target;

/// A guest that hangs (kernel panic, a test stuck) must not hang CI. Generous: guests
/// booted side by side share two cores.
pub const QEMU_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// QEMU 7.2's LoongArch `virt` passes no initrd: the built-in DTS names this window,
/// and QEMU's loader device fills it.
const LOONGARCH_INITRD_ADDR: u64 = 0x800_0000;
const LOONGARCH_INITRD_MAX: u64 = 64 << 20;

/// Whether a boot echoes its console as it comes (one boot at a time), or keeps it for its
/// log and shows its end only on failure (boots side by side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    Console,
    Quiet,
}

/// What the guest printed between two marker lines on its console.
pub fn console_block(console: &str, begin: &str, end: &str) -> Option<String> {
    let text = console.replace('\r', "");
    text.split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(block, _)| block.trim().to_string())
}

/// The qemu command line. `only`: run just these test binaries (all when `None`);
/// `icount` (arm64 only) boots one CPU under `-icount shift=0`.
pub fn qemu_command(
    t: Target,
    kernel: &Path,
    initrd: &Path,
    only: Option<&[&str]>,
    icount: bool,
) -> anyhow::Result<Command> {
    let select = only.map_or_else(String::new, |o| format!(" archscope.tests={}", o.join(",")));
    let mut qemu = match t {
        Target::Aarch64 => {
            let mut c = Command::new("qemu-system-aarch64");
            // pauth-impdef: TCG computes pointer authentication with a cheap hash instead of
            // QARMA5, which otherwise dominates the guest's run time
            c.args(["-M", "virt", "-cpu", "max,pauth-impdef=on", "-m", "1024"]);
            let mut append = format!("console=ttyAMA0 rdinit=/init quiet{select}");
            if icount {
                c.args(["-smp", "1", "-icount", "shift=0"]);
                append.push_str(" archscope.icount=1");
            } else {
                c.args(["-smp", "2"]);
            }
            c.arg("-kernel")
                .arg(kernel)
                .arg("-initrd")
                .arg(initrd)
                .arg("-append")
                .arg(append);
            c
        }
        Target::X86_64 => {
            // TCG: nested KVM does not boot on these machines. One host thread runs both
            // vCPUs: with a thread each, a vCPU was seen to keep executing a stale
            // translation of kernel text the other had patched back (an int3 that memory no
            // longer held, at a static key the agents' attach and detach flip), trapping
            // on it forever; two guests hung that way in about fifty runs.
            let mut c = Command::new("qemu-system-x86_64");
            c.args([
                "-accel",
                "tcg,thread=single",
                "-cpu",
                "max",
                "-smp",
                "2",
                "-m",
                "2048",
            ])
            .arg("-kernel")
            .arg(kernel)
            .arg("-initrd")
            .arg(initrd)
            .arg("-append")
            .arg(format!("console=ttyS0 rdinit=/init quiet{select}"));
            c
        }
        Target::Loongarch64 => {
            let size = std::fs::metadata(initrd)?.len();
            if size > LOONGARCH_INITRD_MAX {
                bail!(
                    "{} is {size} bytes, over the 64 MiB initrd window of qemu-virt72.dts",
                    initrd.display()
                );
            }
            if only.is_some() {
                bail!("the LoongArch guest's command line is built in: it runs every test binary");
            }
            // -m 1024 and -smp 1 are what the built-in device tree describes.
            let mut c = Command::new("qemu-system-loongarch64");
            c.args(["-M", "virt", "-cpu", "la464", "-smp", "1", "-m", "1024"])
                .arg("-kernel")
                .arg(kernel)
                .arg("-device")
                .arg(format!(
                    "loader,file={},addr={LOONGARCH_INITRD_ADDR:#x},force-raw=on",
                    initrd.display()
                ));
            c
        }
    };
    // no NIC: the tests use loopback and their own veth pairs, and a default NIC would
    // need qemu's option ROMs (ipxe-qemu); node mode's guest (tests/src/node.rs) has a
    // virtio-mmio one
    qemu.args(["-nographic", "-no-reboot", "-nic", "none"]);
    Ok(qemu)
}

/// Run qemu, echoing the console as it comes (`Echo::Console`); kill it at QEMU_TIMEOUT.
/// Returns the console and whether it was killed.
pub fn run_qemu(qemu: &mut Command, echo: Echo) -> anyhow::Result<(String, bool)> {
    let mut child = qemu
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {qemu:?} (run `cargo xtask setup`)"))?;
    let mut out = child.stdout.take().context("qemu stdout")?;
    let reader = std::thread::spawn(move || {
        let (mut all, mut buf) = (Vec::new(), [0u8; 4096]);
        while let Ok(n @ 1..) = out.read(&mut buf) {
            if echo == Echo::Console {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(&buf[..n]);
                let _ = stdout.flush();
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    });
    let deadline = Instant::now() + QEMU_TIMEOUT;
    let mut timed_out = false;
    while child.try_wait()?.is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let console = reader.join().unwrap_or_default();
    Ok((String::from_utf8_lossy(&console).into_owned(), timed_out))
}
