//! Stage two of loading: `RawScenario` → `Scenario`. Units are resolved, names interned to ids,
//! distributions compiled, cross-references checked. Every problem is recorded with the key path
//! it concerns and validation carries on with a placeholder, so one run reports them all.
//!
//! # Additions to the contract (also in docs/scenario-extensions.md)
//!
//! | key | default | meaning |
//! | --- | --- | --- |
//! | `node_pool.max_pods` | unlimited | pods a node accepts (kubelet `maxPods`; set 110 for the kubelet default) |
//! | `runtime.pull_overhead` | `"0s"` | runtime bookkeeping per pull attempt (duration or distribution) |
//! | `kubelet.image_maximum_gc_age` | `"0s"` | kubelet `imageMaximumGCAge` (0 = disabled) |
//! | `kubelet.ensure_secret_pulled_images` | `true` | feature gate `KubeletEnsureSecretPulledImages` |
//! | `kubelet.eviction_hard_imagefs_available` | `"15%"` | kubelet `evictionHard["imagefs.available"]` (0 = none) |
//! | `image.pushes` | none | the tag moves to a new digest at `at` (`{ at, layers }`; see `validate_pushes`) |
//! | `simulation.start_time` | `"2025-01-01T00:00:00Z"` | the date of time 0 (RFC 3339), for `events.json` |
//! | `sweep.workload` | see `experiment::key` | the workload of a sweep's key columns (a `[[workload]]` name) |
//! | `[[slo]]` | none | a target for one workload's metric (`slo.rs`, `scenario::slo`) |
//! | `[[prepull]]` | none | images warmed on chosen pools from `at` by a hidden DaemonSet (`prepull.rs`) |
//! | `[[link]]`, `[p2p]` | none | shared links on the way, peer-to-peer distribution (`distribution.rs`) |
//!
//! # Defaults for keys the contract shows without one
//!
//! - `simulation.seed` 0, `until` 24h, `sample_every` 1s.
//! - `runtime.max_concurrent_downloads` 3, `unpack_rate` `"unlimited"`, `container_start` `"0s"`.
//! - `node_pool.arch` `"amd64"`, `bandwidth` `"unlimited"`, `disk` `"100GiB"`, `join.at` and
//!   `join.every` `"0s"`.
//! - `registry.bandwidth` and `per_connection` `"unlimited"`, `latency` `"0s"`, `failure_rate` 0,
//!   `auth` `"anonymous"`, `rate_limit.scope` `"node"`.
//! - `image.layer_count` and `image_set.layer_count` 1.
//! - `workload.start` `"0s"`; batch `at` = `start`; deployment `rollout` 25% / 25%.
//! - container `pick` `"sequential"`; init container `run_for` `"0s"`.
//! - `scheduler.policy` `"spread"`.
//!
//! # Interpretations
//!
//! - `[kubelet]` is validated (by `k8s::config::resolve`) as merged into each pool, the only
//!   place it takes effect: a combination that is invalid on its own but that every pool
//!   overrides is accepted (the contract's own example does this).
//! - Keys held as a fixed duration in `Scenario` (`until`, `sample_every`, `join`, `start`, `at`,
//!   outages, `rate_limit.per`, kubelet durations) accept a number, a string or
//!   `{ dist = "constant", value = ... }`, but not a random distribution.
//! - An image set's `base_layers` entry without an `id` gets the id `image_set/<name>/base/<i>`,
//!   so it is shared by the members of its set ("shared by every image of the set").
//! - An image set has at most 1,000,000 members.
//!
//! # Layout
//!
//! This file holds the entry point (`validate`), `Issue`, and `Ctx` (the problems found so far)
//! with the readers every table uses (integers, counts, names, architectures, unknown values);
//! `quantity` reads units and distributions; the tables are checked in the order of `validate`,
//! one file per group: `simulation` (simulation, scheduler, sweep), `kubelet`
//! (kubelet, runtime), `registries`, `images` (images, image sets, layers, pushes), `pools`,
//! `workloads` (workloads and their containers), `slo` (the `[[slo]]` tables) and `prepull`
//! (the `[[prepull]]` tables, turned into hidden DaemonSets).

mod distribution;
mod images;
mod kubelet;
mod mirrors;
mod pools;
mod prepull;
mod quantity;
mod registries;
mod simulation;
mod slo;
mod workloads;

pub use simulation::unknown_workload;

use super::locate::KeyPath;
use super::raw::RawScenario;
use super::suggest;
use super::{NodePoolSpec, Scenario, Warning};
use toml::Value;

/// One validation problem: where (if known) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub path: Option<KeyPath>,
    pub message: String,
}

/// Checks one sweep variant (a set of overrides) and returns its problems as text.
pub type VariantCheck<'a> = &'a dyn Fn(&[(String, String)]) -> Vec<String>;

