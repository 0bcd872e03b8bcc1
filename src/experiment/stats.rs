//! Statistics of a sweep: mean, sample standard deviation, a 95% confidence interval with
//! Student's t, and the paired difference against the baseline over the same seeds.
//!
//! Why paired: every variant runs on the same seeds, and the model's random streams are keyed
//! by entity, so seed k draws the same arrivals, sizes and failures in every variant (common
//! random numbers). The per-seed difference `x_k - b_k` removes the seed-to-seed noise that
//! both share, so its interval is much narrower than comparing two independent means.
//!
//! Three rules keep the figures honest:
//!
//! - An interval stays within what the metric can be (`Range`): a count, a time or a rate is
//!   never below 0, and a count bounded by another (pods not running by pods) never above that
//!   bound; the interval is cut there.
//! - Values that are the same in every seed (a deterministic scenario) have no spread to
//!   estimate: `Estimate::identical`, and no interval is given, rather than a "± 0" that reads
//!   like a measured precision.
//! - A paired difference is significant only if its interval excludes 0 (or, identical in every
//!   seed, it is not 0) **and** it is at least a practical size (`MinEffect`): an exact
//!   difference of 12 ms is real but does not matter.
//!
//! Determinism: every sum folds left in the order given (plan order, seed order), so the same
//! inputs give the same bits whatever ran in parallel.

use serde::{Deserialize, Serialize};

/// Two-sided 95% quantiles of Student's t (`t_{0.975, df}`), df 1..=30, to 4 decimals.
const T975_SMALL: [f64; 30] = [
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788, 2.1604,
    2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555,
    2.0518, 2.0484, 2.0452, 2.0423,
];
/// Larger df: (df, t_{0.975, df}); a df between two entries uses the smaller df's (wider,
/// conservative) value; past the last, the normal quantile 1.9600.
const T975_LARGE: [(u64, f64); 6] =
    [(40, 2.0211), (50, 2.0086), (60, 2.0003), (80, 1.9901), (100, 1.9840), (120, 1.9799)];
const Z975: f64 = 1.9600;

/// `t_{0.975, df}`; `None` for df 0 (one sample has no spread to estimate).
pub fn t975(df: u64) -> Option<f64> {
    match df {
        0 => None,
        1..=30 => Some(T975_SMALL[(df - 1) as usize]),
        _ if df > T975_LARGE[T975_LARGE.len() - 1].0 => Some(Z975),
        _ => {
            let mut t = T975_SMALL[29];
            for (d, v) in T975_LARGE {
                if df >= d {
                    t = v;
                }
            }
            Some(t)
        }
    }
}

/// The values a metric can take (an interval is cut to it).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Range {
    pub low: f64,
    pub high: f64,
}

impl Range {
    /// Anything: a paired difference of a metric with no upper bound.
    pub const ANY: Range = Range { low: f64::NEG_INFINITY, high: f64::INFINITY };
    /// A time, a rate or a count without a known upper bound.
    pub const NON_NEGATIVE: Range = Range { low: 0.0, high: f64::INFINITY };

    /// A count of at most `bound` (pods not running, of the pods created).
    pub fn up_to(bound: f64) -> Range {
        Range { low: 0.0, high: bound }
    }

    /// What a difference of two values in this range can be: `[-(high - low), high - low]`.
    pub fn differences(self) -> Range {
        let w = self.high - self.low;
        Range { low: -w, high: w }
    }
}

/// A sample's mean with its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator); `None` when n < 2.
    pub sd: Option<f64>,
    /// Half-width of the 95% CI: t_{0.975, n-1} × sd / √n; `None` when n < 2.
    pub half_width: Option<f64>,
    /// Every one of n ≥ 2 values is the same (within float rounding): there is no spread to
    /// estimate, and no interval is given.
    pub identical: bool,
    /// What the values can be: the interval is cut to it.
    pub range: Range,
}

impl Estimate {
    /// The CI's lower end, cut at what is possible; `None` with fewer than two values or when
    /// they are identical.
    pub fn low(&self) -> Option<f64> {
        self.interval().map(|(l, _)| l)
    }
    pub fn high(&self) -> Option<f64> {
        self.interval().map(|(_, h)| h)
    }

