//! One module per check: its finding codes, what it needs, its logic. Adding a check is one
//! new module plus one line in [`REGISTRY`].

pub mod advisories;
pub mod behaviour;
pub mod build_approval;
pub mod build_env;
pub mod build_time;
pub mod cargo_config;
pub mod ci;
pub mod confusion;
pub mod cooldown;
pub mod freshness;
pub mod impersonation;
pub mod licenses;
pub mod lockfile_hygiene;
mod needs;
pub mod policy_meta;
pub mod recon_table;
pub mod review;
pub mod source_policy;
pub mod typosquat;
pub mod yanked;

#[cfg(test)]
mod tests;

use crate::checks::ci::CiStats;
use crate::finding::{Catalog, CheckStatus, CodeSpec, Finding};
use crate::graph::Graph;
use crate::graph::workspace::Workspace;
use crate::sources::advisory_db::AdvisoryDb;
use crate::sources::cargo_config::ConfigFile;
use crate::sources::registry_index::IndexAnswers;
use crate::time::Clock;
pub use needs::Needs;
use std::path::PathBuf;

/// Everything a check may look at. Absent inputs are `None`; a check that needs one says so
/// in its status instead of passing.
pub struct Context<'a> {
    pub clock: Clock,
    pub graph: Option<&'a Graph>,
    pub workspace: Option<&'a Workspace>,
    pub db: Option<&'a AdvisoryDb>,
    /// Registry index answers by crate name (crates.io packages of the graph).
    pub index: Option<&'a IndexAnswers>,
    /// Why there is no index data, when there is none.
    pub index_unavailable: Option<String>,
    /// Why refreshing the advisory database failed, when it was tried and failed.
    pub db_refresh_error: Option<String>,
    pub cargo_configs: &'a [ConfigFile],
    /// Directory holding `.github/workflows` and `.gitlab-ci.yml` (the repository root).
    pub ci_root: Option<PathBuf>,
    /// Environment variables to inspect (`audit --env`), names and values.
    pub env: Option<&'a [(String, String)]>,
    /// The home directory whose credential files `--env` looks for.
    pub home: Option<PathBuf>,
    /// Advisory database older than this many days is reported as stale.
    pub db_stale_days: i64,
    /// Where `/proc` is (network routes for `--env`); a parameter so tests can fake it.
    pub proc_root: PathBuf,
    /// The typosquat targets and known-good names.
    pub popularity: Option<&'a std::sync::Arc<crate::sources::popularity::Popularity>>,
    /// Popular crates ranked at or above this are typosquat targets.
    pub typosquat_target_rank: u32,
    /// A crate with no release for this many days is stale.
    pub stale_after_days: i64,
    /// Name prefixes of the organisation's internal crates.
    pub internal_prefixes: &'a [String],
    /// `recon`: what each registry crate's archive holds, by package index.
    pub analyses: Option<
        &'a std::collections::HashMap<
            usize,
            Result<crate::analysis::crate_analysis::CrateAnalysis, String>,
        >,
    >,
    /// `inspect`: archives of other registry crates the inspected one may imitate (the
    /// popular crate of the repository it claims, crates its README names), by name.
    pub references: Option<
        &'a std::collections::BTreeMap<String, crate::analysis::crate_analysis::CrateAnalysis>,
    >,
    /// `gate`: the policy in force.
    pub policy: Option<&'a crate::policy::Policy>,
    /// With a base revision: head packages that arrive with the change (cooldown applies
    /// to these only); `None` = every package.
    pub incoming: Option<&'a std::collections::BTreeSet<usize>>,
    /// `review`: only these head packages are under review (what the change brings); checks
    /// that look up or list packages skip the rest. `None` = every package.
    pub scope: Option<&'a std::collections::BTreeSet<usize>>,
    /// `review`: the delta and the code of both sides of each change.
    pub review: Option<&'a crate::review::ReviewInputs>,
    /// `gate` with a base: what the change's own policy loosens (not applied to it).
    pub policy_loosened: &'a [String],
}

impl<'a> Context<'a> {
    /// A context with no inputs at all: set the fields a check needs with struct update
    /// syntax (`Context { graph: Some(&g), ..Context::new(clock) }`).
    pub fn new(clock: Clock) -> Context<'a> {
        Context {
            clock,
            graph: None,
            workspace: None,
            db: None,
            index: None,
            index_unavailable: None,
            db_refresh_error: None,
            cargo_configs: &[],
            ci_root: None,
            env: None,
            home: None,
            db_stale_days: 90,
            proc_root: PathBuf::from("/proc"),
            popularity: None,
            typosquat_target_rank: typosquat::DEFAULT_TARGET_RANK,
            stale_after_days: 730,
            internal_prefixes: &[],
            analyses: None,
            references: None,
            policy: None,
            incoming: None,
            scope: None,
            review: None,
            policy_loosened: &[],
        }
    }
}

