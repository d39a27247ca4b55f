//! What every `agent bench overhead` measurement shares: one loop run three ways
//! (untraced; the floor, empty programs on the same hooks; traced) in an order that
//! rotates from round to round so that drift spreads over all three, and the rows that
//! report them.
use super::stats::median;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    Untraced,
    Floor,
    Traced,
}

/// Per-round results of each way (ns per operation).
#[derive(Debug, Default)]
pub struct Samples {
    pub untraced: Vec<f64>,
    pub floor: Vec<f64>,
    pub traced: Vec<f64>,
}

/// `measure` once per way in each round, the order rotating.
pub fn rotate(
    rounds: u32,
    mut measure: impl FnMut(Way) -> anyhow::Result<f64>,
) -> anyhow::Result<Samples> {
    const ORDER: [Way; 3] = [Way::Untraced, Way::Floor, Way::Traced];
    let mut s = Samples::default();
    for round in 0..rounds {
        for i in 0..3 {
            let way = ORDER[((round + i) % 3) as usize];
            let v = measure(way)?;
            match way {
                Way::Untraced => s.untraced.push(v),
                Way::Floor => s.floor.push(v),
                Way::Traced => s.traced.push(v),
            }
        }
    }
    Ok(s)
}

impl Samples {
    /// Medians: untraced, floor, traced.
    pub fn medians(&self) -> (f64, f64, f64) {
        (
            median(&self.untraced),
            median(&self.floor),
            median(&self.traced),
        )
    }

    /// What tracing adds over the untraced loop, divided by what the floor adds: 1.0
    /// would be tracing for free beyond the hooks.
    pub fn cost_over_floor(&self) -> f64 {
        let (u, f, t) = self.medians();
        (t - u) / (f - u)
    }

    /// The rows common to every measurement, `unit` being per operation.
    pub fn rows(&self, unit: &str, floor_programs: &[String]) -> String {
        let (u, f, t) = self.medians();
        format!(
            "untraced   {u:>8.1} {unit}  (rounds: {})\n\
             floor      {f:>8.1} {unit}  (rounds: {}; empty programs: {})\n\
             traced     {t:>8.1} {unit}  (rounds: {})\n\
             ratio      {:>8.3}  traced / untraced\n\
             overhead   {:>8.1} {unit}  (floor adds {:.1})\n\
             over floor {:>8.2}× the floor's added cost\n",
            join(&self.untraced),
            join(&self.floor),
            floor_programs.join(", "),
            join(&self.traced),
            t / u,
            t - u,
            f - u,
            self.cost_over_floor(),
        )
    }
}

fn join(v: &[f64]) -> String {
    v.iter()
        .map(|x| format!("{x:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_order_rotates_and_every_way_runs_each_round() {
        let mut seen = Vec::new();
        let s = rotate(3, |w| {
            seen.push(w);
            Ok(match w {
                Way::Untraced => 100.0,
                Way::Floor => 150.0,
                Way::Traced => 250.0,
            })
        })
        .unwrap();
        use Way::*;
        assert_eq!(
            seen,
            [
                Untraced, Floor, Traced, Floor, Traced, Untraced, Traced, Untraced, Floor
            ]
        );
        assert_eq!((s.untraced.len(), s.floor.len(), s.traced.len()), (3, 3, 3));
        assert_eq!(s.cost_over_floor(), 3.0);
        assert!(s.rows("ns/call", &[]).contains("over floor     3.00×"));
    }
}
