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
//! | `image.pushes` | none | the tag moves to a new digest at `at` (`{ at, layers }`; see `validate_pushes`) |
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

use super::locate::KeyPath;
use super::raw::*;
use super::{
    ContainerImage, ContainerSpec, ImageLayers, ImageSetSpec, ImageSpec, IntOrPercent, LayerSpec,
    NodeCredential, NodePoolSpec, Pick, PodTemplate, PushSpec, RateLimit, RateLimitScope, RegistrySpec,
    Rollout, RuntimeSpec, Scenario, SchedulerPolicy, SweepSpec, Update, WorkloadKind, WorkloadSpec,
};
use crate::engine::dist::Dist;
use crate::ids::{ImageId, ImageSetId, PoolId, RegistryId};
use crate::k8s::config::{resolve, KubeletConfig, KubeletConfigInput};
use crate::k8s::image_ref::{parse_docker_ref, parse_image_name};
use crate::k8s::pull_policy::{default_pull_policy, PullPolicy};
use crate::k8s::verification::VerificationPolicy;
use crate::time::SimDuration;
use crate::units;
use std::collections::{BTreeMap, BTreeSet};
use toml::Value;

/// One validation problem: where (if known) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub path: Option<KeyPath>,
    pub message: String,
}

/// Checks one sweep variant (a set of overrides) and returns its problems as text.
pub type VariantCheck<'a> = &'a dyn Fn(&[(String, String)]) -> Vec<String>;

/// Grids larger than this are not checked combination by combination at load time (the sweep
/// still validates, and skips, every variant it runs).
const MAX_CHECKED_VARIANTS: usize = 512;

/// Architectures accepted for `node_pool.arch` and `image.platforms` (GOARCH names).
const ARCHES: &[&str] =
    &["amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le", "loong64"];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Duration,
    Size,
    Bandwidth,
    Rate,
}

impl Kind {
    fn parse(self, s: &str) -> Result<f64, String> {
        match self {
            Kind::Duration => units::parse_duration_ns(s).map(|ns| ns as f64),
            Kind::Size => units::parse_size_bytes(s),
            Kind::Bandwidth => units::parse_bandwidth_bytes_per_s(s),
            Kind::Rate => units::parse_rate_per_s(s),
        }
    }

