//! `cargo reflex respond`.

use clap::{Args, ValueEnum};
use reflex::knowledge::paths::{cache_dir, cargo_home};
use reflex::respond::{Options, Query, respond, write_human, write_json};
use reflex::sources::advisory_db::{self, Scope};
use reflex::sources::registry_index::{IndexConfig, RegistryIndex};
use std::collections::BTreeSet;
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
    // A crate query reads no advisory (neither to match nor for its remedies): only an
    // advisory query needs the whole database (its id may be an alias of any of them).
    let names: BTreeSet<String>;
    let scope = match &query {
        Query::Crate { name, .. } => {
            names = BTreeSet::from([name.clone()]);
            Scope::Crates(&names)
        }
        Query::Advisory { .. } => Scope::All,
    };
    let db = advisory_db::select(args.advisory_db.as_deref(), cache.as_deref(), scope)?;
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
        if let Some(notice) = store.opened() {
            let _ = writeln!(std::io::stderr(), "{notice}");
        }
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
        return Ok(emit(&args, response));
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
    Ok(emit(&args, response))
}

/// Writes the answer and returns the exit code. The answer is written as it is serialised,
/// through one buffer, and not freed: the process ends (10,060 projects from the inventory
/// are about 6 MB of JSON, and building that text first, then freeing it and the answer,
/// took a quarter of `respond --state`).
fn emit(args: &RespondArgs, response: reflex::respond::Response) -> u8 {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = match args.format {
        RespondFormat::Human => write_human(&mut out, &response),
        RespondFormat::Json => write_json(&mut out, &response),
    };
    // A closed stdout (`| head`) ends the output, not the answer's exit code.
    let _ = written.and_then(|()| out.flush());
    let affected = !response.projects.is_empty();
    std::mem::forget(response);
    if args.fail_if_affected && affected {
        1
    } else {
        0
    }
}
