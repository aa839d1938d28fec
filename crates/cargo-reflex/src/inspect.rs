//! `cargo reflex inspect <name>[@version] | <file.crate> | <directory>`.

use crate::audit::{execute, options};
use crate::cli::CommonArgs;
use clap::Args;
use reflex::commands::inspect::InspectTarget;
use std::path::PathBuf;

#[derive(Args, Debug)]
#[command(after_help = "\
Online (the default for name[@version]), the release is read from the registry; \
a .crate file or a directory is read offline, as data, unless --online is given \
(then the registry index says whether the release is yanked and whether the file \
matches its published checksum, and the archives of crates it may imitate are downloaded).")]
pub struct InspectArgs {
    /// The crate: `name` (newest release), `name@version`, a `.crate` file, or a crate's directory
    #[arg(value_name = "CRATE")]
    pub target: String,

    /// For a .crate file or a directory: also consult the registry (index, and archives of the crates it may imitate)
    #[arg(long, conflicts_with = "offline")]
    pub online: bool,

    /// Popularity corpus for look-alike and impersonation checks: a CSV with a `name` column (and `rank`, `repository`) or one name per line, most popular first
    #[arg(long, value_name = "FILE")]
    pub popular: Option<PathBuf>,

    /// Popular crates ranked at or above this are typosquat targets
    #[arg(long, default_value_t = reflex::checks::typosquat::DEFAULT_TARGET_RANK, value_name = "RANK")]
    pub typosquat_rank: u32,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run(args: InspectArgs) -> Result<u8, reflex::Error> {
    let c = &args.common;
    if c.manifest_path.is_some() || c.file.is_some() {
        return Err(reflex::Error::Usage(
            "inspect reads one crate: --manifest-path and --file do not apply".into(),
            Some("`cargo reflex recon` judges a workspace or a lockfile".into()),
        ));
    }
    let mut opts = options(c)?;
    let target = InspectTarget::parse(&args.target, &opts.cwd)?;
    // A file or a directory is read offline unless asked: no index, no database refresh.
    if target.is_local() && !args.online {
        opts.index.online = false;
        opts.db_refresh = None;
    }
    opts.inspect = Some(target);
    opts.popular = args.popular.clone();
    opts.typosquat_target_rank = args.typosquat_rank;
    execute(c, |progress| reflex::commands::inspect(&opts, progress))
}
