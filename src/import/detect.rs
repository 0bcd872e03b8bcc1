//! Recognising documents by content. A file may be one JSON document, JSON lines (an event
//! exporter's output, with stray log lines), several JSON documents back to back (`kubectl
//! cluster-info dump`), YAML with one or more documents, a TOML file (containerd's
//! `config.toml`, a `hosts.toml`), or a shell transcript: prompts and command lines with the
//! output of each command between them, where that output is JSON, YAML, or a `kubectl get
//! events` / `kubectl describe` events table. [`split`] cuts a file into the pieces it holds;
//! what each piece is (a NodeList, a manifest, ...) is decided by the caller from its fields.
//!
//! Failures are errors only where the text clearly meant to be a document: a file that starts
//! like JSON and ends early (truncated), YAML with `apiVersion:`/`kind:` lines that does not
//! parse, an empty file, or a file where nothing at all is found. Stray lines between
//! documents (log lines, prompts, progress meters) are counted and skipped.

use serde::Deserialize;
use serde_json::{Map, Value};

/// One document found in a file.
#[derive(Debug)]
pub enum Piece {
    /// A JSON or YAML document as a JSON value. `at`: its place in the file (`line 57`,
    /// `document 2`), none when it is the whole file. `span`: the byte range of a JSON
    /// document's text in the file (for manifest digests).
    Doc { value: Value, at: Option<String>, span: Option<(usize, usize)> },
    /// A TOML file.
    Toml(toml::Table),
}

/// The pieces of a file and what was skipped around them.
#[derive(Debug, Default)]
pub struct Split {
    pub pieces: Vec<Piece>,
    /// Lines of text that are none of the documents (prompts, log text, other tables).
    pub skipped_lines: usize,
}

/// A failure to read a file: where (`line 40`) and what.
#[derive(Debug, PartialEq, Eq)]
pub struct SplitError {
    pub at: Option<String>,
    pub message: String,
}

fn fail(at: Option<String>, message: impl Into<String>) -> SplitError {
    SplitError { at, message: message.into() }
}

/// Cuts `text` into its documents (see the module doc).
pub fn split(text: &str) -> Result<Split, SplitError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(fail(None, "the file is empty"));
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let mut out = Split::default();
        scan_json(text, 0, true, &mut out)?;
        finish_at(&mut out);
        return Ok(out);
    }
    if let Ok(table) = text.parse::<toml::Table>() {
        if !table.is_empty() {
            return Ok(Split { pieces: vec![Piece::Toml(table)], skipped_lines: 0 });
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let transcript = lines.iter().any(|l| is_prompt(l));
    if !transcript {
        match yaml_docs(text, 1) {
            Ok(docs) if docs.iter().any(|(v, _)| v.is_object() || v.is_array()) => {
                let single = docs.len() == 1;
                let pieces = docs
                    .into_iter()
                    .map(|(value, at)| Piece::Doc {
                        value,
                        at: if single { None } else { Some(at) },
                        span: None,
                    })
                    .collect();
                return Ok(Split { pieces, skipped_lines: 0 });
            }
            Err(e) if looks_like_kubernetes_yaml(&lines) => return Err(template_or(text, e)),
            _ => {}
        }
    }
    let mut out = Split::default();
    text_segments(text, &lines, &mut out)?;
    if out.pieces.is_empty() {
        return Err(fail(
            None,
            format!(
                "no JSON, YAML or TOML document and no `kubectl get events` table found in its {} lines",
                lines.len()
            ),
        ));
    }
    Ok(out)
}

/// A single JSON document that is the whole file has no `at`.
fn finish_at(out: &mut Split) {
    if let [Piece::Doc { at, .. }] = out.pieces.as_mut_slice() {
        if at.as_deref() == Some("line 1") {
            *at = None;
        }
    }
}

/// The 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

/// Lines of increasing offsets, counted once: `line_of` for each of many documents would read
/// a JSON lines file once per line.
struct LineCounter<'t> {
    text: &'t str,
    offset: usize,
    line: usize,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t str) -> Self {
        LineCounter { text, offset: 0, line: 1 }
    }

    /// The line of `offset`, which is not before the previous one asked.
    fn at(&mut self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if offset < self.offset {
            return line_of(self.text, offset);
        }
        self.line += self.text.as_bytes()[self.offset..offset].iter().filter(|b| **b == b'\n').count();
        self.offset = offset;
        self.line
    }
}

