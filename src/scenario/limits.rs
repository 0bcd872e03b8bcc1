//! Up-front work estimate: how many nodes, pods, images, layer references and time-series
//! samples a scenario asks for, checked against documented limits before anything is
//! allocated per entity.
//!
//! Why: a typo such as `count = 1000000000000` or `sample_every = "1ns"` would otherwise be
//! accepted and then exhaust memory (or run for days) instead of failing with a message. The
//! estimate reads the raw document leniently (a value validation will reject counts as 0 here;
//! validation reports it), so it never fails itself and costs O(size of the file).
//!
//! The limits are deliberately far above any realistic cluster (Kubernetes supports 5,000
//! nodes and 150,000 pods) but low enough that a run at the limit fits in a few GB of memory.
//! Each can be raised in the file (`[limits] pods = 50_000_000`) or from the command line
//! (`--set limits.pods=50000000`).

use super::locate::KeyPath;
use super::raw::{RawLimits, RawScenario};
use super::validate::Issue;
use crate::units;
use toml::Value;

/// Default limits (see docs/scenario-format.md, `[limits]`).
pub const DEFAULT_MAX_NODES: u64 = 1_000_000;
pub const DEFAULT_MAX_PODS: u64 = 10_000_000;
pub const DEFAULT_MAX_IMAGES: u64 = 2_000_000;
pub const DEFAULT_MAX_LAYERS: u64 = 20_000_000;
pub const DEFAULT_MAX_SAMPLES: u64 = 10_000_000;

/// What a scenario asks for, with the key that contributes most to each total (where an error
/// about it is placed).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Estimate {
    pub nodes: u64,
    pub pods: u64,
    pub images: u64,
    /// Layer references summed over images (each image holds one per layer).
    pub layers: u64,
    /// Time-series rows at most: `until / sample_every`.
    pub samples: u64,
    nodes_at: Option<KeyPath>,
    pods_at: Option<KeyPath>,
    images_at: Option<KeyPath>,
    layers_at: Option<KeyPath>,
}

/// Estimated work and the limits it must stay under.
pub struct Checked {
    pub estimate: Estimate,
    pub issues: Vec<Issue>,
    /// The image estimate is over its limit: image sets must not be expanded member by member.
    pub too_many_images: bool,
}

fn int(v: Option<&Value>) -> u64 {
    match v {
        Some(Value::Integer(i)) if *i > 0 => *i as u64,
        _ => 0,
    }
}

/// A quantity in base units from a number, a unit string or a distribution table (its mean, or
/// its largest value where the mean could hide it). `None` when unreadable.
fn quantity(v: Option<&Value>, parse: fn(&str) -> Result<f64, String>, bare: f64) -> Option<f64> {
    let x = match v? {
        Value::Integer(i) => *i as f64 * bare,
        Value::Float(f) => f * bare,
        Value::String(s) => parse(s).ok()?,
        Value::Table(t) => {
            let q = |k: &str| quantity(t.get(k), parse, bare);
            match t.get("dist").and_then(Value::as_str)? {
                "constant" => q("value")?,
                "exponential" => q("mean")?,
                "uniform" => q("max")?,
                "lognormal" => {
                    let sigma = match t.get("sigma") {
                        Some(Value::Integer(i)) => *i as f64,
                        Some(Value::Float(f)) => *f,
                        _ => 0.0,
                    };
                    q("median")? * (sigma * sigma / 2.0).min(700.0).exp()
                }
                "empirical" => t
                    .get("values")?
                    .as_array()?
                    .iter()
                    .filter_map(|x| quantity(Some(x), parse, bare))
                    .fold(None, |m: Option<f64>, x| Some(m.map_or(x, |m| m.max(x))))?,
                _ => return None,
            }
        }
        _ => return None,
    };
    (x.is_finite() || x == f64::INFINITY).then_some(x.max(0.0))
}

fn seconds(v: Option<&Value>) -> Option<f64> {
    quantity(v, |s| units::parse_duration_ns(s).map(|ns| ns as f64), 1e9).map(|ns| ns / 1e9)
}

