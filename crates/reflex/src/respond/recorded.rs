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
use crate::state::{HeldPackage, Holding, InventoryRecord, StateStore};
use std::collections::HashMap;
use std::sync::Arc;

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
    let Holding {
        scanned,
        runs,
        rows,
    } = store.latest_holding(&name, since, keep)?;
    let judge = Judge {
        name: &name,
        query,
        test: &test,
        db,
        lookups: Lookups::new(index),
    };
    // What each distinct row says (its match, or why it is unreadable), judged once, its
    // strings moved into the match; whether it only runs at build time, once per distinct
    // list of dependents. A match is moved into the last project holding it (cloned for the
    // others).
    let mut slot: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
    let mut verdicts: Vec<(Option<Judged>, usize)> = Vec::with_capacity(rows.len());
    for id in runs.iter().flat_map(|(_, ids)| ids) {
        let at = *slot.entry(*id).or_insert_with(|| {
            verdicts.push((None, 0));
            verdicts.len() - 1
        });
        verdicts[at].1 += 1;
    }
    let mut build = BuildTime::default();
    for (id, p) in rows {
        if let Some(&at) = slot.get(&id) {
            verdicts[at].0 = Some(judge.row(p, &mut build));
        }
    }
    let mut projects = Vec::with_capacity(runs.len());
    let mut unreadable = Vec::new();
    for (run, ids) in &runs {
        // Mostly one (a `Vec` would start with room for four matches: 10 MB more to touch).
        let mut matches = Vec::with_capacity(ids.len());
        for id in ids {
            let Some((verdict, uses)) = slot.get(id).map(|&at| &mut verdicts[at]) else {
                continue;
            };
            *uses -= 1;
            match verdict {
                Some(Judged::Match(m)) if *uses > 0 => matches.push(m.clone()),
                Some(Judged::Match(_)) => {
                    if let Some(Judged::Match(m)) = verdict.take() {
                        matches.push(m);
                    }
                }
                Some(Judged::NotSemver { name, version }) => unreadable.push(format!(
                    "{}: {name} has version `{version}`, which is not semver",
                    project_name(run),
                )),
                Some(Judged::Skip) | None => {}
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
        lockfiles_scanned: scanned,
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
    NotSemver {
        name: String,
        version: String,
    },
}

/// What a row is judged with.
struct Judge<'a> {
    name: &'a str,
    query: &'a Query,
    test: &'a VersionTest<'a>,
    db: &'a AdvisoryDb,
    lookups: Lookups<'a>,
}

impl Judge<'_> {
    /// Judges one distinct row, moving its strings into the match.
    fn row(&self, p: HeldPackage, build: &mut BuildTime) -> Judged {
        let Ok(version) = semver::Version::parse(&p.version) else {
            return Judged::NotSemver {
                name: p.name,
                version: p.version,
            };
        };
        let advisories = (self.test)(&version);
        if advisories.is_empty() {
            return Judged::Skip;
        }
        let build_time_only = build.of(self.name, p.dependents, &self.lookups);
        let via: Vec<String> = HeldPackage::lines(&p.via).map(str::to_string).collect();
        let remedy = remedy(
            self.name,
            &version,
            &via,
            self.query,
            self.db,
            &self.lookups,
        );
        Judged::Match(Match {
            name: self.name.to_string(),
            version: p.version,
            source: p.source.unwrap_or_default(),
            direct: via.get(1).cloned(),
            build_time_only,
            advisories: advisories.into_iter().filter(|a| !a.is_empty()).collect(),
            remedy,
            via,
        })
    }
}

/// Whether a row only runs at build time, by its list of dependents: asked once per distinct
/// list (rows of one crate mostly share theirs, and one copy of it: the last answer is
/// compared before hashing).
#[derive(Default)]
struct BuildTime {
    last: Option<(Arc<str>, Option<bool>)>,
    known: HashMap<Arc<str>, Option<bool>>,
}

impl BuildTime {
    fn of(&mut self, name: &str, dependents: Arc<str>, lookups: &Lookups<'_>) -> Option<bool> {
        if let Some((last, answer)) = &self.last
            && (Arc::ptr_eq(last, &dependents) || *last == dependents)
        {
            return *answer;
        }
        let answer = *self
            .known
            .entry(dependents.clone())
            .or_insert_with(|| build_time_only(name, &dependents, lookups));
        self.last = Some((dependents, answer));
        answer
    }
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

/// How a recorded lockfile is named in the answer: repository, branch, commit and when
/// (`repo (main @ 0123456789ab, recorded 2026-11-30T08:00:00Z by gate)`).
fn project_name(run: &InventoryRecord) -> String {
    let commit = run.commit.as_deref().map(|c| &c[..c.len().min(12)]);
    let parts = [
        run.repository.as_str(),
        " (",
        run.branch.as_str(),
        if commit.is_some() { " @ " } else { "" },
        commit.unwrap_or_default(),
        ", recorded ",
        run.recorded_at.as_str(),
        " by ",
        run.command.as_str(),
        ")",
    ];
    parts.concat()
}
