//! The plan of a sweep: which variants run, on which seeds, in which order, and which runs a
//! shard owns. Pure data: no IO, no scenario loading (the runner checks each variant).
//!
//! Order is the contract of byte-identical output: variants in grid order (the first axis
//! varies slowest, like nested loops written in file order), seeds in ascending order within a
//! variant. Run `k` of the plan is variant `k / seeds`, seed index `k % seeds`; whatever runs
//! in parallel, results are collected and written in this order.
//!
//! Seeds: seed index `i` is `base + i`, where `base` is the scenario's `[simulation] seed`
//! (after `--set`). So a row of `runs.csv` is reproduced by `pullsim run FILE --seed S` with the
//! variant's `--set`s, and every variant runs on the same seeds (common random numbers).

use crate::scenario::overrides::parse_value;
use serde::{Deserialize, Serialize};

/// One grid axis: a dotted key and its values as TOML literal text (usable as `--set` values).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

/// One change a variant makes to the scenario before it is validated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Setting {
    /// `--set key=value`.
    Set { key: String, value: String },
    /// Remove the key (back to the kubelet's default), e.g. `max_parallel_image_pulls` for an
    /// unlimited parallel puller, which no value can express.
    Unset { key: String },
}

/// One combination of settings, run on every seed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    /// Short label used in tables, legends and the `variant` column.
    pub name: String,
    /// One display value per axis (the `runs.csv` columns), `unset` for a removed key.
    pub values: Vec<String>,
    pub settings: Vec<Setting>,
}

/// A grid combination that cannot run (the scenario rejects it), kept with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// What produced the plan: a `sweep` grid or `compare`'s fixed set of puller settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Sweep,
    Compare,
}

/// Everything that decides which runs exist and in which order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub kind: Kind,
    pub axes: Vec<Axis>,
    /// The variants that run, in plan order.
    pub variants: Vec<Variant>,
    pub skipped: Vec<Skipped>,
    /// Index into `variants` of the reference for paired differences.
    pub baseline: usize,
    pub seeds: Vec<u64>,
}

impl Plan {
    pub fn runs(&self) -> usize {
        self.variants.len() * self.seeds.len()
    }

    /// Run `k` as (variant index, seed index).
    pub fn run_at(&self, k: usize) -> (usize, usize) {
        (k / self.seeds.len(), k % self.seeds.len())
    }

    /// The runs (plan indices) of one shard, in plan order.
    pub fn shard_runs(&self, shard: Option<Shard>) -> Vec<usize> {
        (0..self.runs()).filter(|&k| shard.is_none_or(|s| s.owns(k))).collect()
    }
}

/// Slice `index` of `count` (0-based): run `k` belongs to shard `k mod count`. Round-robin
/// rather than contiguous blocks, so each shard gets a share of every variant and shards of an
/// expensive variant do not all land on one machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// Parses `I/N` with `0 <= I < N`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard {text:?}: expected I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    pub fn owns(&self, run: usize) -> bool {
        run % self.count as usize == self.index as usize
    }
}

/// Seeds `base, base + 1, ..., base + n - 1` (wrapping at u64::MAX).
pub fn seeds(base: u64, n: u32) -> Vec<u64> {
    (0..u64::from(n)).map(|i| base.wrapping_add(i)).collect()
}

/// Splits `V1,V2,...` at top-level commas: commas inside `[...]`, `{...}` or quotes belong to
/// a value (`--set 'kubelet.preloaded_images_verification_allowlist=[], ["a", "b"]'`).
pub fn split_values(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut cur = String::new();
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth -= 1,
            (None, ',') if depth <= 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur.trim().to_string());
    out
}

/// A value as shown in tables and CSV columns: TOML strings without their quotes.
pub fn display_value(v: &str) -> String {
    match parse_value(v) {
        toml_edit::Value::String(s) => s.value().clone(),
        _ => v.trim().to_string(),
    }
}

/// The axes of a sweep: the file's `[sweep] grid` in file order, with `--set` axes replacing
/// an axis of the same key in place or appended after them.
pub fn merge_axes(file_grid: &[(String, Vec<String>)], cli: Vec<Axis>) -> Vec<Axis> {
    let mut axes: Vec<Axis> =
        file_grid.iter().map(|(k, v)| Axis { key: k.clone(), values: v.clone() }).collect();
    for a in cli {
        match axes.iter_mut().find(|x| x.key == a.key) {
            Some(x) => x.values = a.values,
            None => axes.push(a),
        }
    }
    axes
}