/// Where checks put what they find.
#[derive(Debug, Default)]
pub struct Sink {
    pub findings: Vec<Finding>,
    pub ci: Option<CiStats>,
    /// `recon`: one row per crate.
    pub crates: Vec<crate::checks::recon_table::CrateRow>,
    pub metrics: Option<crate::checks::recon_table::ReconMetrics>,
    pub review: Option<crate::review::ReviewSection>,
}

impl Sink {
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }
}

pub trait Check: Sync {
    fn name(&self) -> &'static str;
    fn codes(&self) -> &'static [CodeSpec];
    /// The inputs the check reads; the loader builds only what the selected checks need.
    fn needs(&self) -> Needs;
    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus;
}

/// The commands that run checks. A check names the ones it belongs to where it is registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommandId {
    Audit,
    Recon,
    Review,
    Gate,
    /// One crate before anyone adds it (`inspect <name> | <file.crate> | <dir>`).
    Inspect,
}

use CommandId::{Audit, Gate, Inspect, Recon, Review};

/// Every check, once, with the commands that run it: adding a check is its module and one
/// line here. The order is the catalog's (SARIF rules, `--help` listings); a command runs its
/// checks in this order, those about the change first.
static REGISTRY: &[(&dyn Check, &[CommandId])] = &[
    (
        &advisories::Advisories,
        &[Audit, Recon, Review, Gate, Inspect],
    ),
    (&yanked::Yanked, &[Audit, Recon, Review, Gate, Inspect]),
    (&lockfile_hygiene::LockfileHygiene, &[Audit, Gate]),
    (&cargo_config::CargoConfig, &[Audit, Gate]),
    (&ci::CiHardening, &[Audit, Gate]),
    (&build_env::BuildEnv, &[Audit, Gate]),
    (&freshness::Freshness, &[Recon, Gate, Inspect]),
    (&typosquat::Typosquat, &[Recon, Review, Gate, Inspect]),
    (&confusion::Confusion, &[Recon, Review, Gate]),
    (&build_time::BuildTime, &[Recon, Review, Gate, Inspect]),
    (&behaviour::Behaviours, &[Recon, Review, Gate, Inspect]),
    (&impersonation::Impersonation, &[Recon, Gate, Inspect]),
    (&review::Review, &[Review, Gate]),
    (&cooldown::Cooldown, &[Gate]),
    (&source_policy::SourcePolicy, &[Gate]),
    (&build_approval::BuildApproval, &[Gate]),
    (&licenses::Licenses, &[Gate]),
    (&policy_meta::PolicyMeta, &[Gate]),
];

/// The checks `command` runs, in order: those about the change first (only when there is a
/// change: a check that needs the base is left out without one), then the rest.
pub fn for_command(command: CommandId, with_base: bool) -> Vec<&'static dyn Check> {
    let mine = REGISTRY
        .iter()
        .filter(|(_, commands)| commands.contains(&command))
        .map(|(check, _)| *check);
    let (change, rest): (Vec<_>, Vec<_>) = mine.partition(|c| c.needs().contains(Needs::BASE));
    let change = change.into_iter().filter(|_| with_base);
    change.chain(rest).collect()
}

/// Every registered check, in registration order.
pub fn all() -> impl Iterator<Item = &'static dyn Check> {
    REGISTRY.iter().map(|(check, _)| *check)
}

/// Every finding code of every check.
pub fn catalog() -> &'static Catalog {
    static CATALOG: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
    CATALOG.get_or_init(|| Catalog::new(all().map(|c| (c.name(), c.codes()))))
}

/// The remedy `first`, then `then` and the command recording the approval that clears `f`
/// for its package (`cargo reflex approve ...`); `first` alone for a finding without one.
pub(crate) fn remedy_with_approval(f: Finding, first: &str, then: &str) -> Finding {
    let command = f
        .package
        .as_ref()
        .zip(catalog().get(f.code))
        .map(|(p, spec)| crate::policy::approve::command_for(spec, &p.name, &p.version));
    match command {
        Some(c) => f.remedy(format!("{first}{then}: `{c}`")),
        None => f.remedy(first),
    }
}
