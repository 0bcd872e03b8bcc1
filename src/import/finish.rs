//! The last steps of writing a scenario: `--assume KEY=VALUE` applied to the written document
//! as `--set` applies an override (the same paths, the same checks), each value it sets marked
//! `# from --assume`; the header (inputs, assumptions, what was not used, conflicts); and the
//! proof that the result is a scenario: it is loaded and validated here, so a scenario that
//! `import` returns is one `validate` and `run` accept unchanged.

use super::emit::{set_comment, Header, Summary};
use super::{ImportError, Options};
use crate::scenario::{self, overrides};
use std::fmt::Write as _;

/// What the header says about the defaults left in place.
const DEFAULTS: &str = "Left at pullsim's defaults (no input gives them): unpacked layer sizes equal to the \
compressed ones (runtime.uncompressed_ratio 1), no per-layer unpack overhead, init containers that \
run for 0s, anonymous registries that never fail, no registry rate limits.";

fn error(message: String) -> ImportError {
    ImportError { file: "--assume".into(), at: None, path: String::new(), message }
}

/// Validates `body` with the assumptions, applies them, writes the header; returns the
/// scenario text, the lint warnings and the summary line.
pub fn finish(
    body: String,
    assumed: Vec<(String, String, String)>,
    header: &Header,
    opts: &Options,
    summary: Summary,
) -> Result<(String, Vec<String>, String), ImportError> {
    // Checked with the assumptions as overrides, so a bad one is reported as such.
    if let Err(e) = scenario::load(&body, &opts.out_label, &opts.assumes) {
        let from_assume = e
            .diagnostics
            .iter()
            .any(|d| d.message.contains("value from --set") || d.message.starts_with("--set "));
        let text = e.to_string().replace("--set ", "--assume ");
        if from_assume {
            return Err(error(text));
        }
        return Err(ImportError {
            file: opts.out_label.clone(),
            at: None,
            path: String::new(),
            message: format!(
                "the scenario these documents make does not validate (the values come from the inputs; if they \
                 look right, it is a bug in `pullsim import`):\n{text}"
            ),
        });
    }
    let mut doc: toml_edit::DocumentMut =
        body.parse().map_err(|e| error(format!("the imported scenario does not parse: {e}")))?;
    let mut overridden = Vec::new();
    for a in &opts.assumes {
        let path = overrides::apply(&mut doc, a).map_err(|m| error(format!("{}={}: {m}", a.key, a.value)))?;
        set_comment(&mut doc, &path, &format!("from --assume {}={}", a.key, a.value));
        overridden.push(path.to_string());
    }
    let mut text = header_text(header, &assumed, &overridden);
    text.push_str(&doc.to_string());
    let scn = scenario::load(&text, &opts.out_label, &[]).map_err(|e| ImportError {
        file: opts.out_label.clone(),
        at: None,
        path: String::new(),
        message: format!(
            "the imported scenario does not validate (a bug in `pullsim import`; please report it):\n{e}"
        ),
    })?;
    let warnings = scenario::lint(&scn).iter().map(ToString::to_string).collect();
    let line = format!(
        "{} node pools ({} nodes), {} registries, {} images, {} workloads{}",
        summary.pools,
        summary.nodes,
        summary.registries,
        summary.images,
        summary.workloads,
        match (summary.pulls, summary.replayed) {
            (0, _) => String::new(),
            (n, Some((w, pods, pulls))) => format!(
                " ({} {} {} observed pulls in {pods} pods{})",
                if w == 1 { "one".to_string() } else { w.to_string() },
                if w == 1 { "replays" } else { "replay" },
                if pulls == n { format!("the {n}") } else { format!("{pulls} of the {n}") },
                if pulls == n { "" } else { ": see the notes" }
            ),
            (n, None) => format!("; {n} observed pulls listed, none replayed: see the notes"),
        }
    );
    Ok((text, warnings, line))
}

fn header_text(h: &Header, assumed: &[(String, String, String)], overridden: &[String]) -> String {
    let mut t = String::new();
    let mut line = |s: &str| {
        let _ = writeln!(t, "#{}{s}", if s.is_empty() { "" } else { " " });
    };
    line(&format!("Imported with `pullsim import` from {} files (read in this order):", h.cx.found.len()));
    for (file, what) in &h.cx.found {
        line(&format!(
            "  {file}: {}",
            if what.is_empty() { "nothing used".to_string() } else { what.join(", ") }
        ));
    }
    line("Every value says where it comes from (`from FILE: ...`) or that it is an assumption (`assumed: ...`).");
    if !h.cx.nodes.is_empty() {
        let max = h
            .max_images
            .map_or("50 (nodeStatusMaxImages)".to_string(), |m| format!("{m} (nodeStatusMaxImages)"));
        line(&format!(
            "A node reports at most {max} images in status.images, largest first: smaller images it holds may be missing."
        ));
    }
    line(DEFAULTS);
    line("");
    line("Assumptions to review (set any with --assume KEY=VALUE):");
    for (key, value, why) in assumed {
        let by = if overridden.iter().any(|o| o == key) { " (set by --assume)" } else { "" };
        line(&format!("  {key} = {value}: {why}{by}"));
    }
    for (title, list) in
        [("Not used", h.not_used), ("Conflicts (the value used is said)", h.conflicts), ("Notes", h.notes)]
    {
        if !list.is_empty() {
            line("");
            line(&format!("{title}:"));
            for x in list {
                line(&format!("  {}", x.replace('\n', " ")));
            }
        }
    }
    let _ = h.observed;
    t.push('\n');
    t
}
