//! The pod worker's requeue after a sync error (pkg/kubelet/pod_workers.go): the pod is synced
//! again after `wait.Jitter(backOffPeriod, workerBackOffPeriodJitterFactor)`, that is uniform in
//! [10 s, 15 s). The random draw is the caller's (k8s stays RNG-free).

use crate::time::SimDuration;

/// `backOffPeriod` in pkg/kubelet/pod_workers.go.
pub const BACK_OFF_PERIOD: SimDuration = SimDuration::from_secs(10);
/// `workerBackOffPeriodJitterFactor` in pkg/kubelet/pod_workers.go.
pub const BACK_OFF_JITTER_FACTOR: f64 = 0.5;

/// Mirrors `wait.Jitter(d, factor)` = `d + rand.Float64() * factor * d`, with `u` the uniform
/// draw in [0, 1).
pub fn jitter(d: SimDuration, factor: f64, u: f64) -> SimDuration {
    SimDuration(d.0 + (d.0 as f64 * factor * u) as u64)
}

/// The delay before the next sync of a pod whose sync failed.
pub fn retry_after_error(u: f64) -> SimDuration {
    jitter(BACK_OFF_PERIOD, BACK_OFF_JITTER_FACTOR, u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_is_between_10_and_15_seconds() {
        assert_eq!(retry_after_error(0.0), SimDuration::from_secs(10));
        assert_eq!(retry_after_error(0.5), SimDuration::from_millis(12_500));
        assert!(retry_after_error(0.999_999) < SimDuration::from_secs(15));
    }
}
