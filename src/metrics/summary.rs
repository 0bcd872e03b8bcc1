//! The run summary (`summary.json`). Percentiles use the nearest-rank method on the sorted
//! startup times of pods that ran: p = the value at rank ceil(p/100 × n) (1-based), which is
//! always an observed value and needs no interpolation.

use super::PodRow;
use crate::time::SimDuration;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub seed: u64,
    pub pods: u64,
    /// Pods Running at the end.
    pub pods_running: u64,
    /// Pods neither Running nor Terminated at the end (waiting on an error, or Pending).
    pub pods_failed: u64,
    pub startup_p50_s: Option<f64>,
    pub startup_p90_s: Option<f64>,
    pub startup_p99_s: Option<f64>,
    pub startup_max_s: Option<f64>,
    pub startup_mean_s: Option<f64>,
    /// Time from the start until the last pod that ran was Running.
    pub makespan_s: f64,
    pub bytes_pulled: u64,
    /// Pull attempts (rows of pulls.csv).
    pub pulls: u64,
    pub cache_hits: u64,
    pub pull_failures: u64,
    pub backoffs: u64,
    pub events: u64,
    pub sim_end_s: f64,
}

/// Counters gathered by the model during the run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub bytes_pulled: u64,
    pub pulls: u64,
    pub pull_failures: u64,
}

/// Nearest-rank percentile of sorted values; `p` in (0, 100].
pub fn nearest_rank(sorted: &[SimDuration], p: u32) -> Option<SimDuration> {
    if sorted.is_empty() {
        return None;
    }
    Some(sorted[rank_index(sorted.len(), p)])
}

/// The index in a sorted slice of `n > 0` values of the nearest-rank `p`-th percentile:
/// rank `ceil(p/100 × n)`, at least 1.
fn rank_index(n: usize, p: u32) -> usize {
    ((u64::from(p) * n as u64).div_ceil(100).max(1) - 1) as usize
}

/// Seconds rounded to the millisecond, as every time in the outputs.
pub fn secs_ms(d: SimDuration) -> f64 {
    ((d.0 as u128 + 500_000) / 1_000_000) as f64 / 1000.0
}

/// `nearest_rank(sorted, p)` for each of `ps` (ascending), without sorting: each percentile is
/// a selection in the part of `values` above the previous one (a large run has 10^5 startups,
/// and the full sort was 2 % of its instructions). `values` is left partly ordered.
pub fn nearest_ranks<const N: usize>(values: &mut [SimDuration], ps: [u32; N]) -> [Option<SimDuration>; N] {
    if values.is_empty() {
        return [None; N];
    }
    let n = values.len();
    kth_smallest(values, ps.map(|p| rank_index(n, p) + 1))
}

/// The `k`-th smallest of `values` (1-based) for each `k` of `ranks` (ascending), by selection
/// as `nearest_ranks`; `None` for a rank past the end (or 0). `values` is left partly ordered.
pub fn kth_smallest<const N: usize>(
    values: &mut [SimDuration],
    ranks: [usize; N],
) -> [Option<SimDuration>; N] {
    let mut out = [None; N];
    let mut lo = 0usize;
    for (o, k) in out.iter_mut().zip(ranks) {
        if k == 0 || k > values.len() {
            continue;
        }
        let k = k - 1;
        assert!(k >= lo, "ranks in ascending order");
        // Everything from `lo` on is at least the previous rank's value: the k-th smallest of
        // all is the (k - lo)-th smallest there.
        let (_, x, _) = values[lo..].select_nth_unstable(k - lo);
        *o = Some(*x);
        lo = k;
    }
    out
}

pub fn summarize(
    seed: u64,
    pods: &[PodRow],
    totals: &Totals,
    events: u64,
    sim_end: crate::time::SimTime,
) -> Summary {
    // One pass over the rows (a large run has 10^5 of them, each a few cache lines).
    let mut startups: Vec<SimDuration> = Vec::with_capacity(pods.len());
    let (mut running, mut terminated, mut cache_hits, mut backoffs) = (0u64, 0u64, 0u64, 0u64);
    let mut last_start: Option<crate::time::SimTime> = None;
    for p in pods {
        startups.extend(p.startup());
        // Status at the end: a pod deleted by a rolling update ran, but is not running now,
        // and did not fail either.
        running += u64::from(p.status == "Running");
        terminated += u64::from(p.status == "Terminated");
        cache_hits += u64::from(p.cache_hits);
        backoffs += u64::from(p.backoffs);
        last_start = last_start.max(p.started_s);
    }
    let [p50, p90, p99, max] = nearest_ranks(&mut startups, [50, 90, 99, 100]);
    let mean = if startups.is_empty() {
        None
    } else {
        let total: u128 = startups.iter().map(|d| u128::from(d.0)).sum();
        Some(secs_ms(SimDuration((total / startups.len() as u128) as u64)))
    };
    let makespan = last_start.map(|t| t.since(crate::time::SimTime::ZERO));
    Summary {
        seed,
        pods: pods.len() as u64,
        pods_running: running,
        pods_failed: pods.len() as u64 - running - terminated,
        startup_p50_s: p50.map(secs_ms),
        startup_p90_s: p90.map(secs_ms),
        startup_p99_s: p99.map(secs_ms),
        startup_max_s: max.map(secs_ms),
        startup_mean_s: mean,
        makespan_s: makespan.map(secs_ms).unwrap_or(0.0),
        bytes_pulled: totals.bytes_pulled,
        pulls: totals.pulls,
        cache_hits,
        pull_failures: totals.pull_failures,
        backoffs,
        events,
        sim_end_s: secs_ms(sim_end.since(crate::time::SimTime::ZERO)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: u64) -> SimDuration {
        SimDuration::from_secs(s)
    }

    #[test]
    fn nearest_rank_by_hand() {
        let v: Vec<SimDuration> = (1..=10).map(d).collect();
        assert_eq!(nearest_rank(&v, 50), Some(d(5)));
        assert_eq!(nearest_rank(&v, 90), Some(d(9)));
        assert_eq!(nearest_rank(&v, 99), Some(d(10)));
        assert_eq!(nearest_rank(&v[..1], 50), Some(d(1)));
        assert_eq!(nearest_rank(&[], 50), None);
        let v: Vec<SimDuration> = (1..=200).map(d).collect();
        assert_eq!(nearest_rank(&v, 99), Some(d(198)));
    }

    proptest::proptest! {
        /// Selection gives what the sorted slice gives, duplicates and all.
        #[test]
        fn nearest_ranks_match_the_sorted_slice(mut v in proptest::collection::vec(0u64..50, 0..300)) {
            let mut d: Vec<SimDuration> = v.iter().map(|x| SimDuration(*x)).collect();
            v.sort_unstable();
            let sorted: Vec<SimDuration> = v.iter().map(|x| SimDuration(*x)).collect();
            let got = nearest_ranks(&mut d, [1, 50, 90, 99, 100]);
            let want = [1, 50, 90, 99, 100].map(|p| nearest_rank(&sorted, p));
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn millisecond_rounding() {
        assert_eq!(secs_ms(SimDuration(1_234_500_000)), 1.235);
        assert_eq!(secs_ms(SimDuration(999_999)), 0.001);
    }
}
