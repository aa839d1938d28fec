//! The survey of recorded runs (`--state`): the newest record of every repository and branch
//! gives its figures (the run's finding codes, CI statistics and recon metrics as recorded);
//! every record in the window gives the gate's verdicts over time (changes blocked).

use super::history::{GatePoint, History};
use super::{Organisation, Repository, Survey};
use crate::checks::ci::CiStats;
use crate::checks::{advisories, confusion, lockfile_hygiene};
use crate::error::Result;
use crate::state::{InventoryRecord, StateStore, TimeRange};
use std::collections::HashMap;

/// Surveys the runs recorded at or after `since` (all without it), with the store's history.
pub fn survey(store: &dyn StateStore, since: Option<&str>, generated_at: String) -> Result<Survey> {
    let range = TimeRange::since(since);
    let runs = store.runs(&range, false)?;
    let latest = store.latest_runs(since, false)?;
    let mut gates: HashMap<(&str, &str), (usize, usize)> = HashMap::new();
    let mut points = Vec::new();
    for r in runs.iter().filter(|r| r.command == "gate") {
        let e = gates.entry((&r.repository, &r.branch)).or_default();
        e.0 += 1;
        e.1 += usize::from(!r.passed);
        points.push(GatePoint {
            at: r.recorded_at.clone(),
            passed: r.passed,
        });
    }
    let repositories: Vec<Repository> = latest
        .iter()
        .map(|r| {
            let mut repo = repository(r);
            let (runs, blocked) = gates
                .get(&(r.repository.as_str(), r.branch.as_str()))
                .copied()
                .unwrap_or((0, 0));
            repo.gate_runs = Some(runs);
            repo.blocked_changes = Some(blocked);
            // A gate run was recorded for it: the gate runs somewhere in its pipeline.
            repo.gate_in_ci = (runs > 0).then_some(true);
            repo
        })
        .collect();
    let first_seen: Vec<String> = store
        .destinations(&range)?
        .into_iter()
        .map(|d| d.first_seen)
        .collect();
    let drills = store
        .drill_history()?
        .into_iter()
        .filter(|d| since.is_none_or(|s| d.started.as_str() >= s))
        .collect();
    Ok(Survey {
        schema_version: super::SURVEY_SCHEMA_VERSION,
        generated_at,
        source: "recorded runs".into(),
        inputs: vec![store.location()],
        organisation: Organisation::of(&repositories),
        repositories,
        history: History::from_parts(&first_seen, drills, &points),
    })
}

/// One newest record as the survey's row.
pub fn repository(r: &InventoryRecord) -> Repository {
    let code = |c: &str| r.codes.get(c).copied().unwrap_or(0);
    let any = |cs: &[&str]| cs.iter().any(|c| code(c) > 0);
    let mut repo = Repository {
        name: r.repository.clone(),
        branch: Some(r.branch.clone()),
        commit: r.commit.clone(),
        recorded_at: Some(r.recorded_at.clone()),
        packages: usize::try_from(r.package_count).unwrap_or(0),
        internal_exposed: usize::try_from(
            code(confusion::INTERNAL_FROM_PUBLIC.code) + code(confusion::PUBLIC_TWIN.code),
        )
        .unwrap_or(0),
        ..Repository::default()
    };
    // Counted at record time when the recorder says so; the packages themselves are not
    // loaded (the newest records of a fleet hold millions of rows).
    repo.private_registry_packages = r.details["private_registry_packages"]
        .as_u64()
        .map(|n| n as usize)
        .or_else(|| {
            (!r.packages.is_empty()).then(|| {
                r.packages
                    .iter()
                    .filter(|p| p.source.as_deref().is_some_and(is_private_registry))
                    .count()
            })
        });
    let ci = &r.details["ci"];
    let n = |v: &serde_json::Value, k: &str| v[k].as_u64().map_or(0, |x| x as usize);
    if ci.is_object() && n(ci, "files") > 0 {
        repo.ci = Some(CiStats {
            files: n(ci, "files"),
            cargo_invocations: n(ci, "cargo_invocations"),
            locked_invocations: n(ci, "locked_invocations"),
            locked_percent: ci["locked_percent"].as_f64(),
        });
    }
    let hygiene_ran = r.details["checks"].as_array().is_some_and(|checks| {
        checks
            .iter()
            .any(|c| c["name"] == "lockfile" && c["status"] != "skipped")
    });
    if hygiene_ran {
        let committed = !any(&[
            lockfile_hygiene::MISSING.code,
            lockfile_hygiene::UNTRACKED.code,
            lockfile_hygiene::IGNORED.code,
        ]);
        let in_sync = !any(&[lockfile_hygiene::OUT_OF_SYNC.code]);
        let locked = repo.ci.as_ref().is_some_and(|c| {
            c.cargo_invocations > 0 && c.locked_invocations == c.cargo_invocations
        });
        repo.lockfile_committed = Some(committed);
        repo.lockfile_enforced = Some(committed && in_sync && locked);
    }
    let m = &r.details["metrics"];
    if m.is_object() {
        repo.stale_percent = m["stale_percent"].as_f64();
        repo.stale = n(m, "stale");
        repo.dated = n(m, "dated");
        repo.median_age_days = m["median_age_days"].as_i64();
        repo.vulnerable = n(m, "vulnerable");
        repo.build_time_code = n(m, "build_time_code");
        repo.with_unsafe = n(m, "with_unsafe");
        repo.archives_read = n(m, "archives_read");
    } else {
        repo.vulnerable = usize::try_from(code(advisories::VULNERABILITY.code)).unwrap_or(0);
    }
    if r.command == "gate" {
        repo.gate_passed = Some(r.passed);
        repo.denied = usize::try_from(r.counts.denied).unwrap_or(0);
    }
    repo
}

/// A lockfile source naming a registry other than crates.io.
pub fn is_private_registry(source: &str) -> bool {
    (source.starts_with("registry+") || source.starts_with("sparse+"))
        && !source.contains("crates.io-index")
        && !source.contains("index.crates.io")
}
