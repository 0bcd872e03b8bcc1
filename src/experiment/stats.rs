//! Statistics of a sweep: mean, sample standard deviation, a 95% confidence interval with
//! Student's t, and the paired difference against the baseline over the same seeds.
//!
//! Why paired: every variant runs on the same seeds, and the model's random streams are keyed
//! by entity, so seed k draws the same arrivals, sizes and failures in every variant (common
//! random numbers). The per-seed difference `x_k - b_k` removes the seed-to-seed noise that
//! both share, so its interval is much narrower than comparing two independent means.
//!
//! Determinism: every sum folds left in the order given (plan order, seed order), so the same
//! inputs give the same bits whatever ran in parallel.

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

/// A sample's mean with its 95% confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator); `None` when n < 2.
    pub sd: Option<f64>,
    /// Half-width of the 95% CI: t_{0.975, n-1} × sd / √n; `None` when n < 2.
    pub half_width: Option<f64>,
}

impl Estimate {
    pub fn low(&self) -> Option<f64> {
        self.half_width.map(|h| self.mean - h)
    }
    pub fn high(&self) -> Option<f64> {
        self.half_width.map(|h| self.mean + h)
    }
    /// The interval excludes 0 (only meaningful for a difference). With zero spread, any
    /// non-zero mean is significant; with fewer than two samples nothing is.
    pub fn significant(&self) -> bool {
        match self.half_width {
            Some(h) => self.mean.abs() > h,
            None => false,
        }
    }
}

/// Mean and 95% CI of `xs`; `None` when empty.
pub fn estimate(xs: &[f64]) -> Option<Estimate> {
    if xs.is_empty() {
        return None;
    }
    let n = xs.len();
    let mean = xs.iter().fold(0.0, |a, x| a + x) / n as f64;
    if n < 2 {
        return Some(Estimate { n, mean, sd: None, half_width: None });
    }
    let ss = xs.iter().fold(0.0, |a, x| a + (x - mean) * (x - mean));
    let sd = (ss / (n - 1) as f64).sqrt();
    let t = t975((n - 1) as u64).expect("n >= 2");
    Some(Estimate { n, mean, sd: Some(sd), half_width: Some(t * sd / (n as f64).sqrt()) })
}

/// Paired difference `x - base` over the seeds where both have a value (a metric is missing
/// when, e.g., no pod ran in that run); `None` when no seed has both.
pub fn paired_difference(xs: &[Option<f64>], base: &[Option<f64>]) -> Option<Estimate> {
    let d: Vec<f64> = xs
        .iter()
        .zip(base)
        .filter_map(|(x, b)| match (x, b) {
            (Some(x), Some(b)) => Some(x - b),
            _ => None,
        })
        .collect();
    estimate(&d)
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
        assert!(!e.significant());
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
        assert!(d.significant());
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
        assert!(!d.significant());
        // Identical runs: zero difference, zero spread, not significant.
        let d = paired_difference(&base, &base).unwrap();
        assert_eq!((d.mean, d.half_width), (0.0, Some(0.0)));
        assert!(!d.significant());
        // A constant non-zero shift with zero spread is significant.
        let shifted = [Some(12.0), Some(12.0), Some(12.0), Some(12.0)];
        assert!(paired_difference(&shifted, &base).unwrap().significant());
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
}
