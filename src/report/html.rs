//! `report.html`: one self-contained page about a results folder (a run, or a sweep or
//! compare) that can be handed to someone who will not open a CSV. Everything is inline (CSS,
//! the charts' SVG); nothing is fetched. The page is built from the folder's files only, so
//! `pullsim report DIR` gives the same page whenever it is run on the same folder.
//!
//! Sections: the scenario's question (its `# Question:` comment), the answer (the run's SLO
//! verdicts, summary and per-workload lines, the sweep's variants with their intervals and
//! SLO verdicts, or a calibration's fitted values and errors: `calibration`), the setup as the scenario states it (pools, registries, images, kubelet and
//! runtime tables, and the command's `--set` overrides), the charts, and the command that
//! reproduces it.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The report's file name in a results folder.
pub const REPORT_FILE: &str = "report.html";

/// Writes `dir/report.html` (atomically: a temporary file renamed over it) and returns its path.
pub fn write_report(dir: &Path) -> Result<PathBuf, String> {
    let html = render(dir)?;
    let path = dir.join(REPORT_FILE);
    let tmp = dir.join(format!(".{REPORT_FILE}.tmp-{}", std::process::id()));
    fs::write(&tmp, html).map_err(|e| format!("writing {}: {e}", tmp.display()))?;
    fs::rename(&tmp, &path).map_err(|e| format!("renaming {} to {}: {e}", tmp.display(), path.display()))?;
    Ok(path)
}

/// What kind of results folder `dir` is.
enum Folder {
    Run,
    Sweep,
    /// `pullsim plan`: `plan.json` and the runs it made.
    Plan,
    /// `pullsim calibrate`: `calibration.json`, the fitted scenario and the chart.
    Calibration,
}

fn kind_of(dir: &Path) -> Result<Folder, String> {
    if dir.join("plan.json").exists() {
        Ok(Folder::Plan)
    } else if dir.join("calibration.json").exists() {
        Ok(Folder::Calibration)
    } else if dir.join("sweep.json").exists() {
        if !dir.join("variants.csv").exists() {
            return Err("a shard folder (no variants.csv): merge the shards first".into());
        }
        Ok(Folder::Sweep)
    } else if dir.join("summary.json").exists() {
        Ok(Folder::Run)
    } else {
        Err("neither a run folder (summary.json), a sweep folder (sweep.json), a plan folder (plan.json) \
             nor a calibration folder (calibration.json)"
            .into())
    }
}

