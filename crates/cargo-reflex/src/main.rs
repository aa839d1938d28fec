//! `cargo-reflex`: defends Rust builds against crate supply-chain attacks.
//! The binary parses arguments, calls the library, renders and maps the result to an exit
//! code: 0 passed, 1 findings at or above the deny level, 2 error.
#![forbid(unsafe_code)]

mod approve;
mod audit;
mod build;
mod cli;
mod completions;
mod db;
mod drill;
mod gate;
mod init;
mod inspect;
mod man;
mod output;
mod recon;
mod record;
mod respond;
mod review;
mod sbom;
mod survey;

use clap::Parser;
use std::process::ExitCode;

/// mimalloc: the analysis of a crate builds and drops millions of small syntax nodes, and the
/// system allocator spent about 28 % of a cold `recon` in malloc and free.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The sandbox's init: a re-execution of this binary by `build`.
    if args.get(1).is_some_and(|a| a == reflex_sandbox::INIT_ARG) {
        reflex_sandbox::init_main();
    }
    // `cargo reflex ...` runs us as `cargo-reflex reflex ...`.
    if args.get(1).is_some_and(|a| a == "reflex") {
        args.remove(1);
    }
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        cli::Command::Audit(args) => audit::run(args),
        cli::Command::Recon(args) => recon::run(args),
        cli::Command::Review(args) => review::run(args),
        cli::Command::Gate(args) => gate::run(args),
        cli::Command::Inspect(args) => inspect::run(args),
        cli::Command::Init(args) => init::run(args),
        cli::Command::Approve(args) => approve::run(args),
        cli::Command::Build(args) => build::run(args),
        cli::Command::Respond(args) => respond::run(args),
        cli::Command::Drill(args) => drill::run(args),
        cli::Command::Db(args) => db::run(args),
        cli::Command::Sbom(args) => sbom::run(args),
        cli::Command::Survey(args) => survey::run(args),
        cli::Command::Completions(args) => completions::run(args),
        cli::Command::Man(args) => man::run(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            output::error(err);
            ExitCode::from(2)
        }
    }
}