    fn interval(&self) -> Option<(f64, f64)> {
        let h = self.half_width.filter(|_| !self.identical)?;
        Some(((self.mean - h).max(self.range.low), (self.mean + h).min(self.range.high)))
    }

    /// The interval reaches past what is possible, and is cut there: `mean ± half_width` would
    /// misstate it.
    pub fn clamped(&self) -> bool {
        match (self.half_width, self.interval()) {
            (Some(h), Some((l, hi))) => l > self.mean - h || hi < self.mean + h,
            _ => false,
        }
    }

    /// Whether a paired difference is significant: its 95% interval excludes 0 (identical in
    /// every seed: it is not 0), and its size is at least `min_effect`. With fewer than two
    /// values nothing is.
    pub fn significant(&self, min_effect: f64) -> bool {
        let excludes_zero = match self.half_width {
            None => return false,
            Some(_) if self.identical => self.mean != 0.0,
            Some(h) => self.mean.abs() > h,
        };
        excludes_zero && self.mean.abs() >= min_effect
    }
}

/// Mean and 95% CI of `xs`, which can be anything; `None` when empty.
pub fn estimate(xs: &[f64]) -> Option<Estimate> {
    estimate_in(xs, Range::ANY)
}

/// Mean and 95% CI of `xs`, whose values can only be in `range`; `None` when empty.
pub fn estimate_in(xs: &[f64], range: Range) -> Option<Estimate> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len();
    let mean = xs.iter().fold(0.0, |a, x| a + x) / n as f64;
    if n < 2 {
        return Some(Estimate { n, mean, sd: None, half_width: None, identical: false, range });
    }
    let ss = xs.iter().fold(0.0, |a, x| a + (x - mean) * (x - mean));
    let sd = (ss / (n - 1) as f64).sqrt();
    let t = t975((n - 1) as u64).expect("n >= 2");
    // Values are read from text with at most three decimals; a difference of two of them can
    // differ from another in its last bits: that is not spread.
    let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
    let identical = hi - lo <= 1e-12 * lo.abs().max(hi.abs()).max(1.0);
    Some(Estimate { n, mean, sd: Some(sd), half_width: Some(t * sd / (n as f64).sqrt()), identical, range })
}

/// Paired difference `x - base` over the seeds where both have a value (a metric is missing
/// when, e.g., no pod ran in that run); `None` when no seed has both.
pub fn paired_difference(xs: &[Option<f64>], base: &[Option<f64>]) -> Option<Estimate> {
    paired_difference_in(xs, base, Range::ANY)
}

/// `paired_difference` of a metric whose differences can only be in `range`.
pub fn paired_difference_in(xs: &[Option<f64>], base: &[Option<f64>], range: Range) -> Option<Estimate> {
    let d: Vec<f64> = xs
        .iter()
        .zip(base)
        .filter_map(|(x, b)| match (x, b) {
            (Some(x), Some(b)) => Some(x - b),
            _ => None,
        })
        .collect();
    estimate_in(&d, range)
}

/// What a metric measures, for its practical threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Seconds,
    /// Pods, pull attempts, failures.
    Count,
    BytesPerSecond,
}

/// The smallest paired difference worth a `*`: `max(relative × |baseline mean|, floor)`, the
/// floor being `seconds` for times, `count` for counts and 0 for rates. The defaults, 1 %,
/// 0.1 s and 1: a difference below a hundredth of the value, a tenth of a second of pod startup
/// or one pod or failure per run is not what a capacity decision turns on.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MinEffect {
    /// A fraction of the baseline's mean (0.01 = 1 %).
    pub relative: f64,
    pub seconds: f64,
    pub count: f64,
}

impl Default for MinEffect {
    fn default() -> Self {
        MinEffect { relative: 0.01, seconds: 0.1, count: 1.0 }
    }
}

