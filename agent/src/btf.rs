//! Just enough of the kernel's BTF (/sys/kernel/btf/vmlinux) to find a struct member's byte
//! offset at load time, so no kernel struct offset is ever compiled in. (aya parses BTF
//! too, but keeps struct members private.)
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum BtfError {
    #[error("reading {0}: {1}")]
    Read(String, std::io::Error),
    #[error("not BTF data (bad header)")]
    Header,
    #[error("BTF has no struct {0}")]
    NoStruct(String),
    #[error("BTF struct {0} has no member {1}")]
    NoMember(String, String),
    #[error("BTF has no enum {0} with value {1}")]
    NoEnumValue(String, String),
    #[error("BTF data is truncated")]
    Truncated,
}

pub struct Btf {
    data: Vec<u8>,
    types: std::ops::Range<usize>,
    strings: std::ops::Range<usize>,
}

const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_ENUM64: u32 = 19;

impl Btf {
    pub fn from_file(path: &Path) -> Result<Btf, BtfError> {
        let data =
            std::fs::read(path).map_err(|e| BtfError::Read(path.display().to_string(), e))?;
        Btf::parse(data)
    }

    pub fn parse(data: Vec<u8>) -> Result<Btf, BtfError> {
        let u32_at = |o: usize| {
            data.get(o..o + 4)
                .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        };
        if data.get(0..2) != Some(&[0x9f, 0xeb]) {
            return Err(BtfError::Header);
        }
        let (hdr, toff, tlen, soff, slen) = (
            u32_at(4).ok_or(BtfError::Header)? as usize,
            u32_at(8).ok_or(BtfError::Header)? as usize,
            u32_at(12).ok_or(BtfError::Header)? as usize,
            u32_at(16).ok_or(BtfError::Header)? as usize,
            u32_at(20).ok_or(BtfError::Header)? as usize,
        );
        let types = hdr + toff..hdr + toff + tlen;
        let strings = hdr + soff..hdr + soff + slen;
        if types.end > data.len() || strings.end > data.len() {
            return Err(BtfError::Truncated);
        }
        Ok(Btf {
            data,
            types,
            strings,
        })
    }

    fn u32(&self, o: usize) -> Result<u32, BtfError> {
        let b = self.data.get(o..o + 4).ok_or(BtfError::Truncated)?;
        Ok(u32::from_le_bytes(b.try_into().unwrap()))
    }

    fn name(&self, off: u32) -> &[u8] {
        let start = self.strings.start + off as usize;
        let tail = self.data.get(start..self.strings.end).unwrap_or_default();
        &tail[..tail.iter().position(|&b| b == 0).unwrap_or(tail.len())]
    }

    /// Byte offset of `member` in `struct name` (the first struct of that name).
    pub fn member_offset(&self, name: &str, member: &str) -> Result<u32, BtfError> {
        let mut o = self.types.start;
        let mut found_struct = false;
        while o + 12 <= self.types.end {
            let (name_off, info) = (self.u32(o)?, self.u32(o + 4)?);
            let (kind, vlen, kflag) = (
                (info >> 24) & 0x1f,
                (info & 0xffff) as usize,
                info >> 31 == 1,
            );
            let body = o + 12;
            if kind == KIND_STRUCT && self.name(name_off) == name.as_bytes() {
                found_struct = true;
                for i in 0..vlen {
                    let m = body + i * 12;
                    if self.name(self.u32(m)?) == member.as_bytes() {
                        let off = self.u32(m + 8)?;
                        let bits = if kflag { off & 0x00ff_ffff } else { off };
                        return Ok(bits / 8);
                    }
                }
            }
            o = body + extra_len(kind, vlen).ok_or(BtfError::Truncated)?;
        }
        Err(if found_struct {
            BtfError::NoMember(name.into(), member.into())
        } else {
            BtfError::NoStruct(name.into())
        })
    }
}

impl Btf {
    /// Byte offset of `member` in `struct name`, also where it sits inside an anonymous
    /// union or struct (as `val` in the pre-5.15 `sock_cgroup_data`).
    pub fn nested_member_offset(&self, name: &str, member: &str) -> Result<u32, BtfError> {
        let index = self.type_offsets()?;
        let mut o = self.types.start;
        let mut found_struct = false;
        while o + 12 <= self.types.end {
            let (name_off, info) = (self.u32(o)?, self.u32(o + 4)?);
            let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
            if kind == KIND_STRUCT && self.name(name_off) == name.as_bytes() {
                found_struct = true;
                if let Some(off) = self.find_in(&index, o, member, 0)? {
                    return Ok(off);
                }
            }
            o += 12 + extra_len(kind, vlen).ok_or(BtfError::Truncated)?;
        }
        Err(if found_struct {
            BtfError::NoMember(name.into(), member.into())
        } else {
            BtfError::NoStruct(name.into())
        })
    }

    /// Where each type id's record starts (id 1 is the first record).
    fn type_offsets(&self) -> Result<Vec<usize>, BtfError> {
        let mut out = Vec::new();
        let mut o = self.types.start;
        while o + 12 <= self.types.end {
            out.push(o);
            let info = self.u32(o + 4)?;
            let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
            o += 12 + extra_len(kind, vlen).ok_or(BtfError::Truncated)?;
        }
        Ok(out)
    }

