//! Known advisories (RustSec format), with cargo-audit's matching rules: crates.io packages
//! only, patched and unaffected ranges, withdrawn advisories skipped, informational kinds as
//! warnings. Malicious-crate advisories rank above everything else.

use super::{Check, Context, Needs, Sink};
use crate::finding::{AdvisoryRef, CheckStatus, CodeSpec, Finding, Metric, Severity};
use crate::graph::{Graph, Origin};
use crate::knowledge::versions::{nearest_safe_version, upgrade_remedy};
use crate::sources::registry_index::Lookup;
use rustsec::SourceId;
use rustsec::advisory::{Advisory, Category, Informational};

pub struct Advisories;

const NAME: &str = "advisories";

pub const MALICIOUS: CodeSpec = CodeSpec::new(
    "advisory-malicious",
    Severity::Critical,
    "the locked package is malicious according to an advisory: remove it and rotate every secret the build could see",
).never_baseline().feeds(Metric::Vulnerable);
pub const VULNERABILITY: CodeSpec = CodeSpec::new(
    "advisory-vulnerability",
    Severity::High,
    "the locked version has a known vulnerability",
)
.feeds(Metric::Vulnerable);
pub const UNSOUND: CodeSpec = CodeSpec::new(
    "advisory-unsound",
    Severity::Low,
    "informational advisory: the locked version has an unsound API",
);
pub const UNMAINTAINED: CodeSpec = CodeSpec::new(
    "advisory-unmaintained",
    Severity::Low,
    "informational advisory: the crate is unmaintained",
)
.feeds(Metric::Unmaintained);
pub const NOTICE: CodeSpec = CodeSpec::new(
    "advisory-notice",
    Severity::Low,
    "informational advisory: a notice about the crate",
);
pub const DB_STALE: CodeSpec = CodeSpec::new(
    "advisory-db-stale",
    Severity::Medium,
    "the advisory database is old, so recent advisories are missing",
);
pub const DB_REFRESH_FAILED: CodeSpec = CodeSpec::new(
    "advisory-db-refresh-failed",
    Severity::Low,
    "the advisory database could not be refreshed, so an older copy was used",
);
pub const DB_INVALID_ENTRY: CodeSpec = CodeSpec::new(
    "advisory-db-invalid-entry",
    Severity::Low,
    "an advisory file could not be parsed and was skipped",
);

static CODES: [CodeSpec; 8] = [
    DB_REFRESH_FAILED,
    MALICIOUS,
    VULNERABILITY,
    UNSOUND,
    UNMAINTAINED,
    NOTICE,
    DB_STALE,
    DB_INVALID_ENTRY,
];

impl Check for Advisories {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::ADVISORIES).with(Needs::INDEX)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let Some(db) = cx.db else {
            return CheckStatus::Skipped {
                reason: "no advisory database".into(),
            };
        };
        if let Some(err) = &cx.db_refresh_error {
            out.push(
                Finding::new(NAME, &DB_REFRESH_FAILED, "could not refresh the advisory database")
                    .evidence(one_line(err))
                    .evidence(format!(
                        "using the {} database{}",
                        db.info().origin,
                        db.last_updated.map(|d| format!(" of {d}")).unwrap_or_default()
                    ))
                    .remedy("check network access to the database URL, or pass --offline to use the local copy knowingly"),
            );
        }
        for entry in &db.invalid {
            out.push(
                Finding::new(
                    NAME,
                    &DB_INVALID_ENTRY,
                    format!("skipped invalid advisory {}", entry.path),
                )
                .evidence(one_line(&entry.message))
                .remedy("fix or remove the file; the rest of the database is used"),
            );
        }
        match db.last_updated {
            Some(date) => {
                let age = cx.clock.days_since(date);
                if age > cx.db_stale_days {
                    out.push(
                        Finding::new(
                            NAME,
                            &DB_STALE,
                            format!("advisory database is {age} days old (last updated {date})"),
                        )
                        .evidence(format!("advisories published after {date} are not checked"))
                        .remedy(
                            "run `cargo reflex db fetch` (or pass --advisory-db <fresh clone>)",
                        ),
                    );
                }
            }
            None => out.push(
                Finding::new(NAME, &DB_STALE, "advisory database age is unknown")
                    .remedy("run `cargo reflex db fetch` (or pass --advisory-db <fresh clone>)"),
            ),
        }
        let Some(graph) = cx.graph else {
            return CheckStatus::Skipped {
                reason: "no Cargo.lock to check".into(),
            };
        };
        let crates_io = SourceId::default();
        for (i, pkg) in graph.packages().iter().enumerate() {
            if graph.origin(i) != Origin::CratesIo || cx.scope.is_some_and(|s| !s.contains(&i)) {
                continue;
            }
            // In a review, what the previous version of this crate already had is not news.
            let before: Option<rustsec::Version> = cx.scope.and(cx.review).and_then(|r| {
                let c = r
                    .delta
                    .changes
                    .iter()
                    .find(|c| c.to.as_ref().is_some_and(|t| t.index == i))?;
                c.from.as_ref()?.version.parse().ok()
            });
            let applicable: Vec<&Advisory> = db
                .for_crate(pkg.name.as_str())
                .filter(|adv| {
                    adv.metadata.withdrawn.is_none() && adv.versions.is_vulnerable(&pkg.version)
                })
                .filter(|adv| {
                    adv.metadata.source.as_ref().is_none_or(|src| {
                        src.kind() == crates_io.kind() && src.url() == crates_io.url()
                    })
                })
                .collect();
            // The remedy must clear every vulnerability of this version, not just one.
            let vulns: Vec<&Advisory> = applicable
                .iter()
                .copied()
                .filter(|a| a.metadata.informational.is_none())
                .collect();
            for adv in applicable.iter().copied() {
                if before
                    .as_ref()
                    .is_some_and(|v| adv.versions.is_vulnerable(v))
                {
                    continue;
                }
                let spec = match &adv.metadata.informational {
                    None if is_malicious(adv) => &MALICIOUS,
                    None => &VULNERABILITY,
                    Some(Informational::Unmaintained) => &UNMAINTAINED,
                    Some(Informational::Unsound) => &UNSOUND,
                    Some(Informational::Notice) => &NOTICE,
                    Some(_) => continue,
                };
                out.push(finding(cx, graph, i, adv, &vulns, spec));
            }
        }
        CheckStatus::Ran
    }
}

