//! `respond --state`: "are we affected?" answered from the inventory of recorded runs (the
//! newest record of every repository and branch) instead of walking checkouts: one query to
//! the state store, the same answer as a walk over those lockfiles.

use super::{Lookups, Match, Project, Query, Response, all_build_edges, matcher, remedy};
use crate::error::Result;
use crate::sources::advisory_db::AdvisoryDb;
use crate::sources::registry_index::RegistryIndex;
use crate::state::{InventoryRecord, StateStore};

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
    let holding = store.latest_holding(&name, since)?;
    let lookups = Lookups::new(index);
    let mut projects = Vec::new();
    let mut unreadable = Vec::new();
    for run in &holding.runs {
        let mut matches = Vec::new();
        for p in &run.packages {
            let Ok(version) = semver::Version::parse(&p.version) else {
                unreadable.push(format!(
                    "{}: {} has version `{}`, which is not semver",
                    project_name(run),
                    p.name,
                    p.version
                ));
                continue;
            };
            let advisories = test(&version);
            if advisories.is_empty() {
                continue;
            }
            let parents: Vec<(String, String)> = p
                .dependents
                .iter()
                .filter_map(|d| d.split_once(' '))
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect();
            matches.push(Match {
                name: name.clone(),
                version: p.version.clone(),
                source: p.source.clone().unwrap_or_default(),
                via: p.via.clone(),
                direct: p.via.get(1).cloned(),
                build_time_only: all_build_edges(&name, &parents, &lookups),
                advisories: advisories.into_iter().filter(|a| !a.is_empty()).collect(),
                remedy: remedy(&name, &version, &p.via, query, db, &lookups),
            });
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
