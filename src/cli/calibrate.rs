//! `pullsim calibrate EVENTS... --scenario FILE`: reads the observed pulls, has
//! `crate::calibrate` replay and fit them, and writes `calibration.json`,
//! `pulls-observed-vs-predicted.csv` and `scenario.toml` (the input with the fitted values, its
//! comments kept) into the results folder. Bad input is exit 2 with nothing written.

use super::args::CalibrateArgs;
use super::{check_out, read_scenario_file, results_error, CliError};
use crate::calibrate::search::{self, Param, Unit};
use crate::calibrate::{self, ErrorStats, Replay};
use crate::import::{self, Input};
use crate::report::Staging;
use crate::scenario::{self, overrides, Scenario};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A fitted error above this is reported as a poor fit.
const POOR_FIT_MAPE: f64 = 0.5;

pub(super) fn cmd_calibrate(a: CalibrateArgs) -> Result<(), CliError> {
    let bad = CliError::BadInput;
    let holdout = a.holdout.unwrap_or(0.0);
    if !(0.0..1.0).contains(&holdout) {
        return Err(bad(format!("--holdout {holdout}: a share of the pulls, 0 <= F < 1 (e.g. 0.25)")));
    }
    let file = a.scenario.display().to_string();
    let text = read_scenario_file(&a.scenario)?;
    let scn = scenario::load(&text, &file, &[]).map_err(|e| bad(e.to_string()))?;
    let out_dir =
        a.out.clone().unwrap_or_else(|| PathBuf::from("results").join(format!("{}-calibration", scn.name)));
    check_out(&out_dir, a.force)?;

    let paths: Vec<&Path> = a.events.iter().map(PathBuf::as_path).collect();
    let mut inputs = Vec::new();
    for (path, label) in paths.iter().zip(super::import::labels(&paths)) {
        let text = super::import::read_input(path, &label)?;
        inputs.push(Input { label, text, image_ref: None, dir_name: None });
    }
    let import::Observations { observed, nodes } = import::read_events(&inputs)
        .map_err(|errs| bad(errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: ")))?;
    let replay = calibrate::prepare(&text, &file, &observed, &nodes).map_err(bad)?;
    for n in &replay.notes {
        eprintln!("note: {n}");
    }
    let replay_scn = scenario::load(&replay.text, &file, &[]).map_err(|e| bad(e.to_string()))?;
    let params = params(&a.fit, &replay, &replay_scn)?;

    let observed_s: Vec<f64> = replay.pulls.iter().map(|p| p.observed_s).collect();
    let all: Vec<usize> = (0..replay.pulls.len()).collect();
    let (fit_on, held_out) = calibrate::split(&replay.pulls, holdout);
    let baseline = calibrate::predict(&replay, &[]).map_err(bad)?;
    let baseline_error = calibrate::errors(&observed_s, &baseline, &all);
    let mut failure = None;
    let (fitted, _, evals) = search::fit(&params, |ov| match calibrate::predict(&replay, ov) {
        Ok(pred) => Some(calibrate::errors(&observed_s, &pred, &fit_on).mape),
        Err(e) => {
            failure.get_or_insert(e);
            None
        }
    });
    if let Some(e) = failure {
        return Err(bad(format!("a fitted value does not apply:\n{e}")));
    }
    let fitted_ov = search::overrides(&fitted);
    let predicted = calibrate::predict(&replay, &fitted_ov).map_err(bad)?;
    let error = calibrate::errors(&observed_s, &predicted, &fit_on);
    let holdout_error = (!held_out.is_empty()).then(|| calibrate::errors(&observed_s, &predicted, &held_out));

    // The input scenario with the fitted values, by the same edit as --set (comments kept).
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| bad(format!("{file}: {e}")))?;
    let events_label = paths
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_string_lossy())
        .collect::<Vec<_>>()
        .join(", ");
    for ov in &fitted_ov {
        let path = overrides::apply(&mut doc, ov).map_err(|e| bad(format!("{}: {e}", ov.key)))?;
        crate::import::emit::set_comment(
            &mut doc,
            &path,
            &format!(
                "fitted by pullsim calibrate to {} observed pulls of {events_label} (MAPE {} before, {} after)",
                fit_on.len(),
                pct(baseline_error.mape),
                pct(error.mape)
            ),
        );
    }
    let why = poor_fit_reasons(&observed, &observed_s, &predicted, &error);
    let params_json: BTreeMap<&str, String> = fitted.iter().map(|p| (p.key.as_str(), p.text())).collect();
    let start_json: BTreeMap<&str, String> = params.iter().map(|p| (p.key.as_str(), p.text())).collect();
    let mut json = json!({
        "params": params_json,
        "start": start_json,
        "error": stats_json(&error),
        "baseline_error": stats_json(&baseline_error),
        "evaluations": evals,
        "nodes": replay.nodes,
        "notes": replay.notes,
    });
    if let Some(h) = &holdout_error {
        json["holdout_error"] = stats_json(h);
        json["holdout"] = json!(holdout);
    }
    if error.mape > POOR_FIT_MAPE {
        json["poor_fit"] = json!(why);
    }

    let staging = Staging::create(&out_dir, a.force).map_err(|e| results_error(&out_dir, e))?;
    let io = |e: std::io::Error| CliError::Other(format!("{}: writing results: {e}", out_dir.display()));
    let mut text_json = serde_json::to_string_pretty(&json).map_err(|e| CliError::Other(e.to_string()))?;
    text_json.push('\n');
    std::fs::write(staging.path().join("calibration.json"), text_json).map_err(io)?;
    std::fs::write(staging.path().join("pulls-observed-vs-predicted.csv"), csv_rows(&replay, &predicted))
        .map_err(io)?;
    std::fs::write(staging.path().join("scenario.toml"), doc.to_string()).map_err(io)?;
    crate::chart::calibration_charts(staging.path()).map_err(|e| CliError::Other(format!("charts: {e}")))?;
    std::fs::write(staging.path().join("command.txt"), format!("{}\n", super::sweep::command_line()))
        .map_err(io)?;
    if a.report {
        crate::report::html::write_report(staging.path())
            .map_err(|e| CliError::Other(format!("report: {e}")))?;
    }
    staging.commit().map_err(|e| results_error(&out_dir, e))?;

    if !a.quiet {
        println!(
            "calibrated on {} observed pull(s) ({} node(s), matched {}), {evals} runs",
            fit_on.len(),
            replay.nodes.len(),
            match replay.nodes.iter().filter(|(h, n)| nodes.get(*h) == Some(*n)).count() {
                0 => "in sorted order".to_string(),
                k if k == replay.nodes.len() => "by the Node documents given".to_string(),
                k => format!("{k} by the Node documents given, the rest in sorted order"),
            }
        );
        for (p, s) in fitted.iter().zip(&params) {
            println!("  {} = {}   (search started at {})", p.key, p.text(), s.text());
        }
        println!("  MAPE before {}, after {}", pct(baseline_error.mape), pct(error.mape));
        if let Some(h) = &holdout_error {
            println!("  held out: {} pulls, MAPE {}", h.n, pct(h.mape));
        }
        if error.mape > POOR_FIT_MAPE {
            println!("could not fit well: MAPE {} after fitting", pct(error.mape));
            for w in &why {
                println!("  likely: {w}");
            }
        }
        println!("wrote {}", out_dir.display());
    }
    Ok(())
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn stats_json(s: &ErrorStats) -> serde_json::Value {
    json!({
        "mape": round4(s.mape),
        "median_ape": round4(s.median_ape),
        "p90_ape": round4(s.p90_ape),
        "n": s.n,
        "not_predicted": s.not_predicted,
    })
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// The parameters to fit and their starting values (the scenario's, or a typical value where
/// the scenario's is unlimited or a distribution).
fn params(keys: &[String], replay: &Replay, scn: &Scenario) -> Result<Vec<Param>, CliError> {
    let keys: Vec<String> = if keys.is_empty() {
        // The registry whose pulls took the most observed time: the one the error depends on
        // most (on a cluster's own start, many small system pulls would otherwise choose).
        let mut time_ms: BTreeMap<&str, u64> = BTreeMap::new();
        for (h, p) in replay.hosts.iter().zip(&replay.pulls) {
            if let Some(h) = h {
                *time_ms.entry(h).or_default() += (p.observed_s * 1e3) as u64;
            }
        }
        let Some((host, _)) = time_ms.iter().max_by_key(|(h, n)| (**n, std::cmp::Reverse(**h))) else {
            return Err(CliError::BadInput(
                "no observed pull's image is served by a registry of the scenario".into(),
            ));
        };
        let mut keys = vec![
            format!("registry.{host}.per_connection"),
            "runtime.unpack_rate".into(),
            format!("registry.{host}.latency"),
        ];
        // The per-layer overhead only where images of different layer counts were pulled:
        // otherwise it is one more fixed cost per pull, which `latency` already is.
        if calibrate::layer_counts(replay, scn).len() > 1 {
            keys.push(OVERHEAD.into());
        }
        keys
    } else {
        keys.to_vec()
    };
    let mut out: Vec<Param> = Vec::new();
    for key in keys {
        if out.iter().any(|p| p.key == key) {
            continue;
        }
        let (unit, now, typical) = start_value(&key, scn).ok_or_else(|| {
            CliError::BadInput(format!(
                "--fit {key}: pullsim fits registry.HOST.per_connection, registry.HOST.latency, \
                 registry.HOST.bandwidth, runtime.unpack_rate, runtime.unpack_layer_overhead and \
                 node_pool.NAME.bandwidth, for a registry or pool of the scenario"
            ))
        })?;
        let value = match now.filter(|v| v.is_finite() && *v > 0.0) {
            Some(v) => v,
            None => {
                // Unlimited, 0 or a distribution: nothing to start from on a log scale.
                eprintln!(
                    "note: --fit {key}: the scenario's value is not a finite constant; the search starts at {}",
                    Param { key: key.clone(), unit, value: typical }.text()
                );
                typical
            }
        };
        out.push(Param { key, unit, value });
    }
    Ok(out)
}

/// The per-layer unpack overhead's key.
const OVERHEAD: &str = "runtime.unpack_layer_overhead";

/// A key's unit, its constant value in the scenario and a typical value to start from.
fn start_value(key: &str, scn: &Scenario) -> Option<(Unit, Option<f64>, f64)> {
    if key == "runtime.unpack_rate" {
        return Some((Unit::BytesPerS, scn.runtime.unpack_rate_bytes_per_s.as_constant(), 200e6));
    }
    if key == OVERHEAD {
        return Some((Unit::Seconds, Some(scn.runtime.unpack_layer_overhead.as_secs_f64()), 0.05));
    }
    if let Some(rest) = key.strip_prefix("registry.") {
        for r in &scn.registries {
            match rest.strip_prefix(r.host.as_str()) {
                Some(".per_connection") => {
                    return Some((Unit::BytesPerS, r.per_connection_bytes_per_s.as_constant(), 50e6))
                }
                Some(".bandwidth") => {
                    return Some((Unit::BytesPerS, r.bandwidth_bytes_per_s.as_constant(), 1e9))
                }
                Some(".latency") => {
                    return Some((Unit::Seconds, r.latency_ns.as_constant().map(|ns| ns / 1e9), 0.03))
                }
                _ => {}
            }
        }
    }
    if let Some(rest) = key.strip_prefix("node_pool.") {
        for p in &scn.node_pools {
            if rest.strip_prefix(p.name.as_str()) == Some(".bandwidth") {
                return Some((Unit::BytesPerS, p.bandwidth_bytes_per_s.as_constant(), 1e9));
            }
        }
    }
    None
}

/// Why the model likely cannot follow the data, where the data say so.
fn poor_fit_reasons(
    observed: &import::events::Observed,
    observed_s: &[f64],
    predicted: &[Option<f64>],
    error: &ErrorStats,
) -> Vec<String> {
    let mut why = Vec::new();
    if error.not_predicted > 0 {
        why.push(format!(
            "{} the model did not complete (the image preloaded, or the pull failed)",
            if error.not_predicted == 1 {
                "1 pull".to_string()
            } else {
                format!("{} pulls", error.not_predicted)
            }
        ));
    }
    if observed.pulls.iter().all(|p| p.size_bytes.is_none()) {
        why.push(
            "the events give no image sizes (kubelets before 1.30): the sizes are the scenario's, \
             perhaps assumed; import the images' manifests"
                .into(),
        );
    }
    // Time per compressed byte, per image (its median over pulls): if it differs by an order
    // of magnitude between images, durations follow something else than the compressed size
    // the events give (the container-chonks images: a few MB compressed, GBs unpacked).
    let mut per_image: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for p in &observed.pulls {
        if let Some(size) = p.size_bytes.filter(|s| *s > 0) {
            per_image.entry(p.image.as_str()).or_default().push(p.in_ns as f64 / 1e9 / size as f64);
        }
    }
    let medians: Vec<f64> = per_image
        .values_mut()
        .map(|v| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        })
        .collect();
    let (lo, hi) = medians.iter().fold((f64::INFINITY, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    if medians.len() >= 2 && lo > 0.0 && hi / lo > 10.0 {
        why.push(format!(
            "seconds per compressed byte differ {:.0}x between images: pull times follow something the \
             events do not give, such as the uncompressed size (unpacking)",
            hi / lo
        ));
    }
    // Do observed durations grow with what the model's grow with (sizes, contention)? On log
    // scales, so that one huge pull does not decide.
    let pairs: Vec<(f64, f64)> = observed_s
        .iter()
        .zip(predicted)
        .filter_map(|(o, p)| p.filter(|p| *p > 0.0 && *o > 0.0).map(|p| (o.ln(), p.ln())))
        .collect();
    if let Some(r) = correlation(&pairs) {
        if r < 0.5 {
            why.push(format!(
                "observed durations hardly follow the predicted ones (correlation {r:.2} on log scales): \
                 they grow with something the data do not give, e.g. uncompressed sizes (unpacking) \
                 where the events give compressed ones"
            ));
        }
    }
    why
}

fn correlation(xy: &[(f64, f64)]) -> Option<f64> {
    let n = xy.len() as f64;
    if xy.len() < 3 {
        return None;
    }
    let (mx, my) = (xy.iter().map(|p| p.0).sum::<f64>() / n, xy.iter().map(|p| p.1).sum::<f64>() / n);
    let sxy: f64 = xy.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xy.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let syy: f64 = xy.iter().map(|(_, y)| (y - my).powi(2)).sum();
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// `pod, node, image, observed_s, predicted_s`, one row per observed pull in replay order
/// (`predicted_s` empty where the model did not complete the pull).
fn csv_rows(replay: &Replay, predicted: &[Option<f64>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(["pod", "node", "image", "observed_s", "predicted_s"]);
    for (p, pred) in replay.pulls.iter().zip(predicted) {
        let _ = w.write_record([
            p.pod.as_str(),
            p.observed_node.as_str(),
            p.image.as_str(),
            &format!("{:.3}", p.observed_s),
            &pred.map(|s| format!("{s:.3}")).unwrap_or_default(),
        ]);
    }
    w.into_inner().unwrap_or_default()
}