/// The whole page.
pub fn render(dir: &Path) -> Result<String, String> {
    let kind = kind_of(dir)?;
    let read = |name: &str| fs::read_to_string(dir.join(name)).map_err(|e| format!("{name}: {e}"));
    let scenario_text = read("scenario.toml")?;
    let command = read("command.txt").unwrap_or_default();
    let doc: toml::Table =
        scenario_text.parse().map_err(|e| format!("scenario.toml: not valid TOML: {e}"))?;
    let name = doc
        .get("simulation")
        .and_then(|s| s.get("name"))
        .and_then(|n| n.as_str())
        .unwrap_or("scenario")
        .to_string();

    let mut h = String::new();
    let kind_word = match kind {
        Folder::Run => "run",
        Folder::Sweep => "comparison",
        Folder::Plan => "plan",
        Folder::Calibration => "calibration",
    };
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>pullsim {kind_word}: {t}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <h1>{t} <span class=\"kind\">{kind_word}</span></h1>\n",
        t = esc(&name)
    );
    // A calibration answers its own question, whatever the scenario it fitted asks.
    let scenario_question = match kind {
        Folder::Calibration => Some(
            "which registry and runtime values make the model's pull durations match the ones the \
             kubelet's events recorded, and how close do they come?"
                .to_string(),
        ),
        _ => question(&scenario_text),
    };
    match scenario_question {
        Some(q) => {
            let _ = writeln!(h, "<p class=\"question\"><b>Question.</b> {}</p>", esc(&q));
        }
        None => h.push_str("<p class=\"note\">The scenario states no question (a <code># Question:</code> comment at its top).</p>\n"),
    }
    h.push_str("<h2>Answer</h2>\n");
    match kind {
        Folder::Run => run_answer(&mut h, &read("summary.json")?)?,
        Folder::Sweep => sweep_answer(&mut h, &read("variants.csv")?)?,
        Folder::Plan => plan_answer(&mut h, &read("plan.json")?)?,
        Folder::Calibration => super::calibration::answer(&mut h, &read("calibration.json")?)?,
    }
    h.push_str("<h2>Setup</h2>\n");
    setup(&mut h, &doc, &command);
    charts(&mut h, dir)?;
    let _ = write!(
        h,
        "<h2>Reproduce</h2>\n<pre>{}</pre>\n<p class=\"note\">pullsim {}; the scenario file as run is \
         <code>scenario.toml</code> in this folder. Same scenario and seed, same numbers.</p>\n\
         </body>\n</html>\n",
        esc(command.trim()),
        env!("CARGO_PKG_VERSION")
    );
    Ok(h)
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;\
padding:0 1em;color:#222;line-height:1.45}h1 .kind{font-size:.55em;color:#666;font-weight:normal}\
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.8em}\
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #ccc;\
padding:.25em .5em;text-align:left;vertical-align:top}td.n{text-align:right;\
font-variant-numeric:tabular-nums}th{background:#f3f3f3}.question{font-size:1.1em;\
background:#f6f8fa;padding:.8em;border-left:4px solid #4a7}.note{color:#666;font-size:.9em}\
.pass{background:#e3f4e3}.fail{background:#f9dddd}figure{margin:1em 0}\
figure svg{max-width:100%;height:auto}figcaption{color:#666;font-size:.9em}\
pre{background:#f6f8fa;padding:.6em;white-space:pre-wrap}";

/// HTML-escapes text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The `# Question:` comment at the top of a scenario, with its indented continuation lines,
/// as one paragraph.
pub fn question(text: &str) -> Option<String> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with("# Question:"));
    let first = lines.next()?.trim_start_matches("# Question:").trim().to_string();
    let mut q = first;
    // Continuations are indented under the label: `#   more words`.
    for rest in lines.map_while(|l| l.strip_prefix("#   ")) {
        q.push(' ');
        q.push_str(rest.trim());
    }
    Some(q)
}

/// A run's answer: the pooled summary, then a line per workload when the summary has them.
fn run_answer(h: &mut String, summary: &str) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(summary).map_err(|e| format!("summary.json: not valid JSON: {e}"))?;
    if let Some(slos) = v.get("slos").and_then(|s| s.as_array()).filter(|s| !s.is_empty()) {
        slo_table(h, slos);
    }
    if let Some(w) = v.get("workloads").and_then(|w| w.as_object()).filter(|w| !w.is_empty()) {
        h.push_str("<p>Per workload (percentiles over that workload's pods that ran):</p>\n");
        let cols: Vec<&String> =
            w.values().find_map(|m| m.as_object()).map(|m| m.keys().collect()).unwrap_or_default();
        h.push_str("<table>\n<tr><th>workload</th>");
        for c in &cols {
            let _ = write!(h, "<th>{}</th>", esc(c));
        }
        h.push_str("</tr>\n");
        for (name, m) in w {
            let _ = write!(h, "<tr><td>{}</td>", esc(name));
            for c in &cols {
                let _ = write!(h, "<td class=\"n\">{}</td>", cell(m.get(c.as_str())));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</table>\n<p>All pods together (mixing workloads; read the lines above first):</p>\n");
    }
    h.push_str("<table>\n");
    // The contract's summary fields but those that describe the run rather than answer it.
    let pooled =
        crate::experiment::SUMMARY_FIELDS.iter().filter(|k| !matches!(**k, "seed" | "events" | "sim_end_s"));
    for k in pooled {
        if let Some(x) = v.get(k) {
            let _ = writeln!(h, "<tr><th>{k}</th><td class=\"n\">{}</td></tr>", cell(Some(x)));
        }
    }
    h.push_str("</table>\n");
    Ok(())
}

/// The SLO verdicts of a run (`summary.json` `slos`): one row per SLO, the verdict coloured.
fn slo_table(h: &mut String, slos: &[serde_json::Value]) {
    h.push_str("<p>Service level objectives (the scenario's <code>[[slo]]</code> tables):</p>\n<table>\n");
    h.push_str("<tr><th>workload</th><th>metric</th><th>bound</th><th>value</th><th>verdict</th></tr>\n");
    for s in slos {
        let text = |k: &str| s.get(k).and_then(|x| x.as_str()).map(esc).unwrap_or_default();
        let pass = s.get("pass").and_then(|p| p.as_bool()).unwrap_or(false);
        let (class, word) = if pass { ("pass", "PASS") } else { ("fail", "FAIL") };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"{class}\">{word}</td></tr>",
            text("workload"),
            text("metric"),
            text("bound"),
            cell(s.get("value")),
        );
    }
    h.push_str("</table>\n");
}

/// A JSON value as a table cell: numbers as printed, null as "–", lists joined.
pub(super) fn cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "–".into(),
        Some(serde_json::Value::String(s)) => esc(s),
        Some(serde_json::Value::Array(a)) => a.iter().map(|x| cell(Some(x))).collect::<Vec<_>>().join(", "),
        Some(x) => esc(&x.to_string()),
    }
}

