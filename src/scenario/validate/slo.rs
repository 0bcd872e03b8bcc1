//! `[[slo]]`: a workload, one of its metrics, a bound written in the metric's unit (`max` or
//! `min`, exactly one) and the share of seeds that must meet it.
//!
//! A bound on a time must be a duration with its unit and a bound on `bytes_pulled` a size
//! with its unit: in a target handed to a capacity meeting, `max = 60` could be read as
//! seconds or minutes, so the unit is required where the rest of the format would take a bare
//! number in the base unit. Counts are plain integers.

use super::{type_name, unknown_value, Ctx};
use crate::metrics::workloads::{field_unit, FieldUnit, ROLLOUT_FIELD, WORKLOAD_FIELDS};
use crate::scenario::locate::KeyPath;
use crate::scenario::raw::{RawScenario, RawSlo};
use crate::scenario::{SloOp, SloSpec, WorkloadKind, WorkloadSpec};
use crate::units;
use toml::Value;

/// The metrics an SLO may name, in `runs.csv` column order.
fn metrics() -> Vec<&'static str> {
    WORKLOAD_FIELDS.iter().copied().chain([ROLLOUT_FIELD]).collect()
}

/// Reads every `[[slo]]` table; the workloads were read before.
pub(super) fn slos(c: &mut Ctx, raw: &RawScenario, workloads: &[WorkloadSpec]) -> Vec<SloSpec> {
    let base = KeyPath::root().key("slo");
    raw.slo.iter().enumerate().filter_map(|(i, s)| slo(c, &base.index(i, None), s, workloads)).collect()
}

fn slo(c: &mut Ctx, p: &KeyPath, s: &RawSlo, workloads: &[WorkloadSpec]) -> Option<SloSpec> {
    let names: Vec<&str> = workloads.iter().map(|w| w.name.as_str()).collect();
    let workload = match c.required(p, "workload", &s.workload) {
        Some(w) if names.contains(&w.as_str()) => Some(w.clone()),
        Some(w) => {
            c.err(&p.key("workload"), super::unknown_workload(w, &names));
            None
        }
        None => None,
    };
    let all = metrics();
    let metric = match c.required(p, "metric", &s.metric) {
        Some(m) if all.contains(&m.as_str()) => Some(m.clone()),
        Some(m) => {
            let expected = format!("a per-workload metric, one of {}", all.join(", "));
            c.err(&p.key("metric"), unknown_value(format!("unknown metric {m:?}"), m, &all, &expected));
            None
        }
        None => None,
    };
    if let (Some(w), Some(ROLLOUT_FIELD)) = (&workload, metric.as_deref()) {
        let has_update = workloads
            .iter()
            .any(|x| x.name == *w && matches!(x.kind, WorkloadKind::Deployment { update: Some(_), .. }));
        if !has_update {
            c.err(
                &p.key("metric"),
                format!(
                    "`rollout_s` is the duration of a rolling update, and workload {w:?} has no `update`: \
                     the SLO could never be met"
                ),
            );
        }
    }
    let (op, key, value) = match (&s.max, &s.min) {
        (Some(v), None) => (SloOp::Max, "max", v),
        (None, Some(v)) => (SloOp::Min, "min", v),
        (Some(_), Some(_)) => {
            c.err(&p.key("min"), "give either `max` or `min`, not both (two bounds are two [[slo]] tables)");
            return None;
        }
        (None, None) => {
            c.err(p, "missing the bound: `max` (at most) or `min` (at least), e.g. max = \"60s\"");
            return None;
        }
    };
    let limit = metric.as_deref().and_then(|m| bound(c, &p.key(key), m, value));
    let seeds_passing_pct = match &s.seeds_passing {
        None => 100,
        Some(v) => share(c, &p.key("seeds_passing"), v)?,
    };
    Some(SloSpec { workload: workload?, metric: metric?, op, limit: limit?, seeds_passing_pct })
}

/// A bound in the metric's base unit (nanoseconds, bytes, count).
fn bound(c: &mut Ctx, path: &KeyPath, metric: &str, v: &Value) -> Option<u64> {
    let unit = field_unit(metric)?;
    let r = match (unit, v) {
        (FieldUnit::Seconds, Value::String(s)) => units::parse_duration_ns(s),
        (FieldUnit::Seconds, Value::Integer(_) | Value::Float(_)) => Err(format!(
            "write the unit: a bare number could be seconds or minutes; e.g. \"{v}s\" or \"{v}m\""
        )),
        (FieldUnit::Bytes, Value::String(s)) => units::parse_size_bytes(s).map(|b| b.round() as u64),
        (FieldUnit::Bytes, Value::Integer(_) | Value::Float(_)) => {
            Err(format!("write the unit: e.g. \"{v}B\", \"{v}MB\" or \"{v}GB\""))
        }
        (FieldUnit::Count, Value::Integer(i)) if *i >= 0 => Ok(*i as u64),
        (FieldUnit::Count, Value::Integer(i)) => Err(format!("must not be negative, got {i}")),
        (_, other) => Err(format!("got {} `{other}`", type_name(other))),
    };
    let what = match unit {
        FieldUnit::Seconds => "is a time: the bound is a duration such as \"60s\" or \"2m\"",
        FieldUnit::Bytes => "is a size: the bound is a size such as \"10GB\"",
        FieldUnit::Count => "is a count: the bound is an integer such as 0 or 20",
    };
    r.map_err(|e| c.err(path, format!("`{metric}` {what}; {e}"))).ok()
}

/// `seeds_passing`: a percentage string as the API server accepts one (`"95%"`), more than 0%
/// and at most 100%.
fn share(c: &mut Ctx, path: &KeyPath, v: &Value) -> Option<u32> {
    let expected = "expected the share of seeds that must meet the bound as a percentage such as \"95%\" \
                    (digits then %, more than 0% and at most 100%)";
    let pct = match v {
        Value::String(s) => crate::k8s::validation::valid_percent(s),
        _ => None,
    };
    match pct {
        Some(p) if (1..=100).contains(&p) => return Some(p),
        Some(0) => c.err(path, format!("{v} asks no seed to meet the bound; {expected}")),
        Some(_) => c.err(path, format!("{v} is more than every seed; {expected}")),
        None => c.err(path, format!("{expected}, got {} `{v}`", type_name(v))),
    }
    None
}
