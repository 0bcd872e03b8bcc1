//! `[simulation]`, `[scheduler]` and `[sweep]`: the settings of the run as a whole.

use super::{list, unknown_value, Ctx, Issue, VariantCheck};
use crate::calendar::{UnixTime, MAX_UNIX_SECS};
use crate::scenario::locate::KeyPath;
use crate::scenario::raw::{RawScenario, RawSimulation, RawSweep};
use crate::scenario::{SchedulerPolicy, SweepSpec};
use crate::time::{SimDuration, SimTime};
use std::collections::{BTreeMap, BTreeSet};
use toml::Value;

/// Grids larger than this are not checked combination by combination at load time (the sweep
/// still validates, and skips, every variant it runs).
const MAX_CHECKED_VARIANTS: usize = 512;

/// `[simulation]`, read.
pub(super) struct Run {
    pub(super) name: String,
    pub(super) seed: u64,
    pub(super) until: SimDuration,
    pub(super) sample_every: SimDuration,
    pub(super) start_time: UnixTime,
}

/// Reads `[simulation]`.
pub(super) fn simulation(c: &mut Ctx, raw: &RawScenario) -> Run {
    let root = KeyPath::root();
    let sim_path = root.key("simulation");
    let default_sim = RawSimulation::default();
    let sim = match &raw.simulation {
        Some(s) => s,
        None => {
            c.issues
                .push(Issue { path: None, message: "missing [simulation] table (it needs `name`)".into() });
            &default_sim
        }
    };
    let name = if raw.simulation.is_some() { c.name(&sim_path, "name", &sim.name) } else { String::new() };
    if name.contains(['/', '\\']) || name == "." || name == ".." {
        c.err(&sim_path.key("name"), "names the results folder: must not contain `/` or `\\` or be `.`/`..`");
    }
    let seed = match &sim.seed {
        Some(v) => match c.int(&sim_path.key("seed"), v) {
            Some(i) if i >= 0 => i as u64,
            Some(i) => {
                c.err(&sim_path.key("seed"), format!("must be a non-negative integer, got {i}"));
                0
            }
            None => 0,
        },
        None => 0,
    };
    let until = c.duration(&sim_path.key("until"), sim.until.as_ref(), SimDuration::from_secs(86_400));
    if until == SimDuration::ZERO {
        c.err(&sim_path.key("until"), "must be greater than 0");
    }
    let sample_every =
        c.duration(&sim_path.key("sample_every"), sim.sample_every.as_ref(), SimDuration::from_secs(1));
    if sample_every == SimDuration::ZERO {
        c.err(&sim_path.key("sample_every"), "must be greater than 0");
    }
    let start_time = start_time(c, &sim_path.key("start_time"), sim.start_time.as_ref(), until);
    Run { name, seed, until, sample_every, start_time }
}

/// Reads `start_time`: an RFC 3339 instant, as a string or a TOML offset date-time (both
/// spell the same text), no earlier than 1970 and such that the run's last date still has a
/// four-digit year.
fn start_time(c: &mut Ctx, path: &KeyPath, v: Option<&Value>, until: SimDuration) -> UnixTime {
    let text = match v {
        None => return UnixTime::DEFAULT_START,
        Some(Value::String(s)) => s.clone(),
        Some(Value::Datetime(d)) => d.to_string(),
        Some(other) => {
            c.err(
                path,
                format!(
                    "expected an RFC 3339 instant such as \"2025-01-01T00:00:00Z\", got {} `{other}`",
                    super::type_name(other)
                ),
            );
            return UnixTime::DEFAULT_START;
        }
    };
    match UnixTime::parse_rfc3339(&text) {
        Ok(t) if t.plus(SimTime::ZERO.plus(until)).secs > MAX_UNIX_SECS => {
            c.err(
                path,
                format!("{text:?} plus `until` ends after 9999-12-31T23:59:59Z, which dates cannot show"),
            );
            UnixTime::DEFAULT_START
        }
        Ok(t) => t,
        Err(e) => {
            c.err(path, format!("{text:?} is not an RFC 3339 instant such as \"2025-01-01T00:00:00Z\": {e}"));
            UnixTime::DEFAULT_START
        }
    }
}

/// Reads `[scheduler]`.
pub(super) fn scheduler(c: &mut Ctx, raw: &RawScenario) -> SchedulerPolicy {
    let root = KeyPath::root();
    match raw.scheduler.as_ref().and_then(|s| s.policy.as_deref()) {
        None | Some("spread") => SchedulerPolicy::Spread,
        Some("binpack") => SchedulerPolicy::Binpack,
        Some("image_locality") => SchedulerPolicy::ImageLocality,
        Some(other) => {
            c.err(
                &root.key("scheduler").key("policy"),
                unknown_value(
                    format!("unknown scheduler policy {other:?}"),
                    other,
                    &["spread", "binpack", "image_locality"],
                    "spread, binpack or image_locality",
                ),
            );
            SchedulerPolicy::Spread
        }
    }
}

