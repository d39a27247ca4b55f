//! `agent bench compare`: two sides from files, directories or the cluster; a report.
use super::{CompareArgs, Format};
use crate::UsageError;
use crate::bench::{cluster, compare, report_html, report_markdown, report_table, schema};

pub fn compare(a: CompareArgs) -> anyhow::Result<()> {
    if a.workload.is_some() {
        return super::workload::compare(a);
    }
    for (set, flag) in [
        (a.prometheus.is_some(), "--prometheus"),
        (a.step.is_some(), "--step"),
        (a.end.is_some(), "--end"),
        (a.rate_query.is_some(), "--rate-query"),
    ] {
        if set {
            return Err(UsageError(format!("compare: {flag} needs --workload")).into());
        }
    }
    let dir = a.results_dir.clone().unwrap_or_else(schema::default_dir);
    let (sa, sb) = if a.cluster {
        let ga = compare::goarch(&a.a).ok_or_else(|| {
            UsageError(format!(
                "compare --cluster: `{}` is not an architecture",
                a.a
            ))
        })?;
        let gb = compare::goarch(&a.b).ok_or_else(|| {
            UsageError(format!(
                "compare --cluster: `{}` is not an architecture",
                a.b
            ))
        })?;
        cluster::sides(
            ga,
            gb,
            &cluster::ClusterOptions {
                agents: a.agents.clone(),
                no_kubernetes: a.no_kubernetes,
                namespace: a.namespace.clone(),
                selector: a.selector.clone(),
                port: a.port,
                run: a.run,
                quick: a.quick,
                timeout: a.timeout,
            },
        )?
    } else {
        compare::check_arg(&a.a)?;
        compare::check_arg(&a.b)?;
        (compare::resolve(&a.a, &dir)?, compare::resolve(&a.b, &dir)?)
    };
    let (mut sa, mut sb) = (sa, sb);
    compare::distinguish(&mut sa, &mut sb);
    let c = compare::compare(
        &sa,
        &sb,
        &compare::Options {
            resamples: a.resamples as usize,
            seed: a.seed,
            margin: a.margin,
        },
    );
    if c.rows.is_empty() {
        return Err(UsageError(format!(
            "compare: {} and {} have no benchmark in common",
            sa.origin, sb.origin
        ))
        .into());
    }
    let tty = a.output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout());
    let colour = match a.color.as_str() {
        "always" => true,
        "never" => false,
        _ => tty,
    };
    let text = match a.format {
        Format::Table => report_table::render(&c, colour),
        Format::Markdown => report_markdown::render(&c),
        Format::Json => serde_json::to_string_pretty(&c)? + "\n",
        Format::Html => report_html::render(&c),
    };
    write_report(a.output.as_deref(), &text)
}

/// The report to `--output`, or stdout.
pub fn write_report(output: Option<&std::path::Path>, text: &str) -> anyhow::Result<()> {
    match output {
        Some(p) => {
            std::fs::write(p, text)
                .map_err(|e| UsageError(format!("output: cannot write {}: {e}", p.display())))?;
            eprintln!("bench: report in {}", p.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
