//! Which cgroup hierarchy events are charged to, decided once at start-up: the v2
//! hierarchy, or on cgroup v1 hosts one v1 controller's hierarchy, whose cgroup ids the
//! programs read through BTF offsets (see `CgroupV1Layout`).
use std::path::{Path, PathBuf};

use archscope_common::CgroupV1Layout;

use crate::btf::Btf;
use crate::config::{CgroupMode, Config};

#[derive(Debug, Clone)]
pub struct Hierarchy {
    /// Where cgroup ids are resolved to paths (the directories' inode numbers).
    pub root: Option<PathBuf>,
    /// Set in v1 mode.
    pub v1: Option<(String, CgroupV1Layout)>,
}

impl Hierarchy {
    pub fn describe(&self) -> String {
        let root = self
            .root
            .as_deref()
            .map_or("none".into(), |r| r.display().to_string());
        match &self.v1 {
            Some((c, _)) => format!("cgroup v1, {c} hierarchy at {root}"),
            None => format!("cgroup v2 at {root}"),
        }
    }
}

/// Pick the hierarchy. `Err` only when v1 was asked for and cannot work (the message
/// names the setting).
pub fn choose(cfg: &Config) -> Result<Hierarchy, String> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    choose_in(cfg, &mountinfo, Path::new("/sys/kernel/btf/vmlinux"))
}

fn choose_in(cfg: &Config, mountinfo: &str, btf: &Path) -> Result<Hierarchy, String> {
    let v2 = crate::mounts::find_in(mountinfo, "cgroup2");
    let use_v1 = match cfg.cgroup_mode {
        CgroupMode::V2 => false,
        CgroupMode::V1 => true,
        // A cgroup2 mount means the runtime can place tasks there (hybrid hosts too).
        CgroupMode::Auto => v2.is_none(),
    };
    if !use_v1 {
        return Ok(Hierarchy { root: v2, v1: None });
    }
    let c = &cfg.cgroup_v1_controller;
    let root = crate::mounts::find_cgroup_v1(mountinfo, c)
        .ok_or_else(|| format!("cgroup_v1_controller: no cgroup v1 hierarchy has `{c}` mounted"))?;
    let layout = v1_layout(btf, c).map_err(|e| format!("cgroup_mode v1: kernel BTF: {e}"))?;
    Ok(Hierarchy {
        root: Some(root),
        v1: Some((c.clone(), layout)),
    })
}

/// Offsets of `task->cgroups->subsys[<controller>_cgrp_id]->cgroup->kn->id`.
fn v1_layout(btf: &Path, controller: &str) -> Result<CgroupV1Layout, String> {
    let btf = Btf::from_file(btf).map_err(|e| e.to_string())?;
    let off = |s: &str, m: &str| btf.member_offset(s, m).map_err(|e| e.to_string());
    // `blkio` is the `io` controller inside the kernel.
    let id = if controller == "blkio" {
        "io"
    } else {
        controller
    };
    let index = btf
        .enum_value("cgroup_subsys_id", &format!("{id}_cgrp_id"))
        .map_err(|e| e.to_string())?;
    Ok(CgroupV1Layout {
        enabled: 1,
        task_cgroups: off("task_struct", "cgroups")?,
        css_set_subsys: off("css_set", "subsys")? + 8 * index as u32,
        css_cgroup: off("cgroup_subsys_state", "cgroup")?,
        cgroup_kn: off("cgroup", "kn")?,
        kn_id: off("kernfs_node", "id")?,
    })
}

#[cfg(test)]
mod tests {
    use crate::config::{CgroupMode, Config};

    // A pure v1 host (CentOS 7 with systemd) and this project's hybrid CI host.
    const V1_HOST: &str = "\
24 18 0:20 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:7 - cgroup cgroup rw,xattr,release_agent=/usr/lib/systemd/systemd-cgroups-agent,name=systemd
25 18 0:21 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 - cgroup cgroup rw,cpuacct,cpu
29 18 0:25 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,memory
";
    const HYBRID_HOST: &str = "\
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    fn cfg(mode: CgroupMode, controller: &str) -> Config {
        Config {
            cgroup_mode: mode,
            cgroup_v1_controller: controller.into(),
            ..Config::default()
        }
    }

    #[test]
    fn auto_picks_v2_when_mounted_else_v1() {
        let btf = std::path::Path::new("/sys/kernel/btf/vmlinux");
        if !btf.exists() {
            return;
        }
        let h = super::choose_in(&cfg(CgroupMode::Auto, "memory"), HYBRID_HOST, btf).unwrap();
        assert!(h.v1.is_none());
        assert_eq!(
            h.root.unwrap(),
            std::path::Path::new("/sys/fs/cgroup/unified")
        );
        let h = super::choose_in(&cfg(CgroupMode::Auto, "memory"), V1_HOST, btf).unwrap();
        assert_eq!(h.v1.unwrap().0, "memory");
        assert_eq!(
            h.root.unwrap(),
            std::path::Path::new("/sys/fs/cgroup/memory")
        );
        let h = super::choose_in(&cfg(CgroupMode::V1, "cpu"), HYBRID_HOST, btf);
        let e = h.unwrap_err();
        assert!(e.starts_with("cgroup_v1_controller:"), "{e}");
        let h = super::choose_in(&cfg(CgroupMode::V1, "cpu"), V1_HOST, btf).unwrap();
        assert_eq!(
            h.root.unwrap(),
            std::path::Path::new("/sys/fs/cgroup/cpu,cpuacct")
        );
    }

    #[test]
    fn running_kernel_v1_layout() {
        let btf = std::path::Path::new("/sys/kernel/btf/vmlinux");
        if !btf.exists() {
            return;
        }
        let mem = super::v1_layout(btf, "memory").unwrap();
        let cpuset = super::v1_layout(btf, "cpuset").unwrap();
        assert_eq!(mem.enabled, 1);
        // subsys[] entries are pointers, indexed by the controller's id
        assert_eq!((mem.css_set_subsys - cpuset.css_set_subsys) % 8, 0);
        assert!(mem.css_set_subsys > cpuset.css_set_subsys);
        assert!(super::v1_layout(btf, "nosuch").is_err());
    }
}