/// Every combination of the axes (first axis slowest). No axes = one variant, `base`.
pub fn grid_variants(axes: &[Axis]) -> Vec<Variant> {
    let short = short_keys(axes);
    let mut out = vec![Variant { name: String::new(), values: Vec::new(), settings: Vec::new() }];
    for (axis, label) in axes.iter().zip(&short) {
        let mut next = Vec::with_capacity(out.len() * axis.values.len());
        for v in &out {
            for value in &axis.values {
                let mut w = v.clone();
                let shown = display_value(value);
                if !w.name.is_empty() {
                    w.name.push(' ');
                }
                w.name.push_str(&format!("{label}={shown}"));
                w.values.push(shown);
                w.settings.push(Setting::Set { key: axis.key.clone(), value: value.clone() });
                next.push(w);
            }
        }
        out = next;
    }
    if axes.is_empty() {
        out[0].name = "base".into();
    }
    out
}

/// Labels for axes: the last segment of the key when that is unambiguous, else the whole key.
fn short_keys(axes: &[Axis]) -> Vec<String> {
    let last = |k: &str| k.rsplit('.').next().unwrap_or(k).trim_matches('"').to_string();
    axes.iter()
        .map(|a| {
            let l = last(&a.key);
            if axes.iter().filter(|b| last(&b.key) == l).count() == 1 {
                l
            } else {
                a.key.clone()
            }
        })
        .collect()
}

/// The first variant whose axis values match every `baseline` pair; without a baseline, the
/// first variant.
pub fn find_baseline(
    axes: &[Axis],
    variants: &[Variant],
    baseline: &[(String, String)],
) -> Result<usize, String> {
    if variants.is_empty() {
        return Err("no variant to run".into());
    }
    let matches = |v: &Variant| {
        baseline.iter().all(|(k, want)| match axes.iter().position(|a| &a.key == k) {
            Some(i) => v.values[i] == display_value(want),
            None => true,
        })
    };
    variants.iter().position(matches).ok_or_else(|| {
        let text = baseline.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ");
        format!("no valid variant matches the baseline {text}")
    })
}

/// Axis keys of `compare`.
pub const SERIALIZE_KEY: &str = "kubelet.serialize_image_pulls";
pub const MAX_PARALLEL_KEY: &str = "kubelet.max_parallel_image_pulls";

