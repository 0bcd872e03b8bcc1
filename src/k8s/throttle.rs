//! STUB: kubelet registryPullQPS / registryBurst token bucket (`golang.org/x/time/rate`, TryAccept).
use crate::time::{SimTime, NS_PER_S};

#[derive(Clone, Debug)]
pub struct TokenBucket {
    qps: u64,
    burst: u64,
    /// Tokens scaled by 1e9 (nano-tokens), so refill is exact integer arithmetic.
    nano_tokens: u128,
    last: SimTime,
}

impl TokenBucket {
    pub fn new(qps: u32, burst: u32) -> Self {
        TokenBucket {
            qps: qps.into(),
            burst: burst.into(),
            nano_tokens: u128::from(burst) * u128::from(NS_PER_S),
            last: SimTime::ZERO,
        }
    }
    pub fn try_accept(&mut self, now: SimTime) -> bool {
        if self.qps == 0 {
            return true;
        }
        let cap = u128::from(self.burst) * u128::from(NS_PER_S);
        let dt = u128::from(now.since(self.last).0);
        self.nano_tokens = (self.nano_tokens + dt * u128::from(self.qps)).min(cap);
        self.last = now;
        if self.nano_tokens >= u128::from(NS_PER_S) {
            self.nano_tokens -= u128::from(NS_PER_S);
            true
        } else {
            false
        }
    }
}
