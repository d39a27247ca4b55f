//! Statistics for comparing two sets of repetitions: median, coefficient of variation,
//! the Mann–Whitney U test (two-sided, as scipy.stats.mannwhitneyu computes it) and a
//! percentile bootstrap interval for the ratio of medians with a seeded generator.
//! Reference values (scipy) are in tests/fixtures/bench/reference.py and the tests below.
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation over the mean (ddof = 1); 0 for fewer than two values.
pub fn cv(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    var.sqrt() / m
}

/// Which p-value computation [`mann_whitney_u`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MwuMethod {
    /// The exact null distribution of U (no ties, both samples of at most 8).
    Exact,
    /// Normal approximation with tie correction and continuity correction.
    Asymptotic,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MwuResult {
    /// U of the first sample (scipy's `statistic`).
    pub u1: f64,
    pub p_value: f64,
    pub method: MwuMethod,
}

/// Two-sided Mann–Whitney U test. The method follows scipy's `method="auto"`: exact when
/// both samples have at most 8 values and there are no ties, otherwise the normal
/// approximation with tie correction and continuity correction.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> MwuResult {
    mwu(x, y, true)
}

/// As [`mann_whitney_u`]; `exact_allowed: false` is scipy's `method="asymptotic"`.
pub fn mwu(x: &[f64], y: &[f64], exact_allowed: bool) -> MwuResult {
    let (n1, n2) = (x.len(), y.len());
    let (ranks, ties) = rank(x.iter().chain(y).copied().collect());
    let r1: f64 = ranks[..n1].iter().sum();
    let u1 = r1 - (n1 * (n1 + 1)) as f64 / 2.0;
    let u2 = (n1 * n2) as f64 - u1;
    let u = u1.max(u2);
    let exact = exact_allowed && n1 <= 8 && n2 <= 8 && ties == 0.0;
    let p = if exact {
        2.0 * exact_sf(u as usize, n1, n2)
    } else {
        asymptotic_sf(u, n1, n2, ties) * 2.0
    };
    MwuResult {
        u1,
        p_value: p.clamp(0.0, 1.0),
        method: if exact {
            MwuMethod::Exact
        } else {
            MwuMethod::Asymptotic
        },
    }
}

/// Ranks (1-based, ties get their average rank) and Σ(t³ − t) over groups of ties.
fn rank(v: Vec<f64>) -> (Vec<f64>, f64) {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut ties = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            ranks[k] = avg;
        }
        let t = (j - i + 1) as f64;
        ties += t * t * t - t;
        i = j + 1;
    }
    (ranks, ties)
}

/// P(U ≥ u) under the null, normal approximation (scipy's `_get_mwu_z`).
fn asymptotic_sf(u: f64, n1: usize, n2: usize, ties: f64) -> f64 {
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let n = n1f + n2f;
    let mu = n1f * n2f / 2.0;
    let s = (n1f * n2f / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)))).sqrt();
    if s == 0.0 {
        return 1.0;
    }
    let z = (u - mu - 0.5) / s;
    normal_sf(z)
}

/// Standard normal survival function.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * libm::erfc(z / std::f64::consts::SQRT_2)
}

/// P(U ≥ u) for samples of sizes m and n without ties: the number of arrangements with
/// U = k satisfies the recurrence f(k; m, n) = f(k − n; m − 1, n) + f(k; m, n − 1).
fn exact_sf(u: usize, m: usize, n: usize) -> f64 {
    let max = m * n;
    // counts[i][j][k] built bottom-up over i ≤ m, j ≤ n.
    let mut table = vec![vec![Vec::<f64>::new(); n + 1]; m + 1];
    for i in 0..=m {
        for j in 0..=n {
            let mut c = vec![0.0; i * j + 1];
            if i == 0 || j == 0 {
                c[0] = 1.0;
            } else {
                for (k, slot) in c.iter_mut().enumerate() {
                    let a = if k >= j {
                        table[i - 1][j].get(k - j).copied().unwrap_or(0.0)
                    } else {
                        0.0
                    };
                    let b = table[i][j - 1].get(k).copied().unwrap_or(0.0);
                    *slot = a + b;
                }
            }
            table[i][j] = c;
        }
    }
    let counts = &table[m][n];
    let total: f64 = counts.iter().sum();
    counts[u.min(max + 1).min(counts.len())..]
        .iter()
        .sum::<f64>()
        / total
}

/// A bootstrap confidence interval for median(b) / median(a): each side resampled with
/// replacement `resamples` times from a ChaCha8 generator seeded with `seed`; the interval
/// is the percentile interval at `level` (numpy's linear interpolation between order
/// statistics).
pub fn bootstrap_ratio_ci(
    a: &[f64],
    b: &[f64],
    resamples: usize,
    seed: u64,
    level: f64,
) -> (f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ratios = Vec::with_capacity(resamples);
    let (mut ra, mut rb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    for _ in 0..resamples {
        resample(&mut rng, a, &mut ra);
        resample(&mut rng, b, &mut rb);
        ratios.push(median(&rb) / median(&ra));
    }
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    (quantile(&ratios, tail), quantile(&ratios, 1.0 - tail))
}

/// One benchmark's two sides, for the geometric mean's interval.
pub struct Pair<'a> {
    pub a: &'a [f64],
    pub b: &'a [f64],
    pub higher_is_better: bool,
}

/// A bootstrap interval for the geometric mean of B's speed-ups over A across benchmarks:
/// each resample draws every benchmark's two sides with replacement (as
/// [`bootstrap_ratio_ci`] does), takes each speed-up of medians and their geometric mean.
pub fn bootstrap_geomean_ci(
    pairs: &[Pair<'_>],
    resamples: usize,
    seed: u64,
    level: f64,
) -> (f64, f64) {
    if pairs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut means = Vec::with_capacity(resamples);
    let mut scratch: Vec<(Vec<f64>, Vec<f64>)> = pairs
        .iter()
        .map(|p| (vec![0.0; p.a.len()], vec![0.0; p.b.len()]))
        .collect();
    for _ in 0..resamples {
        let mut log_sum = 0.0;
        for (p, (ra, rb)) in pairs.iter().zip(scratch.iter_mut()) {
            resample(&mut rng, p.a, ra);
            resample(&mut rng, p.b, rb);
            let ratio = median(rb) / median(ra);
            log_sum += if p.higher_is_better {
                ratio
            } else {
                1.0 / ratio
            }
            .ln();
        }
        means.push((log_sum / pairs.len() as f64).exp());
    }
    means.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    (quantile(&means, tail), quantile(&means, 1.0 - tail))
}

fn resample(rng: &mut ChaCha8Rng, from: &[f64], into: &mut [f64]) {
    for slot in into.iter_mut() {
        *slot = from[index(rng, from.len())];
    }
}

/// A uniform index below `n` (Lemire's multiply-shift; the bias is below 2⁻⁵⁰ here).
fn index(rng: &mut ChaCha8Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// Quantile of sorted data, numpy's default (`linear`) method.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Geometric mean of positive values.
pub fn geomean(xs: &[f64]) -> f64 {
    (xs.iter().map(|x| x.ln()).sum::<f64>() / xs.len() as f64).exp()
}

#[cfg(test)]
#[path = "stats_test.rs"]
mod tests;
