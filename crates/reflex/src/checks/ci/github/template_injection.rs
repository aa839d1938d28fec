//! `ci-template-injection`: `${{ }}` expressions pasted into a script, graded by who writes
//! the text and the triggers the job runs under.

use super::super::injection::{self, Taint};
use super::super::{FileCtx, NAME, Sink, TEMPLATE_INJECTION};
use super::step::StepScope;
use crate::finding::{Finding, Severity};

/// `ci-template-injection` for one script of step `step` whose content starts at line
/// `start`.
pub(super) fn injections(
    scope: &StepScope<'_>,
    step: &str,
    script: &str,
    start: u32,
    out: &mut Sink,
) {
    let (f, job, privileged) = (scope.job.file, scope.job.name, &scope.job.privileged);
    let env = |name: &str| scope.env_value(name);
    let mut seen: Vec<String> = Vec::new();
    for e in injection::expansions(script, &env) {
        let (ctx, taint) = &e.contexts[0];
        if seen.contains(ctx) {
            continue;
        }
        seen.push(ctx.clone());
        let (severity, why) = match taint {
            Taint::Attacker if !privileged.is_empty() => (
                Severity::High,
                format!(
                    "anyone who can open a pull request, issue or comment writes this text, and under {} the script runs with the repository's secrets and a write token",
                    privileged.join(", ")
                ),
            ),
            Taint::Attacker => (
                Severity::Medium,
                "an outsider writes this text (a pull request, a branch name, a commit message)"
                    .to_string(),
            ),
            Taint::Unknown => (
                Severity::Low,
                "an event field not known to be safe: it may carry an outsider's text".to_string(),
            ),
            Taint::Input => (
                Severity::Low,
                "whoever dispatches or calls the workflow chooses this value".to_string(),
            ),
        };
        out.push(
            Finding::new(
                NAME,
                &TEMPLATE_INJECTION,
                format!("job `{job}` step `{step}` pastes `${{{{ {} }}}}` into its script", e.expr),
            )
            .severity(severity)
            .at(f.path.clone(), Some(FileCtx::line_in(start, script, e.offset)))
            .evidence(format!("{ctx}: {why}"))
            .remedy("pass it through the environment and quote it: `env: { VALUE: ${{ <expr> }} }`, then use \"$VALUE\" in the script"),
        );
    }
}
