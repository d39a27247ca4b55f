//! Arm CPU names: `CPU implementer` / `CPU part` from /proc/cpuinfo to the names lscpu
//! prints. The table is data (`arch/data/arm_cpu_parts.tsv`), checked by the tests below.
use std::collections::HashMap;
use std::sync::OnceLock;

const TABLE: &str = include_str!("../arch/data/arm_cpu_parts.tsv");

struct Table {
    vendors: HashMap<u32, &'static str>,
    parts: HashMap<(u32, u32), &'static str>,
}

fn table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table {
            vendors: HashMap::new(),
            parts: HashMap::new(),
        };
        for (imp, part, name) in rows().filter_map(Result::ok) {
            match part {
                None => t.vendors.insert(imp, name),
                Some(p) => t.parts.insert((imp, p), name),
            };
        }
        t
    })
}

/// Every data line as (implementer, part or `None` for the vendor row, name); a malformed
/// line is an `Err` with the line (the table test fails on it, the agent skips it).
fn rows() -> impl Iterator<Item = Result<(u32, Option<u32>, &'static str), &'static str>> {
    TABLE
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut cols = l.split('\t');
            let (Some(imp), Some(part), Some(name)) = (cols.next(), cols.next(), cols.next())
            else {
                return Err(l);
            };
            let imp = hex(imp).ok_or(l)?;
            let part = match part {
                "-" => None,
                p => Some(hex(p).ok_or(l)?),
            };
            if name.trim().is_empty() {
                return Err(l);
            }
            Ok((imp, part, name.trim()))
        })
}

/// `0x41` → 65. cpuinfo always prints the `0x`; lscpu ignores values without it.
pub fn hex(s: &str) -> Option<u32> {
    u32::from_str_radix(s.trim().strip_prefix("0x")?, 16).ok()
}

/// (vendor, model) for one CPU. Unknown implementers keep their raw id as lscpu does;
/// an unknown part is shown as `<implementer name> part 0x…` so it still tells types apart.
pub fn arm_identity(implementer: &str, part: Option<&str>) -> (String, String) {
    let t = table();
    let imp = hex(implementer);
    let vendor = imp
        .and_then(|i| t.vendors.get(&i))
        .map_or_else(|| implementer.trim().to_string(), |v| v.to_string());
    let part_id = part.and_then(hex);
    let model = match (imp, part_id) {
        (Some(i), Some(p)) => t
            .parts
            .get(&(i, p))
            .map_or_else(|| format!("{vendor} part {p:#05x}"), |n| n.to_string()),
        _ => part.map_or_else(String::new, |p| p.trim().to_string()),
    };
    (vendor, model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_has_no_duplicates() {
        let mut seen = std::collections::HashSet::new();
        for row in rows() {
            let (imp, part, _) =
                row.unwrap_or_else(|l| panic!("bad line in arm_cpu_parts.tsv: {l:?}"));
            assert!(seen.insert((imp, part)), "duplicate {imp:#x} {part:?}");
        }
        // Every part's implementer has a vendor row.
        for (imp, part, _) in rows().filter_map(Result::ok) {
            if part.is_some() {
                assert!(
                    table().vendors.contains_key(&imp),
                    "no vendor row for {imp:#x}"
                );
            }
        }
    }

    #[test]
    fn names_as_lscpu_prints_them() {
        let id = |i, p| arm_identity(i, Some(p));
        assert_eq!(id("0x41", "0xd46"), ("ARM".into(), "Cortex-A510".into()));
        assert_eq!(id("0x41", "0xd0c"), ("ARM".into(), "Neoverse-N1".into()));
        assert_eq!(id("0x41", "0xd4f"), ("ARM".into(), "Neoverse-V2".into()));
        assert_eq!(
            id("0x48", "0xd01"),
            ("HiSilicon".into(), "Kunpeng-920".into())
        );
        assert_eq!(id("0x70", "0x662"), ("Phytium".into(), "FTC662".into()));
        assert_eq!(id("0x70", "0x862"), ("Phytium".into(), "FTC862".into()));
        assert_eq!(id("0x41", "0xfff"), ("ARM".into(), "ARM part 0xfff".into()));
        assert_eq!(
            id("0x99", "0x001"),
            ("0x99".into(), "0x99 part 0x001".into())
        );
        assert_eq!(id("garbage", "0x001"), ("garbage".into(), "0x001".into()));
    }
}