struct Ctx {
    issues: Vec<Issue>,
    /// Accepted as written, but Kubernetes would not accept it (`Scenario::notes`).
    notes: Vec<Issue>,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a date-time",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

impl Ctx {
    fn err(&mut self, path: &KeyPath, message: impl Into<String>) {
        self.issues.push(Issue { path: Some(path.clone()), message: message.into() });
    }

    fn note(&mut self, path: &KeyPath, message: impl Into<String>) {
        self.notes.push(Issue { path: Some(path.clone()), message: message.into() });
    }

    /// An integer (counts are never strings, floats or distributions).
    fn int(&mut self, path: &KeyPath, v: &Value) -> Option<i64> {
        match v {
            Value::Integer(i) => Some(*i),
            other => {
                self.err(
                    path,
                    format!(
                        "expected an integer (counts are plain integers, not strings, floats or distributions), \
                         got {} `{other}`",
                        type_name(other)
                    ),
                );
                None
            }
        }
    }

    /// `{ cpu, memory }` as Kubernetes quantities (`k8s::quantity`): CPU a string like
    /// `"500m"` or a number of cores, memory a string like `"64Gi"` or a number of bytes. A
    /// part not given keeps `default`'s.
    fn resources(
        &mut self,
        path: &KeyPath,
        raw: Option<&crate::scenario::raw::RawResources>,
        default: crate::scenario::Resources,
    ) -> crate::scenario::Resources {
        let Some(r) = raw else { return default };
        let mut part = |key: &str, v: Option<&Value>, parse: fn(&str) -> Result<u64, String>, keep: u64| {
            let Some(v) = v else { return keep };
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Integer(i) if *i >= 0 => i.to_string(),
                Value::Float(f) if f.is_finite() && *f >= 0.0 => f.to_string(),
                other => {
                    self.err(
                        &path.key(key),
                        format!("expected a Kubernetes quantity such as \"500m\" or \"64Gi\", got {other}"),
                    );
                    return keep;
                }
            };
            parse(&text).unwrap_or_else(|e| {
                self.err(&path.key(key), e);
                keep
            })
        };
        crate::scenario::Resources {
            cpu_milli: part("cpu", r.cpu.as_ref(), crate::k8s::quantity::parse_cpu_milli, default.cpu_milli),
            memory_bytes: part(
                "memory",
                r.memory.as_ref(),
                crate::k8s::quantity::parse_memory_bytes,
                default.memory_bytes,
            ),
        }
    }

    /// An integer in `[min, u32::MAX]`; `default` when absent or invalid.
    fn count_u32(&mut self, path: &KeyPath, v: Option<&Value>, min: i64, default: u32) -> u32 {
        let Some(v) = v else { return default };
        let Some(i) = self.int(path, v) else { return default };
        if i < min || i > u32::MAX as i64 {
            self.err(path, format!("must be an integer between {min} and {}, got {i}", u32::MAX));
            return default;
        }
        i as u32
    }

    fn required<'a, T>(&mut self, path: &KeyPath, key: &str, v: &'a Option<T>) -> Option<&'a T> {
        if v.is_none() {
            self.err(path, format!("missing required key `{key}`"));
        }
        v.as_ref()
    }

    fn name(&mut self, path: &KeyPath, key: &str, v: &Option<String>) -> String {
        match self.required(path, key, v) {
            Some(s) if s.trim().is_empty() => {
                self.err(&path.key(key), "must not be empty");
                String::new()
            }
            Some(s) => s.clone(),
            None => String::new(),
        }
    }

    /// `node_pool.arch` and `image.platforms` take GOARCH names (`k8s::platform::ARCHES`); a
    /// `uname -m` spelling is answered with its GOARCH name (`normalize_arch`).
    fn arch(&mut self, path: &KeyPath, a: &str) {
        use crate::k8s::platform::{normalize_arch, ARCHES};
        if ARCHES.contains(&a) {
            return;
        }
        let alias = normalize_arch(a);
        let message = match alias {
            None if a.eq_ignore_ascii_case("x86") => format!(
                "unknown architecture {a:?}: architectures have their GOARCH names here, 64-bit x86 is \
                 \"amd64\" and 32-bit x86 is \"386\""
            ),
            Some(goarch) => format!(
                "unknown architecture {a:?}: architectures have their GOARCH names here, {a:?} is {goarch:?} \
                 (expected one of {})",
                ARCHES.join(", ")
            ),
            None => unknown_value(
                format!("unknown architecture {a:?}"),
                a,
                ARCHES,
                &format!("one of {}", ARCHES.join(", ")),
            ),
        };
        self.err(path, message);
    }
}

