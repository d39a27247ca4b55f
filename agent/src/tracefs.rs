//! tracefs: where it is, and the field layout of a tracepoint from its `format` file. The
//! programs never hard-code a record offset; they get them from here at load time.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TracefsError {
    #[error("tracefs is not mounted and mounting it at {0} failed: {1}")]
    NotMounted(PathBuf, std::io::Error),
    #[error("tracepoint {0} not found ({1})")]
    NoTracepoint(String, std::io::Error),
    #[error("tracepoint {tp}: field `{field}` missing from its format file")]
    NoField { tp: String, field: String },
}

/// One field of a tracepoint record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub offset: u32,
    pub size: u32,
    pub signed: bool,
}

/// The fields of a tracepoint record by name, parsed from its `format` file.
#[derive(Debug, Clone, Default)]
pub struct Format {
    pub fields: HashMap<String, Field>,
    /// The `print fmt:` line, whose `__print_symbolic` tables name enum values.
    pub print_fmt: String,
}

impl Format {
    /// Parse lines such as `\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;`.
    pub fn parse(text: &str) -> Format {
        let mut fields = HashMap::new();
        for line in text.lines() {
            let mut decl = None;
            let (mut offset, mut size, mut signed) = (None, None, false);
            for part in line.split(';').map(str::trim) {
                if let Some(d) = part.strip_prefix("field:") {
                    decl = Some(d);
                } else if let Some(v) = part.strip_prefix("offset:") {
                    offset = v.parse().ok();
                } else if let Some(v) = part.strip_prefix("size:") {
                    size = v.parse().ok();
                } else if let Some(v) = part.strip_prefix("signed:") {
                    signed = v == "1";
                }
            }
            if let (Some(d), Some(offset), Some(size)) = (decl, offset, size)
                && let Some(name) = field_name(d)
            {
                fields.insert(
                    name.to_string(),
                    Field {
                        offset,
                        size,
                        signed,
                    },
                );
            }
        }
        let print_fmt = text
            .lines()
            .find_map(|l| l.strip_prefix("print fmt:"))
            .unwrap_or_default()
            .to_string();
        Format { fields, print_fmt }
    }

    /// The value the print format's `__print_symbolic` tables give `name`, e.g. 1 for
    /// `TCP_ESTABLISHED` in `{ 1, "TCP_ESTABLISHED" }`.
    pub fn symbol(&self, tp: &str, name: &str) -> Result<u32, TracefsError> {
        let quoted = format!("\"{name}\"");
        self.print_fmt
            .split('{')
            .filter_map(|pair| {
                let (value, rest) = pair.split_once(',')?;
                (rest.split('}').next()?.trim() == quoted).then_some(value.trim())
            })
            .find_map(|v| v.parse().ok())
            .ok_or_else(|| TracefsError::NoField {
                tp: tp.into(),
                field: format!("symbol {name} in its print fmt"),
            })
    }

    pub fn field(&self, tp: &str, name: &str) -> Result<Field, TracefsError> {
        self.fields
            .get(name)
            .copied()
            .ok_or_else(|| TracefsError::NoField {
                tp: tp.into(),
                field: name.into(),
            })
    }
}

/// `unsigned long args[6]` → `args`; `long id` → `id`; `__data_loc char[] name` → `name`.
fn field_name(decl: &str) -> Option<&str> {
    let last = decl.split_whitespace().last()?;
    Some(last.split('[').next().unwrap_or(last)).filter(|n| !n.is_empty())
}

/// A tracefs mount.
#[derive(Debug, Clone)]
pub struct Tracefs {
    pub root: PathBuf,
}

