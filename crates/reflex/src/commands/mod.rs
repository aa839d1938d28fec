//! The commands that judge a dependency graph (audit, recon, review, gate), as data: which
//! checks run (those registered for the command in `checks::REGISTRY`), on what scope, and
//! which report sections they fill. One loader builds the inputs the selected checks need
//! ([`load`]); one assembler turns what they found into the report ([`assemble`]).

mod assemble;
pub mod inspect;
mod load;
pub mod record;

use crate::checks::{self, CommandId, Needs, Sink};
use crate::error::Result;
use crate::finding::{Catalog, CheckRun, Severity};
use crate::policy::Policy;
use crate::report::{CodeOverrides, Report};
use crate::review::LockInput;
use crate::sources::advisory_db;
use crate::sources::registry_index::IndexConfig;
use crate::time::Clock;
use std::path::PathBuf;

/// What a command looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every package of the graph.
    Graph,
    /// Only what the change brings (the incoming packages); archives come from the change.
    Change,
}

/// A command as data.
#[derive(Debug)]
pub struct Command {
    pub name: &'static str,
    pub id: CommandId,
    pub scope: Scope,
    /// Fills the per-crate table (`recon`); other commands leave it out.
    pub crate_table: bool,
}

pub const AUDIT: Command = Command {
    name: "audit",
    id: CommandId::Audit,
    scope: Scope::Graph,
    crate_table: false,
};
pub const RECON: Command = Command {
    name: "recon",
    id: CommandId::Recon,
    scope: Scope::Graph,
    crate_table: true,
};
pub const REVIEW: Command = Command {
    name: "review",
    id: CommandId::Review,
    scope: Scope::Change,
    crate_table: false,
};
/// The gate is a verdict, not an inventory: recon's crate table stays in recon.
pub const GATE: Command = Command {
    name: "gate",
    id: CommandId::Gate,
    scope: Scope::Graph,
    crate_table: false,
};

/// One crate before anyone adds it: the checks that judge a crate by itself (advisories,
/// yanked, freshness, look-alike names, build-time code, impersonation, behaviour).
pub const INSPECT: Command = Command {
    name: "inspect",
    id: CommandId::Inspect,
    scope: Scope::Graph,
    crate_table: true,
};

/// Everything that varies between runs of a command is a parameter here.
#[derive(Clone, Debug)]
pub struct CommandOptions {
    pub cwd: PathBuf,
    pub manifest_path: Option<PathBuf>,
    /// Lockfile-only mode: judge this lockfile (`-` for stdin) without a workspace.
    pub lockfile: Option<PathBuf>,
    pub advisory_db: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub index: IndexConfig,
    pub check_yanked: bool,
    /// `--env`: the environment to inspect.
    pub env: Option<Vec<(String, String)>>,
    pub home: Option<PathBuf>,
    pub proc_root: PathBuf,
    pub clock: Clock,
    pub deny: Option<Severity>,
    pub db_stale_days: i64,
    /// Refresh the cached advisory database clone (git) when it is older than
    /// `db_refresh_after`; `None` never touches the network for it.
    pub db_refresh: Option<DbRefresh>,
    /// `recon`: popularity corpus file instead of the embedded one.
    pub popular: Option<PathBuf>,
    /// `recon`: a crate with no release for this many days is stale.
    pub stale_after_days: i64,
    /// `recon`: name prefixes of the organisation's internal crates.
    pub internal_prefixes: Vec<String>,
    /// `recon`: popular crates ranked at or above this are typosquat targets.
    pub typosquat_target_rank: u32,
    /// `recon`: read `.crate` archives (build-time code, unsafe, hostile archives).
    pub read_archives: bool,
    /// `-D/-W/-A <code>`.
    pub overrides: CodeOverrides,
    /// `--deny` was given: it wins over the policy's `deny-level`.
    pub deny_from_cli: bool,
    /// `review`, `gate --base`: the two lockfiles to compare (base, head).
    pub compare: Option<(LockInput, LockInput)>,
    /// `review`: incoming versions younger than this many days are flagged.
    pub young_days: i64,
    /// `gate`: the policy file (default: `reflex.toml` at the workspace root).
    pub policy: Option<PathBuf>,
    /// `gate`: a policy already in memory (init's starter rules); wins over `policy`.
    pub policy_rules: Option<Policy>,
    /// `gate --base-file`: the policy the change started from (with `--base REV` it is read
    /// from that revision).
    pub base_policy: Option<PathBuf>,
    /// `inspect`: the crate to look at.
    pub inspect: Option<inspect::InspectTarget>,
}

