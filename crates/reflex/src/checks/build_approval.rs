//! Build-time code allowlist: with `[build-time] require-approval`, every crate with a build
//! script or that is a proc-macro needs an `allow` entry. A new one fails until approved.
//! Crates whose archives could not be read are reported: their build-time code is unknown.

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};
use crate::policy::{BuildTimeKind, approve};

pub struct BuildApproval;

const NAME: &str = "build-approval";

pub const BUILD_SCRIPT: CodeSpec = CodeSpec::new(
    "build-script-not-approved",
    Severity::High,
    "a crate runs a build script but is not on the policy's build-time allowlist",
)
.build_time_approval("build-script");
pub const PROC_MACRO: CodeSpec = CodeSpec::new(
    "proc-macro-not-approved",
    Severity::High,
    "a proc-macro crate is not on the policy's build-time allowlist",
)
.build_time_approval("proc-macro");
pub const UNKNOWN: CodeSpec = CodeSpec::new(
    "build-time-unknown",
    Severity::Medium,
    "whether a crate runs code at build time is unknown (its archive could not be read)",
);

static CODES: [CodeSpec; 3] = [BUILD_SCRIPT, PROC_MACRO, UNKNOWN];

impl Check for BuildApproval {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::ARCHIVES).with(Needs::POLICY)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let Some(rules) = cx
            .policy
            .map(|p| &p.build_time)
            .filter(|b| b.require_approval)
        else {
            return CheckStatus::Skipped {
                reason: "`[build-time] require-approval` is off".into(),
            };
        };
        let (Some(graph), Some(analyses)) = (cx.graph, cx.analyses) else {
            return CheckStatus::Skipped {
                reason: "crate archives were not read".into(),
            };
        };
        let mut unknown = Vec::new();
        for (i, pkg) in graph.packages().iter().enumerate() {
            let Some(result) = analyses.get(&i) else {
                continue;
            };
            let at = |f: Finding| {
                f.package(graph.package_ref(i))
                    .via(graph.via(i))
                    .at(graph.path.display().to_string(), graph.line_of(i))
            };
            let a = match result {
                Ok(a) => a,
                Err(why) => {
                    if !rules.allow.iter().any(|a| a.krate == pkg.name.as_str()) {
                        unknown.push(format!("{} {}: {why}", pkg.name, pkg.version));
                    }
                    continue;
                }
            };
            let caps = a
                .capabilities
                .as_ref()
                .map(|c| c.summary())
                .filter(|s| !s.is_empty());
            let kinds = [
                (
                    a.build_script
                        .as_ref()
                        .map(|s| format!("runs a build script ({s})")),
                    BuildTimeKind::BuildScript,
                    &BUILD_SCRIPT,
                ),
                (
                    a.proc_macro
                        .then(|| "is a proc-macro (runs inside rustc)".to_string()),
                    BuildTimeKind::ProcMacro,
                    &PROC_MACRO,
                ),
            ];
            for (what, kind, spec) in kinds {
                let Some(what) = what else { continue };
                if rules.allows(pkg.name.as_str(), kind) {
                    continue;
                }
                let mut f = at(Finding::new(
                    NAME,
                    spec,
                    format!("{} {what} and is not approved", pkg.name),
                ))
                .remedy(format!(
                    "read its {}, then approve the crate: `{}`",
                    match kind {
                        BuildTimeKind::ProcMacro => "macro code",
                        _ => "build script",
                    },
                    approve::command_for(spec, pkg.name.as_str(), &pkg.version.to_string())
                ));
                if let Some(c) = &caps {
                    f = f.evidence(format!("build-time code can: {c}"));
                }
                out.push(f);
            }
        }
        if !unknown.is_empty() {
            let mut f = Finding::new(
                NAME,
                &UNKNOWN,
                format!(
                    "{} crates could not be inspected for build-time code",
                    unknown.len()
                ),
            )
            .remedy(
                "run online so the archives can be downloaded, or `cargo fetch --locked` first",
            );
            for u in unknown.iter().take(20) {
                f = f.evidence(u.clone());
            }
            out.push(f);
            return CheckStatus::Partial {
                reason: format!("{} archives unavailable", unknown.len()),
            };
        }
        CheckStatus::Ran
    }
}
