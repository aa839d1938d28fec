//! `cargo reflex audit`.

use crate::cli::CommonArgs;
use crate::output;
use clap::Args;
use reflex::commands::{CommandOptions, DbRefresh, audit};
use reflex::knowledge::paths::cargo_home;
use reflex::time::Clock;

#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Also list secret-looking environment variables (names only), credential files and network routes visible to build scripts
    #[arg(long)]
    pub env: bool,

    /// Do not check whether locked versions are yanked
    #[arg(long)]
    pub no_yanked: bool,

    /// Report the advisory database as stale when older than this many days
    #[arg(long, default_value_t = 90, value_name = "DAYS")]
    pub db_max_age: i64,

    #[command(flatten)]
    pub record: crate::record::RecordArgs,
}

pub fn run(args: AuditArgs) -> Result<u8, reflex::Error> {
    let c = &args.common;
    let mut opts = options(c)?;
    opts.check_yanked = !args.no_yanked;
    opts.db_stale_days = args.db_max_age;
    if args.env {
        opts.env = Some(
            std::env::vars_os()
                .map(|(k, v)| {
                    (
                        k.to_string_lossy().into_owned(),
                        v.to_string_lossy().into_owned(),
                    )
                })
                .collect(),
        );
    }
    execute_recorded(c, &args.record, |progress| audit(&opts, progress))
}

/// Library options from the common flags.
pub fn options(c: &CommonArgs) -> Result<CommandOptions, reflex::Error> {
    let cwd = std::env::current_dir().map_err(|e| reflex::Error::io(".", e))?;
    let mut opts = CommandOptions::new(cwd);
    opts.manifest_path = c.manifest_path.clone();
    opts.lockfile = c.file.clone();
    opts.advisory_db = c.advisory_db.clone();
    if c.cache_dir.is_some() {
        opts.cache_dir = c.cache_dir.clone();
    }
    opts.index.online = !c.offline;
    opts.index.cargo_home = c.cargo_home.clone().or_else(cargo_home);
    opts.index.crates_io_url = c.crates_io_index.clone();
    opts.index.max_age = std::time::Duration::from_secs(c.index_max_age * 60);
    if let Some(d) = c.deny {
        opts.deny = d.0;
        opts.deny_from_cli = true;
    }
    opts.overrides = reflex::report::CodeOverrides {
        deny: c.deny_codes.clone(),
        warn: c.warn_codes.clone(),
        allow: c.allow_codes.clone(),
    };
    if !c.offline && !c.no_fetch {
        opts.db_refresh = Some(DbRefresh {
            url: c.db_url.clone(),
            after: std::time::Duration::from_secs(3600),
        });
    }
    if let Some(now) = &c.now {
        opts.clock = Clock::fixed(now).ok_or_else(|| {
            reflex::Error::Usage(
                format!("--now: `{now}` is not a date or RFC 3339 time"),
                None,
            )
        })?;
    }
    Ok(opts)
}

/// Runs a command with a progress bar, renders the report and maps it to the exit code.
pub fn execute(
    c: &CommonArgs,
    command: impl FnOnce(
        reflex::commands::Progress<'_>,
    ) -> Result<reflex::report::Report, reflex::Error>,
) -> Result<u8, reflex::Error> {
    let report = with_progress(c, command)?;
    output::emit(&output::render(&report, c), c)?;
    Ok(if report.summary.passed { 0 } else { 1 })
}

/// [`execute`], and with `--record` the run goes into the state store's inventory (opened
/// first: an unreachable store fails before the work).
pub fn execute_recorded(
    c: &CommonArgs,
    record: &crate::record::RecordArgs,
    command: impl FnOnce(
        reflex::commands::Progress<'_>,
    ) -> Result<reflex::report::Report, reflex::Error>,
) -> Result<u8, reflex::Error> {
    let store = record.open()?;
    let report = with_progress(c, command)?;
    output::emit(&output::render(&report, c), c)?;
    record.save(store.as_deref(), &report, c.quiet)?;
    Ok(if report.summary.passed { 0 } else { 1 })
}

/// Runs a command while a progress bar (on a terminal) shows its long steps.
pub fn with_progress(
    c: &CommonArgs,
    command: impl FnOnce(
        reflex::commands::Progress<'_>,
    ) -> Result<reflex::report::Report, reflex::Error>,
) -> Result<reflex::report::Report, reflex::Error> {
    let bar = output::progress(c);
    let on_progress = |what: &str, done: usize, total: usize| {
        if let Some(b) = &bar {
            b.set_message(what.to_string());
            b.set_length(total as u64);
            b.set_position(done as u64);
        }
    };
    let report = command(&on_progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    if let (Ok(r), Some(path)) = (&report, &c.html) {
        output::write_html(r, path)?;
    }
    report
}