/// Saturating conversion of an estimate to a count.
fn count_of(x: f64) -> u64 {
    if x.is_nan() {
        0
    } else if x >= u64::MAX as f64 {
        u64::MAX
    } else {
        x.ceil() as u64
    }
}

/// Adds `n` to `total`, remembering `at` when it is the largest contribution so far.
fn add(total: &mut u64, biggest: &mut (u64, Option<KeyPath>), n: u64, at: KeyPath) {
    *total = total.saturating_add(n);
    if n > biggest.0 {
        *biggest = (n, Some(at));
    }
}

/// Estimates the work of a raw scenario.
pub fn estimate(raw: &RawScenario) -> Estimate {
    let root = KeyPath::root();
    let mut e = Estimate::default();
    let sim = raw.simulation.as_ref();
    let until_s = sim.and_then(|s| seconds(s.until.as_ref())).unwrap_or(86_400.0);
    let every_s = sim.and_then(|s| seconds(s.sample_every.as_ref())).unwrap_or(1.0);
    e.samples = if every_s > 0.0 { count_of(until_s / every_s).saturating_add(1) } else { 0 };

    // Nodes, per pool (for DaemonSets with a pool selector).
    let mut biggest = (0, None);
    let mut pool_nodes: Vec<(Option<&str>, u64)> = Vec::new();
    for (i, p) in raw.node_pool.iter().enumerate() {
        let n = int(p.count.as_ref());
        add(&mut e.nodes, &mut biggest, n, root.key("node_pool").index(i, p.name.as_deref()).key("count"));
        pool_nodes.push((p.name.as_deref(), n));
    }
    e.nodes_at = biggest.1;

    // Images and the layer references they hold.
    let (mut bi, mut bl) = ((0, None), (0, None));
    for (i, im) in raw.image.iter().enumerate() {
        let p = root.key("image").index(i, im.reference.as_deref());
        add(&mut e.images, &mut bi, 1, p.key("ref"));
        let layers = match &im.layers {
            Some(ls) => ls.len() as u64,
            None => int(im.layer_count.as_ref()).max(1),
        };
        add(&mut e.layers, &mut bl, layers, p.key("layers"));
    }
    for (i, s) in raw.image_set.iter().enumerate() {
        let p = root.key("image_set").index(i, s.name.as_deref());
        let n = int(s.count.as_ref());
        let per = int(s.layer_count.as_ref())
            .max(1)
            .saturating_add(s.base_layers.as_ref().map_or(0, |b| b.len() as u64));
        add(&mut e.images, &mut bi, n, p.key("count"));
        add(&mut e.layers, &mut bl, n.saturating_mul(per), p.key("count"));
    }
    for p in &raw.node_pool {
        e.images = e.images.saturating_add(p.preloaded.as_ref().map_or(0, |v| v.len() as u64));
    }
    (e.images_at, e.layers_at) = (bi.1, bl.1);

    // Pods, per workload kind. A DaemonSet has one per node of its pools (all: `None`).
    let all_nodes = e.nodes;
    let eligible = |names: Option<&Vec<String>>| -> u64 {
        match names {
            Some(names) => pool_nodes
                .iter()
                .filter(|(n, _)| n.is_some_and(|n| names.iter().any(|x| x == n)))
                .map(|(_, c)| *c)
                .fold(0u64, u64::saturating_add),
            None => all_nodes,
        }
    };
    let mut bp = (0, None);
    for (i, w) in raw.workload.iter().enumerate() {
        let p = root.key("workload").index(i, w.name.as_deref());
        let (n, at) = match w.kind.as_deref() {
            Some("deployment") => {
                // A rolling update replaces every pod once.
                let factor = if w.update.is_some() { 2 } else { 1 };
                (int(w.replicas.as_ref()).saturating_mul(factor), p.key("replicas"))
            }
            Some("batch") => (int(w.count.as_ref()), p.key("count")),
            Some("replay") => (w.pods.as_ref().map_or(0, |v| v.len() as u64), p.key("pods")),
            Some("poisson") => {
                let start_s = seconds(w.start.as_ref()).unwrap_or(0.0);
                let span = (until_s - start_s).max(0.0);
                let rate = quantity(w.rate.as_ref(), units::parse_rate_per_s, 1.0).unwrap_or(0.0);
                // Expected arrivals plus a generous margin: a bound a Poisson count is very
                // unlikely to exceed.
                let mean = rate * span;
                let by_rate = count_of(mean + 10.0 * mean.sqrt() + 10.0);
                match w.count.as_ref() {
                    Some(_) => (int(w.count.as_ref()).min(by_rate), p.key("count")),
                    None => (by_rate, p.key("rate")),
                }
            }
            Some("daemonset") => (eligible(w.node_pools.as_ref()), p.key("kind")),
            _ => (0, p.key("kind")),
        };
        add(&mut e.pods, &mut bp, n, at);
    }
    // A `[[prepull]]` is a DaemonSet too (`validate::prepull`).
    for (i, t) in raw.prepull.iter().enumerate() {
        let p = root.key("prepull").index(i, t.name.as_deref());
        let n = if t.enabled == Some(false) { 0 } else { eligible(t.node_pools.as_ref()) };
        add(&mut e.pods, &mut bp, n, p.key("node_pools"));
    }
    e.pods_at = bp.1;
    e
}