/// Where and how often the advisory database is refreshed.
#[derive(Clone, Debug)]
pub struct DbRefresh {
    pub url: String,
    pub after: std::time::Duration,
}

impl CommandOptions {
    pub fn new(cwd: PathBuf) -> CommandOptions {
        CommandOptions {
            cwd,
            manifest_path: None,
            lockfile: None,
            advisory_db: None,
            cache_dir: advisory_db::default_cache_dir(),
            index: IndexConfig::default(),
            check_yanked: true,
            env: None,
            home: std::env::var_os("HOME").map(PathBuf::from),
            proc_root: PathBuf::from("/proc"),
            clock: Clock::system(),
            deny: Some(Severity::High),
            db_stale_days: 90,
            db_refresh: None,
            popular: None,
            stale_after_days: 730,
            internal_prefixes: Vec::new(),
            typosquat_target_rank: crate::checks::typosquat::DEFAULT_TARGET_RANK,
            read_archives: true,
            overrides: Default::default(),
            deny_from_cli: false,
            compare: None,
            young_days: 7,
            policy: None,
            policy_rules: None,
            base_policy: None,
            inspect: None,
        }
    }
}

/// Progress of long steps: (what, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// `audit`: advisories, yanked crates, lockfile hygiene, cargo config, CI, build environment.
pub fn audit(opts: &CommandOptions, progress: Progress<'_>) -> Result<Report> {
    run(&AUDIT, opts, progress)
}

/// `recon`: freshness, takeover targets, typosquats, dependency confusion, advisories.
pub fn recon(opts: &CommandOptions, progress: Progress<'_>) -> Result<Report> {
    run(&RECON, opts, progress)
}

/// `review`: every change between two lockfiles (default: `HEAD` against the working tree),
/// with the risk signals of what arrives and the code that changed.
pub fn review(opts: &CommandOptions, progress: Progress<'_>) -> Result<Report> {
    let mut opts = opts.clone();
    if opts.compare.is_none() {
        opts.compare = Some(crate::review::parse_range(None));
    }
    run(&REVIEW, &opts, progress)
}

/// `gate`: audit, recon, the policy's rules and (with a base) review, under the policy.
pub fn gate(opts: &CommandOptions, progress: Progress<'_>) -> Result<Report> {
    run(&GATE, opts, progress)
}

/// `inspect`: one crate (`opts.inspect`) from the registry, a `.crate` file or a directory.
pub fn inspect(opts: &CommandOptions, progress: Progress<'_>) -> Result<Report> {
    run(&INSPECT, opts, progress)
}

/// Runs `command`: validates the overrides, loads what its checks need, runs them, and
/// assembles the report.
pub fn run(command: &Command, opts: &CommandOptions, progress: Progress<'_>) -> Result<Report> {
    let catalog = checks::catalog();
    opts.overrides.validate(&catalog.codes()).map_err(|e| {
        crate::Error::Usage(
            e,
            Some("`cargo reflex <command> --help`; every code is listed in the README".into()),
        )
    })?;
    let selected = checks::for_command(command.id, opts.compare.is_some());
    let needs: Needs = selected.iter().map(|c| c.needs()).collect();
    let inputs = load::load(command, needs, opts, catalog, progress)?;
    let cx = inputs.context(opts);
    let mut sink = Sink::default();
    let mut runs = Vec::new();
    for check in selected {
        let status = check.run(&cx, &mut sink);
        runs.push(CheckRun {
            name: check.name(),
            status,
        });
    }
    debug_assert_catalog_is_the_truth(catalog, &sink);
    Ok(assemble::report(
        command, &inputs, sink, runs, opts, catalog,
    ))
}

/// A finding whose code or severity the catalog does not declare is a bug in its check.
fn debug_assert_catalog_is_the_truth(catalog: &Catalog, sink: &Sink) {
    if cfg!(debug_assertions) {
        let wrong = catalog.disagreements(&sink.findings);
        assert!(wrong.is_empty(), "the catalog is not the truth: {wrong:?}");
    }
}