/// Keys of `sweep.<table>` in document order (serde's map sorts them).
fn doc_keys(doc: &toml_edit::DocumentMut, table: &str) -> Vec<String> {
    doc.get("sweep")
        .and_then(|s| s.get(table))
        .and_then(|t| t.as_table_like())
        .map(|t| t.iter().map(|(k, _)| k.to_string()).collect())
        .unwrap_or_default()
}

/// What to say about a workload name that no `[[workload]]` has: the closest name, if one is
/// close, and the names there are (`[sweep] workload`, `--workload`).
pub fn unknown_workload(name: &str, workloads: &[&str]) -> String {
    let expected = if workloads.is_empty() {
        "a [[workload]] name, and the scenario has none".to_string()
    } else {
        format!("one of {}", workloads.join(", "))
    };
    unknown_value(format!("no [[workload]] named {name:?}"), name, workloads, &expected)
}

pub(super) fn sweep_spec(
    c: &mut Ctx,
    s: &RawSweep,
    doc: &toml_edit::DocumentMut,
    workloads: &[crate::scenario::WorkloadSpec],
    variant_check: Option<VariantCheck<'_>>,
) -> SweepSpec {
    let p = KeyPath::root().key("sweep");
    let workload = s.workload.clone();
    if let Some(name) = &workload {
        let names: Vec<&str> = workloads.iter().map(|w| w.name.as_str()).collect();
        if !names.contains(&name.as_str()) {
            c.err(&p.key("workload"), unknown_workload(name, &names));
        }
    }
    let seeds = s.seeds.as_ref().and_then(|v| match c.int(&p.key("seeds"), v) {
        Some(n) if n >= 1 && n <= u32::MAX as i64 => Some(n as u32),
        Some(n) => {
            c.err(&p.key("seeds"), format!("must be at least 1, got {n}"));
            None
        }
        None => None,
    });
    let mut grid = Vec::new();
    if let Some(g) = &s.grid {
        for key in doc_keys(doc, "grid") {
            let Some(v) = g.get(&key) else { continue };
            let kp = p.key("grid").key(&key);
            let values: Vec<String> = match v {
                Value::Array(a) if !a.is_empty() => a.iter().map(|x| x.to_string()).collect(),
                Value::Array(_) => {
                    c.err(&kp, "a grid axis needs at least one value");
                    continue;
                }
                _ => {
                    c.err(&kp, format!("expected an array of values, e.g. {key:?} = [1, 2]"));
                    continue;
                }
            };
            grid.push((key, values));
        }
    }
    let mut baseline = Vec::new();
    if let Some(b) = &s.baseline {
        for key in doc_keys(doc, "baseline") {
            let Some(v) = b.get(&key) else { continue };
            let kp = p.key("baseline").key(&key);
            let value = v.to_string();
            match grid.iter().find(|(k, _)| *k == key) {
                None => c.err(
                    &kp,
                    format!(
                        "baseline key {key:?} is not a grid axis (axes: {})",
                        list(grid.iter().map(|(k, _)| k))
                    ),
                ),
                Some((_, values)) if !values.contains(&value) => c.err(
                    &kp,
                    format!("baseline value {value} is not one of the axis values [{}]", values.join(", ")),
                ),
                Some(_) => {}
            }
            baseline.push((key, value));
        }
    }
    // A grid value is an error only when every combination that contains it is invalid: a
    // grid may legitimately cross settings that are invalid together (the contract's own
    // example crosses serialize_image_pulls=true with max_parallel_image_pulls=4); the sweep
    // skips such variants and says so. While the file itself has errors every variant has them
    // too: the variants are checked once it has none, so that the file's errors are not
    // repeated once per grid value.
    let n_variants = grid.iter().map(|(_, v)| v.len()).product::<usize>();
    let file_valid = c.issues.is_empty();
    if let (Some(check), true) =
        (variant_check, file_valid && !grid.is_empty() && n_variants <= MAX_CHECKED_VARIANTS)
    {
        let mut first_problem: BTreeMap<(usize, usize), String> = BTreeMap::new();
        let mut ok: BTreeSet<(usize, usize)> = BTreeSet::new();
        for v in 0..n_variants {
            let mut rest = v;
            let mut combo = Vec::new();
            let mut picks = Vec::new();
            for (axis, (key, values)) in grid.iter().enumerate().rev() {
                let i = rest % values.len();
                rest /= values.len();
                combo.push((key.clone(), values[i].clone()));
                picks.push((axis, i));
            }
            combo.reverse();
            let problems = check(&combo);
            for pick in picks {
                if problems.is_empty() {
                    ok.insert(pick);
                } else {
                    let text = combo.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
                    first_problem.entry(pick).or_insert_with(|| format!("variant {text}: {}", problems[0]));
                }
            }
        }
        for (axis, (key, values)) in grid.iter().enumerate() {
            for (i, _) in values.iter().enumerate() {
                if !ok.contains(&(axis, i)) {
                    if let Some(m) = first_problem.get(&(axis, i)) {
                        c.err(&p.key("grid").key(key), format!("no valid variant uses this value; {m}"));
                    }
                }
            }
        }
    }
    SweepSpec { seeds, grid, baseline, workload }
}