fn limit(v: Option<&Value>, default: u64, path: KeyPath, issues: &mut Vec<Issue>) -> u64 {
    match v {
        None => default,
        Some(Value::Integer(i)) if *i >= 1 => *i as u64,
        Some(other) => {
            issues.push(Issue {
                path: Some(path),
                message: format!("expected a positive integer (a limit), got `{other}`"),
            });
            default
        }
    }
}

/// Estimates the work and compares it with the limits of `[limits]` (or the defaults).
pub fn check(raw: &RawScenario) -> Checked {
    let e = estimate(raw);
    let lp = KeyPath::root().key("limits");
    let mut issues = Vec::new();
    let l = raw.limits.as_ref().cloned().unwrap_or_default();
    let RawLimits { nodes, pods, images, layers, samples } = &l;
    let max_nodes = limit(nodes.as_ref(), DEFAULT_MAX_NODES, lp.key("nodes"), &mut issues);
    let max_pods = limit(pods.as_ref(), DEFAULT_MAX_PODS, lp.key("pods"), &mut issues);
    let max_images = limit(images.as_ref(), DEFAULT_MAX_IMAGES, lp.key("images"), &mut issues);
    let max_layers = limit(layers.as_ref(), DEFAULT_MAX_LAYERS, lp.key("layers"), &mut issues);
    let max_samples = limit(samples.as_ref(), DEFAULT_MAX_SAMPLES, lp.key("samples"), &mut issues);
    let sim = KeyPath::root().key("simulation");
    let checks: [(&str, &str, u64, u64, Option<KeyPath>); 5] = [
        ("nodes", "nodes", e.nodes, max_nodes, e.nodes_at.clone()),
        (
            "pods",
            "pods (replicas, batch and poisson counts, daemonset pods on every node)",
            e.pods,
            max_pods,
            e.pods_at.clone(),
        ),
        (
            "images",
            "images (declared, image-set members, preloaded)",
            e.images,
            max_images,
            e.images_at.clone(),
        ),
        (
            "layers",
            "layer references (layers of every image, image-set members included)",
            e.layers,
            max_layers,
            e.layers_at.clone(),
        ),
        (
            "samples",
            "time-series samples (until / sample_every)",
            e.samples,
            max_samples,
            Some(sim.key(if raw.simulation.as_ref().is_some_and(|s| s.sample_every.is_some()) {
                "sample_every"
            } else {
                "until"
            })),
        ),
    ];
    for (key, what, n, max, at) in checks {
        if n > max {
            issues.push(Issue {
                path: at,
                message: format!(
                    "the scenario asks for about {n} {what}, above the limit of {max}: this would take \
                     too much memory or time. If it is intended, raise the limit with `[limits] {key} = {n}` \
                     or `--set limits.{key}={n}`"
                ),
            });
        }
    }
    let too_many_images = e.images > max_images || e.layers > max_layers;
    Checked { estimate: e, issues, too_many_images }
}
