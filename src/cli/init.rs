//! `pullsim init [FILE]`: a commented starter scenario that validates and runs, written only
//! where no file exists; and `pullsim completions SHELL`: a shell completion script generated
//! from the argument definitions.

use super::args::{Cli, CompletionsArgs, InitArgs};
use super::CliError;
use std::io::Write;

/// The starter scenario (tested to validate and run).
pub const STARTER: &str = include_str!("starter.toml");

pub(super) fn cmd_init(a: InitArgs) -> Result<(), CliError> {
    let shown = a.file.display();
    if a.file.extension().and_then(|e| e.to_str()) != Some("toml") {
        return Err(CliError::BadInput(format!(
            "{shown}: a scenario file name ends in .toml, e.g. my-cluster.toml"
        )));
    }
    // `create_new` fails when the file exists: init never replaces anything.
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&a.file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::BadInput(format!(
                "{shown} already exists; pullsim init writes only new files (choose another name)"
            ))
        } else {
            CliError::BadInput(format!("{shown}: cannot create: {e}"))
        }
    })?;
    f.write_all(STARTER.as_bytes()).map_err(|e| CliError::Other(format!("{shown}: writing: {e}")))?;
    println!("wrote {shown}: a starter scenario (20 nodes, one registry, a DaemonSet and a Deployment)");
    println!("next: pullsim validate {shown} && pullsim run {shown}");
    Ok(())
}

pub(super) fn cmd_completions(a: CompletionsArgs) -> Result<(), CliError> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    clap_complete::generate(a.shell, &mut cmd, "pullsim", &mut std::io::stdout());
    Ok(())
}
