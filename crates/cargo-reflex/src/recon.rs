//! `cargo reflex recon`.

use crate::audit::{execute_recorded, options};
use crate::cli::CommonArgs;
use clap::Args;
use reflex::commands::recon;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct ReconArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Popularity corpus for typosquat checks: a CSV with a `name` column (and `rank`, `repository`) or one name per line, most popular first
    #[arg(long, value_name = "FILE")]
    pub popular: Option<PathBuf>,

    /// A crate with no release for this many months is stale
    #[arg(long, default_value_t = 24, value_name = "MONTHS")]
    pub stale_after: i64,

    /// Name prefix of your organisation's internal crates (repeatable), for dependency-confusion checks
    #[arg(long = "internal-prefix", value_name = "PREFIX")]
    pub internal_prefixes: Vec<String>,

    /// Popular crates ranked at or above this are typosquat targets
    #[arg(long, default_value_t = reflex::checks::typosquat::DEFAULT_TARGET_RANK, value_name = "RANK")]
    pub typosquat_rank: u32,

    #[command(flatten)]
    pub record: crate::record::RecordArgs,
}

pub fn run(args: ReconArgs) -> Result<u8, reflex::Error> {
    let c = &args.common;
    let mut opts = options(c)?;
    opts.popular = args.popular.clone();
    opts.stale_after_days = args.stale_after * 365 / 12;
    opts.internal_prefixes = args.internal_prefixes.clone();
    opts.typosquat_target_rank = args.typosquat_rank;
    execute_recorded(c, &args.record, |progress| recon(&opts, progress))
}
