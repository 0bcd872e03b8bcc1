//! The answer section of `report.html` for a `pullsim calibrate` folder, from
//! `calibration.json`: the fitted values beside where the search started, the error before
//! fitting, after it and on the held-out pulls, and, for a poor fit, the likely reasons.

use super::html::{cell, esc};
use std::fmt::Write as _;

/// Writes the answer of a calibration into `h`.
pub(super) fn answer(h: &mut String, json: &str) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("calibration.json: not valid JSON: {e}"))?;
    let obj = |k: &str| v.get(k).and_then(|x| x.as_object());
    h.push_str("<p>Fitted so that the model's pull durations match the kubelet's \"in X\" as closely as it can:</p>\n");
    h.push_str("<table>\n<tr><th>parameter</th><th>fitted</th><th>search started at</th></tr>\n");
    for (k, fitted) in obj("params").into_iter().flatten() {
        let start = v.get("start").and_then(|s| s.get(k));
        let _ = writeln!(
            h,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(k),
            cell(Some(fitted)),
            cell(start)
        );
    }
    h.push_str("</table>\n");
    h.push_str("<p>Absolute percentage error of predicted against observed durations:</p>\n<table>\n");
    h.push_str("<tr><th></th><th>pulls</th><th>mean</th><th>median</th><th>90th percentile</th><th>not predicted</th></tr>\n");
    for (key, label) in [
        ("baseline_error", "before fitting (all pulls)"),
        ("error", "after fitting (pulls fitted on)"),
        ("holdout_error", "after fitting (held-out pulls)"),
    ] {
        let Some(e) = v.get(key) else { continue };
        let pct = |k: &str| {
            e.get(k).and_then(|x| x.as_f64()).map_or("–".into(), |x| format!("{:.1}%", x * 100.0))
        };
        let _ = writeln!(
            h,
            "<tr><th>{label}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            cell(e.get("n")),
            pct("mape"),
            pct("median_ape"),
            pct("p90_ape"),
            cell(e.get("not_predicted"))
        );
    }
    h.push_str("</table>\n");
    if let Some(why) = v.get("poor_fit").and_then(|w| w.as_array()).filter(|w| !w.is_empty()) {
        h.push_str("<p class=\"fail\">The model could not fit these pulls well. Likely:</p>\n<ul>\n");
        for w in why {
            let _ = writeln!(h, "<li>{}</li>", cell(Some(w)));
        }
        h.push_str("</ul>\n");
    }
    if let Some(notes) = v.get("notes").and_then(|n| n.as_array()).filter(|n| !n.is_empty()) {
        h.push_str("<p class=\"note\">Notes:</p>\n<ul class=\"note\">\n");
        for n in notes {
            let _ = writeln!(h, "<li>{}</li>", cell(Some(n)));
        }
        h.push_str("</ul>\n");
    }
    let nodes = obj("nodes").map_or(0, |n| n.len());
    let _ = writeln!(
        h,
        "<p class=\"note\">{nodes} observed nodes replayed (the match is <code>nodes</code> in calibration.json); \
         the setup below is the scenario with the fitted values.</p>"
    );
    Ok(())
}
