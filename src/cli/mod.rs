//! The command line: argument definitions (clap) and the commands. The only module that reads
//! files given by the user, prints to the terminal, reads the wall clock (for the "events per
//! second" line, never for results) and decides exit codes: 0 success, 2 bad input, 1 other.

mod args;
mod calibrate;
mod import;
mod init;
mod plan;
mod run;
mod sweep;

pub use args::Cli;

use std::ffi::OsString;
use std::fmt;
use std::path::Path;
use std::process::ExitCode;

/// A command's failure, with the exit code it maps to.
#[derive(Debug)]
pub enum CliError {
    /// Bad input: file, flags or values (exit 2).
    BadInput(String),
    /// Anything else: IO while writing results, internal errors (exit 1).
    Other(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::BadInput(m) | CliError::Other(m) => write!(f, "{m}"),
        }
    }
}

/// Maps a results folder's failure: a refused destination is the user's input (exit 2), the
/// rest is IO (exit 1).
pub(crate) fn results_error(out: &Path, e: crate::report::StagingError) -> CliError {
    match e {
        crate::report::StagingError::Refused(r) => CliError::BadInput(r.0),
        crate::report::StagingError::Io(e) => {
            CliError::Other(format!("{}: writing results: {e}", out.display()))
        }
    }
}

/// Refuses an output folder pullsim may not replace before any work is done (it is checked
/// again when the results are swapped in).
pub(crate) fn check_out(out: &Path, force: bool) -> Result<(), CliError> {
    crate::report::check_destination(out, force).map_err(|r| CliError::BadInput(r.0))
}

/// Scenario files larger than this are refused before parsing (a typo'd path to a disk image
/// should not take minutes or gigabytes to reject). Parsing keeps spans for every value and
/// peaks at about 160 bytes of memory per byte of TOML (a 15 MB file took 2.4 GB), so the cap is
/// 4 MiB (~650 MB peak); real scenarios are a few kB, and `[[image_set]]` covers many images.
pub const MAX_SCENARIO_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a scenario file as UTF-8 text, with input errors mapped to exit code 2.
pub fn read_scenario_file(path: &Path) -> Result<String, CliError> {
    let shown = path.display();
    let meta =
        std::fs::metadata(path).map_err(|e| CliError::BadInput(format!("{shown}: cannot read: {e}")))?;
    if meta.is_dir() {
        return Err(CliError::BadInput(format!("{shown}: is a folder, expected a scenario .toml file")));
    }
    if meta.len() > MAX_SCENARIO_BYTES {
        return Err(CliError::BadInput(format!(
            "{shown}: file is {} bytes; scenario files are limited to {} bytes",
            meta.len(),
            MAX_SCENARIO_BYTES
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| CliError::BadInput(format!("{shown}: cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        CliError::BadInput(format!(
            "{shown}: not a text file (invalid UTF-8 at byte {}); expected a TOML scenario",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Parses arguments and runs the command; never panics on bad input.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    use clap::Parser;
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    install_broken_pipe_hook();
    let res = match std::panic::catch_unwind(|| run::dispatch(cli)) {
        Ok(r) => r,
        // `pullsim ... | head`: the reader left; like other Unix tools, stop quietly.
        Err(p) if is_broken_pipe(p.as_ref()) => return ExitCode::SUCCESS,
        Err(p) => std::panic::resume_unwind(p),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::BadInput(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(2)
        }
        Err(CliError::Other(m)) => {
            eprintln!("error: {m}");
            ExitCode::from(1)
        }
    }
}

/// `println!` panics when stdout is a closed pipe; such a panic is not a bug.
fn is_broken_pipe(payload: &(dyn std::any::Any + Send)) -> bool {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    text.contains("Broken pipe") || text.contains("failed printing to stdout")
}

/// Keeps the default panic report for real bugs and silences the closed-pipe one.
fn install_broken_pipe_hook() {
    // Once per process: `main_with_args` is also called many times in one process (tests,
    // the `sweep` benchmark), and each call would otherwise wrap the hook once more.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !is_broken_pipe(info.payload()) {
                default(info);
            }
        }));
    });
}
