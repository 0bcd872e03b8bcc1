//! The `pullsim` binary: all logic lives in the library (`pullsim::cli`).

fn main() -> std::process::ExitCode {
    pullsim::cli::main_with_args(std::env::args_os())
}
