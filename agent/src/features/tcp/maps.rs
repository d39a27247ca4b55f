//! What the TCP programs need to know about this kernel.
use archscope_common::TcpLayout;

use crate::arch::{Arch, errno};
use crate::btf::Btf;
use crate::tracefs::Tracefs;

const STATE_TP: &str = "sock:inet_sock_set_state";
const RETRANS_TP: &str = "tcp:tcp_retransmit_skb";

/// Record offsets from tracefs, struct offsets from BTF, TCP state numbers from the
/// tracepoint's print format, errno numbers from the architecture's table.
pub fn tcp_layout(t: &Tracefs, arch: Option<Arch>) -> Result<TcpLayout, String> {
    let s = t
        .format("sock", "inet_sock_set_state")
        .map_err(|e| e.to_string())?;
    let field = |f: &crate::tracefs::Format, tp: &str, name: &str, size: u32| {
        let x = f.field(tp, name).map_err(|e| e.to_string())?;
        if x.size != size {
            return Err(format!(
                "{tp}: field {name} is {} bytes, expected {size}",
                x.size
            ));
        }
        Ok(x.offset)
    };
    let sym = |name: &str| s.symbol(STATE_TP, name).map_err(|e| e.to_string());
    // The retransmit hook is optional: without it only `retransmits` is missing.
    let retrans_skaddr = t
        .format("tcp", "tcp_retransmit_skb")
        .map_err(|e| e.to_string())
        .and_then(|r| field(&r, RETRANS_TP, "skaddr", 8))
        .unwrap_or(0);
    let btf = Btf::from_file(std::path::Path::new("/sys/kernel/btf/vmlinux"))
        .map_err(|e| format!("kernel BTF: {e}"))?;
    let off = |s: &str, m: &str| btf.member_offset(s, m).map_err(|e| e.to_string());
    // sw_64 keeps Alpha's errno numbers, not in the tables yet: failures are then
    // classified as `other` rather than under a wrong reason.
    let errno = |name: &str| {
        arch.and_then(|a| errno::number(a, name))
            .unwrap_or(u32::MAX)
    };
    // 5.15 made `sock_cgroup_data` a struct with a `cgroup` pointer; before, it is a union
    // whose `val` is the pointer unless one of its two low bits is set
    let (cgroup_member, tagged) = match btf.member_offset("sock_cgroup_data", "cgroup") {
        Ok(o) => (o, 0),
        Err(_) => (
            btf.nested_member_offset("sock_cgroup_data", "val")
                .map_err(|e| format!("{e} (nor cgroup)"))?,
            1,
        ),
    };
    let root_cgroup_id = crate::mounts::find("cgroup2")
        .and_then(|root| std::fs::metadata(root).ok())
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap_or(1);
    Ok(TcpLayout {
        state_skaddr: field(&s, STATE_TP, "skaddr", 8)?,
        state_old: field(&s, STATE_TP, "oldstate", 4)?,
        state_new: field(&s, STATE_TP, "newstate", 4)?,
        state_protocol: field(&s, STATE_TP, "protocol", 2)?,
        retrans_skaddr,
        sk_cgroup: off("sock", "sk_cgrp_data")? + cgroup_member,
        cgroup_kn: off("cgroup", "kn")?,
        kn_id: off("kernfs_node", "id")?,
        sk_err: off("sock", "sk_err")?,
        srtt_us: off("tcp_sock", "srtt_us")?,
        st_established: sym("TCP_ESTABLISHED")?,
        st_syn_sent: sym("TCP_SYN_SENT")?,
        st_syn_recv: sym("TCP_SYN_RECV")?,
        st_close: sym("TCP_CLOSE")?,
        st_listen: sym("TCP_LISTEN")?,
        econnrefused: errno("ECONNREFUSED"),
        etimedout: errno("ETIMEDOUT"),
        econnreset: errno("ECONNRESET"),
        epipe: errno("EPIPE"),
        enabled: 1,
        sk_cgroup_tagged: tagged,
        _pad: 0,
        root_cgroup_id,
    })
}
