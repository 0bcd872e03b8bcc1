//! Generic discrete-event machinery: the event queue, seeded random streams and compiled
//! distributions. Knows nothing about Kubernetes or containers.

pub mod chacha;
pub mod dist;
pub mod idmap;
pub mod prefetch;
pub mod queue;
pub mod rng;
