//! The fit: a deterministic derivative-free search over log-scaled parameter values.
//! Coordinate descent: each round searches one parameter at a time (the others held) over a
//! factor of `SPAN` either side of its current value, and keeps the result only if it lowers
//! the error. The search scans `SCAN_POINTS` values evenly spaced on the log scale, then runs
//! a golden-section search between the best one's neighbours: the error need not have one
//! minimum along a parameter (a per-layer overhead that hides behind downloads when small and
//! dominates when large gives two), and golden section alone finds whichever is nearer. The
//! evaluation count is bounded: `ROUNDS × parameters × (SCAN_POINTS + GOLDEN_STEPS + 2) + 1`
//! runs.
//!
//! Log scale because the parameters are rates and latencies whose plausible values span
//! orders of magnitude, and the error responds to ratios, not differences.

use crate::scenario::Override;

/// Rounds of coordinate descent.
pub const ROUNDS: usize = 3;
/// Values scanned per parameter per round before the golden section: a factor of
/// 30^(2/16) ≈ 1.53 apart, close enough to land in the narrow valleys a mean absolute error
/// makes where two pulls' errors cross.
pub const SCAN_POINTS: usize = 17;
/// Golden-section steps per parameter per round: the bracket (two scan intervals, a factor of
/// 1.53² ≈ 2.3 either way) shrinks by 0.618 each step, to within 0.5% after 12.
pub const GOLDEN_STEPS: usize = 12;
/// The search bracket: the current value divided and multiplied by this.
pub const SPAN: f64 = 30.0;

/// What a parameter measures: how its value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Bytes per second (`per_connection`, `unpack_rate`, `bandwidth`).
    BytesPerS,
    /// Seconds (`latency`).
    Seconds,
}

impl Unit {
    /// The plausible range searched, so that a parameter the data do not constrain (an
    /// unpack rate when unpacking takes no time) stays at a value one can read: 100kB/s to
    /// 100GB/s, 0.1ms to 10s.
    pub fn bounds(self) -> (f64, f64) {
        match self {
            Unit::BytesPerS => (1e5, 1e11),
            Unit::Seconds => (1e-4, 10.0),
        }
    }
}

/// One parameter to fit: a `--set` key and its value in base units (bytes/s or s).
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub key: String,
    pub unit: Unit,
    pub value: f64,
}

impl Param {
    /// The value as a scenario writes it, with 4 significant figures (`"52.35MB/s"`, `"31.2ms"`).
    pub fn text(&self) -> String {
        match self.unit {
            Unit::BytesPerS => format!("{}MB/s", sig4(self.value / 1e6)),
            Unit::Seconds => format!("{}ms", sig4(self.value * 1e3)),
        }
    }

    pub fn with(&self, value: f64) -> Param {
        Param { value, ..self.clone() }
    }
}

