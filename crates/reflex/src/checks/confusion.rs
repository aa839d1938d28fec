//! Dependency confusion: internal crates (unpublishable workspace or path crates, crates from a
//! private registry, names with the organisation's internal prefixes) whose names also exist on
//! crates.io, where a dependency declared without its `registry`/`path` would resolve instead.

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Metric, Severity};
use crate::graph::Origin;
use crate::sources::registry_index::Lookup;
use rustsec::Version;
use toml::Value;

pub struct Confusion;

const NAME: &str = "confusion";

pub const PUBLIC_TWIN: CodeSpec = CodeSpec::new(
    "dependency-confusion",
    Severity::Medium,
    "an internal crate's name also exists on crates.io, so a dependency declared without its source resolves to the public one",
).feeds(Metric::ConfusionSuspects);
pub const INTERNAL_FROM_PUBLIC: CodeSpec = CodeSpec::new(
    "internal-name-from-public-registry",
    Severity::High,
    "a crate with an internal name prefix is locked from crates.io instead of the internal source",
)
.feeds(Metric::ConfusionSuspects);
pub const NO_PREFIX: CodeSpec = CodeSpec::new(
    "internal-crate-without-prefix",
    Severity::Low,
    "an internal crate's name lacks the organisation's internal prefix, so it is easy to squat publicly",
);

static CODES: [CodeSpec; 3] = [PUBLIC_TWIN, INTERNAL_FROM_PUBLIC, NO_PREFIX];

impl Check for Confusion {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::PUBLIC_INDEX)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let Some(graph) = cx.graph else {
            return CheckStatus::Skipped {
                reason: "no Cargo.lock".into(),
            };
        };
        let has_prefix = |name: &str| {
            cx.internal_prefixes
                .iter()
                .any(|p| name.starts_with(p.as_str()))
        };
        // Workspace crates marked `publish = false` (or publishing only to private registries).
        let unpublishable: Vec<String> = cx
            .workspace
            .map(|ws| {
                ws.packages
                    .iter()
                    .filter(
                        |m| match m.table.get("package").and_then(|p| p.get("publish")) {
                            Some(Value::Boolean(false)) => true,
                            Some(Value::Array(regs)) => {
                                !regs.iter().any(|r| r.as_str() == Some("crates-io"))
                            }
                            _ => false,
                        },
                    )
                    .filter_map(|m| m.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        let mut unchecked = 0;
        for (i, pkg) in graph.packages().iter().enumerate() {
            if cx.scope.is_some_and(|s| !s.contains(&i)) {
                continue;
            }
            let name = pkg.name.as_str();
            let origin = graph.origin(i);
            let internal = match &origin {
                Origin::Registry(url) => Some(format!("private registry {url}")),
                Origin::Local if unpublishable.iter().any(|n| n == name) => {
                    Some("a workspace crate with `publish = false`".to_string())
                }
                Origin::Local | Origin::Git { .. } if has_prefix(name) => {
                    Some("an internal crate".to_string())
                }
                _ => None,
            };
            if origin == Origin::CratesIo {
                if has_prefix(name) {
                    out.push(
                        Finding::new(NAME, &INTERNAL_FROM_PUBLIC, format!("`{name}` has an internal prefix but comes from crates.io"))
                            .package(graph.package_ref(i))
                            .via(graph.via(i))
                            .at(graph.path.display().to_string(), graph.line_of(i))
                            .evidence(format!("internal prefixes: {}", cx.internal_prefixes.join(", ")))
                            .remedy("declare the dependency with its internal `registry = ...` (or path) and check what the public crate contains"),
                    );
                }
                continue;
            }
            let Some(what) = internal else { continue };
            if !cx.internal_prefixes.is_empty() && !has_prefix(name) {
                out.push(
                    Finding::new(
                        NAME,
                        &NO_PREFIX,
                        format!("internal crate `{name}` lacks an internal prefix"),
                    )
                    .package(graph.package_ref(i))
                    .evidence(format!(
                        "it is {what}; prefixes: {}",
                        cx.internal_prefixes.join(", ")
                    ))
                    .remedy("rename it with the prefix and reserve the prefix on crates.io"),
                );
            }
            match cx.index.and_then(|idx| idx.get(None, name)) {
                Some(Lookup::Found { versions, .. }) => {
                    let public_max = versions
                        .iter()
                        .filter(|v| !v.yanked)
                        .filter_map(|v| Version::parse(&v.version).ok())
                        .max();
                    let mut f = Finding::new(
                        NAME,
                        &PUBLIC_TWIN,
                        format!("`{name}` is {what}, and crates.io has a crate of the same name"),
                    )
                    .package(graph.package_ref(i))
                    .via(graph.via(i))
                    .at(graph.path.display().to_string(), graph.line_of(i))
                    .evidence(match versions.len() {
                        1 => "1 public version".to_string(),
                        n => format!("{n} public versions"),
                    });
                    if let Some(max) = &public_max {
                        f = f.evidence(if *max > pkg.version {
                            format!("public {max} is newer than the internal {}: it would win a version requirement both satisfy", pkg.version)
                        } else {
                            format!("newest public version: {max}")
                        });
                    }
                    out.push(f.remedy("keep `registry = ...` or `path = ...` on every dependency on it, and consider publishing a placeholder under this name"));
                }
                Some(Lookup::Missing) => {}
                _ => unchecked += 1,
            }
        }
        if unchecked > 0 {
            CheckStatus::Partial {
                reason: format!("{unchecked} internal crates could not be looked up on crates.io"),
            }
        } else {
            CheckStatus::Ran
        }
    }
}
