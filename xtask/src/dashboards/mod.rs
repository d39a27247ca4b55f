//! `cargo xtask dashboards`: the Grafana dashboards in dashboards/*.json, generated from
//! the definitions in `boards/` so every board shares the same variables, datasource and
//! layout rules. The committed JSON is what users import; a test keeps it equal to this.
mod boards;

use serde_json::{Value, json};

use crate::root;

/// Which variables a board offers, in this order (each filters the next).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Var {
    Arch,
    Node,
    Namespace,
    Pod,
    Container,
    Benchmark,
    /// `namespace`, single-select, among namespaces that have workloads (no `$node`).
    WorkloadNamespace,
    /// `workload`, single-select, in `$namespace`.
    Workload,
}

pub struct Board {
    pub uid: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub vars: &'static [Var],
    pub panels: Vec<Panel>,
}

pub struct Panel {
    pub title: &'static str,
    pub kind: Kind,
    pub unit: &'static str,
    pub description: &'static str,
    pub targets: Vec<(String, &'static str)>,
    pub width: u32,
}

#[derive(Clone, Copy)]
pub enum Kind {
    Timeseries,
    Stat,
    Table,
    Heatmap,
    Row,
}

/// A panel with one or more `(expr, legend)` targets.
pub fn panel(
    kind: Kind,
    title: &'static str,
    unit: &'static str,
    targets: &[(&str, &'static str)],
) -> Panel {
    Panel {
        title,
        kind,
        unit,
        description: "",
        targets: targets.iter().map(|(e, l)| (e.to_string(), *l)).collect(),
        width: match kind {
            Kind::Stat => 6,
            Kind::Row => 24,
            _ => 12,
        },
    }
}

impl Panel {
    pub fn describe(mut self, d: &'static str) -> Panel {
        self.description = d;
        self
    }
    pub fn wide(mut self) -> Panel {
        self.width = 24;
        self
    }
}

pub fn row(title: &'static str) -> Panel {
    panel(Kind::Row, title, "", &[])
}

const DS: &str = "${datasource}";

fn datasource() -> Value {
    json!({"type": "prometheus", "uid": DS})
}

fn variable(v: Var) -> Value {
    let (name, label, query, multi) = match v {
        Var::Arch => (
            "arch",
            "Architecture",
            "label_values(archscope_node_info, arch)",
            true,
        ),
        Var::Node => (
            "node",
            "Node",
            "label_values(archscope_node_info{arch=~\"$arch\"}, instance)",
            true,
        ),
        Var::Namespace => (
            "namespace",
            "Namespace",
            "label_values(archscope_syscalls_total{instance=~\"$node\"}, namespace)",
            true,
        ),
        Var::Pod => (
            "pod",
            "Pod",
            "label_values(archscope_syscalls_total{instance=~\"$node\", namespace=~\"$namespace\"}, pod)",
            true,
        ),
        Var::Container => (
            "container",
            "Container",
            "label_values(archscope_syscalls_total{instance=~\"$node\", namespace=~\"$namespace\", pod=~\"$pod\"}, container)",
            true,
        ),
        Var::Benchmark => (
            "benchmark",
            "Benchmark",
            "label_values(archscope_bench_median, benchmark)",
            true,
        ),
        Var::WorkloadNamespace => (
            "namespace",
            "Namespace",
            "label_values(archscope_syscalls_total{workload!=\"\"}, namespace)",
            false,
        ),
        Var::Workload => (
            "workload",
            "Workload",
            "label_values(archscope_syscalls_total{namespace=\"$namespace\", workload!=\"\"}, workload)",
            false,
        ),
    };
    // One value or several with "All" (`.*`, so those go in `=~` matchers); a
    // single-select variable starts on its first value.
    let (all, current) = if multi {
        (
            json!(".*"),
            json!({"selected": true, "text": ["All"], "value": ["$__all"]}),
        )
    } else {
        (Value::Null, json!({}))
    };
    json!({
        "name": name,
        "label": label,
        "type": "query",
        "datasource": datasource(),
        "definition": query,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "refresh": 2,
        "sort": 1,
        "multi": multi,
        "includeAll": multi,
        "allValue": all,
        "current": current,
        "hide": 0,
        "options": [],
        "regex": "",
    })
}

fn panel_json(p: &Panel, id: u32, x: u32, y: u32, h: u32) -> Value {
    let grid = json!({"x": x, "y": y, "w": p.width, "h": h});
    if let Kind::Row = p.kind {
        return json!({"id": id, "type": "row", "title": p.title, "collapsed": false,
                      "gridPos": grid, "panels": []});
    }
    let targets: Vec<Value> = p
        .targets
        .iter()
        .enumerate()
        .map(|(i, (expr, legend))| {
            let mut t = json!({
                "refId": ((b'A' + i as u8) as char).to_string(),
                "datasource": datasource(),
                "expr": expr,
                "legendFormat": legend,
                "range": true,
            });
            match p.kind {
                Kind::Table => {
                    t["instant"] = json!(true);
                    t["range"] = json!(false);
                    t["format"] = json!("table");
                }
                Kind::Heatmap => t["format"] = json!("heatmap"),
                _ => {}
            }
            t
        })
        .collect();
    let (ty, options) = match p.kind {
        Kind::Timeseries => (
            "timeseries",
            json!({"legend": {"displayMode": "list", "placement": "bottom", "showLegend": true},
                   "tooltip": {"mode": "multi", "sort": "desc"}}),
        ),
        Kind::Stat => (
            "stat",
            json!({"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
                   "colorMode": "value", "graphMode": "area", "textMode": "auto"}),
        ),
        Kind::Table => ("table", json!({"showHeader": true})),
        Kind::Heatmap => (
            "heatmap",
            json!({"calculate": false, "yAxis": {"unit": p.unit},
                   "color": {"mode": "scheme", "scheme": "Oranges", "steps": 64},
                   "cellGap": 1, "tooltip": {"show": true, "yHistogram": true}}),
        ),
        Kind::Row => unreachable!(),
    };
    json!({
        "id": id,
        "type": ty,
        "title": p.title,
        "description": p.description,
        "datasource": datasource(),
        "gridPos": grid,
        "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
        "options": options,
        "targets": targets,
    })
}

pub fn model(b: &Board) -> Value {
    let mut vars = vec![json!({
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "refresh": 1,
        "hide": 0,
        "current": {},
        "regex": "",
    })];
    vars.extend(b.vars.iter().map(|v| variable(*v)));
    let (mut x, mut y, mut panels) = (0, 0, Vec::new());
    for (i, p) in b.panels.iter().enumerate() {
        let h = match p.kind {
            Kind::Row => 1,
            Kind::Stat => 4,
            _ => 8,
        };
        if x + p.width > 24 || matches!(p.kind, Kind::Row) && x > 0 {
            x = 0;
            y += 8;
        }
        panels.push(panel_json(p, i as u32 + 1, x, y, h));
        x += p.width;
        if x >= 24 {
            x = 0;
            y += h;
        }
    }
    json!({
        "uid": b.uid,
        "title": b.title,
        "description": b.description,
        "tags": ["archscope"],
        "editable": true,
        "graphTooltip": 1,
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "annotations": {"list": []},
        "links": [{"title": "archscope", "type": "dashboards", "tags": ["archscope"], "asDropdown": true}],
        "templating": {"list": vars},
        "panels": panels,
    })
}

/// Every board as (file name, pretty JSON with a final newline).
pub fn render() -> Vec<(String, String)> {
    boards::all()
        .iter()
        .map(|b| {
            let text = serde_json::to_string_pretty(&model(b)).unwrap() + "\n";
            (format!("{}.json", b.uid), text)
        })
        .collect()
}

pub fn write() -> anyhow::Result<()> {
    let dir = root().join("dashboards");
    for (name, text) in render() {
        std::fs::write(dir.join(&name), text)?;
        eprintln!("wrote dashboards/{name}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn committed_dashboards_are_generated() {
        for (name, text) in super::render() {
            let path = crate::root().join("dashboards").join(&name);
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == text,
                "dashboards/{name} is stale: run `cargo xtask dashboards`"
            );
        }
    }
}
