//! `ci-action-unpinned` and `ci-action-archived`: the actions and reusable workflows a
//! workflow `uses:`.

use super::super::yaml::Node;
use super::super::{ACTION_ARCHIVED, ACTION_UNPINNED, FileCtx, NAME, Sink, actions};
use crate::finding::{Finding, Severity};

/// `ci-action-unpinned` (one finding per distinct reference and file, with every line) and
/// `ci-action-archived`.
pub(super) fn action_ref_rules(f: &FileCtx<'_>, jobs: &[(String, Node)], out: &mut Sink) {
    let mut all: Vec<(&str, u32)> = Vec::new();
    for (_, job) in jobs {
        if let Some(u) = job.get("uses")
            && let Some(s) = u.str()
        {
            all.push((s, u.line));
        }
        for step in job.get("steps").map(Node::items).unwrap_or(&[]) {
            if let Some(u) = step.get("uses")
                && let Some(s) = u.str()
            {
                all.push((s, u.line));
            }
        }
    }
    let mut done: Vec<&str> = Vec::new();
    for (uses, line) in &all {
        if done.contains(uses) {
            continue;
        }
        done.push(uses);
        let Some(parsed) = actions::parse(uses) else {
            continue;
        };
        let lines: Vec<String> = all
            .iter()
            .filter(|(u, _)| u == uses)
            .map(|(_, l)| l.to_string())
            .collect();
        if let Some(why) = actions::unpinned(&parsed) {
            let mut finding = Finding::new(
                NAME,
                &ACTION_UNPINNED,
                format!("`{uses}` is not pinned to a commit"),
            )
            .at(f.path.clone(), Some(*line))
            .evidence(why)
            .remedy("pin the full 40-character commit SHA with the version in a comment (`uses: owner/repo@<sha> # v1.2.3`); Dependabot or Renovate keep such pins current");
            if lines.len() > 1 {
                finding = finding.evidence(format!(
                    "used {} times, at lines {}",
                    lines.len(),
                    lines.join(", ")
                ));
            }
            if let actions::Uses::Repo { owner, .. } = parsed
                && actions::first_party(owner)
            {
                finding = finding
                    .severity(Severity::Low)
                    .evidence("published by GitHub itself: low");
            }
            out.push(finding);
        }
        if let Some(instead) = actions::archived(&parsed) {
            let mut finding = Finding::new(
                NAME,
                &ACTION_ARCHIVED,
                format!("`{uses}` comes from an archived repository"),
            )
            .at(f.path.clone(), Some(*line))
            .remedy(format!("replace it with {instead}"));
            if lines.len() > 1 {
                finding = finding.evidence(format!(
                    "used {} times, at lines {}",
                    lines.len(),
                    lines.join(", ")
                ));
            }
            out.push(finding);
        }
    }
}