/// A sweep's answer: each variant with its key metrics as mean [95% CI], the paired
/// difference against the baseline where significant, and any column that is not a metric
/// (the grid values, `baseline`, `seeds`, verdicts) as written.
fn sweep_answer(h: &mut String, variants: &str) -> Result<(), String> {
    let mut r = csv::Reader::from_reader(variants.as_bytes());
    let header: Vec<String> =
        r.headers().map_err(|e| format!("variants.csv: {e}"))?.iter().map(str::to_string).collect();
    let rows: Vec<Vec<String>> = r
        .records()
        .map(|rec| rec.map(|x| x.iter().map(str::to_string).collect()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("variants.csv: {e}"))?;
    // A metric is a `<m>_mean` column with its `_ci95_low` and `_ci95_high` beside it.
    let metrics: Vec<&str> = header
        .iter()
        .filter_map(|c| c.strip_suffix("_mean"))
        .filter(|m| !m.ends_with("_diff"))
        .filter(|m| header.iter().any(|c| *c == format!("{m}_ci95_low")))
        .collect();
    let is_metric_col = |c: &str| metrics.iter().any(|m| c.starts_with(&format!("{m}_")));
    let plain: Vec<usize> = (0..header.len()).filter(|&i| !is_metric_col(&header[i])).collect();
    let col = |name: &str| header.iter().position(|c| c == name);
    h.push_str("<table>\n<tr>");
    for &i in &plain {
        let _ = write!(h, "<th>{}</th>", esc(&header[i]));
    }
    for m in &metrics {
        let _ = write!(h, "<th>{}</th>", esc(m));
    }
    h.push_str("</tr>\n");
    for row in &rows {
        h.push_str("<tr>");
        for &i in &plain {
            let class = match (header[i].as_str(), row[i].as_str()) {
                (c, "PASS" | "true") if c.starts_with("slo") => " class=\"pass\"",
                (c, "FAIL" | "false") if c.starts_with("slo") => " class=\"fail\"",
                _ => "",
            };
            let _ = write!(h, "<td{class}>{}</td>", esc(&row[i]));
        }
        for m in &metrics {
            let get = |suffix: &str| col(&format!("{m}{suffix}")).map(|i| row[i].as_str()).unwrap_or("");
            let (mean, lo, hi) = (get("_mean"), get("_ci95_low"), get("_ci95_high"));
            let mut text =
                if lo.is_empty() || lo == hi { mean.to_string() } else { format!("{mean} [{lo}, {hi}]") };
            if get("_diff_significant") == "true" {
                let _ = write!(text, "; vs baseline {} *", get("_diff_mean"));
            }
            let _ = write!(h, "<td class=\"n\">{}</td>", esc(&text));
        }
        h.push_str("</tr>\n");
    }
    h.push_str(
        "</table>\n<p class=\"note\">mean [95% confidence interval] over the seeds; \
         \"vs baseline … *\": the paired difference against the baseline variant, marked where \
         it is significant (docs/reading-results.md).</p>\n",
    );
    Ok(())
}

/// A plan's answer: the cheapest variant meeting every SLO (or that none does), the SLOs,
/// every variant evaluated with its seeds passing per SLO, any warning, and the runs made
/// against the full grid's.
fn plan_answer(h: &mut String, plan: &str) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(plan).map_err(|e| format!("plan.json: not valid JSON: {e}"))?;
    // `key=value` in axis order (a parsed JSON object has its keys sorted).
    let keys: Vec<&str> =
        v["axes"].as_array().into_iter().flatten().filter_map(|a| a["key"].as_str()).collect();
    let pairs = |x: &serde_json::Value| -> String {
        let Some(m) = x.as_object() else { return String::new() };
        let ordered: Vec<&String> = match keys.len() == m.len() && keys.iter().all(|k| m.contains_key(*k)) {
            true => keys.iter().filter_map(|k| m.get_key_value(*k).map(|(k, _)| k)).collect(),
            false => m.keys().collect(),
        };
        ordered
            .iter()
            .map(|k| format!("{k}={}", m[k.as_str()].as_str().unwrap_or("")))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let slos: Vec<String> = v["slos"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let share = s["seeds_passing_pct"].as_u64().unwrap_or(100);
                    let share =
                        if share == 100 { "every seed".to_string() } else { format!("{share}% of seeds") };
                    format!(
                        "{} {} {} in {share}",
                        s["workload"].as_str().unwrap_or(""),
                        s["metric"].as_str().unwrap_or(""),
                        s["bound"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    match v["best"].is_object() {
        true => {
            let _ = writeln!(
                h,
                "<p class=\"question pass\"><b>Cheapest variant meeting every SLO:</b> <code>{}</code></p>",
                esc(&pairs(&v["best"]))
            );
        }
        false => {
            h.push_str("<p class=\"question fail\"><b>No variant of the grid meets every SLO.</b></p>\n")
        }
    }
    h.push_str("<p>SLOs:</p>\n<ul>\n");
    for (k, s) in slos.iter().enumerate() {
        let _ = writeln!(h, "<li>slo{}: {}</li>", k + 1, esc(s));
    }
    h.push_str("</ul>\n");
    if let Some(also) = v["also"].as_array().filter(|a| !a.is_empty()) {
        let list: Vec<String> = also.iter().map(|x| format!("<code>{}</code>", esc(&pairs(x)))).collect();
        let _ = writeln!(
            h,
            "<p>As cheap (the same total rank) and also meeting every SLO: {}</p>",
            list.join(", ")
        );
    }
    for w in v["warnings"].as_array().into_iter().flatten() {
        let _ = writeln!(h, "<p class=\"fail\"><b>Warning:</b> {}</p>", esc(w.as_str().unwrap_or("")));
    }
    h.push_str(
        "<p>Variants evaluated, in the order the search decided them (per SLO: seeds passing / seeds \
         run, and the worst value; a variant stops once its verdict is settled):</p>\n<table>\n<tr><th>variant</th>",
    );
    for k in 1..=slos.len() {
        let _ = write!(h, "<th>slo{k}</th>");
    }
    h.push_str("<th>verdict</th></tr>\n");
    for e in v["evaluated"].as_array().into_iter().flatten() {
        let _ = write!(h, "<tr><td>{}</td>", esc(e["variant"].as_str().unwrap_or("")));
        for s in e["slos"].as_array().into_iter().flatten() {
            let class = match s["verdict"].as_str() {
                Some("pass") => " pass",
                Some("fail") => " fail",
                _ => "",
            };
            let worst = match s["worst"].as_f64() {
                Some(w) => format!(", worst {w}"),
                None => String::new(),
            };
            let _ = write!(
                h,
                "<td class=\"n{class}\">{}/{}{worst}</td>",
                s["seeds_passing"].as_u64().unwrap_or(0),
                s["seeds_run"].as_u64().unwrap_or(0)
            );
        }
        let (class, word) = match (e["invalid"].is_string(), e["pass"].as_bool()) {
            (true, _) => ("fail", "invalid"),
            (false, Some(true)) => ("pass", "PASS"),
            _ => ("fail", "FAIL"),
        };
        let _ = writeln!(h, "<td class=\"{class}\">{word}</td></tr>");
    }
    let _ = writeln!(
        h,
        "</table>\n<p class=\"note\">{} runs made; the full grid would take {}. The search assumes \
         that a costlier value (later in an axis) never does worse, and checks the answer\'s \
         neighbours (docs/slo-and-plan.md).</p>",
        v["runs"].as_u64().unwrap_or(0),
        v["grid_runs"].as_u64().unwrap_or(0)
    );
    Ok(())
}

/// The setup as the scenario states it: each table of the document, with the command's
/// `--set` overrides listed after.
fn setup(h: &mut String, doc: &toml::Table, command: &str) {
    for (key, title) in [("kubelet", "Kubelet"), ("runtime", "Container runtime")] {
        if let Some(t) = doc.get(key).and_then(|t| t.as_table()) {
            let _ = writeln!(h, "<h3>{title}</h3>");
            key_values(h, t);
        }
    }
    for (key, title, name_key) in [
        ("node_pool", "Node pools", "name"),
        ("registry", "Registries", "host"),
        ("image", "Images", "ref"),
        ("workload", "Workloads", "name"),
        ("prepull", "Pre-pulls", "name"),
    ] {
        let Some(items) = doc.get(key).and_then(|t| t.as_array()) else { continue };
        let _ = writeln!(h, "<h3>{title}</h3>\n<table>");
        for item in items.iter().filter_map(|i| i.as_table()) {
            let name = item.get(name_key).and_then(|n| n.as_str()).unwrap_or("?");
            let rest: Vec<String> = item
                .iter()
                .filter(|(k, _)| k.as_str() != name_key)
                .map(|(k, v)| format!("{k} = {}", inline(v)))
                .collect();
            let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(name), esc(&rest.join("; ")));
        }
        h.push_str("</table>\n");
    }
    let words: Vec<&str> = command.split_whitespace().collect();
    let sets: Vec<&str> = words.windows(2).filter(|w| w[0] == "--set").map(|w| w[1]).collect();
    if !sets.is_empty() {
        let _ = writeln!(h, "<p>Overridden by the command: <code>{}</code></p>", esc(&sets.join(" ")));
    }
}

fn key_values(h: &mut String, t: &toml::Table) {
    h.push_str("<table>\n");
    for (k, v) in t {
        let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&inline(v)));
    }
    h.push_str("</table>\n");
}

/// A TOML value on one line, as it would be written.
fn inline(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Table(t) => {
            let parts: Vec<String> = t.iter().map(|(k, v)| format!("{k} = {}", inline(v))).collect();
            format!("{{ {} }}", parts.join(", "))
        }
        toml::Value::Array(a) => format!("[{}]", a.iter().map(inline).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// Every chart of the folder (its `.svg` files, by name), inline.
fn charts(h: &mut String, dir: &Path) -> Result<(), String> {
    let mut svgs: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .collect();
    svgs.sort();
    h.push_str("<h2>Charts</h2>\n");
    if svgs.is_empty() {
        h.push_str(
            "<p class=\"note\">No charts in this folder (<code>pullsim chart DIR</code> draws them).</p>\n",
        );
    }
    for p in svgs {
        let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        // The SVG starts at its root element; an XML prolog has no place inside HTML.
        let start = text.find("<svg").ok_or_else(|| format!("{}: not an SVG image", p.display()))?;
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let _ =
            writeln!(h, "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>", &text[start..], esc(&name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_question_is_the_comment_and_its_continuations() {
        let text = "# Question: how long does a\n#   rollout take?\n# Demonstrates: x\n[simulation]\n";
        assert_eq!(question(text).as_deref(), Some("how long does a rollout take?"));
        assert_eq!(question("[simulation]\nname = \"x\"\n"), None);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc("a<b & \"c\"'"), "a&lt;b &amp; &quot;c&quot;&#39;");
    }

    #[test]
    fn a_run_answer_gives_each_slo_verdict() {
        let summary = r#"{"pods": 3, "slos": [
            {"workload": "web", "metric": "startup_p99_s", "bound": "<= 60 s", "value": 41.2, "pass": true},
            {"workload": "web", "metric": "makespan_s", "bound": "<= 30 s", "value": null, "pass": false}]}"#;
        let mut h = String::new();
        run_answer(&mut h, summary).unwrap();
        assert!(
            h.contains("<td>web</td><td>startup_p99_s</td><td>&lt;= 60 s</td><td class=\"n\">41.2</td><td class=\"pass\">PASS</td>"),
            "{h}"
        );
        assert!(h.contains("<td class=\"n\">–</td><td class=\"fail\">FAIL</td>"), "{h}");
        let mut h = String::new();
        run_answer(&mut h, r#"{"pods": 3, "slos": []}"#).unwrap();
        assert!(!h.contains("Service level objectives"), "{h}");
    }

    #[test]
    fn a_plan_answer_names_the_variant_and_its_evidence() {
        let plan = r#"{"axes": [{"key": "kubelet.max_parallel_image_pulls", "values": ["1", "2", "3"]}],
            "slos": [{"workload": "web", "metric": "startup_p99_s", "bound": "<= 60 s", "seeds_passing_pct": 100}],
            "feasible": true, "best": {"kubelet.max_parallel_image_pulls": "3"}, "also": [], "runs": 41, "grid_runs": 200,
            "evaluated": [
              {"variant": "kubelet.max_parallel_image_pulls=5", "pass": true, "invalid": null, "runs": 20,
               "slos": [{"seeds_passing": 20, "seeds_run": 20, "verdict": "pass"}]},
              {"variant": "kubelet.max_parallel_image_pulls=2", "pass": false, "invalid": null, "runs": 8,
               "slos": [{"seeds_passing": 7, "seeds_run": 8, "worst": 61.5, "verdict": "fail"}]}],
            "warnings": ["x fails although the cheaper y passes"]}"#;
        let mut h = String::new();
        plan_answer(&mut h, plan).unwrap();
        assert!(h.contains("meeting every SLO:</b> <code>kubelet.max_parallel_image_pulls=3</code>"), "{h}");
        assert!(h.contains("<li>slo1: web startup_p99_s &lt;= 60 s in every seed</li>"), "{h}");
        assert!(h.contains("<td class=\"n fail\">7/8, worst 61.5</td><td class=\"fail\">FAIL</td>"), "{h}");
        assert!(h.contains("<b>Warning:</b> x fails although"), "{h}");
        assert!(h.contains("41 runs made; the full grid would take 200"), "{h}");
        let mut h = String::new();
        plan_answer(&mut h, r#"{"best": null, "slos": [], "evaluated": []}"#).unwrap();
        assert!(h.contains("No variant of the grid meets every SLO"), "{h}");
    }

    #[test]
    fn a_sweep_answer_groups_each_metric_with_its_interval() {
        let csv = "variant,baseline,seeds,slo_pass,startup_p99_s_mean,startup_p99_s_ci95_low,startup_p99_s_ci95_high,\
startup_p99_s_diff_mean,startup_p99_s_diff_ci95_low,startup_p99_s_diff_ci95_high,startup_p99_s_diff_significant\n\
serial,true,3,FAIL,80.0,70.0,90.0,0,0,0,false\nparallel,false,3,PASS,40.0,40.0,40.0,-40.0,-45.0,-35.0,true\n";
        let mut h = String::new();
        sweep_answer(&mut h, csv).unwrap();
        assert!(h.contains("<th>startup_p99_s</th>"), "{h}");
        assert!(h.contains("80.0 [70.0, 90.0]"), "{h}");
        // Identical across seeds: no interval; significant difference marked.
        assert!(h.contains(">40.0; vs baseline -40.0 *<"), "{h}");
        assert!(
            h.contains("<td class=\"fail\">FAIL</td>") && h.contains("<td class=\"pass\">PASS</td>"),
            "{h}"
        );
        assert!(!h.contains("<th>startup_p99_s_ci95_low</th>"), "{h}");
    }
}
