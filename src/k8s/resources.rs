//! CPU and memory requests as the scheduler counts them: a pod's requests
//! (`k8s.io/component-helpers/resource` `PodRequests`: the app containers' sum, or the largest
//! init container's where that is more, per resource; no pod overhead) and NodeResourcesFit's
//! filter (`pkg/scheduler/framework/plugins/noderesources/fit.go` `fitsRequest`: what the node's
//! pods request plus the pod's stays within allocatable, per resource).

/// CPU in millicores and memory in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resources {
    pub cpu_milli: u64,
    pub memory_bytes: u64,
}

impl Resources {
    /// Requests of nothing.
    pub const NONE: Resources = Resources { cpu_milli: 0, memory_bytes: 0 };
    /// Allocatable without a limit.
    pub const UNLIMITED: Resources = Resources { cpu_milli: u64::MAX, memory_bytes: u64::MAX };

    pub fn plus(self, o: Resources) -> Resources {
        Resources {
            cpu_milli: self.cpu_milli.saturating_add(o.cpu_milli),
            memory_bytes: self.memory_bytes.saturating_add(o.memory_bytes),
        }
    }

    pub fn minus(self, o: Resources) -> Resources {
        Resources {
            cpu_milli: self.cpu_milli - o.cpu_milli,
            memory_bytes: self.memory_bytes - o.memory_bytes,
        }
    }
}

/// `PodRequests`: the sum over app containers, or the largest init container's if larger.
pub fn pod_requests(app: &[Resources], init: &[Resources]) -> Resources {
    let sum = app.iter().fold(Resources::NONE, |a, r| a.plus(*r));
    let max_init = |f: fn(&Resources) -> u64| init.iter().map(f).max().unwrap_or(0);
    Resources {
        cpu_milli: sum.cpu_milli.max(max_init(|r| r.cpu_milli)),
        memory_bytes: sum.memory_bytes.max(max_init(|r| r.memory_bytes)),
    }
}

/// `fitsRequest` for CPU and memory: `requested` (the node's pods) plus `pod` within
/// `allocatable`.
pub fn fits_request(requested: Resources, pod: Resources, allocatable: Resources) -> bool {
    let total = requested.plus(pod);
    total.cpu_milli <= allocatable.cpu_milli && total.memory_bytes <= allocatable.memory_bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(cpu_milli: u64, memory_bytes: u64) -> Resources {
        Resources { cpu_milli, memory_bytes }
    }

    #[test]
    fn pod_requests_and_fit_by_hand() {
        // App 250m + 500m, 1 + 2 bytes; an init container of 1000m and 1 byte: CPU from the
        // init container, memory from the sum.
        assert_eq!(pod_requests(&[r(250, 1), r(500, 2)], &[r(1000, 1)]), r(1000, 3));
        assert_eq!(pod_requests(&[], &[]), Resources::NONE);
        assert!(fits_request(r(3000, 0), r(1000, 0), r(4000, 10)));
        assert!(!fits_request(r(3000, 0), r(1001, 0), r(4000, 10)));
        assert!(!fits_request(r(0, 8), r(0, 3), r(4000, 10)));
        assert!(fits_request(r(u64::MAX - 1, 0), r(5, 0), Resources::UNLIMITED));
    }
}