/// Reads every JSON document that starts at the beginning of a line of `text[from..]`
/// (documents back to back, JSON lines, JSON between other text). `strict`: the first
/// document must parse (the file is meant to be JSON); later lines that are not JSON are
/// skipped. A document cut short by the end of the text is always an error.
fn scan_json(text: &str, from: usize, strict: bool, out: &mut Split) -> Result<(), SplitError> {
    let mut pos = from;
    let mut first = strict;
    let mut lines = LineCounter::new(text);
    while pos < text.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let line = &text[pos..line_end];
        if line.trim().is_empty() {
            pos = line_end + 1;
            continue;
        }
        let lead = line.len() - line.trim_start().len();
        let start = pos + lead;
        let opens = line.trim_start().starts_with(['{', '[']);
        if !opens || (lead > 0 && !first) {
            out.skipped_lines += 1;
            pos = line_end + 1;
            continue;
        }
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
        match stream.next() {
            Some(Ok(value)) => {
                let end = start + stream.byte_offset();
                let at = Some(format!("line {}", lines.at(start)));
                out.pieces.push(Piece::Doc { value, at, span: Some((start, end)) });
                pos = end;
                first = false;
            }
            Some(Err(e)) if e.is_eof() => {
                let at = Some(format!("line {}", line_of(text, start)));
                return Err(fail(
                    at,
                    format!(
                        "truncated JSON: the document starting here ends early ({} at line {} column {})",
                        strip_position(&e.to_string()),
                        line_of(text, start) + e.line() - 1,
                        e.column()
                    ),
                ));
            }
            Some(Err(e)) if first => {
                return Err(fail(
                    Some(format!("line {}", line_of(text, start) + e.line() - 1)),
                    format!("not valid JSON: {} (column {})", strip_position(&e.to_string()), e.column()),
                ));
            }
            _ => {
                out.skipped_lines += 1;
                pos = line_end + 1;
            }
        }
    }
    Ok(())
}

/// serde_json's message without its " at line L column C" tail (the caller places it).
fn strip_position(m: &str) -> &str {
    m.find(" at line ").map_or(m, |i| &m[..i])
}

/// The documents of a YAML text, each with `document N` (or `line N` when `first_line` > 1,
/// for YAML inside a transcript). Empty documents are dropped.
fn yaml_docs(text: &str, first_line: usize) -> Result<Vec<(Value, String)>, SplitError> {
    let mut out = Vec::new();
    for (i, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
        let at = if first_line > 1 { format!("line {first_line}") } else { format!("document {}", i + 1) };
        match Value::deserialize(doc) {
            Ok(Value::Null) => {}
            Ok(v) => out.push((v, at)),
            Err(e) => {
                let where_ = e.location().map(|l| format!("line {}", l.line() + first_line - 1));
                let message = e.to_string();
                let message = message.find(" at line ").map_or(message.as_str(), |i| &message[..i]);
                return Err(fail(where_.or(Some(at)), format!("not valid YAML: {message}")));
            }
        }
    }
    Ok(out)
}

/// Whether lines read like a Kubernetes YAML file (so a parse failure is an error, not prose).
fn looks_like_kubernetes_yaml(lines: &[&str]) -> bool {
    lines.iter().any(|l| l.starts_with("apiVersion:") || l.starts_with("kind:"))
}

/// A YAML failure in a file with `{{ }}` placeholders is a template, said as such.
fn template_or(text: &str, e: SplitError) -> SplitError {
    if text.contains("{{") {
        fail(
            e.at,
            "a template with `{{ ... }}` placeholders (Helm, Jinja), not a manifest: render it first \
             (e.g. `helm template`) and import the result",
        )
    } else {
        e
    }
}

/// Commands whose prompt lines mark a transcript.
const COMMANDS: &[&str] = &[
    "kubectl",
    "k",
    "oc",
    "crane",
    "skopeo",
    "docker",
    "nerdctl",
    "crictl",
    "ctr",
    "curl",
    "cat",
    "jq",
    "helm",
    "sudo",
    "gcloud",
    "aws",
    "az",
    "eksctl",
    "kind",
    "minikube",
    "podman",
    "regctl",
    "echo",
    "ssh",
    "less",
    "tee",
    "watch",
    "journalctl",
    "grep",
];

