//! The two sides of a comparison: an architecture (the latest results of it in the
//! results directory), a results file or a directory; and the labels that tell them apart.
use std::path::{Path, PathBuf};

use super::schema::{Results, latest_in};
use crate::UsageError;

/// Architecture names people use → the `kubernetes.io/arch` (GOARCH) name.
pub fn goarch(name: &str) -> Option<&'static str> {
    Some(match name {
        "amd64" | "x86_64" | "x86-64" => "amd64",
        "arm64" | "aarch64" => "arm64",
        "loong64" | "loongarch64" => "loong64",
        "sw64" | "sw_64" => "sw64",
        _ => return None,
    })
}

/// One side of a comparison, with where it came from.
pub struct Side {
    pub label: String,
    pub origin: String,
    pub results: Results,
}

/// An architecture (latest results of it in `dir`), a results file, or a directory (its
/// latest results).
pub fn resolve(arg: &str, dir: &Path) -> Result<Side, UsageError> {
    check_arg(arg)?;
    let p = PathBuf::from(arg);
    if p.is_file() {
        let r = Results::read(&p).map_err(|e| UsageError(e.to_string()))?;
        return Ok(side(r, p.display().to_string()));
    }
    if p.is_dir() {
        return match latest_in(&p, None).map_err(UsageError)? {
            Some((f, r)) => Ok(side(r, f.display().to_string())),
            None => Err(UsageError(format!(
                "compare: {}: no results documents in this directory",
                p.display()
            ))),
        };
    }
    let Some(g) = goarch(arg) else {
        return Err(UsageError(format!(
            "compare: `{arg}` is neither an architecture (amd64, arm64, loong64, sw64 or \
             x86_64, aarch64, loongarch64, sw_64) nor a results file or directory"
        )));
    };
    // a missing directory holds no results either
    match latest_in(dir, Some(g)).ok().flatten() {
        Some((f, r)) => Ok(side(r, f.display().to_string())),
        None => Err(UsageError(format!(
            "compare: no {g} results in {} (run `agent bench run` on a {g} node, or name a \
             file, or use --cluster)",
            dir.display()
        ))),
    }
}

/// An argument is an existing path or an architecture name.
pub fn check_arg(arg: &str) -> Result<(), UsageError> {
    if Path::new(arg).exists() || goarch(arg).is_some() {
        return Ok(());
    }
    Err(UsageError(format!(
        "compare: `{arg}` is neither an architecture (amd64, arm64, loong64, sw64 or \
         x86_64, aarch64, loongarch64, sw_64) nor a results file or directory"
    )))
}

pub fn side(results: Results, origin: String) -> Side {
    Side {
        label: results.host.goarch.clone(),
        origin,
        results,
    }
}

/// Labels that tell the sides apart: the architecture, with the host name when both
/// sides have the same architecture, and the run's time (of day, on the same day) when
/// the host is the same too, or A and B when even that is ("amd64 vs amd64" tells the
/// reader nothing).
pub fn distinguish(a: &mut Side, b: &mut Side) {
    let (ha, hb) = (&a.results.host, &b.results.host);
    if ha.goarch != hb.goarch {
        return;
    }
    let same_host = ha.hostname == hb.hostname;
    let same_second = a.results.started_at == b.results.started_at;
    let day = |s: &Side| s.results.started_at.get(..10).map(str::to_string);
    let same_day = day(a) == day(b);
    for (s, which) in [(a, "A"), (b, "B")] {
        let h = &s.results.host;
        s.label = format!("{}@{}", h.goarch, h.hostname);
        if same_host && same_second {
            s.label.push_str(&format!(" {which}"));
        } else if same_host && same_day {
            // RFC 3339: the time of day is characters 11..19
            let r = &s.results;
            let time = r.started_at.get(11..19).unwrap_or(&r.started_at);
            s.label.push_str(&format!(" {time}"));
        } else if same_host {
            s.label.push_str(&format!(" {}", s.results.started_at));
        }
    }
}
