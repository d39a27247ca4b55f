//! The exposition text the agent serves, parsed into samples for the tests' assertions.
use std::collections::BTreeMap;

/// One sample of the exposition text.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

#[derive(Debug)]
pub struct Metrics {
    pub samples: Vec<Sample>,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let mut samples = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
        {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let (name, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, parse_labels(rest.trim_end_matches('}'))),
                None => (series, BTreeMap::new()),
            };
            samples.push(Sample {
                name: name.into(),
                labels,
                value: value.parse().unwrap(),
            });
        }
        Metrics { samples }
    }

    /// Samples of `name` whose labels include all of `want`.
    pub fn find(&self, name: &str, want: &[(&str, &str)]) -> std::vec::IntoIter<&Sample> {
        let v: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| {
                s.name == name
                    && want
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        v.into_iter()
    }

    /// The value of the single sample matching, or None.
    pub fn value(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        let v: Vec<&Sample> = self.find(name, want).collect();
        assert!(v.len() <= 1, "{name} {want:?} matches {} samples", v.len());
        v.first().map(|s| s.value)
    }
}

fn parse_labels(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s;
    while let Some((k, after)) = rest.split_once("=\"") {
        let mut val = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        val.push(if n == 'n' { '\n' } else { n });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => val.push(c),
            }
        }
        out.insert(k.trim_start_matches(',').to_string(), val);
        rest = &after[end..];
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_exposition_lines() {
        let m = super::Metrics::parse(
            "# TYPE x counter\narchscope_syscalls_total{cgroup=\"/a b\",syscall=\"read\"} 12\nup{} 1.0\n\
             archscope_syscall_duration_seconds_bucket{le=\"+Inf\",cgroup=\"/a\",syscall=\"x\"} 3\n",
        );
        assert_eq!(
            m.value(
                "archscope_syscalls_total",
                &[("cgroup", "/a b"), ("syscall", "read")]
            ),
            Some(12.0)
        );
        assert_eq!(m.value("up", &[]), Some(1.0));
        assert_eq!(
            m.value(
                "archscope_syscall_duration_seconds_bucket",
                &[("le", "+Inf")]
            ),
            Some(3.0)
        );
    }
}
