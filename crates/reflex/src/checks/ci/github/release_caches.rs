//! `ci-cache-in-release`: caches restored into builds that ship.

use super::super::{CACHE_IN_RELEASE, FileCtx, NAME, Sink, release};
use crate::finding::Finding;

/// What one job does that the release rules need to know, gathered in one pass.
#[derive(Default)]
pub(super) struct JobFacts {
    /// What the job publishes and the line of that step.
    pub publishes: Option<(String, u32)>,
    /// Cache steps: (what, line).
    pub caches: Vec<(String, u32)>,
    pub uploads_artifacts: bool,
    pub needs: Vec<String>,
}

/// `ci-cache-in-release`: caches restored by jobs that publish, by every job of a
/// release-only workflow, and by jobs whose uploaded artifacts a publishing job needs.
pub(super) fn cache_rules(
    f: &FileCtx<'_>,
    trig: &release::Triggers,
    facts: &[(String, JobFacts)],
    out: &mut Sink,
) {
    // job name -> why its output is released
    let mut relevant: Vec<(String, String)> = Vec::new();
    for (name, jf) in facts {
        if let Some((what, line)) = &jf.publishes {
            relevant.push((
                name.clone(),
                format!("the job publishes {what} (line {line})"),
            ));
        } else if trig.release_only {
            relevant.push((
                name.clone(),
                format!("the workflow runs only on {}", trig.release.join(" and ")),
            ));
        }
    }
    // Jobs that build what a publishing job releases: its `needs`, when they upload artifacts.
    let mut i = 0;
    while i < relevant.len() {
        let (name, _) = relevant[i].clone();
        if let Some((_, jf)) = facts.iter().find(|(n, _)| *n == name) {
            for need in &jf.needs {
                let uploads = facts.iter().any(|(n, j)| n == need && j.uploads_artifacts);
                if uploads && !relevant.iter().any(|(n, _)| n == need) {
                    relevant.push((
                        need.clone(),
                        format!("job `{name}` releases the artifacts it uploads"),
                    ));
                }
            }
        }
        i += 1;
    }
    for (name, why) in &relevant {
        let Some((_, jf)) = facts.iter().find(|(n, _)| n == name) else {
            continue;
        };
        for (what, line) in &jf.caches {
            out.push(
                Finding::new(
                    NAME,
                    &CACHE_IN_RELEASE,
                    format!("job `{name}` restores a cache ({what}) into a release build"),
                )
                .at(f.path.clone(), Some(*line))
                .evidence(why.clone())
                .evidence("caches are shared by every workflow run on the branch: a build script, test or tool that ran in any of them can plant what this build restores, and it ships in the release")
                .remedy("build releases from a clean state: remove the cache step from this job (or use `lookup-only: true`); keep caches for test jobs"),
            );
        }
    }
}