/// Collapses a multi-line parser message (with its source excerpt) into one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim_end)
        .filter(|l| {
            !l.is_empty()
                && !l.trim_start().starts_with('|')
                && !l
                    .trim_start()
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit())
        })
        .collect::<Vec<_>>()
        .join(": ")
}

/// A malicious-crate advisory: the `malicious` category, or (for advisories written before
/// that category existed) a "malicious crate" title or malware keywords.
pub fn is_malicious(adv: &Advisory) -> bool {
    adv.metadata.categories.contains(&Category::Malicious)
        || adv
            .metadata
            .title
            .to_ascii_lowercase()
            .starts_with("malicious crate")
        || adv.metadata.keywords.iter().any(|k| {
            matches!(
                k.as_str(),
                "malicious" | "malware" | "typosquatting" | "typosquat"
            )
        })
}

fn finding(
    cx: &Context<'_>,
    graph: &Graph,
    i: usize,
    adv: &Advisory,
    all: &[&Advisory],
    spec: &'static CodeSpec,
) -> Finding {
    let pkg = &graph.packages()[i];
    let id = adv.metadata.id.to_string();
    let via = graph.via(i);
    let mut f = Finding::new(NAME, spec, format!("{id}: {}", adv.metadata.title))
        .package(graph.package_ref(i))
        .via(via.clone())
        .at(graph.path.display().to_string(), graph.line_of(i));
    if let Some(info) = &adv.metadata.informational {
        f = f.evidence(format!("informational advisory ({info})"));
    }
    let patched: Vec<String> = adv
        .versions
        .patched()
        .iter()
        .map(ToString::to_string)
        .collect();
    let unaffected: Vec<String> = adv
        .versions
        .unaffected()
        .iter()
        .map(ToString::to_string)
        .collect();
    f = f.evidence(if patched.is_empty() {
        "no patched version exists".to_string()
    } else {
        format!("patched: {}", patched.join(", "))
    });
    if let Some(fn_list) = adv
        .affected
        .as_ref()
        .map(|a| &a.functions)
        .filter(|f| !f.is_empty())
    {
        let names: Vec<String> = fn_list.keys().map(ToString::to_string).collect();
        f = f.evidence(format!("affected functions: {}", names.join(", ")));
    }
    let name = pkg.name.as_str();
    let current = &pkg.version;
    let remedy = if spec.code == MALICIOUS.code {
        format!(
            "remove `{name}` from the dependency graph{}, then treat every secret the build environment could read as leaked and rotate it",
            parent_hint(&via)
        )
    } else {
        // An informational advisory (unsound, unmaintained) with a fix: that fix, outside
        // every vulnerability too (one remedy per package).
        let set: Vec<&Advisory> = if adv.metadata.informational.is_none() {
            all.to_vec()
        } else {
            let mut s: Vec<&Advisory> = all
                .iter()
                .copied()
                .filter(|a| a.metadata.informational.is_none())
                .collect();
            s.push(adv);
            s
        };
        let published = cx
            .index
            .and_then(|m| m.get(None, name))
            .map(Lookup::unyanked_versions)
            .unwrap_or_default();
        match nearest_safe_version(&set, current, &published) {
            Some(safe) => {
                let mut r = upgrade_remedy(name, current, &safe, &via);
                if set.len() > 1 {
                    r.push_str(&format!(
                        " (fixes all {} advisories of {name} {current})",
                        set.len()
                    ));
                }
                r
            }
            None if spec.code == UNMAINTAINED.code => format!(
                "replace `{name}` with a maintained alternative{}",
                parent_hint(&via)
            ),
            None => format!(
                "no fixed version: remove or replace `{name}`{}",
                parent_hint(&via)
            ),
        }
    };
    f.remedy = Some(remedy);
    f.advisory = Some(AdvisoryRef {
        id: id.clone(),
        aliases: adv
            .metadata
            .aliases
            .iter()
            .map(ToString::to_string)
            .collect(),
        date: adv.metadata.date.as_str().to_string(),
        url: Some(
            adv.metadata
                .url
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_else(|| format!("https://rustsec.org/advisories/{id}.html")),
        ),
        categories: adv
            .metadata
            .categories
            .iter()
            .map(ToString::to_string)
            .collect(),
        cvss: adv.metadata.cvss.as_ref().map(ToString::to_string),
        cvss_severity: adv.severity().map(|s| s.to_string()),
        patched,
        unaffected,
    });
    f
}

fn parent_hint(via: &[String]) -> String {
    match via.len() {
        0 | 1 => String::new(),
        n => format!(" (pulled in by {})", via[n - 2]),
    }
}