/// A shell prompt followed by a command (`user@host:~$ kubectl get nodes`, `$ crane manifest`,
/// `tim@mbp dir % kubectl get events`). A `#` or `%` at the start of a line is a comment, not a
/// prompt; lines that start like JSON or with spaces never are.
pub fn is_prompt(line: &str) -> bool {
    if line.is_empty() || line.starts_with([' ', '\t', '{', '[', '"', '#', '%', '-']) {
        return false;
    }
    for marker in ["$ ", "% ", "# ", "> "] {
        let mut from = 0;
        while let Some(i) = line[from..].find(marker) {
            let at = from + i;
            if at > 0 || marker == "$ " {
                let word = line[at + marker.len()..].split_whitespace().next().unwrap_or("");
                if COMMANDS.contains(&word) {
                    return true;
                }
            }
            from = at + marker.len();
        }
    }
    false
}

/// Plain text or a transcript: the output between prompts, each part read as JSON, YAML or an
/// events table.
fn text_segments(text: &str, lines: &[&str], out: &mut Split) -> Result<(), SplitError> {
    // Byte offset of each line.
    let mut offsets = Vec::with_capacity(lines.len() + 1);
    let mut o = 0;
    for l in text.split_inclusive('\n') {
        offsets.push(o);
        o += l.len();
    }
    offsets.push(text.len());
    let mut start = 0;
    while start < lines.len() {
        let end = (start + 1..lines.len()).find(|&i| is_prompt(lines[i])).unwrap_or(lines.len());
        let first = if is_prompt(lines[start]) { start + 1 } else { start };
        segment(text, lines, &offsets, first, end, out)?;
        if is_prompt(lines[start]) {
            out.skipped_lines += 1;
        }
        start = end;
    }
    Ok(())
}

/// One command's output, lines `[from, to)`.
fn segment(
    text: &str,
    lines: &[&str],
    offsets: &[usize],
    from: usize,
    to: usize,
    out: &mut Split,
) -> Result<(), SplitError> {
    if from >= to {
        return Ok(());
    }
    let body = &lines[from..to];
    if body.iter().any(|l| l.starts_with('{') || l.starts_with('[')) {
        let before = out.pieces.len();
        let seg_text = &text[offsets[from]..offsets[to]];
        let mut sub = Split::default();
        scan_json(seg_text, 0, false, &mut sub)?;
        for p in sub.pieces {
            if let Piece::Doc { value, at, span: Some((a, b)) } = p {
                // `at` counts lines within the segment, which starts at line `from + 1`.
                let within: usize = at
                    .as_deref()
                    .and_then(|s| s.strip_prefix("line "))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                let at = Some(format!("line {}", from + within));
                out.pieces.push(Piece::Doc { value, at, span: Some((offsets[from] + a, offsets[from] + b)) });
            }
        }
        if out.pieces.len() > before {
            out.skipped_lines += sub.skipped_lines;
            return Ok(());
        }
    }
    if let Some(y) = body.iter().position(|l| l.starts_with("apiVersion:") || l.starts_with("kind:")) {
        let yaml = &text[offsets[from + y]..offsets[to]];
        let docs = yaml_docs(yaml, from + y + 1).map_err(|e| template_or(yaml, e))?;
        for (value, at) in docs {
            out.pieces.push(Piece::Doc { value, at: Some(at), span: None });
        }
        out.skipped_lines += y;
        return Ok(());
    }
    match events_table(body, from) {
        Some((rows, used)) => {
            out.skipped_lines += body.len() - used;
            for (value, line) in rows {
                out.pieces.push(Piece::Doc { value, at: Some(format!("line {line}")), span: None });
            }
        }
        None => out.skipped_lines += body.len(),
    }
    Ok(())
}

/// The columns of an events table header: `kubectl get events` (`[NAMESPACE] LAST SEEN TYPE
/// REASON OBJECT MESSAGE`) or the `Events:` table of `kubectl describe` (`Type Reason Age From
/// Message`). Byte offsets of each column's start.
struct Header {
    describe: bool,
    columns: Vec<(String, usize)>,
}

