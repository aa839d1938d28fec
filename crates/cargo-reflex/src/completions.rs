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
    crate::output::write_stdout(script(args.shell).as_bytes())?;
    Ok(0)
}

pub fn script(shell: Shell) -> String {
    let mut cmd = crate::cli::Cli::command();
    let mut out = Vec::new();
    if shell != Shell::Bash {
        clap_complete::generate(shell, &mut cmd, BIN_NAME, &mut out);
        return String::from_utf8_lossy(&out).into_owned();
    }
    // clap_complete's bash script never completes past a subcommand when the binary name has
    // a hyphen (clap-rs/clap#6421): generate for `cargo_reflex`, then bind it to `cargo-reflex`.
    let stand_in = BIN_NAME.replace('-', "_");
    clap_complete::generate(shell, &mut cmd, &stand_in, &mut out);
    String::from_utf8_lossy(&out)
        .lines()
        .map(|line| match line.trim_start().starts_with("complete -F") {
            true => match line.strip_suffix(&format!(" {stand_in}")) {
                Some(head) => format!("{head} {BIN_NAME}\n"),
                None => format!("{line}\n"),
            },
            false => format!("{line}\n"),
        })
        .collect()
}