/// `{head}: expected {expected}`; with an accepted value close to `value`,
/// `{head}: did you mean "x"? (expected {expected})`.
fn unknown_value(head: String, value: &str, accepted: &[&str], expected: &str) -> String {
    match suggest::closest(value, accepted.iter().copied()) {
        Some(c) => format!("{head}: did you mean {c:?}? (expected {expected})"),
        None => format!("{head}: expected {expected}"),
    }
}

/// The ids a list of names picks from `by_name` (`node_pools = [...]`, `registries = [...]`):
/// an empty list and each unknown name are errors, the latter with the closest known name.
/// `what` completes "no {what} {name:?}"; `one` names one of them in the messages.
fn select_by_name<T: Copy>(
    c: &mut Ctx,
    path: &KeyPath,
    names: &[String],
    by_name: &std::collections::BTreeMap<String, T>,
    what: &str,
    one: &str,
) -> Option<Vec<T>> {
    if names.is_empty() {
        c.err(path, format!("must name at least one {one} (omit it for every {one})"));
    }
    let known: Vec<&str> = by_name.keys().map(String::as_str).collect();
    let mut out = Vec::with_capacity(names.len());
    for (j, n) in names.iter().enumerate() {
        match by_name.get(n) {
            Some(id) => out.push(*id),
            None => c.err(
                &path.index(j, None),
                unknown_value(
                    format!("no {what} {n:?}"),
                    n,
                    &known,
                    &format!("one of the {one}s: {}", list(&known)),
                ),
            ),
        }
    }
    Some(out)
}

fn list(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

/// Validates and builds the scenario. `doc` is the (overridden) document, read for key order
/// where serde's maps lose it; `variant_check`, when given, validates each sweep variant.
pub fn validate(
    raw: &RawScenario,
    doc: &toml_edit::DocumentMut,
    variant_check: Option<VariantCheck<'_>>,
) -> Result<Scenario, Vec<Issue>> {
    // The work estimate comes first: it decides whether image sets may be expanded at all.
    let work = super::limits::check(raw);
    let mut ctx = Ctx { issues: work.issues, notes: Vec::new() };
    let c = &mut ctx;

    // Table by table, in this order: messages come out in it.
    let run = simulation::simulation(c, raw);
    let mut base_kubelet = kubelet::base_kubelet(c, raw);
    let runtime = kubelet::runtime(c, raw);
    let regs = registries::registries(c, raw);
    let mut imgs = images::images(c, raw, &regs, work.too_many_images);
    let pools = pools::node_pools(c, raw, &mut imgs, &regs, &mut base_kubelet);
    let mut workloads = workloads::workloads(c, raw, &imgs, &pools, &regs);
    let scheduler = simulation::scheduler(c, raw);
    // The prepull DaemonSets join the workloads after the file's own; what names a workload
    // (SLOs, `[sweep] workload`) is checked against the file's own only.
    let user_workloads = workloads.len();
    let prepulls = prepull::prepulls(c, raw, &imgs, &pools, &regs, &mut workloads);
    let links = distribution::links(c, raw, &pools, &regs);
    let p2p = distribution::p2p(c, raw, &pools, &regs);
    let user = &workloads[..user_workloads];
    // Before the sweep: its grid is checked only once the rest of the file is valid.
    let slos = slo::slos(c, raw, user);
    let sweep = raw.sweep.as_ref().map(|s| simulation::sweep_spec(c, s, doc, user, variant_check));

    if !ctx.issues.is_empty() {
        return Err(ctx.issues);
    }
    let mut node_pools = Vec::new();
    for d in pools.drafts {
        let Some(kubelet) = d.kubelet else {
            return Err(vec![Issue { path: None, message: "kubelet configuration did not resolve".into() }]);
        };
        node_pools.push(NodePoolSpec {
            name: d.name,
            count: d.count,
            arch: d.arch,
            bandwidth_bytes_per_s: d.bandwidth_bytes_per_s,
            disk_bytes: d.disk_bytes,
            preloaded: d.preloaded,
            credentials: d.credentials,
            join_at: d.join_at,
            join_every: d.join_every,
            join_boot_ns: d.join_boot_ns,
            kubelet,
            max_pods: d.max_pods,
            runtime_classes: d.runtime_classes,
            allocatable: d.allocatable,
        });
    }
    Ok(Scenario {
        name: run.name,
        seed: run.seed,
        until: run.until,
        sample_every: run.sample_every,
        start_time: run.start_time,
        kubelet: base_kubelet.input,
        runtime,
        node_pools,
        registries: regs.specs,
        images: imgs.images,
        image_sets: imgs.sets,
        workloads,
        scheduler,
        sweep,
        slos,
        prepulls,
        links,
        p2p,
        notes: ctx
            .notes
            .into_iter()
            .map(|n| Warning { key: n.path.map(|p| p.to_string()), message: n.message })
            .collect(),
    })
}
