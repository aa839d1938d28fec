//! `cargo reflex respond`.

use clap::{Args, ValueEnum};
use reflex::knowledge::paths::{cache_dir, cargo_home};
use reflex::respond::{Options, Query, render_human, respond};
use reflex::sources::advisory_db::{self, Scope};
use reflex::sources::registry_index::{IndexConfig, RegistryIndex};
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RespondFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub struct RespondArgs {
    /// The crate (`name` or `name@<version-req>`) or an advisory id (RUSTSEC-..., CVE-..., GHSA-...)
    #[arg(value_name = "CRATE[@REQ]|ADVISORY")]
    pub query: String,

    /// Directory trees to search for Cargo.lock files (.gitignore is respected) [default: .]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Output format
    #[arg(long, value_enum, default_value_t = RespondFormat::Human)]
    pub format: RespondFormat,

    /// RustSec-format advisory database directory (default: fetched clone if newer, else the embedded snapshot)
    #[arg(long, value_name = "DIR")]
    pub advisory_db: Option<PathBuf>,

    /// cargo-reflex's cache directory [default: $CARGO_REFLEX_CACHE or ~/.cache/cargo-reflex]
    #[arg(long, value_name = "DIR", env = "CARGO_REFLEX_CACHE")]
    pub cache_dir: Option<PathBuf>,

    /// Use the network for registry lookups (safe versions, build-time edges); default is cargo's local index cache only
    #[arg(long)]
    pub online: bool,

    /// Walker threads [default: the number of cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Exit 1 when any lockfile is affected (for scripts)
    #[arg(long)]
    pub fail_if_affected: bool,

    /// Answer from the inventory of recorded runs (`--record`) instead of walking directories: the newest record of every repository and branch. A SQLite file or a postgres:// URL; without a value, $CARGO_REFLEX_STATE or state.sqlite in cargo-reflex's cache directory
    #[arg(long, value_name = "FILE|URL", num_args = 0..=1, default_missing_value = "", conflicts_with = "paths")]
    pub state: Option<String>,

    /// With --state: only records made at or after this time (RFC 3339 or a date, for example 2026-11-01)
    #[arg(long, value_name = "TIME", requires = "state")]
    pub since: Option<String>,
}

pub fn run(args: RespondArgs) -> Result<u8, reflex::Error> {
    let query = Query::parse(&args.query)?;
    let cache = args.cache_dir.clone().or_else(cache_dir);
    let db = advisory_db::select(args.advisory_db.as_deref(), cache.as_deref(), Scope::All)?;
    let mut config = IndexConfig {
        cargo_home: cargo_home(),
        online: args.online,
        cache_dir: cache.clone(),
        detailed: true,
        ..IndexConfig::default()
    };
    config.crates_io_url = std::env::var("CARGO_REFLEX_CRATES_IO_INDEX").ok();
    let index = RegistryIndex::crates_io(config);
    if let Some(given) = &args.state {
        let given = Some(given.clone())
            .filter(|s| !s.is_empty())
            .or_else(|| std::env::var("CARGO_REFLEX_STATE").ok());
        let location = reflex::state::Location::or_default(given.as_deref())?;
        let store = reflex::state::open(&location)?;
        if let Some(since) = &args.since {
            reflex::state::micros(since)?;
        }
        let response = reflex::respond::respond_recorded(
            &query,
            &args.query,
            store.as_ref(),
            args.since.as_deref(),
            &db,
            Some(&index),
        )?;
        return Ok(emit(&args, &response));
    }
    let roots = if args.paths.is_empty() {
        vec![std::env::current_dir().map_err(|e| reflex::Error::io(".", e))?]
    } else {
        args.paths.clone()
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let response = respond(
        &query,
        &args.query,
        &Options {
            roots,
            db: &db,
            index: Some(&index),
            threads,
        },
    )?;
    Ok(emit(&args, &response))
}

/// Writes the answer and returns the exit code.
fn emit(args: &RespondArgs, response: &reflex::respond::Response) -> u8 {
    let text = match args.format {
        RespondFormat::Human => render_human(response),
        RespondFormat::Json => serde_json::to_string_pretty(response).unwrap_or_default() + "\n",
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if args.fail_if_affected && !response.projects.is_empty() {
        1
    } else {
        0
    }
}
