//! Event tables as data (`data/*.tsv`, each naming the kernel source it was taken from) and
//! the rules that pick one per PMU (`data/pmus.tsv`).
use archscope_common::PmuEvent;

/// How an event is put into `perf_event_attr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `PERF_TYPE_HARDWARE` with a `PERF_COUNT_HW_*` id.
    Hardware,
    /// `PERF_TYPE_HW_CACHE` with id | op << 8 | result << 16.
    HwCache,
    /// The PMU's own `type` (from sysfs) with its raw event code.
    Raw,
}

impl Encoding {
    /// `perf_event_attr.type` for a PMU whose sysfs `type` is `pmu_type`.
    pub fn attr_type(self, pmu_type: u32) -> u32 {
        match self {
            Encoding::Hardware => 0,
            Encoding::HwCache => 3,
            Encoding::Raw => pmu_type,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventCode {
    pub event: PmuEvent,
    pub encoding: Encoding,
    pub config: u64,
    /// The PMU's `events/<name>`, which must exist for the event to be used.
    pub sysfs: Option<&'static str>,
}

pub struct Table {
    pub name: &'static str,
    pub events: Vec<EventCode>,
}

impl Table {
    pub fn get(&self, e: PmuEvent) -> Option<&EventCode> {
        self.events.iter().find(|c| c.event == e)
    }
}

const TABLES: &[(&str, &str)] = &[
    ("generic", include_str!("data/generic.tsv")),
    ("armv8_pmuv3", include_str!("data/armv8_pmuv3.tsv")),
    ("loongarch", include_str!("data/loongarch.tsv")),
    ("sw64_core3", include_str!("data/sw64_core3.tsv")),
    ("sw64_core4", include_str!("data/sw64_core4.tsv")),
];
const RULES: &str = include_str!("data/pmus.tsv");

fn data_lines(src: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    src.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split('\t').map(str::trim).collect())
}

/// The table called `name`. Malformed rows are errors (the unit tests parse every table).
pub fn table(name: &str) -> Result<Table, String> {
    let (name, src) = TABLES
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| format!("no event table {name}"))?;
    let mut events = Vec::new();
    for cols in data_lines(src) {
        let [event, encoding, config, sysfs] = cols[..] else {
            return Err(format!("{name}: expected 4 columns in {cols:?}"));
        };
        let event =
            PmuEvent::from_name(event).ok_or_else(|| format!("{name}: unknown event {event}"))?;
        let encoding = match encoding {
            "hardware" => Encoding::Hardware,
            "hw_cache" => Encoding::HwCache,
            "raw" => Encoding::Raw,
            e => return Err(format!("{name}: unknown encoding {e}")),
        };
        let config = config
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("{name}: config {config} is not 0x-hex"))?;
        let sysfs = (sysfs != "-").then_some(sysfs);
        events.push(EventCode {
            event,
            encoding,
            config,
            sysfs,
        });
    }
    Ok(Table { name, events })
}

/// The table for a CPU of `arch` served by the PMU device `pmu`, whose cpuinfo `model name`
/// is `model`.
pub fn table_name_for(arch: &str, pmu: &str, model: &str) -> &'static str {
    for cols in data_lines(RULES) {
        let [a, p, m, t] = cols[..] else { continue };
        let pmu_ok = match p.strip_suffix('*') {
            Some(prefix) => pmu.starts_with(prefix),
            None => pmu == p,
        };
        if a == arch && pmu_ok && (m == "*" || model.contains(m)) {
            return t;
        }
    }
    "generic"
}

/// Device names that are a CPU's core PMU (the others — software, tracepoint, uncore,
/// SPE… — are not). The rules' PMU column lists them.
pub fn is_core_pmu(name: &str) -> bool {
    data_lines(RULES).any(|cols| match cols.get(1) {
        Some(p) => match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *p,
        },
        None => false,
    })
}

#[cfg(test)]
pub fn all_table_names() -> impl Iterator<Item = &'static str> {
    TABLES.iter().map(|(n, _)| *n)
}

#[cfg(test)]
pub fn rule_tables() -> impl Iterator<Item = &'static str> {
    data_lines(RULES).filter_map(|c| c.get(3).copied())
}