impl MinEffect {
    /// Parses `--min-effect`: comma-separated parts, each a percentage (`5%`, the relative
    /// part), a duration (`0.5s`, `200ms`: the floor for times) or a plain number (`2`: the
    /// floor for counts). Parts not given keep their defaults; `0%,0s,0` marks any difference
    /// whose interval excludes 0.
    pub fn parse(text: &str) -> Result<MinEffect, String> {
        let bad = |why: String| {
            format!(
                "--min-effect {text:?}: {why}; expected comma-separated parts such as 5%,0.5s,2 \
                 (relative to the baseline, floor for times, floor for counts)"
            )
        };
        let mut m = MinEffect::default();
        let mut seen = [false; 3];
        for part in text.split(',').map(str::trim) {
            let (slot, value) = if let Some(p) = part.strip_suffix('%') {
                let v: f64 = p.trim().parse().map_err(|_| bad(format!("{part:?} is not a percentage")))?;
                (0, v / 100.0)
            } else if part.ends_with('s') {
                let ns = crate::units::parse_duration_ns(part).map_err(|e| bad(format!("{part:?}: {e}")))?;
                (1, ns as f64 / 1e9)
            } else {
                let v: f64 = part
                    .parse()
                    .map_err(|_| bad(format!("{part:?} is not a number, percentage or duration")))?;
                (2, v)
            };
            if !value.is_finite() || value < 0.0 {
                return Err(bad(format!("{part:?} must be a finite value, at least 0")));
            }
            if std::mem::replace(&mut seen[slot], true) {
                return Err(bad(format!("{part:?} repeats a kind of part")));
            }
            match slot {
                0 => m.relative = value,
                1 => m.seconds = value,
                _ => m.count = value,
            }
        }
        Ok(m)
    }

    /// The threshold of a metric in `unit` whose baseline mean is `baseline` (`None`: the
    /// floor alone).
    pub fn threshold(&self, unit: Unit, baseline: Option<f64>) -> f64 {
        let floor = match unit {
            Unit::Seconds => self.seconds,
            Unit::Count => self.count,
            Unit::BytesPerSecond => 0.0,
        };
        (self.relative * baseline.unwrap_or(0.0).abs()).max(floor)
    }