    /// Base units per unit of a bare number (durations are written in seconds, held in ns).
    fn bare_factor(self) -> f64 {
        match self {
            Kind::Duration => 1e9,
            _ => 1.0,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Kind::Duration => "a duration (\"250ms\", \"10s\", \"1h30m\"; a bare number is seconds)",
            Kind::Size => "a size (\"512B\", \"30MB\", \"2GiB\"; a bare number is bytes)",
            Kind::Bandwidth => {
                "a bandwidth (\"1Gbps\", \"100MB/s\", \"unlimited\"; a bare number is bytes/s)"
            }
            Kind::Rate => "a rate (\"2/s\", \"120/m\", \"100/6h\"; a bare number is per second)",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    NonNegative,
    Positive,
}

struct Ctx {
    issues: Vec<Issue>,
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

    /// A scalar quantity (string with unit or bare number) in base units.
    fn scalar(&mut self, path: &KeyPath, v: &Value, kind: Kind) -> Option<f64> {
        let r = match v {
            Value::String(s) => kind.parse(s),
            Value::Integer(i) if *i < 0 => Err(format!("must not be negative, got {i}")),
            Value::Integer(i) => Ok(*i as f64 * kind.bare_factor()),
            Value::Float(f) if !f.is_finite() => Err(format!("must be a finite number, got {f}")),
            Value::Float(f) if *f < 0.0 => Err(format!("must not be negative, got {f}")),
            Value::Float(f) => Ok(f * kind.bare_factor()),
            other => Err(format!("expected {}, got {}", kind.describe(), type_name(other))),
        };
        match r {
            Ok(x) => Some(x),
            Err(e) => {
                self.err(path, e);
                None
            }
        }
    }

    /// A quantity that may be a distribution table. `None` when absent (and no default) or bad.
    fn dist(&mut self, path: &KeyPath, v: Option<&Value>, kind: Kind, bound: Bound) -> Option<Dist> {
        let v = v?;
        let d = match v {
            Value::Table(t) => self.dist_table(path, t, kind)?,
            _ => Dist::Constant(self.scalar(path, v, kind)?),
        };
        let ok = match (&d, bound) {
            (_, Bound::NonNegative) => true,
            (Dist::Constant(x), Bound::Positive) => *x > 0.0,
            (Dist::Exponential { mean }, Bound::Positive) => *mean > 0.0,
            (Dist::Uniform { min, .. }, Bound::Positive) => *min > 0.0,
            (Dist::LogNormal { .. }, Bound::Positive) => true,
            (Dist::Empirical { values, .. }, Bound::Positive) => values.iter().all(|x| *x > 0.0),
        };
        if !ok {
            self.err(path, "must be greater than 0 (every value the distribution can draw)");
            return None;
        }
        Some(d)
    }

    fn dist_or(&mut self, path: &KeyPath, v: Option<&Value>, kind: Kind, bound: Bound, default: f64) -> Dist {
        match v {
            None => Dist::Constant(default),
            Some(_) => self.dist(path, v, kind, bound).unwrap_or(Dist::Constant(default)),
        }
    }

    fn dist_table(&mut self, path: &KeyPath, t: &toml::Table, kind: Kind) -> Option<Dist> {
        const KINDS: &str = "constant, exponential, uniform, lognormal, empirical";
        let name = match t.get("dist") {
            Some(Value::String(s)) => s.as_str(),
            Some(_) => {
                self.err(&path.key("dist"), format!("expected a string, one of {KINDS}"));
                return None;
            }
            None => {
                self.err(
                    path,
                    format!(
                        "a distribution table needs `dist` = one of {KINDS}, e.g. \
                         {{ dist = \"exponential\", mean = \"100MB\" }}"
                    ),
                );
                return None;
            }
        };
        let params: &[&str] = match name {
            "constant" => &["value"],
            "exponential" => &["mean"],
            "uniform" => &["min", "max"],
            "lognormal" => &["median", "sigma"],
            "empirical" => &["values", "weights"],
            other => {
                self.err(
                    &path.key("dist"),
                    format!("unknown distribution {other:?}: expected one of {KINDS}"),
                );
                return None;
            }
        };
        let mut ok = true;
        for k in t.keys() {
            if k != "dist" && !params.contains(&k.as_str()) {
                self.err(
                    &path.key(k),
                    format!("unknown key `{k}` for dist = {name:?} (expected {})", params.join(", ")),
                );
                ok = false;
            }
        }
        for p in params {
            if !t.contains_key(*p) {
                self.err(path, format!("dist = {name:?} needs `{p}`"));
                ok = false;
            }
        }
        if !ok {
            return None;
        }
        let q = |this: &mut Ctx, key: &str| -> Option<f64> {
            let x = this.scalar(&path.key(key), t.get(key)?, kind)?;
            if name != "constant" && x.is_infinite() {
                this.err(&path.key(key), "\"unlimited\" can only be a constant, not part of a distribution");
                return None;
            }
            Some(x)
        };
        match name {
            "constant" => Some(Dist::Constant(q(self, "value")?)),
            "exponential" => Some(Dist::Exponential { mean: q(self, "mean")? }),
            "uniform" => {
                let (min, max) = (q(self, "min"), q(self, "max"));
                let (min, max) = (min?, max?);
                if min > max {
                    self.err(path, "uniform needs min <= max");
                    return None;
                }
                Some(Dist::Uniform { min, max })
            }
            "lognormal" => {
                let median = q(self, "median")?;
                let sigma = self.plain_number(&path.key("sigma"), t.get("sigma")?)?;
                if median <= 0.0 {
                    self.err(&path.key("median"), "lognormal median must be greater than 0");
                    return None;
                }
                Some(Dist::LogNormal { median, sigma })
            }
            _ => {
                let (Some(Value::Array(values)), Some(Value::Array(weights))) =
                    (t.get("values"), t.get("weights"))
                else {
                    self.err(path, "empirical needs `values` and `weights` arrays");
                    return None;
                };
                if values.is_empty() || values.len() != weights.len() {
                    self.err(path, "empirical needs as many weights as values, and at least one value");
                    return None;
                }
                let mut vs = Vec::new();
                for (i, v) in values.iter().enumerate() {
                    let x = self.scalar(&path.key("values").index(i, None), v, kind)?;
                    if x.is_infinite() {
                        self.err(
                            &path.key("values").index(i, None),
                            "\"unlimited\" cannot be an empirical value",
                        );
                        return None;
                    }
                    vs.push(x);
                }
                let mut cum = Vec::new();
                let mut total = 0.0;
                for (i, w) in weights.iter().enumerate() {
                    total += self.plain_number(&path.key("weights").index(i, None), w)?;
                    cum.push(total);
                }
                if total <= 0.0 {
                    self.err(&path.key("weights"), "empirical weights must not all be 0");
                    return None;
                }
                Some(Dist::Empirical { values: vs, cum_weights: cum })
            }
        }
    }

    /// A unitless non-negative finite number.
    fn plain_number(&mut self, path: &KeyPath, v: &Value) -> Option<f64> {
        let x = match v {
            Value::Integer(i) => *i as f64,
            Value::Float(f) => *f,
            other => {
                self.err(path, format!("expected a plain number, got {}", type_name(other)));
                return None;
            }
        };
        if !x.is_finite() || x < 0.0 {
            self.err(path, format!("must be a finite number >= 0, got {x}"));
            return None;
        }
        Some(x)
    }

    /// A fixed (non-random) duration; `default` when absent or invalid.
    fn duration(&mut self, path: &KeyPath, v: Option<&Value>, default: SimDuration) -> SimDuration {
        self.duration_opt(path, v).unwrap_or(default)
    }

    fn duration_opt(&mut self, path: &KeyPath, v: Option<&Value>) -> Option<SimDuration> {
        let d = self.dist(path, v, Kind::Duration, Bound::NonNegative)?;
        match d.as_constant() {
            Some(ns) => Some(SimDuration(crate::engine::dist::to_u64(ns))),
            None => {
                self.err(path, "must be a fixed duration here, not a random distribution");
                None
            }
        }
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

    fn arch(&mut self, path: &KeyPath, a: &str) {
        if !ARCHES.contains(&a) {
            self.err(path, format!("unknown architecture {a:?}: expected one of {}", ARCHES.join(", ")));
        }
    }
}

fn list(names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    let v: Vec<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

/// Camel-case kubelet field names (as in the kubelet's messages) and the scenario key for each.
const KUBELET_FIELDS: &[(&str, &str)] = &[
    ("serializeImagePulls", "serialize_image_pulls"),
    ("maxParallelImagePulls", "max_parallel_image_pulls"),
    ("registryPullQPS", "registry_pull_qps"),
    ("registryBurst", "registry_burst"),
    ("imageGCHighThresholdPercent", "image_gc_high_threshold_percent"),
    ("imageGCLowThresholdPercent", "image_gc_low_threshold_percent"),
    ("imageMinimumGCAge", "image_minimum_gc_age"),
    ("imageMaximumGCAge", "image_maximum_gc_age"),
    ("imagePullCredentialsVerificationPolicy", "image_pull_credentials_verification_policy"),
    ("preloadedImagesVerificationAllowlist", "preloaded_images_verification_allowlist"),
    ("ensureSecretPulledImages", "ensure_secret_pulled_images"),
    // `VerificationPolicy::parse` words it in plain English.
    ("credential verification policy", "image_pull_credentials_verification_policy"),
];

/// The scenario key a kubelet message is about: the field named first in it.
fn kubelet_key_of(message: &str) -> Option<&'static str> {
    let lower = message.to_ascii_lowercase();
    KUBELET_FIELDS
        .iter()
        .filter_map(|(camel, key)| lower.find(&camel.to_ascii_lowercase()).map(|pos| (pos, *key)))
        .min_by_key(|(pos, key)| (*pos, std::cmp::Reverse(key.len())))
        .map(|(_, key)| key)
}

fn kubelet_is_set(k: &RawKubelet, key: &str) -> bool {
    match key {
        "serialize_image_pulls" => k.serialize_image_pulls.is_some(),
        "max_parallel_image_pulls" => k.max_parallel_image_pulls.is_some(),
        "registry_pull_qps" => k.registry_pull_qps.is_some(),
        "registry_burst" => k.registry_burst.is_some(),
        "image_gc_high_threshold_percent" => k.image_gc_high_threshold_percent.is_some(),
        "image_gc_low_threshold_percent" => k.image_gc_low_threshold_percent.is_some(),
        "image_minimum_gc_age" => k.image_minimum_gc_age.is_some(),
        "image_maximum_gc_age" => k.image_maximum_gc_age.is_some(),
        "image_pull_credentials_verification_policy" => {
            k.image_pull_credentials_verification_policy.is_some()
        }
        "preloaded_images_verification_allowlist" => k.preloaded_images_verification_allowlist.is_some(),
        "ensure_secret_pulled_images" => k.ensure_secret_pulled_images.is_some(),
        _ => false,
    }
}

impl Ctx {
    // The struct update keeps this compiling when `KubeletConfigInput` gains fields (feature
    // gates) that the scenario does not expose; today it may be a no-op.
    #[allow(clippy::needless_update)]
    fn kubelet_input(&mut self, path: &KeyPath, k: &RawKubelet) -> KubeletConfigInput {
        let int = |this: &mut Ctx, key: &str, v: &Option<Value>| -> Option<i64> {
            v.as_ref().and_then(|v| this.int(&path.key(key), v))
        };
        let backoff_path = path.key("image_pull_backoff");
        let (initial, max) = match &k.image_pull_backoff {
            Some(b) => {
                let initial = self.duration_opt(&backoff_path.key("initial"), b.initial.as_ref());
                let max = self.duration_opt(&backoff_path.key("max"), b.max.as_ref());
                if initial == Some(SimDuration::ZERO) {
                    self.err(&backoff_path.key("initial"), "must be greater than 0");
                }
                if let (Some(i), Some(m)) = (initial, max) {
                    if m < i {
                        self.err(&backoff_path.key("max"), "must be at least `initial`");
                    }
                }
                (initial, max)
            }
            None => (None, None),
        };
        KubeletConfigInput {
            serialize_image_pulls: k.serialize_image_pulls,
            max_parallel_image_pulls: int(self, "max_parallel_image_pulls", &k.max_parallel_image_pulls),
            registry_pull_qps: int(self, "registry_pull_qps", &k.registry_pull_qps),
            registry_burst: int(self, "registry_burst", &k.registry_burst),
            image_gc_high_threshold_percent: int(
                self,
                "image_gc_high_threshold_percent",
                &k.image_gc_high_threshold_percent,
            ),
            image_gc_low_threshold_percent: int(
                self,
                "image_gc_low_threshold_percent",
                &k.image_gc_low_threshold_percent,
            ),
            image_minimum_gc_age: self
                .duration_opt(&path.key("image_minimum_gc_age"), k.image_minimum_gc_age.as_ref()),
            image_maximum_gc_age: self
                .duration_opt(&path.key("image_maximum_gc_age"), k.image_maximum_gc_age.as_ref()),
            image_pull_backoff_initial: initial,
            image_pull_backoff_max: max,
            image_pull_credentials_verification_policy: k.image_pull_credentials_verification_policy.clone(),
            preloaded_images_verification_allowlist: k.preloaded_images_verification_allowlist.clone(),
            ensure_secret_pulled_images: k.ensure_secret_pulled_images,
            // Fields the kubelet config grows later (feature gates) stay at their defaults.
            ..KubeletConfigInput::default()
        }
    }

    /// Runs the kubelet's own defaulting and validation on one effective configuration. Each
    /// message is placed at the key it names: in the pool's `kubelet` override (`here`) when it
    /// sets that key, else in `[kubelet]` (`base`, reported once for all pools via
    /// `reported_at_base`), else at `table`.
    fn resolve_kubelet(
        &mut self,
        input: &KubeletConfigInput,
        here: Option<(&KeyPath, &RawKubelet)>,
        base: (&KeyPath, &RawKubelet),
        table: &KeyPath,
        reported_at_base: &mut BTreeSet<String>,
    ) -> Option<KubeletConfig> {
        let messages = match resolve(input) {
            Ok(cfg) => {
                // The policy string is parsed by the verification module; `resolve` may not check it.
                match input
                    .image_pull_credentials_verification_policy
                    .as_deref()
                    .map(VerificationPolicy::parse)
                {
                    Some(Err(e)) => vec![e],
                    _ => return Some(cfg),
                }
            }
            Err(m) => m,
        };
        for m in messages {
            let key = kubelet_key_of(&m);
            let in_here =
                key.and_then(|k| here.filter(|(_, raw)| kubelet_is_set(raw, k)).map(|(p, _)| p.key(k)));
            let in_base = key.filter(|k| kubelet_is_set(base.1, k)).map(|k| base.0.key(k));
            match (in_here, in_base) {
                (Some(path), _) => self.err(&path, m),
                (None, Some(path)) => {
                    if reported_at_base.insert(m.clone()) {
                        self.err(&path, m);
                    }
                }
                (None, None) => self.err(here.map_or(table, |(p, _)| p), m),
            }
        }
        None
    }
}

/// What a container's literal image string resolves to.
enum Resolved {
    Known(ImageId),
    /// Not a valid reference: kept, the kubelet reports InvalidImageName at run time.
    Invalid,
    Unknown(String),
}

fn resolve_image(index: &BTreeMap<String, ImageId>, raw: &str) -> Resolved {
    match parse_docker_ref(raw) {
        Err(_) => Resolved::Invalid,
        Ok(r) => {
            let n = r.string();
            match index.get(&n) {
                Some(id) => Resolved::Known(*id),
                None => Resolved::Unknown(n),
            }
        }
    }
}

fn int_or_percent(ctx: &mut Ctx, path: &KeyPath, v: &Value) -> Option<IntOrPercent> {
    let bad = |ctx: &mut Ctx| {
        ctx.err(path, format!("expected an integer or a percentage like \"25%\", got `{v}`"));
        None
    };
    match v {
        Value::Integer(i) if *i >= 0 && *i <= u32::MAX as i64 => Some(IntOrPercent::Int(*i as u32)),
        Value::Integer(i) => {
            ctx.err(path, format!("{i}: must be greater than or equal to 0"));
            None
        }
        Value::String(s) => {
            let s = s.trim();
            if let Some(p) = s.strip_suffix('%') {
                match p.trim().parse::<u32>() {
                    Ok(p) => Some(IntOrPercent::Percent(p)),
                    Err(_) => bad(ctx),
                }
            } else {
                match s.parse::<u32>() {
                    Ok(i) => Some(IntOrPercent::Int(i)),
                    Err(_) => bad(ctx),
                }
            }
        }
        _ => bad(ctx),
    }
}

fn is_zero(v: IntOrPercent) -> bool {
    matches!(v, IntOrPercent::Int(0) | IntOrPercent::Percent(0))
}

struct Layers<'a> {
    /// Shared layer id → its size and where it was first given.
    shared: BTreeMap<String, (Dist, KeyPath)>,
    _p: std::marker::PhantomData<&'a ()>,
}

impl Layers<'_> {
    fn layer(
        &mut self,
        ctx: &mut Ctx,
        path: &KeyPath,
        l: &RawLayer,
        default_id: Option<String>,
    ) -> LayerSpec {
        let size = match ctx.required(path, "size", &l.size) {
            Some(_) => ctx.dist(&path.key("size"), l.size.as_ref(), Kind::Size, Bound::NonNegative),
            None => None,
        }
        .unwrap_or(Dist::Constant(0.0));
        if l.size.as_ref().is_some_and(|_| matches!(size, Dist::Constant(x) if x.is_infinite())) {
            ctx.err(&path.key("size"), "must be finite");
        }
        let id = match &l.id {
            Some(id) if id.trim().is_empty() => {
                ctx.err(&path.key("id"), "must not be empty");
                None
            }
            Some(id) => Some(id.clone()),
            None => default_id,
        };
        if let Some(id) = &id {
            match self.shared.get(id) {
                Some((first, at)) if *first != size => ctx.err(
                    &path.key("size"),
                    format!(
                        "shared layer id {id:?} has a different size here than at `{at}`: a shared \
                         layer is one blob and must have one size"
                    ),
                ),
                Some(_) => {}
                None => {
                    self.shared.insert(id.clone(), (size.clone(), path.clone()));
                }
            }
        }
        LayerSpec { shared_id: id, size_bytes: size }
    }
}

/// `image.pushes` (extension): fixed, strictly increasing times; each push lists the new
/// digest's layers bottom first, and a layer may name an `id` defined earlier without its size
/// (the same blob: not downloaded again by a node that has it). A digest reference cannot move.
fn validate_pushes(
    c: &mut Ctx,
    p: &KeyPath,
    im: &RawImage,
    layers: &mut Layers<'_>,
    pinned_by_digest: bool,
) -> Vec<PushSpec> {
    let Some(ps) = &im.pushes else { return Vec::new() };
    if pinned_by_digest {
        c.err(&p.key("pushes"), "a reference with a digest names one manifest: it cannot move");
    }
    let mut out = Vec::new();
    let mut last: Option<SimDuration> = None;
    for (j, push) in ps.iter().enumerate() {
        let pp = p.key("pushes").index(j, None);
        let at = match c.required(&pp, "at", &push.at) {
            Some(_) => c.duration(&pp.key("at"), push.at.as_ref(), SimDuration::ZERO),
            None => SimDuration::ZERO,
        };
        if last.is_some_and(|l| at <= l) {
            c.err(&pp.key("at"), "pushes must be in strictly increasing `at` order");
        }
        last = Some(at);
        let mut specs = Vec::new();
        if let Some(ls) = c.required(&pp, "layers", &push.layers) {
            if ls.is_empty() {
                c.err(&pp.key("layers"), "a pushed image needs at least one layer");
            }
            for (k, l) in ls.iter().enumerate() {
                let lp = pp.key("layers").index(k, None);
                let known = l.id.as_ref().and_then(|id| layers.shared.get(id).map(|(d, _)| (id, d)));
                match (known, &l.size) {
                    (Some((id, size)), None) => {
                        specs.push(LayerSpec { shared_id: Some(id.clone()), size_bytes: size.clone() })
                    }
                    _ => specs.push(layers.layer(c, &lp, l, None)),
                }
            }
        }
        out.push(PushSpec { at, layers: specs });
    }
    out
}

/// A node pool before it is known whether its kubelet settings resolved.
struct PoolDraft {
    name: String,
    count: u32,
    arch: String,
    bandwidth_bytes_per_s: Dist,
    disk_bytes: Dist,
    preloaded: Vec<ImageId>,
    credentials: Vec<NodeCredential>,
    join_at: SimDuration,
    join_every: SimDuration,
    kubelet: Option<KubeletConfig>,
    max_pods: u32,
}

/// Members one image set may have: every member is an `ImageSpec`, so an absurd count would
/// exhaust memory instead of failing with a message.
const IMAGE_SET_COUNT_MAX: u32 = 1_000_000;

/// Validates and builds the scenario. `doc` is the (overridden) document, read for key order
/// where serde's maps lose it; `variant_check`, when given, validates each sweep variant.
pub fn validate(
    raw: &RawScenario,
    doc: &toml_edit::DocumentMut,
    variant_check: Option<VariantCheck<'_>>,
) -> Result<Scenario, Vec<Issue>> {
    // The work estimate comes first: it decides whether image sets may be expanded at all.
    let work = super::limits::check(raw);
    let mut ctx = Ctx { issues: work.issues };
    let root = KeyPath::root();
    let c = &mut ctx;

    // [simulation]
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

    // [kubelet]
    let kub_path = root.key("kubelet");
    let default_kubelet = RawKubelet::default();
    let raw_kubelet = raw.kubelet.as_ref().unwrap_or(&default_kubelet);
    let kubelet = c.kubelet_input(&kub_path, raw_kubelet);
    // `[kubelet]` takes effect only merged into each pool, so it is validated there (an invalid
    // combination that every pool overrides is not an error); without pools, on its own.
    let mut reported_at_base = BTreeSet::new();
    if raw.node_pool.is_empty() {
        c.resolve_kubelet(&kubelet, None, (&kub_path, raw_kubelet), &kub_path, &mut reported_at_base);
    }

    // [runtime]
    let rt_path = root.key("runtime");
    let default_rt = RawRuntime::default();
    let rt = raw.runtime.as_ref().unwrap_or(&default_rt);
    let runtime = RuntimeSpec {
        max_concurrent_downloads: c.count_u32(
            &rt_path.key("max_concurrent_downloads"),
            rt.max_concurrent_downloads.as_ref(),
            1,
            3,
        ),
        unpack_rate_bytes_per_s: c.dist_or(
            &rt_path.key("unpack_rate"),
            rt.unpack_rate.as_ref(),
            Kind::Bandwidth,
            Bound::Positive,
            f64::INFINITY,
        ),
        container_start_ns: c.dist_or(
            &rt_path.key("container_start"),
            rt.container_start.as_ref(),
            Kind::Duration,
            Bound::NonNegative,
            0.0,
        ),
        pull_overhead_ns: c.dist_or(
            &rt_path.key("pull_overhead"),
            rt.pull_overhead.as_ref(),
            Kind::Duration,
            Bound::NonNegative,
            0.0,
        ),
    };

    // [[registry]]
    let mut registries = Vec::new();
    let mut registry_by_host: BTreeMap<String, RegistryId> = BTreeMap::new();
    let mut accepted: BTreeSet<String> = BTreeSet::new();
    for (i, r) in raw.registry.iter().enumerate() {
        let p = root.key("registry").index(i, r.host.as_deref());
        let host = c.name(&p, "host", &r.host);
        if !host.is_empty() && registry_by_host.insert(host.clone(), RegistryId::from_idx(i)).is_some() {
            c.err(&p.key("host"), format!("duplicate registry host {host:?}"));
        }
        let failure_rate = match &r.failure_rate {
            None => 0.0,
            Some(v) => match c.plain_number(&p.key("failure_rate"), v) {
                Some(x) if x <= 1.0 => x,
                Some(x) => {
                    c.err(&p.key("failure_rate"), format!("is a probability: must be in [0, 1], got {x}"));
                    0.0
                }
                None => 0.0,
            },
        };
        let mut outages = Vec::new();
        for (j, o) in r.outages.iter().flatten().enumerate() {
            let op = p.key("outages").index(j, None);
            let from = c
                .required(&op, "from", &o.from)
                .map(|_| c.duration(&op.key("from"), o.from.as_ref(), SimDuration::ZERO));
            let to = c
                .required(&op, "to", &o.to)
                .map(|_| c.duration(&op.key("to"), o.to.as_ref(), SimDuration::ZERO));
            if let (Some(from), Some(to)) = (from, to) {
                if from >= to {
                    c.err(&op, format!("outage must end after it starts (from {from} to {to})"));
                }
                outages.push((from, to));
            }
        }
        let rate_limit = r.rate_limit.as_ref().map(|rl| {
            let rp = p.key("rate_limit");
            let pulls = match c.required(&rp, "pulls", &rl.pulls) {
                Some(v) => match c.int(&rp.key("pulls"), v) {
                    Some(n) if n >= 0 => n as u64,
                    Some(n) => {
                        c.err(&rp.key("pulls"), format!("must be >= 0, got {n}"));
                        0
                    }
                    None => 0,
                },
                None => 0,
            };
            let per = match c.required(&rp, "per", &rl.per) {
                Some(_) => c.duration(&rp.key("per"), rl.per.as_ref(), SimDuration::from_secs(1)),
                None => SimDuration::from_secs(1),
            };
            if per == SimDuration::ZERO {
                c.err(&rp.key("per"), "must be greater than 0");
            }
            let scope = match rl.scope.as_deref() {
                None | Some("node") => RateLimitScope::Node,
                Some("registry") => RateLimitScope::Registry,
                Some(s) => {
                    c.err(&rp.key("scope"), format!("expected \"node\" or \"registry\", got {s:?}"));
                    RateLimitScope::Node
                }
            };
            RateLimit { pulls, per, scope }
        });
        let auth_required = match r.auth.as_deref() {
            None | Some("anonymous") => false,
            Some("required") => true,
            Some(s) => {
                c.err(&p.key("auth"), format!("expected \"anonymous\" or \"required\", got {s:?}"));
                false
            }
        };
        let accepts = r.accepts.clone().unwrap_or_default();
        for (j, s) in accepts.iter().enumerate() {
            if s.trim().is_empty() {
                c.err(&p.key("accepts").index(j, None), "secret name must not be empty");
            }
            accepted.insert(s.clone());
        }
        registries.push(RegistrySpec {
            host,
            bandwidth_bytes_per_s: c.dist_or(
                &p.key("bandwidth"),
                r.bandwidth.as_ref(),
                Kind::Bandwidth,
                Bound::Positive,
                f64::INFINITY,
            ),
            per_connection_bytes_per_s: c.dist_or(
                &p.key("per_connection"),
                r.per_connection.as_ref(),
                Kind::Bandwidth,
                Bound::Positive,
                f64::INFINITY,
            ),
            latency_ns: c.dist_or(
                &p.key("latency"),
                r.latency.as_ref(),
                Kind::Duration,
                Bound::NonNegative,
                0.0,
            ),
            failure_rate,
            outages,
            rate_limit,
            auth_required,
            accepts,
        });
    }
    let registry_hosts = || list(raw.registry.iter().filter_map(|r| r.host.clone()));
    let registry_for = |c: &mut Ctx, path: &KeyPath, domain: &str| -> Option<RegistryId> {
        let found = registry_by_host.get(domain).copied();
        if found.is_none() {
            c.err(
                path,
                format!(
                    "no [[registry]] serves domain {domain:?} (registries defined: {}); add one with host = {domain:?}",
                    registry_hosts()
                ),
            );
        }
        found
    };

    // [[image]]
    let mut images: Vec<ImageSpec> = Vec::new();
    let mut image_index: BTreeMap<String, ImageId> = BTreeMap::new();
    let mut image_paths: Vec<KeyPath> = Vec::new();
    let mut layers = Layers { shared: BTreeMap::new(), _p: std::marker::PhantomData };
    for (i, im) in raw.image.iter().enumerate() {
        let p = root.key("image").index(i, im.reference.as_deref());
        let raw_ref = c.name(&p, "ref", &im.reference);
        let parsed = match parse_docker_ref(&raw_ref) {
            Ok(r) => Some(r),
            Err(e) if !raw_ref.is_empty() => {
                c.err(&p.key("ref"), format!("{raw_ref:?} is not a valid image reference: {e}"));
                None
            }
            Err(_) => None,
        };
        let image_layers = match (&im.layers, &im.size) {
            (Some(_), Some(_)) => {
                c.err(&p.key("size"), "give either `layers` or `size` (+ `layer_count`), not both");
                ImageLayers::Explicit(Vec::new())
            }
            (Some(ls), None) => {
                if im.layer_count.is_some() {
                    c.err(&p.key("layer_count"), "`layer_count` goes with `size`, not with `layers`");
                }
                if ls.is_empty() {
                    c.err(&p.key("layers"), "an image needs at least one layer");
                }
                ImageLayers::Explicit(
                    ls.iter()
                        .enumerate()
                        .map(|(j, l)| layers.layer(c, &p.key("layers").index(j, None), l, None))
                        .collect(),
                )
            }
            (None, Some(_)) => ImageLayers::Drawn {
                size_bytes: c
                    .dist(&p.key("size"), im.size.as_ref(), Kind::Size, Bound::NonNegative)
                    .unwrap_or(Dist::Constant(0.0)),
                layer_count: c.count_u32(&p.key("layer_count"), im.layer_count.as_ref(), 1, 1),
                base: Vec::new(),
            },
            (None, None) => {
                c.err(&p, "an image needs `layers = [...]` or `size = ...` (with optional `layer_count`)");
                ImageLayers::Explicit(Vec::new())
            }
        };
        if let ImageLayers::Drawn { size_bytes: Dist::Constant(x), .. } = &image_layers {
            if x.is_infinite() {
                c.err(&p.key("size"), "must be finite");
            }
        }
        let platforms = im.platforms.as_ref().map(|ps| {
            if ps.is_empty() {
                c.err(
                    &p.key("platforms"),
                    "must list at least one architecture (omit it for every architecture)",
                );
            }
            for (j, a) in ps.iter().enumerate() {
                c.arch(&p.key("platforms").index(j, None), a);
            }
            ps.clone()
        });
        let pushes =
            validate_pushes(c, &p, im, &mut layers, parsed.as_ref().is_some_and(|r| !r.digest.is_empty()));
        let Some(r) = parsed else { continue };
        let normalized = r.string();
        if let Some(prev) = image_index.get(&normalized) {
            let at = image_paths[prev.idx()].clone();
            c.err(&p.key("ref"), format!("image {normalized:?} is declared twice (also at `{at}`)"));
            continue;
        }
        let registry = registry_for(c, &p.key("ref"), &r.domain);
        let id = ImageId::from_idx(images.len());
        image_index.insert(normalized.clone(), id);
        image_paths.push(p.clone());
        images.push(ImageSpec {
            raw_ref: raw_ref.clone(),
            normalized,
            repo: parse_image_name(&raw_ref).map(|n| n.repo).unwrap_or_else(|_| r.name()),
            domain: r.domain.clone(),
            registry,
            layers: image_layers,
            platforms,
            pushes,
        });
    }

    // [[image_set]]
    let mut image_sets = Vec::new();
    let mut set_by_name: BTreeMap<String, ImageSetId> = BTreeMap::new();
    for (i, s) in raw.image_set.iter().enumerate() {
        let p = root.key("image_set").index(i, s.name.as_deref());
        let name = c.name(&p, "name", &s.name);
        if !name.is_empty() && set_by_name.insert(name.clone(), ImageSetId::from_idx(i)).is_some() {
            c.err(&p.key("name"), format!("duplicate image_set name {name:?}"));
        }
        let mut count = match c.required(&p, "count", &s.count) {
            Some(_) => c.count_u32(&p.key("count"), s.count.as_ref(), 1, 0),
            None => 0,
        };
        if count > IMAGE_SET_COUNT_MAX {
            c.err(&p.key("count"), format!("at most {IMAGE_SET_COUNT_MAX} images per set, got {count}"));
            count = 0;
        }
        let pattern = c.name(&p, "ref", &s.reference);
        if !pattern.is_empty() && !pattern.contains("{n}") {
            c.err(&p.key("ref"), "must contain the placeholder `{n}` (member n = 0 .. count-1)");
        }
        let size = match c.required(&p, "size", &s.size) {
            Some(_) => c.dist(&p.key("size"), s.size.as_ref(), Kind::Size, Bound::NonNegative),
            None => None,
        }
        .unwrap_or(Dist::Constant(0.0));
        let layer_count = c.count_u32(&p.key("layer_count"), s.layer_count.as_ref(), 1, 1);
        let base: Vec<LayerSpec> = s
            .base_layers
            .iter()
            .flatten()
            .enumerate()
            .map(|(j, l)| {
                layers.layer(
                    c,
                    &p.key("base_layers").index(j, None),
                    l,
                    Some(format!("image_set/{name}/base/{j}")),
                )
            })
            .collect();
        let first_image = ImageId::from_idx(images.len());
        if pattern.contains("{n}") && !work.too_many_images {
            let mut registry_checked = false;
            for n in 0..count {
                let raw_ref = pattern.replace("{n}", &n.to_string());
                let r = match parse_docker_ref(&raw_ref) {
                    Ok(r) => r,
                    Err(e) => {
                        c.err(
                            &p.key("ref"),
                            format!("member {n} = {raw_ref:?} is not a valid image reference: {e}"),
                        );
                        break;
                    }
                };
                let normalized = r.string();
                if image_index.contains_key(&normalized) {
                    c.err(&p.key("ref"), format!("member {normalized:?} is already declared as an image"));
                    break;
                }
                let registry = match registry_by_host.get(&r.domain) {
                    Some(id) => Some(*id),
                    None if !registry_checked => {
                        registry_checked = true;
                        registry_for(c, &p.key("ref"), &r.domain)
                    }
                    None => None,
                };
                image_index.insert(normalized.clone(), ImageId::from_idx(images.len()));
                image_paths.push(p.clone());
                images.push(ImageSpec {
                    raw_ref: raw_ref.clone(),
                    normalized,
                    repo: parse_image_name(&raw_ref).map(|n| n.repo).unwrap_or_else(|_| r.name()),
                    domain: r.domain.clone(),
                    registry,
                    layers: ImageLayers::Drawn { size_bytes: size.clone(), layer_count, base: base.clone() },
                    platforms: None,
                    pushes: Vec::new(),
                });
            }
        }
        image_sets.push(ImageSetSpec { name, count, ref_pattern: pattern, first_image });
    }

    // [[node_pool]]
    if raw.node_pool.is_empty() {
        c.issues.push(Issue { path: None, message: "at least one [[node_pool]] is required".into() });
    }
    let mut pool_by_name: BTreeMap<String, PoolId> = BTreeMap::new();
    let mut pools = Vec::new();
    let mut credential_secrets: Vec<(KeyPath, String)> = Vec::new();
    for (i, np) in raw.node_pool.iter().enumerate() {
        let p = root.key("node_pool").index(i, np.name.as_deref());
        let name = c.name(&p, "name", &np.name);
        if !name.is_empty() && pool_by_name.insert(name.clone(), PoolId::from_idx(i)).is_some() {
            c.err(&p.key("name"), format!("duplicate node_pool name {name:?}"));
        }
        let count = match c.required(&p, "count", &np.count) {
            Some(_) => c.count_u32(&p.key("count"), np.count.as_ref(), 0, 0),
            None => 0,
        };
        let arch = np.arch.clone().unwrap_or_else(|| "amd64".to_string());
        c.arch(&p.key("arch"), &arch);
        let mut preloaded = Vec::new();
        for (j, pre) in np.preloaded.iter().flatten().enumerate() {
            let pp = p.key("preloaded").index(j, None);
            match parse_docker_ref(pre) {
                Err(e) => c.err(&pp, format!("{pre:?} is not a valid image reference: {e}")),
                Ok(r) => {
                    let normalized = r.string();
                    let id = match image_index.get(&normalized) {
                        Some(id) => *id,
                        None => {
                            let id = ImageId::from_idx(images.len());
                            image_index.insert(normalized.clone(), id);
                            image_paths.push(pp.clone());
                            images.push(ImageSpec {
                                raw_ref: pre.clone(),
                                normalized,
                                repo: parse_image_name(pre).map(|n| n.repo).unwrap_or_else(|_| r.name()),
                                domain: r.domain.clone(),
                                registry: registry_by_host.get(&r.domain).copied(),
                                layers: ImageLayers::Unknown,
                                platforms: None,
                                pushes: Vec::new(),
                            });
                            id
                        }
                    };
                    if !preloaded.contains(&id) {
                        preloaded.push(id);
                    }
                }
            }
        }
        let mut credentials = Vec::new();
        for (j, cr) in np.credentials.iter().flatten().enumerate() {
            let cp = p.key("credentials").index(j, None);
            let m = c.name(&cp, "match", &cr.match_pattern);
            let s = c.name(&cp, "secret", &cr.secret);
            if !s.is_empty() {
                credential_secrets.push((cp.key("secret"), s.clone()));
            }
            credentials.push(NodeCredential { match_pattern: m, secret: s });
        }
        let (join_at, join_every) = match &np.join {
            Some(j) => (
                c.duration(&p.key("join").key("at"), j.at.as_ref(), SimDuration::ZERO),
                c.duration(&p.key("join").key("every"), j.every.as_ref(), SimDuration::ZERO),
            ),
            None => (SimDuration::ZERO, SimDuration::ZERO),
        };
        let kp = p.key("kubelet");
        let pool_raw_kubelet = np.kubelet.clone().unwrap_or_default();
        let pool_input = c.kubelet_input(&kp, &pool_raw_kubelet);
        let merged = pool_input.merged_over(&kubelet);
        let here = np.kubelet.as_ref().map(|k| (&kp, k));
        let cfg = c.resolve_kubelet(&merged, here, (&kub_path, raw_kubelet), &kp, &mut reported_at_base);
        pools.push(PoolDraft {
            bandwidth_bytes_per_s: c.dist_or(
                &p.key("bandwidth"),
                np.bandwidth.as_ref(),
                Kind::Bandwidth,
                Bound::Positive,
                f64::INFINITY,
            ),
            disk_bytes: c.dist_or(
                &p.key("disk"),
                np.disk.as_ref(),
                Kind::Size,
                Bound::Positive,
                100.0 * (1u64 << 30) as f64,
            ),
            max_pods: c.count_u32(&p.key("max_pods"), np.max_pods.as_ref(), 1, u32::MAX),
            name,
            count,
            arch,
            preloaded,
            credentials,
            join_at,
            join_every,
            kubelet: cfg,
        });
    }
    for (path, s) in &credential_secrets {
        if !accepted.contains(s) {
            c.err(
                path,
                format!(
                    "secret {s:?} is not accepted by any registry (accepted secrets: {})",
                    list(&accepted)
                ),
            );
        }
    }

    // [[workload]]
    let mut workloads = Vec::new();
    let mut workload_names = BTreeSet::new();
    let declared = |c: &mut Ctx, path: &KeyPath, raw_image: &str| -> Option<ImageId> {
        match resolve_image(&image_index, raw_image) {
            Resolved::Known(id) => Some(id),
            Resolved::Invalid => None,
            Resolved::Unknown(n) => {
                c.err(
                    path,
                    format!(
                        "image {raw_image:?} (normalized {n:?}) is not declared: add an [[image]] with \
                         ref = {raw_ref:?}, use an image_set, or list it in a node_pool's `preloaded`",
                        raw_ref = raw_image
                    ),
                );
                None
            }
        }
    };
    for (i, w) in raw.workload.iter().enumerate() {
        let p = root.key("workload").index(i, w.name.as_deref());
        let name = c.name(&p, "name", &w.name);
        if !name.is_empty() && !workload_names.insert(name.clone()) {
            c.err(&p.key("name"), format!("duplicate workload name {name:?}"));
        }
        let start = c.duration(&p.key("start"), w.start.as_ref(), SimDuration::ZERO);
        let kind_name = c.name(&p, "kind", &w.kind);
        // Keys that belong to one kind only: a key given to another kind is a mistake.
        let only = |c: &mut Ctx, key: &str, set: bool, kinds: &str| {
            if set && !kinds.split('|').any(|k| k == kind_name) {
                c.err(&p.key(key), format!("`{key}` is only valid for kind = {kinds:?}"));
            }
        };
        only(c, "replicas", w.replicas.is_some(), "deployment");
        only(c, "rollout", w.rollout.is_some(), "deployment");
        only(c, "update", w.update.is_some(), "deployment");
        only(c, "rate", w.rate.is_some(), "poisson");
        only(c, "count", w.count.is_some(), "poisson|batch");
        only(c, "at", w.at.is_some(), "batch");
        let kind = match kind_name.as_str() {
            "deployment" => {
                let replicas = match c.required(&p, "replicas", &w.replicas) {
                    Some(_) => c.count_u32(&p.key("replicas"), w.replicas.as_ref(), 0, 0),
                    None => 0,
                };
                let mut rollout = Rollout::default();
                if let Some(r) = &w.rollout {
                    let rp = p.key("rollout");
                    if let Some(v) = &r.max_surge {
                        rollout.max_surge =
                            int_or_percent(c, &rp.key("max_surge"), v).unwrap_or(rollout.max_surge);
                    }
                    if let Some(v) = &r.max_unavailable {
                        let mu = int_or_percent(c, &rp.key("max_unavailable"), v)
                            .unwrap_or(rollout.max_unavailable);
                        if let IntOrPercent::Percent(x) = mu {
                            if x > 100 {
                                c.err(
                                    &rp.key("max_unavailable"),
                                    format!("{x}%: must not be greater than 100%"),
                                );
                            }
                        }
                        rollout.max_unavailable = mu;
                    }
                    if is_zero(rollout.max_surge) && is_zero(rollout.max_unavailable) {
                        c.err(&rp.key("max_unavailable"), "may not be 0 when `maxSurge` is 0");
                    }
                }
                let update = w.update.as_ref().map(|u| {
                    let up = p.key("update");
                    let at = match c.required(&up, "at", &u.at) {
                        Some(_) => c.duration(&up.key("at"), u.at.as_ref(), SimDuration::ZERO),
                        None => SimDuration::ZERO,
                    };
                    let image = c.name(&up, "image", &u.image);
                    let image_id =
                        if image.is_empty() { None } else { declared(c, &up.key("image"), &image) };
                    Update { at, image, image_id }
                });
                WorkloadKind::Deployment { replicas, rollout, update }
            }
            "daemonset" => WorkloadKind::DaemonSet,
            "poisson" => {
                let rate = match c.required(&p, "rate", &w.rate) {
                    Some(_) => c.dist(&p.key("rate"), w.rate.as_ref(), Kind::Rate, Bound::Positive),
                    None => None,
                }
                .unwrap_or(Dist::Constant(1.0));
                if matches!(rate, Dist::Constant(x) if x.is_infinite()) {
                    c.err(&p.key("rate"), "must be finite");
                }
                let count = w.count.as_ref().and_then(|v| match c.int(&p.key("count"), v) {
                    Some(n) if n >= 0 => Some(n as u64),
                    Some(n) => {
                        c.err(&p.key("count"), format!("must be >= 0, got {n}"));
                        None
                    }
                    None => None,
                });
                WorkloadKind::Poisson { rate_per_s: rate, count }
            }
            "batch" => {
                let count = match c.required(&p, "count", &w.count) {
                    Some(_) => c.count_u32(&p.key("count"), w.count.as_ref(), 0, 0),
                    None => 0,
                };
                WorkloadKind::Batch { count, at: c.duration(&p.key("at"), w.at.as_ref(), start) }
            }
            "" => WorkloadKind::DaemonSet,
            other => {
                c.err(
                    &p.key("kind"),
                    format!(
                        "unknown workload kind {other:?}: expected deployment, daemonset, poisson or batch"
                    ),
                );
                WorkloadKind::DaemonSet
            }
        };
        let mut image_pull_secrets = Vec::new();
        for (j, s) in w.image_pull_secrets.iter().flatten().enumerate() {
            if !accepted.contains(s) {
                c.err(
                    &p.key("image_pull_secrets").index(j, None),
                    format!(
                        "secret {s:?} is not accepted by any registry (accepted secrets: {})",
                        list(&accepted)
                    ),
                );
            }
            image_pull_secrets.push(s.clone());
        }
        let node_pools = w.node_pools.as_ref().map(|names| {
            if names.is_empty() {
                c.err(&p.key("node_pools"), "must name at least one pool (omit it for any pool)");
            }
            names
                .iter()
                .enumerate()
                .filter_map(|(j, n)| {
                    let id = pool_by_name.get(n).copied();
                    if id.is_none() {
                        c.err(
                            &p.key("node_pools").index(j, None),
                            format!("no node_pool named {n:?} (pools: {})", list(pool_by_name.keys())),
                        );
                    }
                    id
                })
                .collect::<Vec<_>>()
        });
        let pp = p.key("pod");
        let mut pod = PodTemplate::default();
        match &w.pod {
            None => c.err(&p, "missing [workload.pod] with `containers = [...]`"),
            Some(rp) => {
                for (init, list_key, cs) in
                    [(true, "init_containers", &rp.init_containers), (false, "containers", &rp.containers)]
                {
                    for (j, ct) in cs.iter().flatten().enumerate() {
                        let cp = pp.key(list_key).index(j, None);
                        let spec = container(c, &cp, ct, init, &set_by_name, &image_sets, &declared);
                        if init {
                            pod.init_containers.push(spec);
                        } else {
                            pod.containers.push(spec);
                        }
                    }
                }
                if pod.containers.is_empty() {
                    c.err(&pp, "a pod needs at least one container in `containers`");
                }
            }
        }
        // A preloaded-only image with no registry can be used only where it is always present
        // and never pulled.
        let allowed_pools: Vec<usize> = match &node_pools {
            Some(ids) => ids.iter().map(|id| id.idx()).collect(),
            None => (0..pools.len()).collect(),
        };
        for (list_key, cs) in [("init_containers", &pod.init_containers), ("containers", &pod.containers)] {
            for (j, ct) in cs.iter().enumerate() {
                let ContainerImage::Ref { raw: raw_image, image: Some(id) } = &ct.image else { continue };
                let Some(im) = images.get(id.idx()) else { continue };
                if im.registry.is_some() {
                    continue;
                }
                let policy = ct.pull_policy.unwrap_or_else(|| default_pull_policy(raw_image));
                let everywhere =
                    allowed_pools.iter().all(|&pi| pools.get(pi).is_some_and(|pl| pl.preloaded.contains(id)));
                if policy == PullPolicy::Always || !everywhere {
                    c.err(
                        &pp.key(list_key).index(j, None).key("image"),
                        format!(
                            "image {raw_image:?} may have to be pulled (policy {}, preloaded on {}) but no \
                             [[registry]] serves {:?} (registries defined: {})",
                            policy.as_str(),
                            if everywhere { "every eligible pool" } else { "only some pools" },
                            im.domain,
                            registry_hosts()
                        ),
                    );
                }
            }
        }
        workloads.push(WorkloadSpec {
            name,
            kind,
            start,
            image_pull_secrets,
            runtime_class: w.runtime_class.clone(),
            node_pools,
            pod,
        });
    }

    // [scheduler]
    let scheduler = match raw.scheduler.as_ref().and_then(|s| s.policy.as_deref()) {
        None | Some("spread") => SchedulerPolicy::Spread,
        Some("binpack") => SchedulerPolicy::Binpack,
        Some("image_locality") => SchedulerPolicy::ImageLocality,
        Some(other) => {
            c.err(
                &root.key("scheduler").key("policy"),
                format!("unknown scheduler policy {other:?}: expected spread, binpack or image_locality"),
            );
            SchedulerPolicy::Spread
        }
    };

    // [sweep]
    let sweep = raw.sweep.as_ref().map(|s| sweep_spec(c, s, doc, variant_check));

    if !ctx.issues.is_empty() {
        return Err(ctx.issues);
    }
    let mut node_pools = Vec::new();
    for d in pools {
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
            kubelet,
            max_pods: d.max_pods,
        });
    }
    Ok(Scenario {
        name,
        seed,
        until,
        sample_every,
        kubelet,
        runtime,
        node_pools,
        registries,
        images,
        image_sets,
        workloads,
        scheduler,
        sweep,
    })
}