fn header(line: &str) -> Option<Header> {
    let t = line.trim_end();
    let describe = t.trim_start().starts_with("Type") && t.contains("Reason") && t.ends_with("Message");
    let get =
        t.contains("REASON") && t.ends_with("MESSAGE") && (t.contains("LAST SEEN") || t.contains("AGE"));
    if !describe && !get {
        return None;
    }
    let mut columns = Vec::new();
    let bytes = t.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b' ' && (i == 0 || bytes[i - 1] == b' ') {
            // "LAST SEEN" is one column: a single space inside a header name does not split it.
            let start = i;
            let mut j = i;
            while j < bytes.len() && !(bytes[j] == b' ' && bytes.get(j + 1).is_none_or(|b| *b == b' ')) {
                j += 1;
            }
            columns.push((t[start..j].to_ascii_lowercase(), start));
            i = j;
        } else {
            i += 1;
        }
    }
    Some(Header { describe, columns })
}

/// The rows of the first events table in `body` (whose first line is line `first + 1` of the
/// file), as event objects like the API's (`reason`, `message`, `involvedObject`, `source`),
/// without timestamps: a table shows ages (`x-age`). Also how many lines it used.
fn events_table(body: &[&str], first: usize) -> Option<(Vec<(Value, usize)>, usize)> {
    let h = body.iter().position(|l| header(l).is_some())?;
    let head = header(body[h])?;
    // `kubectl describe` names the pod, its namespace and node above the table.
    let field =
        |name: &str| body[..h].iter().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
    let (pod, namespace, node) = if head.describe {
        (
            field("Name:"),
            field("Namespace:"),
            field("Node:").map(|n| n.split('/').next().unwrap_or("").to_string()),
        )
    } else {
        (None, None, None)
    };
    let mut rows = Vec::new();
    let mut used = h + 1;
    for (k, line) in body.iter().enumerate().skip(h + 1) {
        if line.trim().is_empty() {
            break;
        }
        used = k + 1;
        if line.trim_start().starts_with("----") {
            continue;
        }
        let cell = |name: &str| -> Option<String> {
            let idx = head.columns.iter().position(|(n, _)| n == name)?;
            let start = head.columns[idx].1;
            let end = head.columns.get(idx + 1).map_or(line.len(), |c| c.1);
            let s = line.get(start.min(line.len())..end.min(line.len()))?;
            Some(
                if idx + 1 == head.columns.len() { line.get(start..).unwrap_or(s) } else { s }
                    .trim()
                    .to_string(),
            )
        };
        let mut ev = Map::new();
        let reason = cell("reason").unwrap_or_default();
        let message = cell("message").unwrap_or_default();
        ev.insert("reason".into(), Value::String(reason));
        ev.insert("message".into(), Value::String(message));
        ev.insert(
            "x-age".into(),
            Value::String(cell("last seen").or_else(|| cell("age")).unwrap_or_default()),
        );
        let mut obj = Map::new();
        if head.describe {
            obj.insert("kind".into(), Value::String("Pod".into()));
            obj.insert("name".into(), Value::String(pod.clone().unwrap_or_default()));
            obj.insert("namespace".into(), Value::String(namespace.clone().unwrap_or_default()));
            if let Some(n) = &node {
                let mut src = Map::new();
                src.insert("host".into(), Value::String(n.clone()));
                ev.insert("source".into(), Value::Object(src));
            }
        } else {
            let object = cell("object").unwrap_or_default();
            let (kind, name) = object.split_once('/').unwrap_or(("", object.as_str()));
            let kind = match kind.split('.').next().unwrap_or("") {
                "pod" => "Pod",
                "node" => "Node",
                other => other,
            };
            obj.insert("kind".into(), Value::String(kind.to_string()));
            obj.insert("name".into(), Value::String(name.to_string()));
            if let Some(ns) = cell("namespace") {
                obj.insert("namespace".into(), Value::String(ns));
            }
        }
        ev.insert("involvedObject".into(), Value::Object(obj));
        rows.push((Value::Object(ev), first + k + 1));
    }
    (!rows.is_empty()).then_some((rows, used))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(s: &Split) -> Vec<(&Value, Option<&str>)> {
        s.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Doc { value, at, .. } => Some((value, at.as_deref())),
                Piece::Toml(_) => None,
            })
            .collect()
    }

    #[test]
    fn json_forms() {
        let one = split("{\"kind\": \"NodeList\", \"items\": []}\n").unwrap();
        assert_eq!(docs(&one), vec![(&serde_json::json!({"kind": "NodeList", "items": []}), None)]);
        let lines = split("{\"level\":\"info\"}\nnot json\n{\"a\":1}\n{\"a\":2}\n").unwrap();
        assert_eq!(docs(&lines).len(), 3);
        assert_eq!(docs(&lines)[2].1, Some("line 4"));
        assert_eq!(lines.skipped_lines, 1);
        let back_to_back = split("{\n \"a\": 1\n}\n{\n \"b\": 2\n}\n").unwrap();
        assert_eq!(docs(&back_to_back)[1].1, Some("line 4"));
        let e = split("{\n \"items\": [\n  {\"a\": 1},\n").unwrap_err();
        assert_eq!(e.at.as_deref(), Some("line 1"));
        assert!(e.message.starts_with("truncated JSON"), "{}", e.message);
        let e = split("{\"a\": nope}").unwrap_err();
        assert!(e.message.starts_with("not valid JSON"), "{}", e.message);
        assert_eq!(split("  \n").unwrap_err().message, "the file is empty");
    }

    #[test]
    fn yaml_and_toml() {
        let y = split("apiVersion: v1\nkind: Pod\n---\napiVersion: apps/v1\nkind: Deployment\n").unwrap();
        assert_eq!(docs(&y).len(), 2);
        assert_eq!(docs(&y)[1].1, Some("document 2"));
        let t = split("version = 2\n[plugins]\n").unwrap();
        assert!(matches!(t.pieces[0], Piece::Toml(_)));
        let e = split("apiVersion: batch/v1\nkind: Job\nspec:\n  completions: {{ size }}\n").unwrap_err();
        assert!(e.message.contains("template"), "{}", e.message);
    }

    #[test]
    fn transcripts() {
        assert!(is_prompt(
            "sre@k8s-node-01:~$ curl -X GET http://127.0.0.1:8001/api/v1/nodes/x/proxy/configz | jq ."
        ));
        assert!(is_prompt("tim@Tims-MBP dir % kubectl get events"));
        assert!(is_prompt("$ crane manifest nginx"));
        assert!(!is_prompt("# kubectl apply -f this"));
        assert!(!is_prompt("  \"message\": \"$ kubectl\""));
        let t = "user@h:~$ curl x | jq .\n  % Total    % Received\n100  2628\n{\n  \"kubeletconfig\": {\"registryBurst\": 10}\n}\nuser@h:~$ \n";
        let s = split(t).unwrap();
        assert_eq!(docs(&s)[0].1, Some("line 4"));
        let ev = "me@mbp d % kubectl get events\nLAST SEEN   TYPE     REASON    OBJECT          MESSAGE\n41m         Normal   Pulled    pod/web-1       Successfully pulled image \"a:1\" in 1.2s (2s including waiting). Image size: 5 bytes.\n\nme@mbp d % kubectl get pods\n";
        let s = split(ev).unwrap();
        let d = docs(&s);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].0["reason"], "Pulled");
        assert_eq!(d[0].0["involvedObject"]["name"], "web-1");
        assert_eq!(d[0].0["x-age"], "41m");
        assert!(d[0].0["message"].as_str().unwrap().ends_with("Image size: 5 bytes."));
    }

    #[test]
    fn describe_events() {
        let t = "Name:             nginx\nNamespace:        default\nNode:             docker-desktop/192.168.65.3\nEvents:\n  Type    Reason     Age   From               Message\n  ----    ------     ----  ----               -------\n  Normal  Pulled     12s   kubelet            Successfully pulled image \"busybox\" in 1.989s (1.989s including waiting). Image size: 2166802 bytes.\n\n";
        let s = split(t).unwrap();
        let d = docs(&s);
        assert_eq!(d[0].0["involvedObject"]["name"], "nginx");
        assert_eq!(d[0].0["source"]["host"], "docker-desktop");
        assert_eq!(d[0].0["x-age"], "12s");
    }
}
