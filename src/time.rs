//! Simulated time: integer nanoseconds since the start of a run.
//!
//! Integer time keeps event order exact and runs byte-reproducible; floats appear only where a
//! duration is derived from bytes and bandwidth, and are rounded up (`from_secs_f64_ceil`) at once.

use std::fmt;

/// Nanoseconds in one second.
pub const NS_PER_S: u64 = 1_000_000_000;

/// An instant of simulated time, in nanoseconds since the run started.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct SimTime(pub u64);

/// A span of simulated time, in nanoseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct SimDuration(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// Saturating: a run never gets near 584 years, but a bogus duration must not wrap.
    pub fn plus(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }

    /// Time since `earlier`; zero when `earlier` is later (never negative).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }

    /// Seconds with exactly three decimals, from integer arithmetic (no float rounding).
    pub fn fmt_ms(self) -> String {
        fmt_ns_as_secs_ms(self.0)
    }
}

/// An instant that may not have happened yet, in 8 bytes where `Option<SimTime>` takes 16:
/// `SimTime::MAX` stands for "not yet" (no run reaches it). For the large per-entity tables
/// (pods, pull attempts), where 8 bytes decide how many cache lines an entry spans.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct MaybeTime(SimTime);

impl MaybeTime {
    pub const NOT_YET: MaybeTime = MaybeTime(SimTime::MAX);

    pub fn get(self) -> Option<SimTime> {
        (self.0 != SimTime::MAX).then_some(self.0)
    }

    pub fn set(&mut self, t: SimTime) {
        assert!(t < SimTime::MAX, "SimTime::MAX stands for not yet");
        self.0 = t;
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub const fn from_secs(s: u64) -> SimDuration {
        SimDuration(s * NS_PER_S)
    }

    pub const fn from_millis(ms: u64) -> SimDuration {
        SimDuration(ms * 1_000_000)
    }

    /// Rounds up to the next nanosecond, so a transfer never completes before its bytes arrive.
    /// Non-finite or negative inputs saturate (infinite → u64::MAX, negative → 0).
    pub fn from_secs_f64_ceil(s: f64) -> SimDuration {
        if s.is_nan() || s <= 0.0 {
            return SimDuration(0);
        }
        let ns = s * NS_PER_S as f64;
        if ns >= u64::MAX as f64 {
            return SimDuration(u64::MAX);
        }
        // `ns.ceil() as u64` without `ceil`, which the x86-64 baseline (no SSE4.1) makes a libm
        // call, on every flow completion time. Exact: the cast truncates, and `t as f64` is
        // exact below 2^53 while above it every f64 is already an integer (then `t == ns`).
        let t = ns as u64;
        SimDuration(t + u64::from((t as f64) < ns))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NS_PER_S as f64
    }

    pub fn saturating_mul(self, k: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(k))
    }

    pub fn fmt_ms(self) -> String {
        fmt_ns_as_secs_ms(self.0)
    }
}

/// `1234567890` ns → `"1.235"` (round half up to the millisecond).
pub fn fmt_ns_as_secs_ms(ns: u64) -> String {
    let mut s = String::new();
    write_ns_as_secs_ms(&mut s, ns);
    s
}

/// `fmt_ns_as_secs_ms` appended to `out` (streamed CSV rows reuse one buffer). Digits are
/// written by hand in `u64` arithmetic: every pull and pod row has several times, and the
/// formatting machinery with a `u128` division cost a few percent of a large run's output.
pub fn write_ns_as_secs_ms(out: &mut String, ns: u64) {
    // Rounding overflows u64 only within half a millisecond of u64::MAX nanoseconds.
    let ms = match ns.checked_add(500_000) {
        Some(x) => x / 1_000_000,
        None => ((u128::from(ns) + 500_000) / 1_000_000) as u64,
    };
    crate::units::push_u64(out, ms / 1000);
    let frac = ms % 1000;
    out.push('.');
    for d in [frac / 100, frac / 10 % 10, frac % 10] {
        out.push(char::from(b'0' + d as u8));
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.fmt_ms())
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.fmt_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The hand-written digits are what the formatting machinery gives, at every scale.
        #[test]
        fn secs_ms_digits_match_format(ns in prop_oneof![any::<u64>(), 0u64..10_000_000_000, (u64::MAX - 2_000_000)..=u64::MAX]) {
            let ms = (u128::from(ns) + 500_000) / 1_000_000;
            let mut s = String::from(">");
            write_ns_as_secs_ms(&mut s, ns);
            prop_assert_eq!(s, format!(">{}.{:03}", ms / 1000, ms % 1000));
        }
    }

    #[test]
    fn formats_milliseconds_exactly() {
        assert_eq!(fmt_ns_as_secs_ms(0), "0.000");
        assert_eq!(fmt_ns_as_secs_ms(1_000_000_000), "1.000");
        assert_eq!(fmt_ns_as_secs_ms(1_234_567_890), "1.235");
        assert_eq!(fmt_ns_as_secs_ms(999_499_999), "0.999");
    }

    #[test]
    fn ceil_conversion_never_early() {
        assert_eq!(SimDuration::from_secs_f64_ceil(1.0), SimDuration::from_secs(1));
        assert_eq!(SimDuration::from_secs_f64_ceil(2.0), SimDuration::from_secs(2));
        assert_eq!(SimDuration::from_secs_f64_ceil(1e-10), SimDuration(1));
        assert_eq!(SimDuration::from_secs_f64_ceil(f64::INFINITY), SimDuration(u64::MAX));
        assert_eq!(SimDuration::from_secs_f64_ceil(-1.0), SimDuration(0));
    }

    /// The conversion without `ceil` equals `(s * 1e9).ceil()`, wherever the product lands:
    /// fractions, exact integers, above 2^53 (every f64 an integer), near 2^64.
    fn by_ceil(s: f64) -> SimDuration {
        let ns = (s * NS_PER_S as f64).ceil();
        if s.is_nan() || s <= 0.0 {
            SimDuration(0)
        } else if ns >= u64::MAX as f64 {
            SimDuration(u64::MAX)
        } else {
            SimDuration(ns as u64)
        }
    }

    proptest::proptest! {
        #[test]
        fn ceil_conversion_equals_f64_ceil(bits in proptest::num::u64::ANY, small in 0.0f64..1e4) {
            let any = f64::from_bits(bits);
            proptest::prop_assert_eq!(SimDuration::from_secs_f64_ceil(any), by_ceil(any));
            proptest::prop_assert_eq!(SimDuration::from_secs_f64_ceil(small), by_ceil(small));
        }
    }

    #[test]
    fn ceil_conversion_at_the_edges() {
        for s in [
            1e-9,
            0.5e-9,
            1.5e-9,
            9.007_199_254_740_992e6,
            9.007_199_254_740_993e6,
            1.8e10,
            1.844_674_407_370_955e10,
            1.9e10,
        ] {
            assert_eq!(SimDuration::from_secs_f64_ceil(s), by_ceil(s), "{s}");
            let next = f64::from_bits(s.to_bits() + 1);
            assert_eq!(SimDuration::from_secs_f64_ceil(next), by_ceil(next), "{next}");
        }
    }
}
