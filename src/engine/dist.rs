//! Compiled distributions. Values are in the quantity's base unit (bytes, nanoseconds,
//! bytes per second, events per second, or a plain number); callers quantize a sample to an
//! integer at once (`sample_u64`) so floats never reach event keys or state comparisons.
//!
//! Samplers are written out here (inverse CDF, Box–Muller) rather than taken from `rand_distr`,
//! so that the exact sequence of draws is pinned by this file and not by a dependency's version.

use rand::Rng;

/// A numeric value that may be drawn at random. `Constant` never touches the RNG.
#[derive(Clone, Debug, PartialEq)]
pub enum Dist {
    Constant(f64),
    Exponential {
        mean: f64,
    },
    Uniform {
        min: f64,
        max: f64,
    },
    LogNormal {
        median: f64,
        sigma: f64,
    },
    /// `cum_weights` is the running sum of the weights; its last element is the total.
    Empirical {
        values: Vec<f64>,
        cum_weights: Vec<f64>,
    },
}

impl Dist {
    pub fn constant(v: f64) -> Dist {
        Dist::Constant(v)
    }

    /// The value when the distribution is a constant.
    pub fn as_constant(&self) -> Option<f64> {
        match self {
            Dist::Constant(v) => Some(*v),
            _ => None,
        }
    }

    /// Mean of the distribution (used for work estimates and documentation, not sampling).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Constant(v) => *v,
            Dist::Exponential { mean } => *mean,
            Dist::Uniform { min, max } => (min + max) / 2.0,
            Dist::LogNormal { median, sigma } => median * (sigma * sigma / 2.0).exp(),
            Dist::Empirical { values, cum_weights } => {
                let total = cum_weights.last().copied().unwrap_or(1.0);
                let mut prev = 0.0;
                let mut acc = 0.0;
                for (v, c) in values.iter().zip(cum_weights) {
                    acc += v * (c - prev);
                    prev = *c;
                }
                acc / total
            }
        }
    }

    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Dist::Constant(v) => *v,
            Dist::Exponential { mean } => {
                // Inverse CDF; 1 - u is in (0, 1] so ln never sees 0.
                let u: f64 = rng.gen::<f64>();
                -mean * (1.0 - u).ln()
            }
            Dist::Uniform { min, max } => {
                let u: f64 = rng.gen::<f64>();
                min + (max - min) * u
            }
            Dist::LogNormal { median, sigma } => median * (sigma * standard_normal(rng)).exp(),
            Dist::Empirical { values, cum_weights } => {
                let total = *cum_weights.last().expect("validated: empirical has values");
                let x = rng.gen::<f64>() * total;
                let i = cum_weights.partition_point(|c| *c <= x).min(values.len() - 1);
                values[i]
            }
        }
    }

    /// A sample rounded to the nearest integer and clamped to `[0, u64::MAX]`.
    pub fn sample_u64<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        to_u64(self.sample(rng))
    }

    /// `sample_u64` with the stream built only when it is needed: a constant (the usual latency,
    /// start time or overhead) draws nothing, so keying a stream for it would be wasted work on
    /// the hottest paths. Same value as `sample_u64(&mut make_rng())`.
    pub fn sample_u64_with<R: Rng>(&self, make_rng: impl FnOnce() -> R) -> u64 {
        match self {
            Dist::Constant(v) => to_u64(*v),
            _ => self.sample_u64(&mut make_rng()),
        }
    }
}

/// Rounds to nearest and clamps; NaN becomes 0.
pub fn to_u64(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= u64::MAX as f64 {
        u64::MAX
    } else {
        x.round() as u64
    }
}

/// Box–Muller (one of the pair), with `u1` in (0, 1].
fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn mean_of(d: &Dist, n: usize) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        (0..n).map(|_| d.sample(&mut rng)).sum::<f64>() / n as f64
    }

    #[test]
    fn sample_means_match_analytic_means() {
        let cases = [
            Dist::Exponential { mean: 100.0 },
            Dist::Uniform { min: 10.0, max: 30.0 },
            Dist::LogNormal { median: 150.0, sigma: 0.5 },
            Dist::Empirical { values: vec![20.0, 80.0, 1200.0], cum_weights: vec![5.0, 8.0, 9.0] },
        ];
        for d in &cases {
            let m = mean_of(d, 200_000);
            let want = d.mean();
            assert!((m - want).abs() / want < 0.02, "{d:?}: sample mean {m}, analytic {want}");
        }
    }

    #[test]
    fn constant_is_exact_and_draws_nothing() {
        let mut a = ChaCha8Rng::seed_from_u64(1);
        let b = a.clone();
        assert_eq!(Dist::Constant(5.0).sample(&mut a), 5.0);
        assert_eq!(Dist::Constant(5.4).sample_u64_with(|| -> ChaCha8Rng { unreachable!() }), 5);
        let e = Dist::Exponential { mean: 10.0 };
        let (x, mut y) = (ChaCha8Rng::seed_from_u64(9), ChaCha8Rng::seed_from_u64(9));
        assert_eq!(e.sample_u64_with(|| x.clone()), e.sample_u64(&mut y));
        assert_eq!(a, b, "a constant must not advance the stream");
    }

    #[test]
    fn lognormal_median() {
        let d = Dist::LogNormal { median: 150.0, sigma: 1.2 };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut xs: Vec<f64> = (0..100_001).map(|_| d.sample(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        let med = xs[50_000];
        assert!((med - 150.0).abs() < 5.0, "median {med}");
    }

    #[test]
    fn empirical_only_yields_listed_values() {
        let d = Dist::Empirical { values: vec![1.0, 2.0], cum_weights: vec![1.0, 4.0] };
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let n2 = (0..10_000).filter(|_| d.sample(&mut rng) == 2.0).count();
        assert!((7300..7700).contains(&n2), "weight 3/4 for value 2, got {n2}");
    }
}
