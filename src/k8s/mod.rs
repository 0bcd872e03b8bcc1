//! Pure Kubernetes reference logic: what the kubelet (and kube-scheduler) decide, mirroring the
//! upstream functions named in each file. No engine, no RNG, no IO, no `World`: every rule here is
//! tested with the upstream vectors from `tests/data/vectors/` and reused by the simulator and by
//! `pullsim explain`. A rule that exists upstream is written here once and nowhere else.

pub mod backoff;
pub mod config;
pub mod credentials;
pub mod daemonset;
pub mod deployment;
pub mod events;
pub mod eviction;
pub mod gc;
pub mod image_manager;
pub mod image_ref;
pub mod platform;
pub mod pod_worker;
pub mod pull_policy;
pub mod quantity;
pub mod replicaset;
pub mod resources;
pub mod scheduling;
pub mod throttle;
pub mod validation;
pub mod verification;

#[cfg(test)]
mod tests;