impl Tracefs {
    /// The configured directory, else the mount found in /proc/self/mountinfo, else mount
    /// one at /sys/kernel/tracing (as root; a DaemonSet mounts the host's).
    pub fn find_or_mount(configured: Option<&Path>) -> Result<Tracefs, TracefsError> {
        if let Some(p) = configured {
            return Ok(Tracefs { root: p.into() });
        }
        if let Some(p) = crate::mounts::find("tracefs") {
            return Ok(Tracefs { root: p });
        }
        let legacy = Path::new("/sys/kernel/debug/tracing");
        if legacy.join("events").is_dir() {
            return Ok(Tracefs {
                root: legacy.into(),
            });
        }
        let root = PathBuf::from("/sys/kernel/tracing");
        crate::mounts::mount("tracefs", &root, "tracefs")
            .map_err(|e| TracefsError::NotMounted(root.clone(), e))?;
        Ok(Tracefs { root })
    }

    pub fn format(&self, category: &str, name: &str) -> Result<Format, TracefsError> {
        let p = self
            .root
            .join("events")
            .join(category)
            .join(name)
            .join("format");
        let text = std::fs::read_to_string(&p)
            .map_err(|e| TracefsError::NoTracepoint(format!("{category}:{name}"), e))?;
        Ok(Format::parse(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Verbatim from Linux 6.18 x86_64 (/sys/kernel/tracing/events/raw_syscalls/sys_exit/format).
    const SYS_EXIT_6_18: &str = "name: sys_exit
ID: 20
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;
\tfield:long ret;\toffset:16;\tsize:8;\tsigned:1;

print fmt: \"NR %ld = %ld\", REC->id, REC->ret
";

    #[test]
    fn parses_sys_exit() {
        let f = Format::parse(SYS_EXIT_6_18);
        assert_eq!(
            f.field("x", "id").unwrap(),
            Field {
                offset: 8,
                size: 8,
                signed: true
            }
        );
        assert_eq!(f.field("x", "ret").unwrap().offset, 16);
        assert_eq!(f.field("x", "common_pid").unwrap().size, 4);
        assert!(f.field("x", "nope").is_err());
    }

    #[test]
    fn array_and_data_loc_names() {
        assert_eq!(field_name("unsigned long args[6]"), Some("args"));
        assert_eq!(field_name("__data_loc char[] name"), Some("name"));
        assert_eq!(field_name("const char * filename"), Some("filename"));
    }

    #[test]
    fn this_kernel_if_tracefs_is_readable() {
        // The real format files of the running kernel (root only; skipped otherwise).
        let Ok(t) = Tracefs::find_or_mount(None) else {
            return;
        };
        let Ok(f) = t.format("raw_syscalls", "sys_enter") else {
            return;
        };
        let id = f.field("raw_syscalls:sys_enter", "id").unwrap();
        assert_eq!((id.size, id.signed), (8, true));
    }

    // Captured from Linux 6.18 x86_64 (/sys/kernel/tracing/events/sock/inet_sock_set_state).
    const INET_SOCK_SET_STATE_6_18: &str =
        include_str!("../testdata/tracefs-6.18-x86_64/sock.inet_sock_set_state.format");

    #[test]
    fn tcp_states_from_print_symbolic() {
        let f = Format::parse(INET_SOCK_SET_STATE_6_18);
        let tp = "sock:inet_sock_set_state";
        assert_eq!(f.symbol(tp, "TCP_ESTABLISHED").unwrap(), 1);
        assert_eq!(f.symbol(tp, "TCP_SYN_SENT").unwrap(), 2);
        assert_eq!(f.symbol(tp, "TCP_SYN_RECV").unwrap(), 3);
        assert_eq!(f.symbol(tp, "TCP_CLOSE").unwrap(), 7);
        assert_eq!(f.symbol(tp, "TCP_LISTEN").unwrap(), 10);
        assert_eq!(f.symbol(tp, "IPPROTO_TCP").unwrap(), 6);
        assert!(f.symbol(tp, "TCP_NOPE").is_err());
        let skaddr = f.field(tp, "skaddr").unwrap();
        assert_eq!((skaddr.offset, skaddr.size), (8, 8));
        assert_eq!(f.field(tp, "protocol").unwrap().size, 2);
    }
}
