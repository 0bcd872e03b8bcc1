//! Running a plan: load each variant once (skipping the ones the scenario rejects), then run
//! (variant, seed) pairs in parallel on a rayon pool of `jobs` threads and collect the results
//! in plan order, so the output does not depend on `jobs` or on scheduling.
//!
//! A run keeps only what the sweep files need: its summary (pooled and per workload), its two
//! exact peaks (at event resolution, not from the time series' samples) and its pods' startup
//! times. Memory is therefore
//! O(pods) per run, not O(pull attempts + samples).

use super::plan::{Setting, Skipped, Variant};
use crate::metrics::summary::{secs_ms, Summary};
use crate::metrics::workloads::WorkloadSummary;
use crate::metrics::NullSink;
use crate::model::RunOptions;
use crate::scenario::{self, Override, Scenario};
use rayon::prelude::*;
use toml_edit::{DocumentMut, Item};

/// What one run of the plan produced.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// Plan run index (variant-major, seed-minor).
    pub run: usize,
    pub summary: Summary,
    /// Most pull attempts in flight at once (event resolution).
    pub peak_pulls_in_flight: u64,
    /// Highest total registry egress held for any time, bytes per second (event resolution).
    pub peak_registry_egress_bytes_per_s: f64,
    /// Startup of every pod of the key workload that ran (of every pod that ran when there is
    /// no key workload), seconds (ms precision), in pod order.
    pub startups_s: Vec<f64>,
    /// `summary.json`'s facts beyond the contract's fields.
    pub pods_stale_digest: u64,
    pub gc_images_removed: u64,
    pub gc_bytes_freed: u64,
    pub gc_free_space_failed: u64,
    /// Per workload, in the variant's declaration order.
    pub workloads: Vec<WorkloadSummary>,
}

/// Removes a key that a variant unsets. Supported paths: `kubelet.KEY` and
/// `node_pool.NAME.kubelet.KEY` (what `compare` needs); anything else is an error.
fn unset(doc: &mut DocumentMut, key: &str) -> Result<(), String> {
    let (table_path, leaf) = key.rsplit_once('.').ok_or_else(|| format!("cannot unset `{key}`"))?;
    let table = if table_path == "kubelet" {
        doc.get_mut("kubelet")
    } else if let Some(pool) = table_path.strip_prefix("node_pool.").and_then(|r| r.strip_suffix(".kubelet"))
    {
        let name_is = |t: &dyn toml_edit::TableLike| t.get("name").and_then(|n| n.as_str()) == Some(pool);
        match doc.get_mut("node_pool") {
            Some(Item::ArrayOfTables(a)) => {
                a.iter_mut().find(|t| name_is(*t)).and_then(|t| t.get_mut("kubelet"))
            }
            _ => None,
        }
    } else {
        return Err(format!("cannot unset `{key}`: only kubelet keys can be unset"));
    };
    if let Some(t) = table.and_then(Item::as_table_like_mut) {
        t.remove(leaf);
    }
    Ok(())
}

/// The scenario of one variant: the fixed `--set`s, then the variant's settings. The file was
/// loaded whole (its `[sweep]` grid checked) before; a variant does not check the grid again.
pub fn load_variant(
    text: &str,
    file: &str,
    fixed: &[Override],
    variant: &Variant,
) -> Result<Scenario, scenario::ScenarioError> {
    let mut overrides = fixed.to_vec();
    let mut unsets = Vec::new();
    for s in &variant.settings {
        match s {
            Setting::Set { key, value } => {
                overrides.push(Override { key: key.clone(), value: value.clone() })
            }
            Setting::Unset { key } => unsets.push(key.as_str()),
        }
    }
    if unsets.is_empty() {
        return scenario::load_grid_unchecked(text, file, &overrides);
    }
    // Unsetting edits the text; a syntax error surfaces from `load` of the original text.
    let Ok(mut doc) = text.parse::<DocumentMut>() else {
        return scenario::load_grid_unchecked(text, file, &overrides);
    };
    for key in unsets {
        if let Err(message) = unset(&mut doc, key) {
            return Err(scenario::ScenarioError {
                file: file.to_string(),
                diagnostics: vec![scenario::Diagnostic { line: None, column: None, key: None, message }],
            });
        }
    }
    scenario::load_grid_unchecked(&doc.to_string(), file, &overrides)
}

