//! Mount points from /proc/self/mountinfo, and mounting pseudo filesystems when absent.
use std::path::{Path, PathBuf};

/// First mount point of filesystem type `fstype`.
pub fn find(fstype: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    find_in(&text, fstype)
}

/// `36 35 98:0 / /mnt rw,noatime master:1 - ext3 /dev/root rw` → fields after ` - ` are
/// fstype and source; the mount point is field 5 (octal-escaped).
pub fn find_in(mountinfo: &str, fstype: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        if post.split_whitespace().next()? != fstype {
            return None;
        }
        Some(PathBuf::from(unescape(pre.split_whitespace().nth(4)?)))
    })
}

fn unescape(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

pub fn mount(source: &str, target: &Path, fstype: &str) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    std::fs::create_dir_all(target)?;
    let c = |s: &[u8]| CString::new(s).map_err(std::io::Error::other);
    let (src, tgt, fs) = (
        c(source.as_bytes())?,
        c(target.as_os_str().as_bytes())?,
        c(fstype.as_bytes())?,
    );
    // SAFETY: valid NUL-terminated strings; no data argument.
    let rc = unsafe { libc::mount(src.as_ptr(), tgt.as_ptr(), fs.as_ptr(), 0, std::ptr::null()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    // This project's CI host (Debian 12, Linux 6.18, hybrid cgroups), plus a line with an
    // escaped space and a tracefs line as systemd mounts it.
    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
45 23 0:12 / /sys/kernel/tracing rw,nosuid,nodev,noexec,relatime shared:14 - tracefs tracefs rw
52 22 0:40 / /mnt/with\\040space rw - tmpfs tmpfs rw
";

    #[test]
    fn finds_mounts() {
        use std::path::Path;
        assert_eq!(
            super::find_in(MOUNTINFO, "cgroup2").unwrap(),
            Path::new("/sys/fs/cgroup/unified")
        );
        assert_eq!(
            super::find_in(MOUNTINFO, "tracefs").unwrap(),
            Path::new("/sys/kernel/tracing")
        );
        assert_eq!(
            super::find_in(MOUNTINFO, "tmpfs").unwrap(),
            Path::new("/sys/fs/cgroup")
        );
        assert_eq!(
            super::find_in(MOUNTINFO, "cgroup").unwrap(),
            Path::new("/sys/fs/cgroup/cpu")
        );
        assert!(super::find_in(MOUNTINFO, "bpf").is_none());
    }
}
