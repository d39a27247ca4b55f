use super::*;

const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn layouts() {
    // (path, runtime, pod uid, qos, conmon)
    type Case<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        bool,
    );
    let cases: &[Case] = &[
        // (path, runtime, pod uid, qos, conmon)
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b7632a2_a56e_4278_987a_22de18008dbe.slice/cri-containerd-ID.scope",
            Some("containerd"),
            Some("0b7632a2-a56e-4278-987a-22de18008dbe"),
            Some("burstable"),
            false,
        ),
        (
            "/kubepods.slice/kubepods-podd80f4a0e_576f_47a8_a0cf_69dc23dc1980.slice/cri-containerd-ID.scope",
            Some("containerd"),
            Some("d80f4a0e-576f-47a8-a0cf-69dc23dc1980"),
            Some("guaranteed"),
            false,
        ),
        (
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0b7632a2_a56e_4278_987a_22de18008dbe.slice/crio-conmon-ID.scope",
            Some("cri-o"),
            Some("0b7632a2-a56e-4278-987a-22de18008dbe"),
            Some("burstable"),
            true,
        ),
        (
            "/kubepods/besteffort/pod12345678-1234-1234-1234-123456789abc/ID",
            Some("cri"),
            Some("12345678-1234-1234-1234-123456789abc"),
            Some("besteffort"),
            false,
        ),
        (
            "/kubepods/pod12345678-1234-1234-1234-123456789abc/ID",
            Some("cri"),
            Some("12345678-1234-1234-1234-123456789abc"),
            Some("guaranteed"),
            false,
        ),
        (
            "/system.slice/docker-ID.scope",
            Some("docker"),
            None,
            None,
            false,
        ),
        ("/docker/ID", Some("docker"), None, None, false),
        (
            "/machine.slice/libpod-ID.scope",
            Some("podman"),
            None,
            None,
            false,
        ),
        (
            "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-ID.scope",
            Some("podman"),
            None,
            None,
            false,
        ),
    ];
    for (path, runtime, uid, qos, conmon) in cases {
        let p = parse(&path.replace("ID", ID));
        assert_eq!(p.container_id.as_deref(), Some(ID), "{path}");
        assert_eq!(p.runtime, *runtime, "{path}");
        assert_eq!(p.pod_uid.as_deref(), *uid, "{path}");
        assert_eq!(p.qos.as_deref(), *qos, "{path}");
        assert_eq!(p.conmon, *conmon, "{path}");
        assert_eq!(p.service, None, "{path}");
    }
}

#[test]
fn host_cgroups() {
    assert_eq!(
        parse("/system.slice/nginx.service").service.as_deref(),
        Some("nginx")
    );
    assert!(!parse("/system.slice/nginx.service").is_container());
    assert_eq!(parse("/"), PathIdentity::default());
    assert_eq!(parse("/init.scope"), PathIdentity::default());
    assert_eq!(
        parse("/user.slice/user-1000.slice/session-3.scope"),
        PathIdentity::default()
    );
    // a pod cgroup itself (the pause process lives below it): pod, no container
    let pod = parse("/kubepods/burstable/pod12345678-1234-1234-1234-123456789abc");
    assert_eq!(
        pod.pod_uid.as_deref(),
        Some("12345678-1234-1234-1234-123456789abc")
    );
    assert!(!pod.is_container());
}

#[test]
fn nested_runtimes_take_the_innermost_container() {
    let other = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    let p = parse(&format!(
        "/docker/{other}/kubepods/burstable/pod12345678-1234-1234-1234-123456789abc/{ID}"
    ));
    assert_eq!(p.container_id.as_deref(), Some(ID));
    assert_eq!(p.runtime, Some("cri"));
}

/// Every real path collected from real systems (`data/real_cgroup_paths.tsv`: quoted in
/// public issues and runtimes' own test data, with sources) parses to its layout. Paths
/// quoted from `ls` keep their /sys/fs/cgroup prefix and file names: the parser must cope.
#[test]
fn real_paths_from_real_systems() {
    let text = include_str!("data/real_cgroup_paths.tsv");
    let mut n = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        let (layout, path) = (f[0], f[1]);
        if layout == "layout" {
            continue; // header row
        }
        n += 1;
        let p = parse(path);
        let id_len = p.container_id.as_ref().map(String::len);
        let want = |runtime: &str, pod: bool, conmon: bool| {
            assert_eq!(p.runtime, Some(runtime), "{layout}: {path}");
            assert_eq!(p.pod_uid.is_some(), pod, "{layout}: {path}");
            assert_eq!(p.conmon, conmon, "{layout}: {path}");
            assert_eq!(id_len, Some(64), "{layout}: {path}");
        };
        match layout {
            "1-containerd-systemd" | "7-kind-kubelet-slice" | "7-containerd-colon-v1" => {
                want("containerd", true, false)
            }
            "1-systemd-pod" | "2-cgroupfs-pod" => {
                assert!(p.pod_uid.is_some() && !p.is_container(), "{layout}: {path}");
                assert!(p.qos.is_some());
            }
            "2-cgroupfs" | "2-cgroupfs-guaranteed" => want("cri", true, false),
            "3-crio-systemd" => want("cri-o", true, false),
            "3-crio-conmon" => {
                assert_eq!(
                    (p.runtime, p.conmon, id_len),
                    (Some("cri-o"), true, Some(64)),
                    "{path}"
                );
            }
            "4-docker-systemd" | "4-docker-cgroupfs" => want("docker", false, false),
            "7-dockershim-systemd" => want("docker", true, false),
            "5-podman-rootful" | "5-podman-rootless" => want("podman", false, false),
            "5-podman-conmon" => want("podman", false, true),
            "6-systemd-service" => {
                assert!(p.service.is_some() && !p.is_container(), "{layout}: {path}")
            }
            "6-host-other" => assert!(!p.is_container() && p.pod_uid.is_none(), "{layout}: {path}"),
            // other variants: parsed without panicking; some carry no container at all
            _ => {}
        }
    }
    assert!(n >= 100, "only {n} real paths");
}
