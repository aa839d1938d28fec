//! `cargo reflex review`.

use crate::audit::{execute, options};
use crate::cli::CommonArgs;
use clap::Args;
use reflex::commands::review;
use reflex::review::{LockInput, parse_range};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReviewArgs {
    /// Revisions to compare: `BASE` (against the working tree), `BASE..HEAD`, or `BASE...HEAD` (from their merge base) [default: HEAD against the working tree]
    #[arg(value_name = "RANGE", conflicts_with = "base_file")]
    pub range: Option<String>,

    /// Base lockfile to compare from (instead of a git revision)
    #[arg(long, value_name = "Cargo.lock")]
    pub base_file: Option<PathBuf>,

    /// Head lockfile to compare to (default: the workspace's Cargo.lock)
    #[arg(long, value_name = "Cargo.lock")]
    pub head_file: Option<PathBuf>,

    /// Flag incoming versions published fewer than this many days ago
    #[arg(long, default_value_t = 7, value_name = "DAYS")]
    pub young_days: i64,

    /// Name prefix of your organisation's internal crates (repeatable), for dependency-confusion checks
    #[arg(long = "internal-prefix", value_name = "PREFIX")]
    pub internal_prefixes: Vec<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: ReviewArgs) -> Result<u8, reflex::Error> {
    let c = &args.common;
    let mut opts = options(c)?;
    opts.young_days = args.young_days;
    opts.internal_prefixes = args.internal_prefixes.clone();
    opts.compare = Some(comparison(
        args.range.as_deref(),
        args.base_file.as_ref(),
        args.head_file.as_ref(),
        &mut opts,
    )?);
    execute(c, |progress| review(&opts, progress))
}

/// The two sides from a range or files; `--head-file` analyses that lockfile alone.
pub fn comparison(
    range: Option<&str>,
    base_file: Option<&PathBuf>,
    head_file: Option<&PathBuf>,
    opts: &mut reflex::commands::CommandOptions,
) -> Result<(LockInput, LockInput), reflex::Error> {
    if let Some(h) = head_file {
        if opts.lockfile.is_some() {
            return Err(reflex::Error::Usage(
                "--head-file and --file name the same thing; give one".into(),
                None,
            ));
        }
        opts.lockfile = Some(h.clone());
    }
    let (mut base, head) = parse_range(range);
    if let Some(b) = base_file {
        base = LockInput::File(b.clone());
    } else if head_file.is_some() && range.is_none() {
        return Err(reflex::Error::Usage(
            "--head-file needs a base to compare with".into(),
            Some("add --base-file OLD.lock, or a git revision".into()),
        ));
    }
    if head_file.is_some() && head != LockInput::WorkingTree {
        return Err(reflex::Error::Usage(
            "--head-file cannot be combined with a `A..B` range".into(),
            None,
        ));
    }
    Ok((base, head))
}
