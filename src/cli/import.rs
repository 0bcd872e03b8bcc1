//! `pullsim import PATH... --out FILE`: reads the documents, has `crate::import` write the
//! scenario, and writes it to FILE atomically (a temporary file beside it, then a rename), never
//! over an existing file unless `--force`. Any bad input is exit 2 with nothing written.

use super::args::ImportArgs;
use super::CliError;
use crate::import::{self, Input, Options};
use crate::scenario::Override;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Inputs larger than this are refused: a cluster dump of a few thousand nodes is tens of MB.
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

pub(super) fn cmd_import(a: ImportArgs) -> Result<(), CliError> {
    let out = &a.out;
    let shown = out.display().to_string();
    if out.extension().and_then(|e| e.to_str()) != Some("toml") {
        return Err(CliError::BadInput(format!(
            "{shown}: a scenario file name ends in .toml, e.g. cluster.toml"
        )));
    }
    check_out(out, a.force)?;
    let assumes = a
        .assume
        .iter()
        .map(|s| Override::parse(s).map_err(|e| CliError::BadInput(format!("--assume: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut files: Vec<(PathBuf, Option<String>)> = Vec::new();
    for p in &a.paths {
        files.push(split_ref(p));
    }
    let labels = labels(&files.iter().map(|(p, _)| p.as_path()).collect::<Vec<_>>());
    let mut inputs = Vec::new();
    for ((path, image_ref), label) in files.iter().zip(labels) {
        let text = read_input(path, &label)?;
        let dir_name = host_dir(path);
        inputs.push(Input { label, text, image_ref: image_ref.clone(), dir_name });
    }
    let stem = out.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "imported".into());
    let name: String = stem.chars().map(|c| if c == '/' || c == '\\' { '-' } else { c }).collect();
    let opts = Options {
        name: if name.is_empty() || name == "." || name == ".." { "imported".into() } else { name },
        out_label: out.file_name().map_or(shown.clone(), |n| n.to_string_lossy().into_owned()),
        assumes,
    };
    let outcome = import::import(&inputs, &opts).map_err(|errs| {
        CliError::BadInput(errs.iter().map(ToString::to_string).collect::<Vec<_>>().join("\nerror: "))
    })?;
    for n in &outcome.not_used {
        eprintln!("note: not used: {n}");
    }
    for c in &outcome.conflicts {
        eprintln!("note: conflict: {c}");
    }
    for w in &outcome.warnings {
        eprintln!("warning: {shown}: {w}");
    }
    write_atomically(out, outcome.toml.as_bytes(), a.force)?;
    if !a.quiet {
        println!("wrote {shown}: {}", outcome.summary);
        if !outcome.not_used.is_empty() || !outcome.conflicts.is_empty() {
            println!(
                "  {} not used, {} conflicts: listed above and at the top of the file",
                outcome.not_used.len(),
                outcome.conflicts.len()
            );
        }
        println!("next: review the assumptions at the top of {shown}, then pullsim validate {shown} && pullsim run {shown}");
    }
    Ok(())
}

/// The registry host a `certs.d/<host>/hosts.toml` is for: its folder's name, when that folder
/// sits in a `certs.d` or is named like a host (`docker.io`, `registry:5000`, `_default`).
fn host_dir(path: &Path) -> Option<String> {
    let full = path.canonicalize().ok()?;
    let dir = full.parent()?;
    let name = dir.file_name()?.to_string_lossy().into_owned();
    let in_certs_d = dir.parent().and_then(|p| p.file_name()).is_some_and(|n| n == "certs.d");
    (in_certs_d || name.contains('.') || name.contains(':') || name == "_default").then_some(name)
}

/// `REF=FILE` names a manifest's image; a path that exists as given is a path even if it
/// holds `=`.
fn split_ref(arg: &str) -> (PathBuf, Option<String>) {
    if !Path::new(arg).exists() {
        if let Some((r, f)) = arg.rsplit_once('=') {
            if !r.is_empty() && !f.is_empty() {
                return (PathBuf::from(f), Some(r.to_string()));
            }
        }
    }
    (PathBuf::from(arg), None)
}

/// Each path's shortest tail of components that no other input shares (`nodes.json`, or
/// `docker.io/hosts.toml` beside `ghcr.io/hosts.toml`).
pub(super) fn labels(paths: &[&Path]) -> Vec<String> {
    let parts: Vec<Vec<String>> = paths
        .iter()
        .map(|p| p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect())
        .collect();
    let tail = |v: &Vec<String>, n: usize| v[v.len().saturating_sub(n)..].join("/");
    parts
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut n = 1;
            while n < v.len() && parts.iter().enumerate().any(|(j, w)| j != i && tail(w, n) == tail(v, n)) {
                n += 1;
            }
            tail(v, n)
        })
        .collect()
}

pub(super) fn read_input(path: &Path, label: &str) -> Result<String, CliError> {
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| CliError::BadInput(format!("{shown}: cannot read: {e}")))?;
    if meta.is_dir() {
        return Err(CliError::BadInput(format!(
            "{shown}: is a folder; give the files in it (e.g. certs.d/*/hosts.toml)"
        )));
    }
    if meta.len() > MAX_INPUT_BYTES {
        return Err(CliError::BadInput(format!(
            "{label}: file is {} bytes; inputs are limited to {MAX_INPUT_BYTES} bytes",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| CliError::BadInput(format!("{shown}: cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        CliError::BadInput(format!(
            "{label}: not a text file (invalid UTF-8 at byte {}); expected JSON, YAML or TOML",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Refuses to replace a file unless `force`, and never replaces a folder.
fn check_out(out: &Path, force: bool) -> Result<(), CliError> {
    let shown = out.display();
    match std::fs::symlink_metadata(out) {
        Ok(m) if m.is_dir() => Err(CliError::BadInput(format!("{shown} is a folder; --out names the scenario file to write"))),
        Ok(_) if !force => Err(CliError::BadInput(format!(
            "{shown} already exists; pullsim import does not replace files unless --force (or choose another --out)"
        ))),
        _ => Ok(()),
    }
}

/// Writes `bytes` to a temporary file beside `out` and moves it into place: a reader never
/// sees half a scenario, and a failure leaves no file behind. Without `force` the move is a
/// hard link, which fails if `out` appeared meanwhile.
fn write_atomically(out: &Path, bytes: &[u8], force: bool) -> Result<(), CliError> {
    let shown = out.display();
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let io = |e: std::io::Error| CliError::Other(format!("{shown}: writing: {e}"));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)
            .map_err(|e| CliError::BadInput(format!("{shown}: cannot create: {e}")))?;
        f.write_all(bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        check_out(out, force)?;
        if force {
            std::fs::rename(&tmp, out).map_err(io)
        } else {
            match std::fs::hard_link(&tmp, out) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => check_out(out, false),
                // A filesystem without hard links: the existence check above stands.
                Err(_) => std::fs::rename(&tmp, out).map_err(io),
            }
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_tell_inputs_apart() {
        let p = |s: &str| PathBuf::from(s);
        let paths =
            [p("/x/certs.d/docker.io/hosts.toml"), p("/x/certs.d/ghcr.io/hosts.toml"), p("nodes.json")];
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        assert_eq!(labels(&refs), ["docker.io/hosts.toml", "ghcr.io/hosts.toml", "nodes.json"]);
        assert_eq!(split_ref("nginx:1.27=m.json"), (p("m.json"), Some("nginx:1.27".into())));
        assert_eq!(split_ref("plain.json"), (p("plain.json"), None));
    }
}