fn container(
    c: &mut Ctx,
    cp: &KeyPath,
    ct: &RawContainer,
    init: bool,
    set_by_name: &BTreeMap<String, ImageSetId>,
    image_sets: &[ImageSetSpec],
    declared: &dyn Fn(&mut Ctx, &KeyPath, &str) -> Option<ImageId>,
) -> ContainerSpec {
    let image = match (&ct.image, &ct.image_set) {
        (Some(_), Some(_)) => {
            c.err(cp, "give either `image` or `image_set`, not both");
            None
        }
        (None, None) => {
            c.err(cp, "a container needs `image` (a reference) or `image_set` (a set name)");
            None
        }
        (Some(raw), None) => {
            for k in ["pick", "zipf_s"] {
                if (k == "pick" && ct.pick.is_some()) || (k == "zipf_s" && ct.zipf_s.is_some()) {
                    c.err(&cp.key(k), format!("`{k}` goes with `image_set`, not with `image`"));
                }
            }
            Some(ContainerImage::Ref { raw: raw.clone(), image: declared(c, &cp.key("image"), raw) })
        }
        (None, Some(set_name)) => {
            let set = set_by_name.get(set_name).copied();
            if set.is_none() {
                c.err(
                    &cp.key("image_set"),
                    format!(
                        "no image_set named {set_name:?} (sets: {})",
                        list(image_sets.iter().map(|s| s.name.as_str()))
                    ),
                );
            }
            let pick = match ct.pick.as_deref() {
                None | Some("sequential") => Pick::Sequential,
                Some("uniform") => Pick::Uniform,
                Some("zipf") => {
                    let s = match &ct.zipf_s {
                        None => {
                            c.err(cp, "pick = \"zipf\" needs `zipf_s` (the skew exponent, > 0)");
                            1.0
                        }
                        Some(v) => match c.plain_number(&cp.key("zipf_s"), v) {
                            Some(s) if s > 0.0 => s,
                            Some(s) => {
                                c.err(&cp.key("zipf_s"), format!("must be greater than 0, got {s}"));
                                1.0
                            }
                            None => 1.0,
                        },
                    };
                    Pick::Zipf { s }
                }
                Some(other) => {
                    c.err(
                        &cp.key("pick"),
                        format!("unknown pick {other:?}: expected sequential, uniform or zipf"),
                    );
                    Pick::Sequential
                }
            };
            if ct.zipf_s.is_some() && !matches!(pick, Pick::Zipf { .. }) {
                c.err(&cp.key("zipf_s"), "`zipf_s` only applies to pick = \"zipf\"");
            }
            set.map(|set| ContainerImage::Set { set, pick })
        }
    };
    let pull_policy = ct.pull_policy.as_deref().and_then(|s| {
        let p = PullPolicy::parse(s);
        if p.is_none() {
            c.err(
                &cp.key("pull_policy"),
                format!("unknown pull_policy {s:?}: expected Always, IfNotPresent or Never"),
            );
        }
        p
    });
    let run_for_ns = if init {
        Some(c.dist_or(&cp.key("run_for"), ct.run_for.as_ref(), Kind::Duration, Bound::NonNegative, 0.0))
    } else {
        if ct.run_for.is_some() {
            c.err(&cp.key("run_for"), "`run_for` only applies to init_containers");
        }
        None
    };
    ContainerSpec {
        image: image.unwrap_or(ContainerImage::Ref { raw: String::new(), image: None }),
        pull_policy,
        run_for_ns,
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

fn sweep_spec(
    c: &mut Ctx,
    s: &RawSweep,
    doc: &toml_edit::DocumentMut,
    variant_check: Option<VariantCheck<'_>>,
) -> SweepSpec {
    let p = KeyPath::root().key("sweep");
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
    // A grid value is an error only when every combination that contains it is invalid: a
    // grid may legitimately cross settings that are invalid together (the contract's own
    // example crosses serialize_image_pulls=true with max_parallel_image_pulls=4); the sweep
    // skips such variants and says so.
    let n_variants = grid.iter().map(|(_, v)| v.len()).product::<usize>();
    if let (Some(check), true) = (variant_check, !grid.is_empty() && n_variants <= MAX_CHECKED_VARIANTS) {
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
    SweepSpec { seeds, grid, baseline }
}
