//! Loading a scenario: parse the text, apply `--set` overrides, deserialise (`raw`), validate
//! (`validate`), and turn every problem into a `Diagnostic` located in the file as written.
//!
//! Locations always refer to the original text: a problem is found by key path (in the edited
//! document when overrides were applied) and the path is then looked up in the original. A
//! problem with a value that came from `--set` says so instead of pointing at a line.

use super::locate::{KeyPath, Locator, Seg};
use super::raw::RawScenario;
use super::validate::{validate, Issue};
use super::{foreign, overrides, suggest, Scenario};
use std::fmt;
use toml_edit::{DocumentMut, Item, TableLike, Value};

/// One `--set KEY=VALUE` override.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    pub key: String,
    pub value: String,
}

impl Override {
    /// Parses `KEY=VALUE`.
    pub fn parse(s: &str) -> Result<Override, String> {
        match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok(Override { key: k.trim().to_string(), value: v.trim().to_string() })
            }
            _ => Err(format!("expected KEY=VALUE, got {s:?}")),
        }
    }
}

/// One problem found in a scenario, located as precisely as possible.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key path, e.g. `node_pool[0].bandwidth` or `kubelet.registry_burst`.
    pub key: Option<String>,
    pub message: String,
}

/// Every problem found in one scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub diagnostics: Vec<Diagnostic>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file)?;
            if let Some(l) = d.line {
                write!(f, ":{l}")?;
                if let Some(c) = d.column {
                    write!(f, ":{c}")?;
                }
            }
            write!(f, ": ")?;
            if let Some(k) = &d.key {
                write!(f, "key `{k}`: ")?;
            }
            write!(f, "{}", d.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Parses, applies overrides, validates. `file` is only used in messages.
pub fn load(text: &str, file: &str, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    load_in(text, file, overrides, true)
}

/// As `load`, without loading every variant of the file's `[sweep]` grid to check it (which
/// `load` does, to report a grid value that no variant can use: one load per variant). For
/// the variants of a `sweep` or `compare`, whose file was loaded with `load` once already:
/// checking the grid again for each variant made loading the variants of a six-variant grid
/// seven times the work (a third of a short `compare`'s fixed cost).
pub fn load_grid_unchecked(
    text: &str,
    file: &str,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    load_in(text, file, overrides, false)
}

/// `load_inner` with its diagnostics named after `file`.
fn load_in(
    text: &str,
    file: &str,
    overrides: &[Override],
    check_sweep: bool,
) -> Result<Scenario, ScenarioError> {
    load_inner(text, overrides, check_sweep)
        .map_err(|diagnostics| ScenarioError { file: file.to_string(), diagnostics })
}

/// How many unknown keys one load reports before giving up (each costs a re-deserialisation).
const MAX_SERDE_ERRORS: usize = 50;

/// Bytes of text the unknown-key retries may re-deserialise in total: on a multi-megabyte file
/// fifty retries took over a minute, so big files report fewer unknown keys at once.
const SERDE_RETRY_BUDGET_BYTES: usize = 8 * 1024 * 1024;

fn load_inner(text: &str, overrides: &[Override], check_sweep: bool) -> Result<Scenario, Vec<Diagnostic>> {
    let original = Locator::new(text);
    let mut doc: DocumentMut = match text.parse() {
        Ok(d) => d,
        Err(e) => {
            // A Kubernetes manifest or `kubectl` output is answered with what it is, not with
            // the TOML parser's complaint about its first line.
            if let Some(message) = foreign::recognise(text) {
                return Err(vec![Diagnostic { line: None, column: None, key: None, message }]);
            }
            let e: toml_edit::TomlError = e;
            let (line, column) = match e.span() {
                Some(s) => {
                    let (l, c) = original.line_col(s.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            return Err(vec![Diagnostic {
                line,
                column,
                key: None,
                message: format!("TOML syntax error: {}", e.message().trim()),
            }]);
        }
    };
    let mut applied: Vec<(KeyPath, &Override)> = Vec::new();
    let mut diags = Vec::new();
    for ov in overrides {
        match overrides::apply(&mut doc, ov) {
            Ok(path) => applied.push((path, ov)),
            Err(m) => diags.push(Diagnostic {
                line: None,
                column: None,
                key: Some(ov.key.clone()),
                message: format!("--set {}={}: {m}", ov.key, ov.value),
            }),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    let to_diag = |issue: Issue| -> Diagnostic { diagnostic(issue, &original, &applied) };

    // Deserialise; an unknown key is reported, removed, and deserialisation retried, so that all
    // misspelt keys are reported at once and validation still runs on the rest. A key that
    // surely stands for an accepted one (a typo, a KubeletConfiguration name) is read as that key
    // instead of removed, so that its absence does not cause errors of its own: the typo is the
    // one message. `renamed` maps such paths back to what the file says.
    let mut current = doc.clone();
    let mut current_text = if overrides.is_empty() { text.to_string() } else { current.to_string() };
    let mut serde_diags = Vec::new();
    let mut renamed: Vec<(KeyPath, KeyPath)> = Vec::new();
    let max_errors = (SERDE_RETRY_BUDGET_BYTES / text.len().max(1)).clamp(1, MAX_SERDE_ERRORS);
    let raw: Option<RawScenario> = loop {
        match toml::from_str::<RawScenario>(&current_text) {
            Ok(raw) => break Some(raw),
            Err(e) => {
                let at = Locator::new(&current_text);
                let path = e.span().and_then(|s| at.path_at(s.start));
                let message = e.message().trim().to_string();
                let unknown = unknown_field(&message);
                let explained = match (&path, unknown) {
                    (Some(p), Some(field)) if matches!(p.0.last(), Some(Seg::Key(k)) if k == field) => {
                        Some(suggest::unknown_key(p, field, &message))
                    }
                    _ => None,
                };
                let removable = explained.is_some();
                let message = explained.as_ref().map_or(message, |u| u.message.clone());
                let mut d = match &path {
                    Some(p) => to_diag(Issue { path: Some(as_written(p, &renamed)), message }),
                    None => Diagnostic { line: None, column: None, key: None, message },
                };
                if d.line.is_none() && current_text == text {
                    if let Some(s) = e.span() {
                        let (l, c) = original.line_col(s.start);
                        d.line = Some(l);
                        d.column = Some(c);
                    }
                }
                serde_diags.push(d);
                if !removable || serde_diags.len() >= max_errors {
                    break None;
                }
                if let Some(p) = &path {
                    let read_as = explained.and_then(|u| u.read_as);
                    match read_as.filter(|k| rename(&mut current, p, k)) {
                        Some(k) => {
                            let mut new = p.clone();
                            new.0.pop();
                            renamed.push((new.key(&k), as_written(p, &renamed)));
                        }
                        None if !remove(&mut current, p) => break None,
                        None => {}
                    }
                }
                current_text = current.to_string();
            }
        }
    };
    let Some(raw) = raw else { return Err(serde_diags) };

    let check = |combo: &[(String, String)]| -> Vec<String> {
        let ovs: Vec<Override> =
            combo.iter().map(|(k, v)| Override { key: k.clone(), value: v.clone() }).collect();
        match load_inner(&current_text, &ovs, false) {
            Ok(_) => Vec::new(),
            Err(ds) => ds
                .into_iter()
                .map(|d| match d.key {
                    Some(k) if !d.message.starts_with("--set") => format!("key `{k}`: {}", d.message),
                    _ => d.message,
                })
                .collect(),
        }
    };
    let result = validate(&raw, &current, if check_sweep { Some(&check) } else { None });
    match result {
        Ok(s) if serde_diags.is_empty() => Ok(s),
        Ok(_) => Err(serde_diags),
        Err(issues) => {
            serde_diags.extend(issues.into_iter().map(|i| {
                to_diag(Issue { path: i.path.map(|p| as_written(&p, &renamed)), message: i.message })
            }));
            Err(serde_diags)
        }
    }
}

/// The field name in serde's "unknown field `x`, expected ..." message.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

/// Removes the key at `path` from the document; false when it is not there.
fn remove(doc: &mut DocumentMut, path: &KeyPath) -> bool {
    in_parent(NodeMut::Item(doc.as_item_mut()), &path.0, &mut |t, k| t.remove(k).is_some())
}

/// Renames the key at `path` to `to`; false when it is not there or `to` is there already.
fn rename(doc: &mut DocumentMut, path: &KeyPath, to: &str) -> bool {
    in_parent(NodeMut::Item(doc.as_item_mut()), &path.0, &mut |t, k| {
        if t.contains_key(to) {
            return false;
        }
        match t.remove(k) {
            Some(item) => {
                t.insert(to, item);
                true
            }
            None => false,
        }
    })
}

/// `path` as the file writes it: a key read under another name (`rename`) by its own name.
fn as_written(path: &KeyPath, renamed: &[(KeyPath, KeyPath)]) -> KeyPath {
    match renamed.iter().rev().find(|(read_as, _)| path.starts_with(read_as)) {
        Some((read_as, written)) => {
            let mut p = written.clone();
            p.0.extend_from_slice(&path.0[read_as.0.len()..]);
            p
        }
        None => path.clone(),
    }
}

enum NodeMut<'a> {
    Item(&'a mut Item),
    Table(&'a mut toml_edit::Table),
    Value(&'a mut Value),
}

fn table_like_mut(node: NodeMut<'_>) -> Option<&mut dyn TableLike> {
    match node {
        NodeMut::Item(i) => i.as_table_like_mut(),
        NodeMut::Table(t) => Some(t),
        NodeMut::Value(Value::InlineTable(t)) => Some(t),
        NodeMut::Value(_) => None,
    }
}

/// Calls `f` with the table holding the last key of `segs` and that key.
fn in_parent(node: NodeMut<'_>, segs: &[Seg], f: &mut dyn FnMut(&mut dyn TableLike, &str) -> bool) -> bool {
    match segs {
        [] => false,
        [Seg::Key(k)] => table_like_mut(node).is_some_and(|t| f(t, k)),
        [Seg::Key(k), rest @ ..] => match table_like_mut(node).and_then(|t| t.get_mut(k)) {
            Some(i) => in_parent(NodeMut::Item(i), rest, f),
            None => false,
        },
        [Seg::Index { index, .. }, rest @ ..] => match node {
            NodeMut::Item(Item::ArrayOfTables(a)) => {
                a.get_mut(*index).is_some_and(|t| in_parent(NodeMut::Table(t), rest, f))
            }
            NodeMut::Item(Item::Value(Value::Array(a))) | NodeMut::Value(Value::Array(a)) => {
                a.get_mut(*index).is_some_and(|v| in_parent(NodeMut::Value(v), rest, f))
            }
            _ => false,
        },
    }
}

/// Places an issue in the original text, or says that its value came from `--set`.
fn diagnostic(issue: Issue, original: &Locator, applied: &[(KeyPath, &Override)]) -> Diagnostic {
    let Some(path) = issue.path else {
        return Diagnostic { line: None, column: None, key: None, message: issue.message };
    };
    let key = Some(path.to_string());
    if let Some((_, ov)) = applied.iter().rev().find(|(p, _)| path.starts_with(p)) {
        return Diagnostic {
            line: None,
            column: None,
            key,
            message: format!("{} (value from --set {}={})", issue.message, ov.key, ov.value),
        };
    }
    let (line, column) = match original.locate(&path) {
        Some((l, c)) => (Some(l), Some(c)),
        None => (None, None),
    };
    Diagnostic { line, column, key, message: issue.message }
}
