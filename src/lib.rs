//! pullsim: a deterministic discrete-event simulator of container image pulling across a
//! Kubernetes cluster. See ARCHITECTURE.md for the code map; layers (bottom first):
//! `time`/`calendar`/`ids`/`units` → `k8s`, `engine` → `scenario` → `import`, `metrics` → `model` →
//! `sim` → `report`, `experiment`, `chart` → `cli`.

pub mod calendar;
pub mod calibrate;
pub mod chart;
pub mod cli;
pub mod engine;
pub mod experiment;
pub mod explain;
pub mod ids;
pub mod import;
pub mod k8s;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod time;
pub mod units;
