//! The kubelet's registry pull throttle, mirroring `throttleImagePulling` in
//! `pkg/kubelet/images/puller.go`/`helpers.go`: `flowcontrol.NewTokenBucketRateLimiter(qps,
//! burst)` over `golang.org/x/time/rate`, consulted with the non-blocking `TryAccept` once per
//! kubelet pull attempt. An empty bucket fails the pull at once with "pull QPS exceeded".
//!
//! `rate.Limiter` keeps float tokens; here tokens are kept in nano-tokens (1e-9 token) so that a
//! refill of `qps` tokens per second over an integer nanosecond interval is exact integer
//! arithmetic and runs stay byte-reproducible.

use crate::time::{SimTime, NS_PER_S};

/// The error text of a throttled pull (`throttledImageService.PullImage`).
pub const PULL_QPS_EXCEEDED: &str = "pull QPS exceeded";

/// Mirrors `rate.Limiter` as used through `TryAccept` (`AllowN(now, 1)`).
#[derive(Clone, Debug)]
pub struct TokenBucket {
    qps: u64,
    burst: u64,
    /// Tokens scaled by 1e9 (nano-tokens), so refill is exact integer arithmetic.
    nano_tokens: u128,
    last: SimTime,
}

impl TokenBucket {
    /// A bucket that starts full with `burst` tokens (rate.Limiter's first `advance` from a zero
    /// `last` fills it), refills at `qps` tokens/s and holds at most `burst`. `qps == 0` means
    /// the kubelet installs no throttle at all; `burst == 0` (with qps > 0) admits nothing.
    pub fn new(qps: u32, burst: u32) -> Self {
        TokenBucket {
            qps: qps.into(),
            burst: burst.into(),
            nano_tokens: u128::from(burst) * u128::from(NS_PER_S),
            last: SimTime::ZERO,
        }
    }

    /// Whether any throttling applies (`qps > 0`).
    pub fn is_limited(&self) -> bool {
        self.qps != 0
    }

    /// Mirrors `TryAccept`: refill for the time since the last call (capped at `burst`), then
    /// take one token if a whole token is available. Never blocks.
    pub fn try_accept(&mut self, now: SimTime) -> bool {
        if self.qps == 0 {
            return true;
        }
        let cap = u128::from(self.burst) * u128::from(NS_PER_S);
        // rate.Limiter ignores time going backwards (`if t.Before(last) { last = t }`).
        let dt_ns = u128::from(now.since(self.last).0);
        self.nano_tokens = (self.nano_tokens + dt_ns * u128::from(self.qps)).min(cap);
        if now > self.last {
            self.last = now;
        }
        if self.nano_tokens >= u128::from(NS_PER_S) {
            self.nano_tokens -= u128::from(NS_PER_S);
            true
        } else {
            false
        }
    }

    /// Whole tokens currently available (after no refill); for reports and tests.
    pub fn tokens_available(&self) -> u64 {
        (self.nano_tokens / u128::from(NS_PER_S)) as u64
    }
}
