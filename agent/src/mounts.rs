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

/// Mount point of the cgroup v1 hierarchy that holds `controller` (super options such as
/// `rw,memory` or `rw,cpu,cpuacct`).
pub fn find_cgroup_v1(mountinfo: &str, controller: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let mut f = post.split_whitespace();
        if f.next()? != "cgroup" {
            return None;
        }
        let opts = f.nth(1)?;
        if !opts.split(',').any(|o| o == controller) {
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

    // This host's v1 memory line, and a CentOS 7 (systemd v1) host's cgroup lines.
    const V1_MOUNTINFO: &str = "\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
24 18 0:20 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:7 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
25 18 0:21 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpuacct,cpu
26 18 0:22 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,pids
";

    #[test]
    fn finds_v1_hierarchies_by_controller() {
        use super::find_cgroup_v1;
        use std::path::Path;
        let m = V1_MOUNTINFO;
        assert_eq!(
            find_cgroup_v1(m, "memory").unwrap(),
            Path::new("/sys/fs/cgroup/memory")
        );
        assert_eq!(
            find_cgroup_v1(m, "cpu").unwrap(),
            Path::new("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert_eq!(
            find_cgroup_v1(m, "cpuacct").unwrap(),
            Path::new("/sys/fs/cgroup/cpu,cpuacct")
        );
        assert_eq!(
            find_cgroup_v1(m, "pids").unwrap(),
            Path::new("/sys/fs/cgroup/pids")
        );
        assert_eq!(find_cgroup_v1(m, "blkio"), None);
        assert_eq!(find_cgroup_v1(MOUNTINFO, "memory"), None);
        assert_eq!(
            find_cgroup_v1(MOUNTINFO, "cpu").unwrap(),
            Path::new("/sys/fs/cgroup/cpu")
        );
    }

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
