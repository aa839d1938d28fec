//! `cargo reflex survey`: the defence's figures per repository and for the organisation.

use clap::{Args, ValueEnum};
use reflex::commands::{CommandOptions, Progress};
use reflex::knowledge::paths::cargo_home;
use reflex::state::{self, Location};
use reflex::survey::{self, history::History};
use reflex::time::Clock;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SurveyFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Args, Debug)]
pub struct SurveyArgs {
    /// Directory trees holding the repositories to survey (.gitignore is respected) [default: . unless --state is given]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Survey the runs recorded in this state store (`gate/audit/recon --record`) instead of local trees: a SQLite file or postgres://... With local trees, the store's history (first sightings, drills) is added [default: $CARGO_REFLEX_STATE, else the local state file when it exists]
    #[arg(long, value_name = "URL", env = "CARGO_REFLEX_STATE")]
    pub state: Option<String>,

    /// Only records (and sightings) at or after this date (YYYY-MM-DD or RFC 3339); lockfile churn since this date too [default: churn over 12 months]
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = SurveyFormat::Human)]
    pub format: SurveyFormat,

    /// Also write the survey as one self-contained HTML page (charts and tables, no network)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// Write the survey to this file instead of standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Leave git history (lockfile churn) out
    #[arg(long)]
    pub no_history: bool,

    /// Use the network for registry lookups (release dates); default is cargo's local index cache only
    #[arg(long)]
    pub online: bool,

    /// RustSec-format advisory database directory (default: fetched clone if newer, else the embedded snapshot)
    #[arg(long, value_name = "DIR")]
    pub advisory_db: Option<PathBuf>,

    /// cargo-reflex's cache directory [default: $CARGO_REFLEX_CACHE or ~/.cache/cargo-reflex]
    #[arg(long, value_name = "DIR", env = "CARGO_REFLEX_CACHE")]
    pub cache_dir: Option<PathBuf>,

    /// Worker threads [default: the number of cores]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Exit 1 when a repository's gate fails or its lockfile is not committed (for scripts)
    #[arg(long)]
    pub fail_on_gaps: bool,

    /// Use this time as "now" (RFC 3339 or YYYY-MM-DD), for reproducible reports
    #[arg(long, hide = true, value_name = "TIME")]
    pub now: Option<String>,
}

pub fn run(args: SurveyArgs) -> Result<u8, reflex::Error> {
    let clock = match &args.now {
        Some(now) => Clock::fixed(now).ok_or_else(|| {
            reflex::Error::Usage(
                format!("--now: `{now}` is not a date or RFC 3339 time"),
                None,
            )
        })?,
        None => Clock::system(),
    };
    if let Some(s) = &args.since {
        state::micros(s)?;
    }
    let recorded = args.state.is_some() && args.paths.is_empty();
    let survey = if recorded {
        let location = Location::parse(args.state.as_deref().unwrap_or_default());
        let store = open_existing(&location)?;
        survey::recorded::survey(store.as_ref(), args.since.as_deref(), clock.rfc3339())?
    } else {
        local(&args, clock)?
    };
    let text = match args.format {
        SurveyFormat::Human => survey::render::human(&survey),
        SurveyFormat::Json => serde_json::to_string_pretty(&survey).unwrap_or_default() + "\n",
        SurveyFormat::Markdown => survey::render::markdown(&survey),
    };
    if let Some(path) = &args.html {
        std::fs::write(path, survey::html::render(&survey))
            .map_err(|e| reflex::Error::io(path, e))?;
    }
    match &args.output {
        Some(path) => std::fs::write(path, text).map_err(|e| reflex::Error::io(path, e))?,
        None => crate::output::write_stdout(text.as_bytes())?,
    }
    let gaps = survey
        .repositories
        .iter()
        .any(|r| r.gate_passed == Some(false) || r.lockfile_committed == Some(false));
    Ok(u8::from(args.fail_on_gaps && gaps))
}

/// A store that must already hold something: a missing SQLite file is a typo, not a survey
/// of nothing.
fn open_existing(location: &Location) -> Result<Box<dyn state::StateStore>, reflex::Error> {
    if let Location::Sqlite(p) = location
        && !p.is_file()
    {
        return Err(reflex::Error::Usage(
            format!("no state store at {}", p.display()),
            Some("record runs first (`cargo reflex gate --record --state FILE`), or give the trees to survey".into()),
        ));
    }
    let store = state::open(location)?;
    if let Some(notice) = store.opened() {
        let _ = std::io::Write::write_all(&mut std::io::stderr(), format!("{notice}\n").as_bytes());
    }
    Ok(store)
}

fn local(args: &SurveyArgs, clock: Clock) -> Result<survey::Survey, reflex::Error> {
    let cwd = std::env::current_dir().map_err(|e| reflex::Error::io(".", e))?;
    let mut gate = CommandOptions::new(cwd.clone());
    gate.clock = clock;
    gate.advisory_db = args.advisory_db.clone();
    if args.cache_dir.is_some() {
        gate.cache_dir = args.cache_dir.clone();
    }
    gate.index.online = args.online;
    gate.index.cargo_home = cargo_home();
    gate.index.crates_io_url = std::env::var("CARGO_REFLEX_CRATES_IO_INDEX").ok();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let churn_since = (!args.no_history).then(|| {
        args.since.clone().unwrap_or_else(|| {
            clock
                .today()
                .checked_sub(jiff::Span::new().months(12))
                .map(|d| d.to_string())
                .unwrap_or_else(|_| "1970-01-01".into())
        })
    });
    let opts = survey::local::LocalOptions {
        roots: if args.paths.is_empty() {
            vec![cwd]
        } else {
            args.paths.clone()
        },
        gate,
        threads,
        churn_since,
    };
    let history = history(args)?;
    let bar = progress();
    let on_progress = |what: &str, done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_message(what.to_string());
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let progress: Progress<'_> = &on_progress;
    let result = survey::local::survey(&opts, history, progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    result
}

/// The store's history for a survey of local trees: the store given, else the local state
/// file when it exists (never created by a survey).
fn history(args: &SurveyArgs) -> Result<History, reflex::Error> {
    let location = match &args.state {
        Some(s) => Location::parse(s),
        None => match Location::default_local() {
            Some(Location::Sqlite(p)) if p.is_file() => Location::Sqlite(p),
            _ => return Ok(History::default()),
        },
    };
    let store = open_existing(&location)?;
    let range = state::TimeRange::since(args.since.as_deref());
    let first_seen: Vec<String> = store
        .destinations(&range)?
        .into_iter()
        .map(|d| d.first_seen)
        .collect();
    let drills = store.drill_history()?;
    Ok(History::from_parts(&first_seen, drills, &[]))
}

fn progress() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    Some(bar)
}
