//! What goes wrong in an input, and where: the file, the place in the file (a line of a JSON
//! lines file or transcript, a document of a multi-document YAML file) and the JSON path inside
//! the document (`items[3].status.images[0].sizeBytes`), so that a message can be acted on
//! without reading the importer. Also the typed readers of a document's fields, which build
//! those paths and say what they expected and what they found.

use serde_json::{Map, Value};
use std::fmt;

/// One bad input: exit code 2, nothing written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportError {
    pub file: String,
    /// Where in the file: `line 57`, `document 2`; none for a file of one document.
    pub at: Option<String>,
    /// The JSON path inside the document, or empty.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(at) = &self.at {
            write!(f, ": {at}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ImportError {}

/// Where a document comes from: its file (as labelled in messages and comments) and its place
/// in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub at: Option<String>,
}

impl Origin {
    pub fn new(file: &str, at: Option<String>) -> Origin {
        Origin { file: file.to_string(), at }
    }

    /// An error at `path` in this document.
    pub fn err(&self, path: &str, message: impl Into<String>) -> ImportError {
        ImportError {
            file: self.file.clone(),
            at: self.at.clone(),
            path: path.to_string(),
            message: message.into(),
        }
    }

    /// `file` or `file (line 57)`: for provenance comments.
    pub fn label(&self) -> String {
        match &self.at {
            Some(at) => format!("{} ({at})", self.file),
            None => self.file.clone(),
        }
    }
}

/// `path.key`, or `key` at the root; a key that is not a plain word is quoted
/// (`metadata.labels["kubernetes.io/arch"]`).
pub fn child(path: &str, key: &str) -> String {
    let plain = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    match (path.is_empty(), plain) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{key:?}]"),
    }
}

/// `path[i]`.
pub fn item(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A value as a message shows it: strings quoted and cut to 60 characters, numbers and
/// booleans as written, containers by what they are.
pub fn shown(v: &Value) -> String {
    match v {
        Value::String(s) if s.chars().count() > 60 => {
            let cut: String = s.chars().take(57).collect();
            format!("{:?}", format!("{cut}..."))
        }
        Value::String(s) => format!("{s:?}"),
        Value::Object(_) => "an object".to_string(),
        Value::Array(_) => "a list".to_string(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

fn expected(o: &Origin, path: &str, what: &str, got: &Value) -> ImportError {
    o.err(path, format!("expected {what}, got {}", shown(got)))
}

/// The field `key` of the object `v` (at `path`), absent or null as `None`.
fn field<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// A string field; absent or null is `None`, anything else an error.
pub fn opt_str<'v>(o: &Origin, v: &'v Value, path: &str, key: &str) -> Result<Option<&'v str>, ImportError> {
    match field(v, key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(expected(o, &child(path, key), "a string", other)),
    }
}

/// A non-negative integer field (JSON number without fraction).
pub fn opt_u64(o: &Origin, v: &Value, path: &str, key: &str) -> Result<Option<u64>, ImportError> {
    match field(v, key) {
        None => Ok(None),
        // TOML integers are signed 64-bit: a larger count or size could not be written.
        Some(n @ Value::Number(_)) => match n.as_u64().filter(|x| i64::try_from(*x).is_ok()) {
            Some(x) => Ok(Some(x)),
            None => Err(expected(o, &child(path, key), "a whole number from 0 to 2^63-1", n)),
        },
        Some(other) => Err(expected(o, &child(path, key), "an integer", other)),
    }
}

/// A boolean field.
pub fn opt_bool(o: &Origin, v: &Value, path: &str, key: &str) -> Result<Option<bool>, ImportError> {
    match field(v, key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(expected(o, &child(path, key), "true or false", other)),
    }
}

/// An object field.
pub fn opt_obj<'v>(
    o: &Origin,
    v: &'v Value,
    path: &str,
    key: &str,
) -> Result<Option<&'v Map<String, Value>>, ImportError> {
    match field(v, key) {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(expected(o, &child(path, key), "an object", other)),
    }
}

/// A list field.
pub fn opt_arr<'v>(
    o: &Origin,
    v: &'v Value,
    path: &str,
    key: &str,
) -> Result<Option<&'v Vec<Value>>, ImportError> {
    match field(v, key) {
        None => Ok(None),
        Some(Value::Array(a)) => Ok(Some(a)),
        Some(other) => Err(expected(o, &child(path, key), "a list", other)),
    }
}

/// A map of strings (labels, a node selector).
pub fn str_map(
    o: &Origin,
    v: &Value,
    path: &str,
    key: &str,
) -> Result<std::collections::BTreeMap<String, String>, ImportError> {
    let mut out = std::collections::BTreeMap::new();
    if let Some(m) = opt_obj(o, v, path, key)? {
        let p = child(path, key);
        for (k, val) in m {
            match val {
                Value::String(s) => {
                    out.insert(k.clone(), s.clone());
                }
                Value::Null => {}
                other => return Err(expected(o, &child(&p, k), "a string", other)),
            }
        }
    }
    Ok(out)
}

/// A list of strings.
pub fn str_list(o: &Origin, v: &Value, path: &str, key: &str) -> Result<Vec<String>, ImportError> {
    let mut out = Vec::new();
    if let Some(a) = opt_arr(o, v, path, key)? {
        let p = child(path, key);
        for (i, x) in a.iter().enumerate() {
            match x {
                Value::String(s) => out.push(s.clone()),
                other => return Err(expected(o, &item(&p, i), "a string", other)),
            }
        }
    }
    Ok(out)
}

/// An object that must be there.
pub fn req_obj<'v>(
    o: &Origin,
    v: &'v Value,
    path: &str,
    key: &str,
) -> Result<&'v Map<String, Value>, ImportError> {
    opt_obj(o, v, path, key)?.ok_or_else(|| o.err(&child(path, key), "missing"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_messages() {
        assert_eq!(child("", "items"), "items");
        assert_eq!(child("items[3]", "status"), "items[3].status");
        assert_eq!(child("metadata.labels", "kubernetes.io/arch"), "metadata.labels[\"kubernetes.io/arch\"]");
        let o = Origin::new("nodes.json", None);
        let v = json!({ "sizeBytes": "abc", "n": -1, "ok": 5 });
        let e = opt_u64(&o, &v, "items[3].status.images[0]", "sizeBytes").unwrap_err();
        assert_eq!(
            e.to_string(),
            "nodes.json: items[3].status.images[0].sizeBytes: expected an integer, got \"abc\""
        );
        assert!(opt_u64(&o, &v, "", "n").unwrap_err().message.contains("from 0 to 2^63-1"));
        assert_eq!(opt_u64(&o, &v, "", "ok").unwrap(), Some(5));
        assert_eq!(opt_u64(&o, &v, "", "absent").unwrap(), None);
        let o = Origin::new("ev.jsonl", Some("line 57".into()));
        assert_eq!(o.err("message", "x").to_string(), "ev.jsonl: line 57: message: x");
        assert_eq!(o.label(), "ev.jsonl (line 57)");
    }
}
