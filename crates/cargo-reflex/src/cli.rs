//! Command-line interface (clap derive).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "cargo-reflex",
    bin_name = "cargo reflex",
    version,
    about = "Defend Rust builds against crate supply-chain attacks",
    long_about = "Defend Rust builds against crate supply-chain attacks.\n\nExit codes: 0 passed, 1 findings at or above the deny level, 2 error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Evaluation: known advisories, yanked crates, lockfile hygiene, CI and cargo config review
    Audit(crate::audit::AuditArgs),
    /// Reconnaissance: stale crates, takeover targets, typosquats, confusion, build-time code, unsafe
    Recon(crate::recon::ReconArgs),
    /// Evaluation: everything known about one crate before you add it (name[@version] from the registry, a .crate file or a directory, read as data)
    Inspect(crate::inspect::InspectArgs),
    /// Fortify: explain every change between two lockfiles (default: HEAD against the working tree)
    Review(crate::review::ReviewArgs),
    /// Fortify: run audit, recon and policy rules under reflex.toml; exit 1 on any denied finding
    Gate(crate::gate::GateArgs),
    /// Fortify: write a starter reflex.toml from today's graph and print hardened configuration
    Init(crate::init::InitArgs),
    /// Fortify: record in reflex.toml the approval that clears a finding (a trust record for one version, or a build-time allow)
    Approve(crate::approve::ApproveArgs),
    /// Limit: fetch with the network and no secrets, then build offline in a sandbox
    Build(crate::build::BuildArgs),
    /// Are we affected? Find every Cargo.lock under the given trees that holds a crate or an advisory's crate, with the remedy
    Respond(crate::respond::RespondArgs),
    /// eXercise: play benign imitations of real attacks against the pipeline and score each layer
    Drill(crate::drill::DrillArgs),
    /// Manage the advisory database (the embedded snapshot, or a fetched clone)
    Db(crate::db::DbArgs),
    /// Software bill of materials of the locked graph (CycloneDX 1.6 or SPDX 2.3 JSON), with known advisories as VEX
    Sbom(crate::sbom::SbomArgs),
    /// The defence's figures per repository and for the organisation (lockfile, CI --locked, gate, staleness, advisories, churn, drills), from local trees or recorded runs
    Survey(crate::survey::SurveyArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(crate::completions::CompletionsArgs),
    /// Print the manual pages (roff), or write one file per command with --out-dir
    Man(crate::man::ManArgs),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Markdown,
    /// GitHub Actions workflow commands (`::error file=...,line=...::`)
    Github,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Options every analysis command takes.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// Path to Cargo.toml of the workspace (default: the nearest one above the current directory)
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,

    /// Analyse only this lockfile (no workspace); `-` reads standard input
    #[arg(long = "file", short = 'f', value_name = "Cargo.lock")]
    pub file: Option<PathBuf>,

    /// Never use the network: cargo's local index cache and the newest local advisory database only
    #[arg(long)]
    pub offline: bool,

    /// Accepted for cargo compatibility: cargo-reflex never writes Cargo.lock
    #[arg(long, hide = true)]
    pub locked: bool,

    /// Online, reuse registry index entries cached by cargo-reflex when younger than this many minutes
    #[arg(long, default_value_t = 60, value_name = "MINUTES")]
    pub index_max_age: u64,

    /// Do not refresh the advisory database clone before auditing (the network is used only for the registry index)
    #[arg(long)]
    pub no_fetch: bool,

    /// Git URL of the advisory database that audit keeps fresh in the cache directory
    #[arg(long, value_name = "URL", env = "CARGO_REFLEX_DB_URL", default_value = reflex::sources::advisory_db::DEFAULT_URL)]
    pub db_url: String,

    /// RustSec-format advisory database directory (default: fetched clone if newer, else the embedded snapshot)
    #[arg(long, value_name = "DIR")]
    pub advisory_db: Option<PathBuf>,

    /// cargo-reflex's cache: advisory database clone, index entries, crate archives and their analyses [default: $CARGO_REFLEX_CACHE, $XDG_CACHE_HOME/cargo-reflex or ~/.cache/cargo-reflex]
    #[arg(long, value_name = "DIR", env = "CARGO_REFLEX_CACHE")]
    pub cache_dir: Option<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Write the report to this file instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write the report as one self-contained HTML page (findings table, charts; no network)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Exit 1 when a finding is at or above this severity: critical, high, medium, low, info, or none [default: high, or the policy's deny-level]
    #[arg(long, value_name = "LEVEL", value_parser = parse_deny)]
    pub deny: Option<DenyLevel>,

    /// Make this finding code fail the run (repeatable)
    #[arg(short = 'D', long = "deny-code", value_name = "CODE")]
    pub deny_codes: Vec<String>,

    /// Make this finding code a warning that does not fail the run (repeatable)
    #[arg(short = 'W', long = "warn-code", value_name = "CODE")]
    pub warn_codes: Vec<String>,

    /// Drop findings with this code (repeatable); the summary counts them
    #[arg(short = 'A', long = "allow-code", value_name = "CODE")]
    pub allow_codes: Vec<String>,

    /// Print only findings that fail the run
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,

    /// Also print info findings and the status of every check
    #[arg(long, short = 'v')]
    pub verbose: bool,

    /// review, gate: show the code diff of every change (by default only where its behaviour is risky)
    #[arg(long)]
    pub diff: bool,

    /// When to use colors
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Use this time as "now" (RFC 3339 or YYYY-MM-DD), for reproducible reports
    #[arg(long, hide = true, value_name = "TIME")]
    pub now: Option<String>,

    /// Cargo home holding the registry index cache [default: $CARGO_HOME or ~/.cargo]
    #[arg(long, hide = true, value_name = "DIR")]
    pub cargo_home: Option<PathBuf>,

    /// Sparse index URL used instead of https://index.crates.io/
    #[arg(
        long,
        hide = true,
        value_name = "URL",
        env = "CARGO_REFLEX_CRATES_IO_INDEX"
    )]
    pub crates_io_index: Option<String>,
}

#[derive(Clone, Copy, Debug)]
pub struct DenyLevel(pub Option<reflex::finding::Severity>);

fn parse_deny(s: &str) -> Result<DenyLevel, String> {
    if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("never") {
        return Ok(DenyLevel(None));
    }
    // cargo-audit's spelling: `--deny warnings` fails on any warning.
    if s.eq_ignore_ascii_case("warnings") {
        return Ok(DenyLevel(Some(reflex::finding::Severity::Low)));
    }
    reflex::finding::Severity::parse(s)
        .map(|s| DenyLevel(Some(s)))
        .ok_or_else(|| {
            format!("`{s}` is not a level: use critical, high, medium, low, info or none")
        })
}
