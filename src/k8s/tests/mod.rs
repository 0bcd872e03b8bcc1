//! Table-driven tests over the upstream vectors in `tests/data/vectors/*.json`. Each file is read
//! at test time relative to `CARGO_MANIFEST_DIR`, every
//! row is checked, every failure is collected with the vector file, test name and input, and a
//! test asserts once at the end so a single run lists every failing row. Each test also asserts
//! how many rows it checked, so no row can be skipped silently.

mod backoff;
mod config;
mod ensure_secret_pulled_images;
mod image_manager;
mod keyring;
mod pull_policy;
mod reference;
mod unit;

use serde_json::Value;

/// Reads `tests/data/vectors/<file>` as a JSON array.
pub(super) fn load(file: &str) -> Vec<Value> {
    let path = format!("{}/tests/data/vectors/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(rows)) => rows,
        Ok(_) => panic!("{path}: expected a JSON array"),
        Err(e) => panic!("{path}: {e}"),
    }
}

/// Collects row failures; `finish` asserts that none happened and that `expected_rows` rows were
/// checked.
pub(super) struct Failures {
    file: &'static str,
    failures: Vec<String>,
    pub checked: usize,
}

impl Failures {
    pub(super) fn new(file: &'static str) -> Self {
        Failures { file, failures: Vec::new(), checked: 0 }
    }
    /// Records one failing row: `<file> [<test>] input=<input>: <message>`.
    pub(super) fn fail(&mut self, test: &str, input: &str, msg: String) {
        self.failures.push(format!("{} [{test}] input={input:?}: {msg}", self.file));
    }
    /// Checks `got == want`, recording a failure otherwise.
    pub(super) fn eq<T: PartialEq + std::fmt::Debug>(
        &mut self,
        test: &str,
        input: &str,
        what: &str,
        got: T,
        want: T,
    ) {
        if got != want {
            self.fail(test, input, format!("{what}: got {got:?}, want {want:?}"));
        }
    }
    pub(super) fn finish(self, expected_rows: usize) {
        assert!(
            self.failures.is_empty(),
            "{} failing row(s) in {}:\n{}",
            self.failures.len(),
            self.file,
            self.failures.join("\n")
        );
        assert_eq!(self.checked, expected_rows, "{}: rows checked", self.file);
    }
}

/// `row[key]` as a string ("" when absent or null).
pub(super) fn s<'a>(row: &'a Value, key: &str) -> &'a str {
    row.get(key).and_then(Value::as_str).unwrap_or("")
}
