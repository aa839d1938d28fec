//! `respond --state`: "are we affected?" answered from the inventory of recorded runs (the
//! newest record of every repository and branch) instead of walking checkouts: one question to
//! the state store (a few queries in one snapshot), the same answer as a walk over those
//! lockfiles. Each distinct package row is judged once (its match, build-time edges and
//! remedy), however many lockfiles hold it.

use super::{
    Lookups, Match, Project, Query, Response, VersionTest, all_build_edges, matcher, remedy,
};
use crate::error::Result;
use crate::sources::advisory_db::AdvisoryDb;
use crate::sources::registry_index::RegistryIndex;
use crate::state::{HeldPackage, InventoryRecord, StateStore};
use std::collections::HashMap;

/// Answers `query` from the newest record of every repository and branch in `store`
/// (recorded at or after `since` when given).
pub fn respond_recorded(
    query: &Query,
    label: &str,
    store: &dyn StateStore,
    since: Option<&str>,
    db: &AdvisoryDb,
    index: Option<&RegistryIndex>,
) -> Result<Response> {
    let start = std::time::Instant::now();
    let (name, test) = matcher(query, db)?;
    // The store judges each distinct row once by its version (one that is not semver is kept,
    // to be reported); a crate without a version requirement keeps them all.
    let keep = |v: &str| semver::Version::parse(v).map_or(true, |v| !test(&v).is_empty());
    let every = matches!(query, Query::Crate { req: None, .. });
    let keep: Option<&dyn Fn(&str) -> bool> = if every { None } else { Some(&keep) };
    let holding = store.latest_holding(&name, since, keep)?;
    let lookups = Lookups::new(index);
    // What a row says (its match, or why it is unreadable), judged once per distinct row and
    // moved into the last project holding it (cloned for the others); whether it only runs
    // at build time, once per distinct list of dependents.
    let mut judged: HashMap<i64, (Option<Judged>, usize)> = HashMap::new();
    for id in holding.runs.iter().flat_map(|(_, ids)| ids) {
        judged.entry(*id).or_insert((None, 0)).1 += 1;
    }
    let mut build: HashMap<&str, Option<bool>> = HashMap::new();
    let mut projects = Vec::new();
    let mut unreadable = Vec::new();
    for (run, ids) in &holding.runs {
        let mut matches = Vec::new();
        for id in ids {
            let (Some(p), Some((verdict, uses))) = (holding.rows.get(id), judged.get_mut(id))
            else {
                continue;
            };
            *uses -= 1;
            let last = *uses == 0;
            match verdict
                .get_or_insert_with(|| judge(&name, p, &mut build, query, &test, db, &lookups))
            {
                Judged::Match(m) if !last => matches.push(m.clone()),
                Judged::Match(_) => {
                    if let Some(Judged::Match(m)) = verdict.take() {
                        matches.push(m);
                    }
                }
                Judged::Skip => {}
                Judged::NotSemver => unreadable.push(format!(
                    "{}: {} has version `{}`, which is not semver",
                    project_name(run),
                    p.name,
                    p.version
                )),
            }
        }
        if !matches.is_empty() {
            projects.push(Project {
                lockfile: project_name(run),
                matches,
            });
        }
    }
    Ok(Response {
        query: label.to_string(),
        roots: vec![store.location()],
        lockfiles_scanned: holding.scanned,
        lockfiles_unreadable: unreadable,
        projects,
        elapsed_ms: start.elapsed().as_millis(),
    })
}

/// What one recorded package row says about the query.
enum Judged {
    Match(Match),
    /// Its version does not match.
    Skip,
    NotSemver,
}

fn judge<'h>(
    name: &str,
    p: &'h HeldPackage,
    build: &mut HashMap<&'h str, Option<bool>>,
    query: &Query,
    test: &VersionTest<'_>,
    db: &AdvisoryDb,
    lookups: &Lookups<'_>,
) -> Judged {
    let Ok(version) = semver::Version::parse(&p.version) else {
        return Judged::NotSemver;
    };
    let advisories = test(&version);
    if advisories.is_empty() {
        return Judged::Skip;
    }
    let build_time_only = *build
        .entry(&p.dependents)
        .or_insert_with(|| build_time_only(name, &p.dependents, lookups));
    let via: Vec<String> = HeldPackage::lines(&p.via).map(str::to_string).collect();
    Judged::Match(Match {
        name: name.to_string(),
        version: p.version.clone(),
        source: p.source.clone().unwrap_or_default(),
        direct: via.get(1).cloned(),
        build_time_only,
        advisories: advisories.into_iter().filter(|a| !a.is_empty()).collect(),
        remedy: remedy(name, &version, &via, query, db, lookups),
        via,
    })
}

/// Whether every one of `dependents` (`name version` lines) declares `name` a build
/// dependency.
fn build_time_only(name: &str, dependents: &str, lookups: &Lookups<'_>) -> Option<bool> {
    let parents: Vec<(String, String)> = HeldPackage::lines(dependents)
        .filter_map(|d| d.split_once(' '))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    all_build_edges(name, &parents, lookups)
}

/// How a recorded lockfile is named in the answer: repository, branch, commit and when.
fn project_name(run: &InventoryRecord) -> String {
    let commit = run
        .commit
        .as_deref()
        .map(|c| format!(" @ {}", &c[..c.len().min(12)]))
        .unwrap_or_default();
    format!(
        "{} ({}{commit}, recorded {} by {})",
        run.repository, run.branch, run.recorded_at, run.command
    )
}
