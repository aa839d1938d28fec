//! Findings about the policy itself: which policy applies, exceptions that expired or no
//! longer match anything (added when the policy is applied), allowlist entries gone stale.

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};
use crate::policy::{BuildTimeKind, EXCEPTION_EXPIRED, EXCEPTION_UNUSED};

pub struct PolicyMeta;

const NAME: &str = "policy";

pub const DEFAULT: CodeSpec = CodeSpec::new(
    "policy-default",
    Severity::Info,
    "no reflex.toml: the default policy applies (malicious and vulnerable crates denied)",
)
.never_baseline();
pub const ALLOW_UNUSED: CodeSpec = CodeSpec::new(
    "policy-allow-unused",
    Severity::Low,
    "a build-time allowlist entry names a crate that runs no such code in the graph",
);

pub const LOOSENED: CodeSpec = CodeSpec::new(
    "policy-loosened",
    Severity::High,
    "the change loosens the policy that judges it; the loosening does not apply to the change itself",
);

static CODES: [CodeSpec; 5] = [
    DEFAULT,
    EXCEPTION_EXPIRED,
    EXCEPTION_UNUSED,
    ALLOW_UNUSED,
    LOOSENED,
];

impl Check for PolicyMeta {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::POLICY.with(Needs::ARCHIVES)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let Some(policy) = cx.policy else {
            return CheckStatus::Skipped {
                reason: "no policy".into(),
            };
        };
        if !cx.policy_loosened.is_empty() {
            let mut f = Finding::new(
                NAME,
                &LOOSENED,
                format!(
                    "this change loosens reflex.toml in {} ways; the change is judged by the base revision's policy",
                    cx.policy_loosened.len()
                ),
            );
            for l in cx.policy_loosened {
                f = f.evidence(l.clone());
            }
            out.push(f.remedy(
                "approve in a separate, reviewed change: land the reflex.toml edit (or `cargo reflex approve`) first, then this change",
            ));
        }
        let Some(path) = &policy.path else {
            out.push(
                Finding::new(NAME, &DEFAULT, "no reflex.toml: applying the default policy")
                    .evidence("denied: findings at or above high (malicious and vulnerable crates, tampered archives)")
                    .remedy("run `cargo reflex init` to record today's graph as the baseline and tighten from there"),
            );
            return CheckStatus::Ran;
        };
        let (Some(graph), Some(analyses)) = (cx.graph, cx.analyses) else {
            return CheckStatus::Ran;
        };
        for entry in &policy.build_time.allow {
            let mut known = false;
            let used = graph.packages().iter().enumerate().any(|(i, p)| {
                if p.name.as_str() != entry.krate {
                    return false;
                }
                let Some(Ok(a)) = analyses.get(&i) else {
                    // Unread archive or a path crate: cannot tell, so not stale.
                    known |=
                        !analyses.contains_key(&i) || analyses.get(&i).is_some_and(Result::is_err);
                    return false;
                };
                match entry.kind {
                    BuildTimeKind::BuildScript => a.build_script.is_some(),
                    BuildTimeKind::ProcMacro => a.proc_macro,
                    BuildTimeKind::Any => a.build_script.is_some() || a.proc_macro,
                }
            });
            if !used && !known {
                out.push(
                    Finding::new(
                        NAME,
                        &ALLOW_UNUSED,
                        format!(
                            "build-time allowlist entry for {} ({}) matches nothing in the graph",
                            entry.krate,
                            entry.kind.as_str()
                        ),
                    )
                    .evidence(format!("reason: {}", entry.reason))
                    .at(path.display().to_string(), Some(entry.line))
                    .remedy("remove it so a future crate of that name is not approved by accident"),
                );
            }
        }
        CheckStatus::Ran
    }
}
