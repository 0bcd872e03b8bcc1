//! STUB: scenario loading (to be replaced by the loader: raw TOML → validated `Scenario`).
use super::Scenario;
use std::fmt;

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
pub fn load(_text: &str, file: &str, _overrides: &[Override]) -> Result<Scenario, ScenarioError> {
    Err(ScenarioError {
        file: file.to_string(),
        diagnostics: vec![Diagnostic {
            line: None,
            column: None,
            key: None,
            message: "loader not implemented".into(),
        }],
    })
}
