//! Capability drift for `review` and `gate --base`: what an upgrade's code newly does,
//! build-time and run-time apart. A brand-new crate has no drift: its facts are judged on
//! their own by the behaviour check.

use super::grade::{evidence, grade, phase_label};
use crate::analysis::crate_analysis::CrateAnalysis;
use crate::finding::{CodeSpec, Finding, Severity};
use std::collections::BTreeSet;

/// `review-behaviour-added`: what an upgrade's code newly does, build-time and run-time
/// apart. High when a serious kind of behaviour appears, critical when the new code forms a
/// combination only malware needs that the old code did not, medium otherwise.
pub fn drift(
    label: &str,
    old: &CrateAnalysis,
    new: &CrateAnalysis,
    spec: &'static CodeSpec,
    finding: &mut dyn FnMut(&'static CodeSpec, String) -> Finding,
) -> Vec<Finding> {
    let mut found = Vec::new();
    let (Some(before), Some(after)) = (&old.behaviour, &new.behaviour) else {
        return found;
    };
    for build_time in [true, false] {
        let gains = crate::review::code_diff::gained_behaviour(before, after, build_time);
        if gains.is_empty() {
            continue;
        }
        let old_facts: Vec<_> = before.phase(build_time).collect();
        let new_facts: Vec<_> = after.phase(build_time).collect();
        let was: BTreeSet<&str> = grade(&old_facts, build_time)
            .iter()
            .filter(|v| v.severity >= Severity::High)
            .map(|v| v.spec.code)
            .collect();
        let combos: Vec<String> = grade(&new_facts, build_time)
            .into_iter()
            .filter(|v| v.severity >= Severity::High && !was.contains(v.spec.code))
            .map(|v| v.what)
            .collect();
        let severity = match (combos.is_empty(), gains.iter().any(|g| g.serious)) {
            (false, _) => Severity::Critical,
            (true, true) => Severity::High,
            (true, false) => Severity::Medium,
        };
        let phase = phase_label(&new_facts, build_time);
        let what: Vec<&str> = gains.iter().map(|g| g.what).collect();
        let mut f =
            finding(spec, format!("{label}: {phase} newly {}", what.join(", "))).severity(severity);
        for c in &combos {
            f = f.evidence(format!("now it {c}"));
        }
        let facts: Vec<_> = gains.iter().flat_map(|g| g.facts.iter().copied()).collect();
        f = evidence(f, &facts, 6);
        found.push(crate::checks::remedy_with_approval(
            f,
            "read what changed (`cargo reflex review --diff` shows it) before building or running it",
            ", then approve this version",
        ));
    }
    found
}
