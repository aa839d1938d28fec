//! `cargo reflex completions`: shell completion scripts (clap_complete).

use clap::{Args, CommandFactory};
use clap_complete::Shell;

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The name the scripts complete: cargo's own completions hand `cargo reflex ...` to the
/// completer of `cargo-reflex` (bash-completion 2.12+ and zsh's `_cargo-reflex`).
const BIN_NAME: &str = "cargo-reflex";

pub fn run(args: CompletionsArgs) -> Result<u8, reflex::Error> {
    let mut script = Vec::new();
    clap_complete::generate(
        args.shell,
        &mut crate::cli::Cli::command(),
        BIN_NAME,
        &mut script,
    );
    crate::output::write_stdout(&script)?;
    Ok(0)
}