    /// Search the struct or union at `o` for `member`, descending into anonymous members;
    /// `depth` bounds the walk on malformed data.
    fn find_in(
        &self,
        index: &[usize],
        o: usize,
        member: &str,
        depth: u32,
    ) -> Result<Option<u32>, BtfError> {
        let info = self.u32(o + 4)?;
        let (kind, vlen, kflag) = (
            (info >> 24) & 0x1f,
            (info & 0xffff) as usize,
            info >> 31 == 1,
        );
        if !(kind == KIND_STRUCT || kind == KIND_UNION) || depth > 8 {
            return Ok(None);
        }
        for i in 0..vlen {
            let m = o + 12 + i * 12;
            let (m_name, m_type, m_off) = (self.u32(m)?, self.u32(m + 4)?, self.u32(m + 8)?);
            let bytes = if kflag { m_off & 0x00ff_ffff } else { m_off } / 8;
            if self.name(m_name) == member.as_bytes() {
                return Ok(Some(bytes));
            }
            if m_name == 0 {
                let Some(&t) = (m_type as usize).checked_sub(1).and_then(|i| index.get(i)) else {
                    continue;
                };
                if let Some(inner) = self.find_in(index, t, member, depth + 1)? {
                    return Ok(Some(bytes + inner));
                }
            }
        }
        Ok(None)
    }

    /// The value of enumerator `value` of `enum name` (e.g. `memory_cgrp_id` of
    /// `cgroup_subsys_id`, whose values depend on the kernel's configuration).
    pub fn enum_value(&self, name: &str, value: &str) -> Result<i64, BtfError> {
        let mut o = self.types.start;
        while o + 12 <= self.types.end {
            let (name_off, info) = (self.u32(o)?, self.u32(o + 4)?);
            let (kind, vlen) = ((info >> 24) & 0x1f, (info & 0xffff) as usize);
            let body = o + 12;
            if (kind == KIND_ENUM || kind == KIND_ENUM64) && self.name(name_off) == name.as_bytes()
            {
                let step = if kind == KIND_ENUM { 8 } else { 12 };
                for i in 0..vlen {
                    let m = body + i * step;
                    if self.name(self.u32(m)?) == value.as_bytes() {
                        let lo = self.u32(m + 4)?;
                        return Ok(if kind == KIND_ENUM {
                            lo as i32 as i64
                        } else {
                            ((self.u32(m + 8)? as u64) << 32 | lo as u64) as i64
                        });
                    }
                }
            }
            o = body + extra_len(kind, vlen).ok_or(BtfError::Truncated)?;
        }
        Err(BtfError::NoEnumValue(name.into(), value.into()))
    }
}

/// Bytes that follow the 12-byte common header, per BTF kind.
fn extra_len(kind: u32, vlen: usize) -> Option<usize> {
    Some(match kind {
        1 | 14 | 17 => 4,             // INT, VAR, DECL_TAG
        3 => 12,                      // ARRAY
        4 | 5 | 15 | 19 => 12 * vlen, // STRUCT, UNION, DATASEC, ENUM64
        6 | 13 => 8 * vlen,           // ENUM, FUNC_PROTO
        2 | 7..=12 | 16 | 18 => 0, // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_kernel_members() {
        let Ok(btf) = Btf::from_file(Path::new("/sys/kernel/btf/vmlinux")) else {
            return;
        };
        // With THREAD_INFO_IN_TASK (x86_64, arm64) thread_info opens task_struct.
        assert_eq!(btf.member_offset("task_struct", "thread_info").unwrap(), 0);
        assert!(btf.member_offset("task_struct", "pid").unwrap() > 0);
        assert!(matches!(
            btf.member_offset("task_struct", "nope"),
            Err(BtfError::NoMember(..))
        ));
        assert!(matches!(
            btf.member_offset("no_such_struct", "x"),
            Err(BtfError::NoStruct(..))
        ));
    }

    #[test]
    fn nested_members_through_anonymous_unions() {
        let Ok(btf) = Btf::from_file(Path::new("/sys/kernel/btf/vmlinux")) else {
            return;
        };
        // a direct member is found as by member_offset
        assert_eq!(
            btf.nested_member_offset("task_struct", "pid").unwrap(),
            btf.member_offset("task_struct", "pid").unwrap()
        );
        // `struct page`'s members sit in anonymous unions on every kernel we target
        assert!(btf.member_offset("page", "mapping").is_err());
        assert_eq!(btf.nested_member_offset("page", "mapping").unwrap(), 24);
        assert!(matches!(
            btf.nested_member_offset("page", "nope"),
            Err(BtfError::NoMember(..))
        ));
    }

    #[test]
    fn running_kernel_enums() {
        let Ok(btf) = Btf::from_file(Path::new("/sys/kernel/btf/vmlinux")) else {
            return;
        };
        // cpuset comes first whenever it is built in (it is on every kernel we target).
        assert_eq!(
            btf.enum_value("cgroup_subsys_id", "cpuset_cgrp_id")
                .unwrap(),
            0
        );
        assert!(
            btf.enum_value("cgroup_subsys_id", "memory_cgrp_id")
                .unwrap()
                > 0
        );
        assert!(matches!(
            btf.enum_value("cgroup_subsys_id", "nope_cgrp_id"),
            Err(BtfError::NoEnumValue(..))
        ));
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(Btf::parse(vec![0; 32]), Err(BtfError::Header)));
        assert!(matches!(
            Btf::parse(vec![0x9f, 0xeb, 1, 0, 24, 0, 0, 0]),
            Err(BtfError::Header)
        ));
    }
}
