//! `cargo reflex db`: the advisory database.

use clap::{Args, Subcommand};
use reflex::knowledge::paths;
use reflex::sources::advisory_db;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct DbArgs {
    #[command(subcommand)]
    pub command: DbCommand,
}

#[derive(Subcommand, Debug)]
pub enum DbCommand {
    /// Clone or update the advisory database with git into the cache directory
    Fetch {
        /// Git URL of a RustSec-format advisory database
        #[arg(long, default_value = advisory_db::DEFAULT_URL)]
        url: String,
        /// Cache directory [default: $CARGO_REFLEX_CACHE, $XDG_CACHE_HOME/cargo-reflex or ~/.cache/cargo-reflex]
        #[arg(long, value_name = "DIR", env = "CARGO_REFLEX_CACHE")]
        cache_dir: Option<PathBuf>,
    },
    /// Show which advisory database `audit` would use
    Status {
        /// RustSec-format directory to inspect instead
        #[arg(long, value_name = "DIR")]
        advisory_db: Option<PathBuf>,
        #[arg(long, value_name = "DIR", env = "CARGO_REFLEX_CACHE")]
        cache_dir: Option<PathBuf>,
    },
}

fn cache(dir: Option<PathBuf>) -> Result<PathBuf, reflex::Error> {
    dir.or_else(paths::cache_dir).ok_or_else(|| {
        reflex::Error::Usage("no cache directory: set HOME, XDG_CACHE_HOME or CARGO_REFLEX_CACHE, or pass --cache-dir".into(), None)
    })
}

pub fn run(args: DbArgs) -> Result<u8, reflex::Error> {
    let mut out = std::io::stdout().lock();
    let io = |e| reflex::Error::io("<stdout>", e);
    match args.command {
        DbCommand::Fetch { url, cache_dir } => {
            let dir = cache(cache_dir)?;
            let outcome = advisory_db::fetch(&url, &dir)?;
            let info = outcome.db.info();
            writeln!(
                out,
                "{} advisory database at {}: {} advisories, commit {}, updated {}{}",
                if outcome.cloned { "cloned" } else { "updated" },
                outcome.path.display(),
                info.advisory_count.unwrap_or(0),
                info.commit.as_deref().unwrap_or("unknown"),
                info.last_updated.as_deref().unwrap_or("unknown"),
                if info.invalid_entries > 0 {
                    format!(" ({} invalid entries skipped)", info.invalid_entries)
                } else {
                    String::new()
                }
            )
            .map_err(io)?;
        }
        DbCommand::Status {
            advisory_db: dir,
            cache_dir,
        } => {
            let db = advisory_db::select(
                dir.as_deref(),
                cache_dir.or_else(paths::cache_dir).as_deref(),
                advisory_db::Scope::All,
            )?;
            let info = db.info();
            writeln!(
                out,
                "advisory database: {}{}\nadvisories: {}\ninvalid entries: {}\ncommit: {}\nlast updated: {}",
                info.origin,
                info.path.map(|p| format!(" ({p})")).unwrap_or_default(),
                info.advisory_count.unwrap_or(0),
                info.invalid_entries,
                info.commit.as_deref().unwrap_or("unknown"),
                info.last_updated.as_deref().unwrap_or("unknown"),
            )
            .map_err(io)?;
        }
    }
    Ok(0)
}