/// `compare`'s variants: `serial` (the baseline, the kubelet default), `parallel-N` for each
/// limit, and `unlimited`. Each is applied to `[kubelet]` and to the `kubelet` override of every
/// pool in `pools_overriding` (pools whose own `kubelet` sets either key), so a per-pool
/// override cannot silently hide the comparison.
pub fn compare_variants(limits: &[u32], pools_overriding: &[String]) -> (Vec<Axis>, Vec<Variant>) {
    let make = |name: String, serialize: bool, max: Option<u32>| {
        let mut settings = Vec::new();
        let prefixes = std::iter::once("kubelet".to_string())
            .chain(pools_overriding.iter().map(|p| format!("node_pool.{p}.kubelet")));
        for prefix in prefixes {
            settings.push(Setting::Set {
                key: format!("{prefix}.serialize_image_pulls"),
                value: serialize.to_string(),
            });
            let key = format!("{prefix}.max_parallel_image_pulls");
            settings.push(match max {
                Some(m) => Setting::Set { key, value: m.to_string() },
                None => Setting::Unset { key },
            });
        }
        let values =
            vec![serialize.to_string(), max.map(|m| m.to_string()).unwrap_or_else(|| "unset".into())];
        Variant { name, values, settings }
    };
    let mut variants = vec![make("serial".into(), true, None)];
    for &m in limits {
        variants.push(make(format!("parallel-{m}"), false, Some(m)));
    }
    variants.push(make("unlimited".into(), false, None));
    let mut max_values: Vec<String> = limits.iter().map(u32::to_string).collect();
    max_values.push("unset".into());
    let axes = vec![
        Axis { key: SERIALIZE_KEY.into(), values: vec!["true".into(), "false".into()] },
        Axis { key: MAX_PARALLEL_KEY.into(), values: max_values },
    ];
    (axes, variants)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(k: &str, v: &[&str]) -> Axis {
        Axis { key: k.into(), values: v.iter().map(|s| s.to_string()).collect() }
    }

    #[test]
    fn grid_is_first_axis_slowest() {
        let axes =
            vec![axis("kubelet.serialize_image_pulls", &["true", "false"]), axis("x.y", &["1", "\"2\""])];
        let v = grid_variants(&axes);
        let names: Vec<&str> = v.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "serialize_image_pulls=true y=1",
                "serialize_image_pulls=true y=2",
                "serialize_image_pulls=false y=1",
                "serialize_image_pulls=false y=2"
            ]
        );
        assert_eq!(v[1].values, ["true", "2"]);
        assert_eq!(v[1].settings[1], Setting::Set { key: "x.y".into(), value: "\"2\"".into() });
        assert_eq!(grid_variants(&[])[0].name, "base");
    }

    #[test]
    fn ambiguous_short_labels_use_the_full_key() {
        let axes = vec![axis("registry.a.bandwidth", &["1"]), axis("node_pool.w.bandwidth", &["2"])];
        assert_eq!(grid_variants(&axes)[0].name, "registry.a.bandwidth=1 node_pool.w.bandwidth=2");
    }

    #[test]
    fn split_values_respects_brackets_and_quotes() {
        assert_eq!(split_values("1,2, 4"), ["1", "2", "4"]);
        assert_eq!(split_values("[1, 2], {a = 1, b = 2},\"x,y\""), ["[1, 2]", "{a = 1, b = 2}", "\"x,y\""]);
        assert_eq!(split_values("10Gbps"), ["10Gbps"]);
    }

    #[test]
    fn seeds_follow_the_scenario_seed() {
        assert_eq!(seeds(42, 3), [42, 43, 44]);
        assert_eq!(seeds(u64::MAX, 2), [u64::MAX, 0]);
    }

    #[test]
    fn shards_partition_the_plan() {
        let plan = Plan {
            kind: Kind::Sweep,
            axes: vec![],
            variants: grid_variants(&[axis("a", &["1", "2", "3"])]),
            skipped: vec![],
            baseline: 0,
            seeds: seeds(0, 5),
        };
        assert_eq!(plan.runs(), 15);
        assert_eq!(plan.run_at(7), (1, 2));
        let mut all: Vec<usize> = Vec::new();
        for i in 0..4 {
            let s = plan.shard_runs(Some(Shard { index: i, count: 4 }));
            assert!(s.windows(2).all(|w| w[0] < w[1]));
            all.extend(s);
        }
        all.sort_unstable();
        assert_eq!(all, (0..15).collect::<Vec<_>>());
        assert_eq!(plan.shard_runs(Some(Shard { index: 1, count: 4 })), [1, 5, 9, 13]);
        assert_eq!(plan.shard_runs(None).len(), 15);
    }

    #[test]
    fn shard_parsing() {
        assert_eq!(Shard::parse("0/4"), Ok(Shard { index: 0, count: 4 }));
        assert_eq!(Shard::parse(" 3 / 4 "), Ok(Shard { index: 3, count: 4 }));
        for bad in ["4/4", "1/0", "x/2", "2", "-1/2", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn baseline_is_the_first_matching_variant() {
        let axes = vec![axis("s", &["true", "false"]), axis("m", &["1", "2"])];
        let v = grid_variants(&axes);
        assert_eq!(find_baseline(&axes, &v, &[("s".into(), "false".into())]), Ok(2));
        assert_eq!(find_baseline(&axes, &v, &[]), Ok(0));
        // The serial+2 variant is invalid and was dropped; baseline still found.
        let valid: Vec<Variant> = v.into_iter().filter(|x| x.values != ["true", "2"]).collect();
        assert_eq!(find_baseline(&axes, &valid, &[("m".into(), "2".into())]), Ok(2));
        assert!(find_baseline(&axes, &valid[..1], &[("s".into(), "false".into())]).is_err());
    }

    #[test]
    fn merge_axes_replaces_in_place_and_appends() {
        let file = vec![("a".to_string(), vec!["1".to_string()]), ("b".to_string(), vec!["2".to_string()])];
        let axes = merge_axes(&file, vec![axis("b", &["5", "6"]), axis("c", &["x"])]);
        assert_eq!(axes, vec![axis("a", &["1"]), axis("b", &["5", "6"]), axis("c", &["x"])]);
    }

    #[test]
    fn compare_variants_cover_pool_overrides() {
        let (axes, v) = compare_variants(&[2, 4], &["gpu".to_string()]);
        let names: Vec<&str> = v.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["serial", "parallel-2", "parallel-4", "unlimited"]);
        assert_eq!(axes[1].values, ["2", "4", "unset"]);
        assert_eq!(v[0].values, ["true", "unset"]);
        assert!(v[3]
            .settings
            .contains(&Setting::Unset { key: "node_pool.gpu.kubelet.max_parallel_image_pulls".into() }));
        assert!(v[1].settings.contains(&Setting::Set {
            key: "node_pool.gpu.kubelet.serialize_image_pulls".into(),
            value: "false".into()
        }));
    }
}
