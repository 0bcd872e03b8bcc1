//! Exact peaks of piecewise-constant quantities: the highest value a quantity held for a
//! positive length of time, at event resolution, whatever `sample_every` is.
//!
//! Several changes can happen at one instant (one event frees a flow and starts another; two
//! events share a time). Only the value the quantity settles on at that instant is held for any
//! time, so a value set and replaced at the same instant is not a peak: the maximum is taken
//! lazily, when time moves on past a value. This is what samples would converge to as the
//! sampling interval shrinks (a sample shows the state after every event at or before its time).

use crate::time::SimTime;

/// The running maximum of a quantity that changes at events.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LazyMax<T> {
    value: T,
    since: SimTime,
    peak: T,
}

impl<T: Copy + PartialOrd> LazyMax<T> {
    /// A quantity that is `initial` from time zero.
    pub fn new(initial: T) -> Self {
        LazyMax { value: initial, since: SimTime::ZERO, peak: initial }
    }

    /// The quantity becomes `v` at `now` (times never decrease).
    #[inline]
    pub fn set(&mut self, now: SimTime, v: T) {
        if now > self.since {
            if self.value > self.peak {
                self.peak = self.value;
            }
            self.since = now;
        }
        self.value = v;
    }

    /// The peak over the whole run, counting the value held at its end.
    pub fn peak(&self) -> T {
        if self.value > self.peak {
            self.value
        } else {
            self.peak
        }
    }
}

/// The peaks `runs.csv` reports for a run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Peaks {
    /// Most pull attempts in flight (holding a puller slot) at once.
    pub pulls_in_flight: u64,
    /// Highest total registry egress, bytes per second, rounded to whole bytes per second as in
    /// `timeseries.csv`.
    pub registry_egress_bytes_per_s: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SimTime {
        SimTime::ZERO.plus(crate::time::SimDuration::from_secs(s))
    }

    #[test]
    fn a_value_replaced_at_the_same_instant_is_not_a_peak() {
        let mut m = LazyMax::new(0u64);
        m.set(t(1), 5);
        m.set(t(1), 2); // 5 held for no time
        m.set(t(2), 3);
        m.set(t(3), 1);
        assert_eq!(m.peak(), 3);
        // The value held at the end counts.
        m.set(t(4), 9);
        assert_eq!(m.peak(), 9);
    }

    #[test]
    fn matches_a_sampled_maximum_with_fine_samples() {
        // Steps at 1, 2, 2, 5 s: values 4, 7, 1 (7 for no time), 2.
        let steps = [(1, 4.0), (2, 7.0), (2, 1.0), (5, 2.0)];
        let mut m = LazyMax::new(0.0);
        for (s, v) in steps {
            m.set(t(s), v);
        }
        // A sample at time k shows the value after every change at or before k.
        let sampled = (0..10)
            .map(|k| steps.iter().rfind(|(s, _)| *s <= k).map_or(0.0, |(_, v)| *v))
            .fold(0.0, f64::max);
        assert_eq!(m.peak(), sampled);
        assert_eq!(m.peak(), 4.0);
    }
}
