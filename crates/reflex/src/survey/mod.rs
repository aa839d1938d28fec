//! `survey`: the defence's figures per repository and for the organisation, from local trees
//! (each workspace judged by the gate, offline, plus its git history) or from the runs
//! recorded in the state store, with the store's history (first sightings, drills) as trends.
//!
//! The survey never decides anything new: lockfile hygiene, CI `--locked` counts, staleness,
//! advisories, build-time code and unsafe come from the gate's report (`commands::gate`),
//! churn from `review::LockfileDelta` over the lockfile's git history.

pub mod churn;
pub mod history;
pub mod html;
pub mod local;
pub mod recorded;
pub mod render;

use crate::checks::ci::CiStats;
use serde::Serialize;

/// Version of the survey's JSON layout; bumped on any incompatible change.
pub const SURVEY_SCHEMA_VERSION: u32 = 1;

/// The whole survey.
#[derive(Clone, Debug, Serialize)]
pub struct Survey {
    pub schema_version: u32,
    pub generated_at: String,
    /// Where the figures come from: `local trees` or `recorded runs`.
    pub source: String,
    /// The trees walked, or the state store read.
    pub inputs: Vec<String>,
    pub organisation: Organisation,
    pub repositories: Vec<Repository>,
    pub history: history::History,
}

/// One repository (one workspace of a local tree, or one repository and branch recorded).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Repository {
    /// Path below the walked root, or the recorded repository name.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// When its figures were taken (recorded runs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
    /// Why some figures are missing (unreadable manifest, broken policy...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub packages: usize,
    /// Cargo.lock exists and is committed (not untracked, not ignored); `None`: unknown.
    pub lockfile_committed: Option<bool>,
    /// Committed, in sync with the manifests, and every cargo call of CI uses `--locked`.
    pub lockfile_enforced: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiStats>,
    /// `cargo reflex gate` (or the cargo-reflex action) runs in a CI workflow.
    pub gate_in_ci: Option<bool>,
    /// Packages locked from a registry other than crates.io; `None` when not known (recorded
    /// runs that did not record it).
    pub private_registry_packages: Option<usize>,
    /// Internal crates exposed to the public registry (dependency-confusion findings).
    pub internal_exposed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stale_percent: Option<f64>,
    pub stale: usize,
    /// Crates whose release dates were known (the base of the stale share and the age).
    pub dated: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_age_days: Option<i64>,
    /// Locked packages with a known vulnerability.
    pub vulnerable: usize,
    /// Crates with a build script or proc-macro, and with unsafe code (of `archives_read`).
    pub build_time_code: usize,
    pub with_unsafe: usize,
    pub archives_read: usize,
    /// The gate's verdict on the current tree (or the newest recorded gate run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_passed: Option<bool>,
    pub denied: usize,
    /// Recorded gate runs that failed (changes the gate blocked); `None` without records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_changes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_runs: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub churn: Option<churn::Churn>,
}

/// `count` of `of`, with its share in percent (one decimal).
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct Ratio {
    pub count: usize,
    pub of: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
}

impl Ratio {
    pub fn new(count: usize, of: usize) -> Ratio {
        Ratio {
            count,
            of,
            percent: percent(count, of),
        }
    }

    /// `3 of 4 (75.0%)`, or `none known` when `of` is 0.
    pub fn label(&self) -> String {
        match self.percent {
            Some(p) => format!("{} of {} ({p:.1}%)", self.count, self.of),
            None => "none known".into(),
        }
    }
}

pub fn percent(count: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| (count as f64 * 1000.0 / of as f64).round() / 10.0)
}

/// The organisation's figures: sums and shares over the repositories.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Organisation {
    pub repositories: usize,
    /// Repositories whose figures could not all be taken.
    pub with_errors: usize,
    pub packages: usize,
    pub lockfile_committed: Ratio,
    pub lockfile_enforced: Ratio,
    /// Cargo invocations in CI with `--locked`, over every repository's CI files.
    pub ci_locked_invocations: Ratio,
    pub gate_in_ci: Ratio,
    /// Repositories locking at least one package from a private registry.
    pub private_registry: Ratio,
    pub private_registry_packages: usize,
    pub internal_exposed: usize,
    /// Stale packages over packages whose release date is known, pooled.
    pub stale: Ratio,
    /// Median of the repositories' median dependency ages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_age_days: Option<i64>,
    pub vulnerable: usize,
    pub repositories_with_vulnerable: usize,
    pub build_time_code: usize,
    pub with_unsafe: usize,
    pub archives_read: usize,
    pub gate_passing: Ratio,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_changes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_runs: Option<usize>,
    /// Lockfile changes per month, summed over the repositories, oldest first.
    pub churn: Vec<churn::Month>,
}