/// Loads every variant on `jobs` threads (each parses the whole file); the ones the scenario
/// rejects are returned as skipped with the first problem (a grid may cross settings that are
/// invalid together). The order is the order of `variants`, whatever `jobs`.
pub fn prepare(
    text: &str,
    file: &str,
    fixed: &[Override],
    variants: Vec<Variant>,
    jobs: usize,
) -> (Vec<(Variant, Scenario)>, Vec<Skipped>) {
    let load = |v: &Variant| (v.clone(), load_variant(text, file, fixed, v));
    let loaded: Vec<_> = on_pool(jobs, || variants.par_iter().map(load).collect())
        // No threads to be had: load them here, one after another.
        .unwrap_or_else(|_| variants.iter().map(load).collect());
    let mut ok = Vec::new();
    let mut skipped = Vec::new();
    for (v, loaded) in loaded {
        match loaded {
            Ok(s) => ok.push((v, s)),
            Err(e) => {
                let reason = e
                    .diagnostics
                    .first()
                    .map(|d| match &d.key {
                        Some(k) if !d.message.starts_with("--set") => format!("key `{k}`: {}", d.message),
                        _ => d.message.clone(),
                    })
                    .unwrap_or_else(|| "invalid".into());
                skipped.push(Skipped { name: v.name.clone(), reason });
            }
        }
    }
    (ok, skipped)
}

/// Runs `f` on a rayon pool of `jobs` threads: what a command does after its runs (writing
/// files, drawing charts) gets the same parallelism as the runs.
pub fn on_pool<T: Send>(jobs: usize, f: impl FnOnce() -> T + Send) -> Result<T, String> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build().map_err(|e| e.to_string())?;
    Ok(pool.install(f))
}

/// Runs `a` and `b` at once on the current pool (`rayon::join`): what a command does after its
/// runs, such as writing files beside drawing a chart, in parallel like the runs.
pub fn both<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    rayon::join(a, b)
}

/// A run that panicked (a model bug): which one, so it can be reproduced with `pullsim run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunPanic {
    pub variant: String,
    pub seed: u64,
    pub message: String,
}

/// Runs `runs` (plan indices) of `scenarios` × `seeds` on `jobs` threads; results in the order
/// of `runs`, with the startups of `key_workload`'s pods. `finish` turns each result into what
/// the caller keeps, on the thread that ran it (formatting rows there keeps it off the serial
/// part after the runs); `progress` is called once per finished run (from any thread).
pub fn run_plan<T: Send>(
    scenarios: &[(Variant, Scenario)],
    seeds: &[u64],
    runs: &[usize],
    key_workload: Option<&str>,
    jobs: usize,
    finish: &(dyn Fn(RunResult) -> T + Sync),
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<T>, RunPanic> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build().map_err(|e| RunPanic {
        variant: String::new(),
        seed: 0,
        message: e.to_string(),
    })?;
    let one = |&k: &usize| -> Result<T, RunPanic> {
        let (v, s) = (k / seeds.len(), k % seeds.len());
        let (variant, scn) = &scenarios[v];
        let seed = seeds[s];
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut sink = NullSink;
            let out = crate::sim::run(scn, seed, &mut sink, RunOptions::default());
            let startups_s = out
                .pods
                .iter()
                .filter(|p| key_workload.is_none_or(|k| *p.workload == *k))
                .filter_map(|p| p.startup())
                .map(secs_ms)
                .collect();
            finish(RunResult {
                run: k,
                pods_stale_digest: out.pods_stale_digest(),
                summary: out.summary,
                peak_pulls_in_flight: out.peaks.pulls_in_flight,
                peak_registry_egress_bytes_per_s: out.peaks.registry_egress_bytes_per_s,
                startups_s,
                gc_images_removed: out.gc_images_removed,
                gc_bytes_freed: out.gc_bytes_freed,
                gc_free_space_failed: out.gc_free_space_failed,
                workloads: out.workloads,
            })
        }));
        progress();
        res.map_err(|p| RunPanic {
            variant: variant.name.clone(),
            seed,
            message: p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default(),
        })
    };
    pool.install(|| runs.par_iter().map(one).collect::<Vec<_>>()).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOLS: &str = r#"
[kubelet]
serialize_image_pulls = false
max_parallel_image_pulls = 4

[[node_pool]]
name = "a"
kubelet = { max_parallel_image_pulls = 2 }

[[node_pool]]
name = "b"
"#;

    #[test]
    fn unset_removes_kubelet_and_pool_keys_only() {
        let mut doc: DocumentMut = POOLS.parse().unwrap();
        unset(&mut doc, "kubelet.max_parallel_image_pulls").unwrap();
        unset(&mut doc, "node_pool.a.kubelet.max_parallel_image_pulls").unwrap();
        // A pool without a kubelet table, or a key not present: nothing to do.
        unset(&mut doc, "node_pool.b.kubelet.max_parallel_image_pulls").unwrap();
        let text = doc.to_string();
        assert!(!text.contains("max_parallel_image_pulls"), "{text}");
        assert!(text.contains("serialize_image_pulls = false"));
        assert!(unset(&mut doc, "registry.x.bandwidth").is_err());
    }
}
