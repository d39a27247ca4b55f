//! CPU sets as sysfs prints them: lists (`0-5,48-53`) and masks (`00000000,0fc00000,00000fc0`:
//! comma-separated 32-bit hex words, most significant first).
use std::collections::BTreeSet;
use std::path::Path;

pub type CpuSet = BTreeSet<u32>;

/// NR_CPUS tops out at 8192. A number far past that is a corrupt file, and refusing it
/// keeps `0-4294967295` from allocating gigabytes.
const MAX_CPUS: u32 = 1 << 16;

pub fn parse_list(s: &str) -> Option<CpuSet> {
    let mut set = CpuSet::new();
    for part in s.trim().split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let n = part.parse::<u32>().ok()?;
                (n, n)
            }
        };
        if lo > hi || hi >= MAX_CPUS {
            return None;
        }
        set.extend(lo..=hi);
    }
    Some(set)
}

pub fn parse_mask(s: &str) -> Option<CpuSet> {
    let mut set = CpuSet::new();
    for (i, word) in s.trim().split(',').rev().enumerate() {
        let word = word.trim();
        if word.is_empty() || word.len() > 8 {
            return None;
        }
        let bits = u32::from_str_radix(word, 16).ok()?;
        if bits == 0 {
            continue;
        }
        let base = u32::try_from(i).ok().and_then(|i| i.checked_mul(32))?;
        for bit in (0..32).filter(|b| bits & (1 << b) != 0) {
            let cpu = base + bit;
            if cpu >= MAX_CPUS {
                return None;
            }
            set.insert(cpu);
        }
    }
    Some(set)
}

/// `0-5,48-53`, as the kernel and lscpu print lists.
pub fn format_list(set: &CpuSet) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut it = set.iter().copied().peekable();
    while let Some(lo) = it.next() {
        let mut hi = lo;
        while it.peek() == Some(&(hi + 1)) {
            hi += 1;
            it.next();
        }
        out.push(if lo == hi {
            lo.to_string()
        } else {
            format!("{lo}-{hi}")
        });
    }
    out.join(",")
}

/// A small sysfs file, trimmed; `None` when absent, unreadable or empty.
pub fn read_trimmed(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let s = String::from_utf8_lossy(&bytes).trim().to_string();
    (!s.is_empty()).then_some(s)
}

pub fn read_number(path: &Path) -> Option<i64> {
    read_trimmed(path)?.parse().ok()
}

/// `dir/list` if readable, else `dir/mask`: old kernels have only the mask, and dumps
/// (such as util-linux's) sometimes only the list.
pub fn read_set(dir: &Path, list: &str, mask: &str) -> Option<CpuSet> {
    read_trimmed(&dir.join(list))
        .and_then(|s| parse_list(&s))
        .or_else(|| read_trimmed(&dir.join(mask)).and_then(|s| parse_mask(&s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_masks_agree() {
        let list = parse_list("6-11,54-59").unwrap();
        assert_eq!(parse_mask("00000000,0fc00000,00000fc0"), Some(list.clone()));
        assert_eq!(format_list(&list), "6-11,54-59");
        assert_eq!(parse_list("0,2").unwrap(), parse_mask("5").unwrap());
        assert_eq!(format_list(&parse_list(" 7\n").unwrap()), "7");
        assert_eq!(parse_list(""), Some(CpuSet::new()));
        assert_eq!(format_list(&CpuSet::new()), "");
    }

    #[test]
    fn bad_sets_are_refused_not_allocated() {
        assert_eq!(parse_list("0-4294967295"), None);
        assert_eq!(parse_list("5-3"), None);
        assert_eq!(parse_list("x"), None);
        assert_eq!(parse_mask(""), None);
        assert_eq!(parse_mask("123456789"), None);
        assert_eq!(parse_mask(&format!("1{}", ",00000000".repeat(4096))), None);
    }
}
