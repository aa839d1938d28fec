//! One module per check: its finding codes, its logic. Adding a check is one new module plus
//! one line in [`audit_checks`].

pub mod advisories;
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
pub mod policy_meta;
pub mod recon_table;
pub mod review;
pub mod source_policy;
pub mod typosquat;
pub mod yanked;

use crate::checks::ci::CiStats;
use crate::finding::{CheckStatus, CodeSpec, Finding};
use crate::graph::Graph;
use crate::graph::workspace::Workspace;
use crate::sources::advisory_db::AdvisoryDb;
use crate::sources::cargo_config::ConfigFile;
use crate::sources::registry_index::IndexAnswers;
use crate::time::Clock;
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
    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus;
}

/// The checks `audit` runs, in order.
pub fn audit_checks() -> Vec<&'static dyn Check> {
    vec![
        &advisories::Advisories,
        &yanked::Yanked,
        &lockfile_hygiene::LockfileHygiene,
        &cargo_config::CargoConfig,
        &ci::CiHardening,
        &build_env::BuildEnv,
    ]
}

/// The checks `recon` runs, in order.
pub fn recon_checks() -> Vec<&'static dyn Check> {
    vec![
        &advisories::Advisories,
        &yanked::Yanked,
        &freshness::Freshness,
        &typosquat::Typosquat,
        &confusion::Confusion,
        &build_time::BuildTime,
        &impersonation::Impersonation,
    ]
}

/// The checks `review` runs on the incoming packages, in order.
pub fn review_checks() -> Vec<&'static dyn Check> {
    vec![
        &review::Review,
        &advisories::Advisories,
        &yanked::Yanked,
        &typosquat::Typosquat,
        &confusion::Confusion,
        &build_time::BuildTime,
    ]
}

/// The checks `gate` runs under the policy: audit's and recon's, the policy rules, and (with a
/// base revision) review's.
pub fn gate_checks(with_review: bool) -> Vec<&'static dyn Check> {
    let mut checks = audit_checks();
    for c in recon_checks() {
        if !checks.iter().any(|k| k.name() == c.name()) {
            checks.push(c);
        }
    }
    checks.extend([
        &cooldown::Cooldown as &'static dyn Check,
        &source_policy::SourcePolicy,
        &build_approval::BuildApproval,
        &licenses::Licenses,
        &policy_meta::PolicyMeta,
    ]);
    if with_review {
        checks.insert(0, &review::Review);
    }
    checks
}

/// Every finding code of every check.
pub fn all_codes() -> Vec<(&'static str, &'static CodeSpec)> {
    let mut checks = audit_checks();
    for c in recon_checks().into_iter().chain(gate_checks(true)) {
        if !checks.iter().any(|k| k.name() == c.name()) {
            checks.push(c);
        }
    }
    checks
        .into_iter()
        .flat_map(|c| c.codes().iter().map(move |s| (c.name(), s)))
        .collect()
}

/// The remedy `first`, then `then` and the command recording the approval that clears `f`
/// for its package (`cargo reflex approve ...`); `first` alone for a finding without one.
pub(crate) fn remedy_with_approval(f: Finding, first: &str, then: &str) -> Finding {
    let command = f
        .package
        .as_ref()
        .map(|p| crate::policy::approve::command_for(f.code, &p.name, &p.version));
    match command {
        Some(c) => f.remedy(format!("{first}{then}: `{c}`")),
        None => f.remedy(first),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let codes = all_codes();
        let mut seen = std::collections::HashSet::new();
        for (check, spec) in &codes {
            assert!(
                seen.insert(spec.code),
                "duplicate code {} in {check}",
                spec.code
            );
            assert!(
                spec.code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "code {} is not kebab-case",
                spec.code
            );
            assert!(
                !spec.summary.is_empty() && !spec.summary.ends_with('.'),
                "summary of {}",
                spec.code
            );
        }
        assert!(codes.len() >= 20);
    }

    #[test]
    fn check_names_are_unique() {
        let mut names: Vec<_> = gate_checks(true).iter().map(|c| c.name()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
