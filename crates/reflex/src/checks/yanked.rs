//! Yanked and vanished versions, from the registry index: cargo's local cache offline, the
//! sparse index online. What could not be checked is reported, never assumed fine.

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};
use crate::knowledge::versions::{precise_update, semver_compatible, upgrade_remedy};
use crate::sources::registry_index::Lookup;

pub struct Yanked;

const NAME: &str = "yanked";

pub const YANKED: CodeSpec = CodeSpec::new(
    "yanked",
    Severity::Low,
    "the locked version was yanked from the registry",
);
pub const VERSION_MISSING: CodeSpec = CodeSpec::new(
    "registry-version-missing",
    Severity::Medium,
    "the registry index does not list the locked version (deleted, or never published there)",
);
pub const CRATE_MISSING: CodeSpec = CodeSpec::new(
    "registry-crate-missing",
    Severity::Medium,
    "the registry has no crate of this name any more (crates are deleted after malware reports)",
);
pub const UNCHECKED: CodeSpec = CodeSpec::new(
    "yanked-unchecked",
    Severity::Low,
    "yanked status could not be checked for some packages",
);

static CODES: [CodeSpec; 4] = [YANKED, VERSION_MISSING, CRATE_MISSING, UNCHECKED];

impl Check for Yanked {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::INDEX)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let Some(graph) = cx.graph else {
            return CheckStatus::Skipped {
                reason: "no Cargo.lock to check".into(),
            };
        };
        let Some(index) = cx.index else {
            let reason = cx
                .index_unavailable
                .clone()
                .unwrap_or_else(|| "registry index not consulted".into());
            return CheckStatus::Skipped { reason };
        };
        let mut unchecked: Vec<(String, String)> = Vec::new();
        for (i, pkg) in graph.packages().iter().enumerate() {
            let Some(registry) = graph.registry(i) else {
                continue;
            };
            if cx.scope.is_some_and(|s| !s.contains(&i)) {
                continue;
            }
            let version = pkg.version.to_string();
            let at = |f: Finding| f.at(graph.path.display().to_string(), graph.line_of(i));
            match index.get(registry.as_deref(), pkg.name.as_str()) {
                Some(Lookup::Found { versions, from_network }) => {
                    let source = if *from_network { "the registry index" } else { "cargo's local index cache" };
                    match versions.iter().find(|v| v.version == version) {
                        Some(v) if v.yanked => {
                            let unyanked: Vec<rustsec::Version> = versions
                                .iter()
                                .filter(|x| !x.yanked)
                                .filter_map(|x| rustsec::Version::parse(&x.version).ok())
                                .filter(|x| x.pre.is_empty())
                                .collect();
                            // Never a release that a known advisory still affects: the
                            // same target the advisory finding names.
                            let advisories = cx.db.map(|db| db.fixable_for_crate(pkg.name.as_str())).unwrap_or_default();
                            let unaffected = |x: &rustsec::Version| advisories.iter().all(|a| !a.versions.is_vulnerable(x));
                            let compatible = unyanked
                                .iter()
                                .filter(|x| **x > pkg.version && semver_compatible(&pkg.version, x) && unaffected(x))
                                .min();
                            let mut f = Finding::new(NAME, &YANKED, format!("{} {version} is yanked", pkg.name))
                                .package(graph.package_ref(i))
                                .via(graph.via(i))
                                .evidence(format!("marked yanked in {source}"));
                            f = match (compatible, unyanked.iter().max()) {
                                (Some(next), _) => f.remedy(format!(
                                    "move to the next unyanked compatible release: `{}`",
                                    precise_update(pkg.name.as_str(), &version, next)
                                )),
                                (None, Some(_)) => match unyanked.iter().filter(|x| **x > pkg.version && unaffected(x)).min() {
                                    Some(to) => f.remedy(upgrade_remedy(pkg.name.as_str(), &pkg.version, to, &graph.via(i))),
                                    None => f.remedy(format!("no later unyanked release of `{}` is free of known advisories: replace it", pkg.name)),
                                },
                                (None, None) => f.remedy(format!("every release of `{}` is yanked: replace it", pkg.name)),
                            };
                            out.push(at(f));
                        }
                        Some(_) => {}
                        None if *from_network => out.push(at(Finding::new(
                            NAME,
                            &VERSION_MISSING,
                            format!("{} {version} is not in the registry index", pkg.name),
                        )
                        .package(graph.package_ref(i))
                        .via(graph.via(i))
                        .evidence(format!("the index lists {} other versions of `{}`", versions.len(), pkg.name))
                        .remedy("find out why the release was removed before building; update to a listed version"))),
                        None => unchecked.push((
                            graph.label(i),
                            "cargo's local index cache predates this version".into(),
                        )),
                    }
                }
                Some(Lookup::Missing) => out.push(at(Finding::new(
                    NAME,
                    &CRATE_MISSING,
                    format!("`{}` no longer exists on the registry", pkg.name),
                )
                .package(graph.package_ref(i))
                .via(graph.via(i))
                .evidence("the sparse index answered 404 for this crate")
                .remedy("crates are removed for malware or legal reasons: remove it and audit what the build could reach"))),
                Some(Lookup::Unknown(reason)) => unchecked.push((graph.label(i), reason.clone())),
                None => unchecked.push((graph.label(i), "not looked up".into())),
            }
        }
        if unchecked.is_empty() {
            return CheckStatus::Ran;
        }
        let total = graph
            .packages()
            .iter()
            .enumerate()
            .filter(|(i, _)| graph.registry(*i).is_some())
            .count();
        let mut f = Finding::new(
            NAME,
            &UNCHECKED,
            format!("yanked status unknown for {} of {total} registry packages", unchecked.len()),
        )
        .remedy("run without --offline, or run `cargo fetch` once so cargo's index cache covers the lockfile");
        let mut reasons: Vec<&str> = unchecked.iter().map(|(_, r)| r.as_str()).collect();
        reasons.sort_unstable();
        reasons.dedup();
        for r in reasons.iter().take(3) {
            f = f.evidence(format!("reason: {r}"));
        }
        let names: Vec<&str> = unchecked.iter().take(10).map(|(n, _)| n.as_str()).collect();
        f = f.evidence(format!(
            "unchecked: {}{}",
            names.join(", "),
            if unchecked.len() > 10 {
                format!(" and {} more", unchecked.len() - 10)
            } else {
                String::new()
            }
        ));
        out.push(f);
        CheckStatus::Partial {
            reason: match unchecked.len() {
                1 => "1 package could not be checked".to_string(),
                n => format!("{n} packages could not be checked"),
            },
        }
    }
}