impl Organisation {
    pub fn of(repos: &[Repository]) -> Organisation {
        let n = repos.len();
        let count = |f: &dyn Fn(&Repository) -> Option<bool>| {
            let known: Vec<bool> = repos.iter().filter_map(f).collect();
            Ratio::new(known.iter().filter(|b| **b).count(), known.len())
        };
        let sum = |f: &dyn Fn(&Repository) -> usize| repos.iter().map(f).sum::<usize>();
        let (calls, locked) = repos
            .iter()
            .filter_map(|r| r.ci.as_ref())
            .fold((0, 0), |(c, l), s| {
                (c + s.cargo_invocations, l + s.locked_invocations)
            });
        let mut ages: Vec<i64> = repos.iter().filter_map(|r| r.median_age_days).collect();
        let optional_sum = |f: &dyn Fn(&Repository) -> Option<usize>| {
            let v: Vec<usize> = repos.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| v.iter().sum())
        };
        Organisation {
            repositories: n,
            with_errors: repos.iter().filter(|r| r.error.is_some()).count(),
            packages: sum(&|r| r.packages),
            lockfile_committed: count(&|r| r.lockfile_committed),
            lockfile_enforced: count(&|r| r.lockfile_enforced),
            ci_locked_invocations: Ratio::new(locked, calls),
            gate_in_ci: count(&|r| r.gate_in_ci),
            private_registry: count(&|r| r.private_registry_packages.map(|p| p > 0)),
            private_registry_packages: sum(&|r| r.private_registry_packages.unwrap_or(0)),
            internal_exposed: sum(&|r| r.internal_exposed),
            stale: Ratio::new(sum(&|r| r.stale), sum(&|r| r.dated)),
            median_age_days: median(&mut ages),
            vulnerable: sum(&|r| r.vulnerable),
            repositories_with_vulnerable: repos.iter().filter(|r| r.vulnerable > 0).count(),
            build_time_code: sum(&|r| r.build_time_code),
            with_unsafe: sum(&|r| r.with_unsafe),
            archives_read: sum(&|r| r.archives_read),
            gate_passing: count(&|r| r.gate_passed),
            blocked_changes: optional_sum(&|r| r.blocked_changes),
            gate_runs: optional_sum(&|r| r.gate_runs),
            churn: churn::sum_months(repos.iter().filter_map(|r| r.churn.as_ref())),
        }
    }
}

/// The middle value (the lower of the two middles for an even count).
pub fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_figures_pool_the_repositories() {
        let a = Repository {
            name: "a".into(),
            lockfile_committed: Some(true),
            lockfile_enforced: Some(false),
            ci: Some(CiStats {
                files: 1,
                cargo_invocations: 4,
                locked_invocations: 3,
                locked_percent: Some(75.0),
            }),
            gate_in_ci: Some(true),
            stale: 1,
            dated: 10,
            median_age_days: Some(100),
            vulnerable: 2,
            ..Repository::default()
        };
        let b = Repository {
            name: "b".into(),
            lockfile_committed: Some(false),
            gate_in_ci: None,
            stale: 3,
            dated: 10,
            median_age_days: Some(300),
            private_registry_packages: Some(2),
            ..Repository::default()
        };
        let org = Organisation::of(&[a, b]);
        assert_eq!(org.lockfile_committed, Ratio::new(1, 2));
        assert_eq!(org.ci_locked_invocations.percent, Some(75.0));
        assert_eq!(org.gate_in_ci, Ratio::new(1, 1));
        assert_eq!(org.stale.percent, Some(20.0));
        assert_eq!(org.median_age_days, Some(100));
        assert_eq!(org.private_registry, Ratio::new(1, 1));
        assert_eq!(org.repositories_with_vulnerable, 1);
        assert_eq!(org.blocked_changes, None);
        assert_eq!(Ratio::new(0, 0).label(), "none known");
    }
}
