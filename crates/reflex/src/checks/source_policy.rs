//! Allowed sources: registries by name or index URL, git hosts by URL prefix. Unpinned git
//! is reported by the cargo-config check; the policy's `git = "pinned"` denies it.

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};
use crate::graph::Origin;
use crate::policy::GitRule;

pub struct SourcePolicy;

const NAME: &str = "sources";

pub const NOT_ALLOWED: CodeSpec = CodeSpec::new(
    "source-not-allowed",
    Severity::High,
    "a package comes from a registry or git host the policy does not allow",
);
static CODES: [CodeSpec; 1] = [NOT_ALLOWED];

const CRATES_IO_NAMES: &[&str] = &[
    "crates-io",
    "crates.io",
    "https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

impl Check for SourcePolicy {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::POLICY)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let (Some(policy), Some(graph)) = (cx.policy, cx.graph) else {
            return CheckStatus::Skipped {
                reason: "no policy or no Cargo.lock".into(),
            };
        };
        let rules = &policy.sources;
        // Registry names from cargo config map to index URLs.
        let named: Vec<(String, String)> = cx
            .cargo_configs
            .iter()
            .filter_map(|c| c.table.get("registries").and_then(|r| r.as_table()))
            .flat_map(|r| {
                r.iter().filter_map(|(name, t)| {
                    let index = t.get("index")?.as_str()?;
                    Some((name.clone(), index.to_string()))
                })
            })
            .collect();
        let registry_allowed = |url: &str| -> bool {
            let Some(allowed) = &rules.allow_registries else {
                return true;
            };
            let norm = |u: &str| {
                u.trim_start_matches("registry+")
                    .trim_start_matches("sparse+")
                    .trim_end_matches('/')
                    .to_string()
            };
            allowed.iter().any(|a| {
                norm(a) == norm(url)
                    || named
                        .iter()
                        .any(|(name, index)| name == a && norm(index) == norm(url))
            })
        };
        for (i, pkg) in graph.packages().iter().enumerate() {
            let at = |f: Finding| {
                f.package(graph.package_ref(i))
                    .via(graph.via(i))
                    .at(graph.path.display().to_string(), graph.line_of(i))
            };
            match graph.origin(i) {
                Origin::CratesIo
                    if rules.allow_registries.is_some()
                        && !CRATES_IO_NAMES.iter().any(|n| registry_allowed(n)) =>
                {
                    out.push(at(Finding::new(
                        NAME,
                        &NOT_ALLOWED,
                        format!("{} comes from crates.io, which the policy does not allow", pkg.name),
                    )
                    .remedy("add \"crates-io\" to `[sources] allow-registries` or use the internal mirror")));
                }
                Origin::Registry(url) if !registry_allowed(&url) => {
                    out.push(at(Finding::new(
                        NAME,
                        &NOT_ALLOWED,
                        format!(
                            "{} comes from registry {url}, which the policy does not allow",
                            pkg.name
                        ),
                    )
                    .remedy(
                        "add the registry's name or index URL to `[sources] allow-registries`",
                    )));
                }
                Origin::Git { url, .. } => {
                    let source = pkg
                        .source
                        .as_ref()
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    let host_ok = rules.allow_git.is_empty()
                        || rules.allow_git.iter().any(|p| url.starts_with(p.as_str()));
                    if rules.git == GitRule::Deny || !host_ok {
                        out.push(at(Finding::new(
                            NAME,
                            &NOT_ALLOWED,
                            format!("{} comes from git {url}, which the policy does not allow", pkg.name),
                        )
                        .evidence(source)
                        .remedy("depend on a registry release, or allow the URL in `[sources] allow-git`")));
                    }
                    // Unpinned git (branch, tag, default branch) is `git-dependency-unpinned`
                    // from the cargo-config check; `git = "pinned"` makes it deny.
                }
                _ => {}
            }
        }
        CheckStatus::Ran
    }
}
