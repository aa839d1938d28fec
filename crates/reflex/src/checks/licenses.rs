//! Licenses: each crate's SPDX expression (from its packaged Cargo.toml) must be satisfiable
//! with the licenses the policy allows.

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};

pub struct Licenses;

const NAME: &str = "licenses";

pub const NOT_ALLOWED: CodeSpec = CodeSpec::new(
    "license-not-allowed",
    Severity::High,
    "a crate's license expression is not satisfied by the policy's allowed licenses",
);
pub const UNKNOWN: CodeSpec = CodeSpec::new(
    "license-unknown",
    Severity::Medium,
    "a crate declares no license, or one that is not a valid SPDX expression",
);

static CODES: [CodeSpec; 2] = [NOT_ALLOWED, UNKNOWN];

impl Check for Licenses {
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
        let Some(rules) = cx.policy.and_then(|p| p.licenses.as_ref()) else {
            return CheckStatus::Skipped {
                reason: "no `[licenses]` in the policy".into(),
            };
        };
        let (Some(graph), Some(analyses)) = (cx.graph, cx.analyses) else {
            return CheckStatus::Skipped {
                reason: "crate archives were not read".into(),
            };
        };
        let allowed: Vec<spdx::Licensee> = rules
            .allow
            .iter()
            .filter_map(|a| spdx::Licensee::parse(a).ok())
            .collect();
        let mut unread = 0;
        for (i, pkg) in graph.packages().iter().enumerate() {
            let Some(result) = analyses.get(&i) else {
                continue;
            };
            let Ok(a) = result else {
                unread += 1;
                continue;
            };
            let at = |f: Finding| {
                let mut f = f
                    .package(graph.package_ref(i))
                    .via(graph.via(i))
                    .at(graph.path.display().to_string(), graph.line_of(i));
                f.level = None;
                f
            };
            let unknown = |why: String| {
                let mut f = at(Finding::new(
                    NAME,
                    &UNKNOWN,
                    format!("{} {}: {why}", pkg.name, pkg.version),
                ))
                .remedy(
                    "read the crate's license files and add an `[[exception]]` with the finding",
                );
                f.level = Some(rules.unknown);
                f
            };
            match a.license.as_deref() {
                None if a.license_file.is_some() => out.push(unknown(format!(
                    "license only in a file ({})",
                    a.license_file.as_deref().unwrap_or_default()
                ))),
                None => out.push(unknown("no license declared".into())),
                Some(text) => {
                    match spdx::Expression::parse_mode(text, spdx::ParseMode::LAX) {
                        Err(e) => out.push(unknown(format!("`{text}` is not SPDX: {}", e.reason))),
                        Ok(expr) => {
                            if !expr.evaluate(|req| allowed.iter().any(|l| l.satisfies(req))) {
                                out.push(
                                at(Finding::new(
                                    NAME,
                                    &NOT_ALLOWED,
                                    format!("{} {} is licensed `{text}`, not allowed by the policy", pkg.name, pkg.version),
                                ))
                                .evidence(format!("allowed: {}", rules.allow.join(", ")))
                                .remedy("replace the crate, or allow the license in `[licenses] allow`"),
                            );
                            }
                        }
                    }
                }
            }
        }
        if unread > 0 {
            return CheckStatus::Partial {
                reason: format!("{unread} archives unavailable; their licenses are unknown"),
            };
        }
        CheckStatus::Ran
    }
}