/// `x` with 4 significant figures, without trailing zeros.
fn sig4(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return "0".into();
    }
    let decimals = (3 - x.abs().log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The overrides that set `params`.
pub fn overrides(params: &[Param]) -> Vec<Override> {
    params.iter().map(|p| Override { key: p.key.clone(), value: p.text() }).collect()
}

/// Minimises `objective` (an error for given overrides; `None` when a run fails, counted as
/// worse than any error) from `start`. Values are rounded as written (`Param::text`) before
/// each evaluation, so the fitted values reproduce the reported error exactly.
pub fn fit(
    start: &[Param],
    mut objective: impl FnMut(&[Override]) -> Option<f64>,
) -> (Vec<Param>, f64, usize) {
    let mut evals = 0usize;
    let mut eval = |params: &[Param]| -> f64 {
        evals += 1;
        objective(&overrides(params)).unwrap_or(f64::INFINITY)
    };
    let round = |p: &Param, v: f64| -> f64 {
        // The value the text reads back as.
        let t = p.with(v).text();
        let n: f64 = t.trim_end_matches("MB/s").trim_end_matches("ms").parse().unwrap_or(v);
        match p.unit {
            Unit::BytesPerS => n * 1e6,
            Unit::Seconds => n / 1e3,
        }
    };
    let mut current: Vec<Param> = start.iter().map(|p| p.with(round(p, p.value))).collect();
    let mut best = eval(&current);
    let golden = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..ROUNDS {
        for i in 0..current.len() {
            let centre = current[i].value.max(1e-6).ln();
            let (min, max) = current[i].unit.bounds();
            let (mut lo, mut hi) = ((centre - SPAN.ln()).max(min.ln()), (centre + SPAN.ln()).min(max.ln()));
            let mut at = |x: f64, cur: &[Param]| -> (f64, f64) {
                let mut trial = cur.to_vec();
                let v = round(&cur[i], x.exp());
                trial[i] = cur[i].with(v);
                (eval(&trial), v)
            };
            // The coarse scan: the best point's neighbours bracket the golden section.
            let step = (hi - lo) / (SCAN_POINTS - 1) as f64;
            let mut scan_best = (f64::INFINITY, 0.0, 0usize);
            for k in 0..SCAN_POINTS {
                let (f, v) = at(lo + step * k as f64, &current);
                if f < scan_best.0 {
                    scan_best = (f, v, k);
                }
            }
            let k = scan_best.2;
            let (scan_lo, scan_hi) =
                (lo + step * k.saturating_sub(1) as f64, lo + step * (k + 1).min(SCAN_POINTS - 1) as f64);
            (lo, hi) = (scan_lo, scan_hi);
            let mut x1 = hi - golden * (hi - lo);
            let mut x2 = lo + golden * (hi - lo);
            let (mut f1, mut v1) = at(x1, &current);
            let (mut f2, mut v2) = at(x2, &current);
            for _ in 0..GOLDEN_STEPS {
                if f1 <= f2 {
                    hi = x2;
                    (x2, f2, v2) = (x1, f1, v1);
                    x1 = hi - golden * (hi - lo);
                    (f1, v1) = at(x1, &current);
                } else {
                    lo = x1;
                    (x1, f1, v1) = (x2, f2, v2);
                    x2 = lo + golden * (hi - lo);
                    (f2, v2) = at(x2, &current);
                }
            }
            let (mut f, mut v) = if f1 <= f2 { (f1, v1) } else { (f2, v2) };
            if scan_best.0 < f {
                (f, v) = (scan_best.0, scan_best.1);
            }
            if f < best {
                best = f;
                current[i] = current[i].with(v);
            }
        }
    }
    (current, best, evals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_four_significant_figures() {
        assert_eq!(Param { key: "k".into(), unit: Unit::BytesPerS, value: 52_345_678.0 }.text(), "52.35MB/s");
        assert_eq!(Param { key: "k".into(), unit: Unit::BytesPerS, value: 1.2e9 }.text(), "1200MB/s");
        assert_eq!(Param { key: "k".into(), unit: Unit::Seconds, value: 0.0312 }.text(), "31.2ms");
    }

    #[test]
    fn finds_the_lower_of_two_minima() {
        // A local minimum at 100ms (where the search starts) and a lower one at 1s, in a
        // narrow valley: the error of a per-layer overhead hidden behind downloads, then
        // dominating.
        let start = [Param { key: "a".into(), unit: Unit::Seconds, value: 0.1 }];
        let (p, err, _) = fit(&start, |ov| {
            let ms: f64 = ov[0].value.trim_end_matches("ms").parse().unwrap();
            let x = (ms / 1e3).ln();
            Some(((x - 0.1f64.ln()).abs() + 0.3).min((x - 1f64.ln()).abs()))
        });
        assert!((p[0].value - 1.0).abs() < 0.01, "{:?}", p);
        assert!(err < 1e-3);
    }

    #[test]
    fn finds_the_minimum_of_a_log_parabola() {
        let start = [Param { key: "a".into(), unit: Unit::BytesPerS, value: 10e6 }];
        let (p, err, evals) = fit(&start, |ov| {
            let v: f64 = ov[0].value.trim_end_matches("MB/s").parse().unwrap();
            Some((v / 37.0).ln().powi(2))
        });
        assert!((p[0].value / 37e6 - 1.0).abs() < 0.01, "{:?}", p);
        assert!(err < 1e-3);
        assert_eq!(evals, 1 + ROUNDS * (SCAN_POINTS + GOLDEN_STEPS + 2));
    }
}
