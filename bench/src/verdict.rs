//! The verdict on one benchmark. A difference has to be significant (Mann–Whitney) and
//! its whole interval has to lie outside the equivalence band, the run-to-run noise the
//! machine makes anyway. An interval inside the band is equivalence; anything else is
//! inconclusive. The band is symmetric in ratio (1/(1+m) to 1+m), so swapping A and B
//! mirrors every verdict (up to the bootstrap's resampling of the interval).
use serde::Serialize;

/// The band without a calibration: ±5 %.
pub const DEFAULT_MARGIN: f64 = 0.05;
pub const ALPHA: f64 = 0.05;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Faster,
    Slower,
    /// The interval lies inside the band: no difference bigger than the noise.
    Equivalent,
    /// Neither a difference beyond the band nor equivalence within it.
    Inconclusive,
}

impl Verdict {
    pub fn is_difference(self) -> bool {
        matches!(self, Verdict::Faster | Verdict::Slower)
    }

    pub fn class(self) -> &'static str {
        match self {
            Verdict::Faster => "faster",
            Verdict::Slower => "slower",
            Verdict::Equivalent => "equivalent",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// The half-width of a benchmark's band and where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// 0.05 is ±5 %.
    pub width: f64,
    /// `margin`, or `calibration of <side>` when a side's measured spread is larger.
    pub source: String,
}

/// The larger of the margin and each side's calibrated spread for this benchmark.
pub fn band(margin: f64, spreads: [(&str, Option<f64>); 2]) -> Band {
    let mut b = Band {
        width: margin,
        source: "margin".into(),
    };
    for (side, spread) in spreads {
        if let Some(s) = spread.filter(|s| *s > b.width) {
            b = Band {
                width: s,
                source: format!("calibration of {side}"),
            };
        }
    }
    b
}

/// `speedup_ci` is B's speed-up over A (> 1: B faster), low and high.
pub fn decide(p_value: f64, speedup_ci: (f64, f64), band: f64) -> Verdict {
    let (lo, hi) = speedup_ci;
    let (floor, ceiling) = (1.0 / (1.0 + band), 1.0 + band);
    let significant = p_value < ALPHA;
    if significant && lo > ceiling {
        Verdict::Faster
    } else if significant && hi < floor {
        Verdict::Slower
    } else if lo >= floor && hi <= ceiling {
        Verdict::Equivalent
    } else {
        Verdict::Inconclusive
    }
}

/// "±5 %", "±7.5 %".
pub fn percent(width: f64) -> String {
    let p = width * 100.0;
    if (p - p.round()).abs() < 0.05 {
        format!("±{p:.0} %")
    } else {
        format!("±{p:.1} %")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_difference_needs_significance_and_the_whole_interval_beyond_the_band() {
        let m = DEFAULT_MARGIN;
        assert_eq!(decide(0.001, (1.06, 1.20), m), Verdict::Faster);
        assert_eq!(decide(0.001, (0.80, 0.94), m), Verdict::Slower);
        // significant, but the interval reaches into the band
        assert_eq!(decide(0.001, (1.03, 1.20), m), Verdict::Inconclusive);
        // beyond the band, but not significant
        assert_eq!(decide(0.2, (1.06, 1.20), m), Verdict::Inconclusive);
        // inside the band, significant or not: equivalent
        assert_eq!(decide(0.001, (1.01, 1.04), m), Verdict::Equivalent);
        assert_eq!(decide(0.9, (0.96, 1.04), m), Verdict::Equivalent);
        // the band's edges: 1/1.05 and 1.05 belong to it
        assert_eq!(decide(0.5, (1.0 / 1.05, 1.05), m), Verdict::Equivalent);
        // mirrored: B over A at 1.10 is A over B at 1/1.10
        assert_eq!(decide(0.01, (1.0 / 1.2, 1.0 / 1.1), m), Verdict::Slower);
        assert_eq!(decide(0.01, (1.1, 1.2), m), Verdict::Faster);
    }

    #[test]
    fn the_band_is_the_larger_of_margin_and_calibrations() {
        let b = band(0.05, [("A", Some(0.02)), ("B", None)]);
        assert_eq!((b.width, b.source.as_str()), (0.05, "margin"));
        let b = band(0.05, [("A", Some(0.08)), ("B", Some(0.12))]);
        assert_eq!((b.width, b.source.as_str()), (0.12, "calibration of B"));
        let b = band(0.10, [("A", Some(0.08)), ("B", None)]);
        assert_eq!((b.width, b.source.as_str()), (0.10, "margin"));
        // a calibrated 12 % turns a 10 % speed-up from faster into equivalent
        assert_eq!(decide(0.001, (1.08, 1.12), 0.05), Verdict::Faster);
        assert_eq!(decide(0.001, (1.08, 1.12), 0.12), Verdict::Equivalent);
        assert_eq!(percent(0.05), "±5 %");
        assert_eq!(percent(0.075), "±7.5 %");
    }
}