    /// For the table's legend: `max(1% of the baseline mean, 0.1 s for times, 1 for counts)`.
    pub fn describe(&self) -> String {
        format!(
            "max({}% of the baseline mean, {} s for times, {} for counts)",
            self.relative * 100.0,
            self.seconds,
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn t_quantiles_by_table() {
        assert_eq!(t975(0), None);
        assert_eq!(t975(1), Some(12.7062));
        assert_eq!(t975(4), Some(2.7764));
        assert_eq!(t975(30), Some(2.0423));
        // Between entries: the smaller df's (wider) value.
        assert_eq!(t975(35), Some(2.0423));
        assert_eq!(t975(45), Some(2.0211));
        assert_eq!(t975(120), Some(1.9799));
        assert_eq!(t975(1000), Some(1.96));
        // Monotone decreasing towards the normal quantile.
        let mut prev = f64::INFINITY;
        for df in 1..200 {
            let t = t975(df).unwrap();
            assert!(t <= prev && t >= 1.96, "df {df}");
            prev = t;
        }
    }

    #[test]
    fn estimate_by_hand() {
        // xs = 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sum of squares 32, s² = 32/7, s = 2.13809.
        // half-width = t(7) × s / √8 = 2.3646 × 2.13809 / 2.82843 = 1.78747.
        let e = estimate(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(e.n, 8);
        assert_eq!(e.mean, 5.0);
        assert!(close(e.sd.unwrap(), 2.13809, 1e-5), "{e:?}");
        assert!(close(e.half_width.unwrap(), 1.78747, 1e-5), "{e:?}");
        assert!(close(e.low().unwrap(), 3.21253, 1e-5));
        assert!(close(e.high().unwrap(), 6.78747, 1e-5));
        // Three values 10, 12, 14: mean 12, s = 2, half-width = 4.3027 × 2 / √3 = 4.96833.
        let e = estimate(&[10.0, 12.0, 14.0]).unwrap();
        assert!(close(e.half_width.unwrap(), 4.96833, 1e-5), "{e:?}");
    }

    #[test]
    fn one_sample_has_no_interval_and_empty_has_no_estimate() {
        let e = estimate(&[3.5]).unwrap();
        assert_eq!((e.n, e.mean, e.sd, e.half_width), (1, 3.5, None, None));
        assert!(!e.significant(0.0));
        assert!(!e.identical, "one value says nothing about spread");
        assert_eq!(estimate(&[]), None);
    }

    #[test]
    fn paired_difference_by_hand() {
        // Baseline 100, 110, 95, 105; variant 90, 101, 86, 97 → differences -10, -9, -9, -8:
        // mean -9, s² = (1 + 0 + 0 + 1)/3, s = 0.81650, half-width = 3.1824 × 0.81650 / 2 = 1.29921.
        let base = [Some(100.0), Some(110.0), Some(95.0), Some(105.0)];
        let x = [Some(90.0), Some(101.0), Some(86.0), Some(97.0)];
        let d = paired_difference(&x, &base).unwrap();
        assert_eq!(d.n, 4);
        assert!(close(d.mean, -9.0, 1e-12));
        assert!(close(d.half_width.unwrap(), 1.29921, 1e-5), "{d:?}");
        assert!(d.significant(0.0));
        // Significant only if at least the practical threshold: |-9| >= 9 but not >= 9.5.
        assert!(d.significant(9.0) && !d.significant(9.5));
        // The unpaired intervals of the same data overlap widely: pairing is what makes the
        // difference visible.
        let eb = estimate(&[100.0, 110.0, 95.0, 105.0]).unwrap();
        let ex = estimate(&[90.0, 101.0, 86.0, 97.0]).unwrap();
        assert!(ex.high().unwrap() > eb.low().unwrap());
    }

    #[test]
    fn paired_difference_not_significant_when_interval_spans_zero() {
        // Differences 1, -1, 2, -2: mean 0.
        let base = [Some(10.0), Some(10.0), Some(10.0), Some(10.0)];
        let x = [Some(11.0), Some(9.0), Some(12.0), Some(8.0)];
        let d = paired_difference(&x, &base).unwrap();
        assert_eq!(d.mean, 0.0);
        assert!(!d.significant(0.0));
        // Identical runs: zero difference in every seed, not significant.
        let d = paired_difference(&base, &base).unwrap();
        assert_eq!((d.mean, d.half_width, d.identical), (0.0, Some(0.0), true));
        assert!(!d.significant(0.0));
        // A constant non-zero shift is exact: significant if at least the threshold.
        let shifted = [Some(12.0), Some(12.0), Some(12.0), Some(12.0)];
        let d = paired_difference(&shifted, &base).unwrap();
        assert!(d.identical && d.significant(2.0) && !d.significant(2.5));
    }

    #[test]
    fn paired_difference_skips_seeds_missing_on_either_side() {
        let base = [Some(10.0), None, Some(30.0), Some(40.0)];
        let x = [Some(12.0), Some(99.0), None, Some(44.0)];
        let d = paired_difference(&x, &base).unwrap();
        // Only seeds 0 and 3: differences 2 and 4, mean 3, s = √2, hw = 12.7062 × √2 / √2.
        assert_eq!(d.n, 2);
        assert!(close(d.mean, 3.0, 1e-12));
        assert!(close(d.half_width.unwrap(), 12.7062, 1e-9));
        assert_eq!(paired_difference(&[None], &[Some(1.0)]), None);
    }

    #[test]
    fn identical_values_have_no_interval() {
        // A deterministic scenario: 20 seeds, one value.
        let e = estimate_in(&[12.345; 20], Range::NON_NEGATIVE).unwrap();
        assert!(e.identical);
        assert_eq!((e.n, e.mean, e.low(), e.high(), e.clamped()), (20, 12.345, None, None, false));
        // Differences of values with three decimals that are equal up to float rounding:
        // 1.627 - 1.587 and 2.627 - 2.587 differ in their last bits.
        let (a, b) = (1.627 - 1.587, 2.627 - 2.587);
        assert_ne!(a, b);
        let d = estimate(&[a, b, a]).unwrap();
        assert!(d.identical, "{d:?}");
        // Values 1 ms apart are not identical.
        let e = estimate(&[12.345, 12.346]).unwrap();
        assert!(!e.identical && e.low().is_some());
    }

    /// The case of the issue: a deterministic scenario where a variant is 12 ms faster in every
    /// seed. The difference is exact, so its interval excludes 0, but it is below the default
    /// practical threshold for a time: max(1 % of the baseline mean 36.707 s, 0.1 s) = 0.36707 s.
    #[test]
    fn an_exact_twelve_millisecond_difference_is_not_significant_by_default() {
        let base = [Some(36.707); 5];
        let x = [Some(36.695); 5];
        let d = paired_difference(&x, &base).unwrap();
        assert!(d.identical && close(d.mean, -0.012, 1e-9));
        let m = MinEffect::default();
        let threshold = m.threshold(Unit::Seconds, Some(36.707));
        assert!(close(threshold, 0.36707, 1e-12));
        assert!(d.significant(0.0), "exact and non-zero");
        assert!(!d.significant(threshold));
        // 0.77 s later at the median is significant.
        let later = [Some(37.477); 5];
        assert!(paired_difference(&later, &base).unwrap().significant(threshold));
    }

    #[test]
    fn intervals_of_counts_stay_within_what_is_possible() {
        // Pull failures 0, 0, 0, 0, 2: mean 0.4, s² = (4 × 0.16 + 2.56) / 4 = 0.8, s = 0.894427,
        // half-width = 2.7764 × 0.894427 / √5 = 1.110560: [-0.710560, 1.510560] cut at 0.
        let e = estimate_in(&[0.0, 0.0, 0.0, 0.0, 2.0], Range::NON_NEGATIVE).unwrap();
        assert!(close(e.half_width.unwrap(), 1.110560, 1e-6), "{e:?}");
        assert_eq!(e.low(), Some(0.0));
        assert!(close(e.high().unwrap(), 1.510560, 1e-6));
        assert!(e.clamped());
        // Pods not running, 3 and 5 of 5 pods: mean 4, s = √2, half-width = 12.7062 × √2 / √2
        // = 12.7062: [-8.7062, 16.7062] cut to [0, 5].
        let e = estimate_in(&[3.0, 5.0], Range::up_to(5.0)).unwrap();
        assert_eq!((e.low(), e.high()), (Some(0.0), Some(5.0)));
        // Their difference to another variant is within [-5, 5]: differences 5 - 0 and 0 - 0,
        // mean 2.5, half-width 12.7062 × 2.5 = 31.7655 → [-5, 5].
        let d = paired_difference_in(
            &[Some(5.0), Some(0.0)],
            &[Some(0.0), Some(0.0)],
            Range::up_to(5.0).differences(),
        )
        .unwrap();
        assert_eq!((d.low(), d.high()), (Some(-5.0), Some(5.0)));
        assert!(!d.significant(0.0));
        // An interval inside the range is not cut.
        let e = estimate_in(&[10.0, 12.0, 14.0], Range::NON_NEGATIVE).unwrap();
        assert!(!e.clamped());
        assert!(close(e.low().unwrap(), 12.0 - 4.96833, 1e-5));
        assert_eq!(Range::NON_NEGATIVE.differences(), Range::ANY);
    }

    #[test]
    fn min_effect_parts_and_thresholds_by_hand() {
        let d = MinEffect::default();
        assert_eq!(d, MinEffect { relative: 0.01, seconds: 0.1, count: 1.0 });
        assert_eq!(MinEffect::parse("5%,0.5s,2"), Ok(MinEffect { relative: 0.05, seconds: 0.5, count: 2.0 }));
        assert_eq!(MinEffect::parse("0%, 0s, 0"), Ok(MinEffect { relative: 0.0, seconds: 0.0, count: 0.0 }));
        assert_eq!(MinEffect::parse("200ms"), Ok(MinEffect { seconds: 0.2, ..d }));
        assert_eq!(MinEffect::parse("3"), Ok(MinEffect { count: 3.0, ..d }));
        for bad in ["5%,6%", "1s,2s", "-1", "x", "1%,", "-2%", "nan", "inf", "1h?"] {
            assert!(MinEffect::parse(bad).is_err(), "{bad}");
        }
        // max(1 % × 36.7, 0.1) = 0.367; max(1 % × 5, 0.1) = 0.1; counts max(1 % × 0.4, 1) = 1;
        // egress 1 % × 625 MB/s = 6.25 MB/s; no baseline: the floor.
        assert!(close(d.threshold(Unit::Seconds, Some(36.7)), 0.367, 1e-12));
        assert_eq!(d.threshold(Unit::Seconds, Some(5.0)), 0.1);
        assert_eq!(d.threshold(Unit::Count, Some(0.4)), 1.0);
        assert!(close(d.threshold(Unit::BytesPerSecond, Some(625e6)), 6.25e6, 1e-6));
        assert_eq!(d.threshold(Unit::Count, None), 1.0);
        assert_eq!(d.describe(), "max(1% of the baseline mean, 0.1 s for times, 1 for counts)");
    }
}
