//! Cooldown: a new version must have been public for the policy's minimum age. Most hijacked
//! releases are found and removed within days; waiting them out is the cheapest defence.
//! An unknown publish time fails closed unless the policy says otherwise.

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Level, Severity};
use crate::policy::approve;
use crate::sources::registry_index::Lookup;

pub struct Cooldown;

const NAME: &str = "cooldown";

pub const TOO_YOUNG: CodeSpec = CodeSpec::new(
    "cooldown-too-young",
    Severity::High,
    "a version was published more recently than the policy's cooldown allows",
)
.trust_covers()
.cooldown();
pub const PUBTIME_UNKNOWN: CodeSpec = CodeSpec::new(
    "cooldown-publish-time-unknown",
    Severity::High,
    "the publish time of a version under cooldown is unknown (fails closed)",
)
.trust_covers()
.cooldown();

static CODES: [CodeSpec; 2] = [TOO_YOUNG, PUBTIME_UNKNOWN];

impl Check for Cooldown {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::INDEX_DETAILED).with(Needs::POLICY)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let Some(rule) = cx
            .policy
            .map(|p| &p.cooldown)
            .filter(|c| c.min_age_days > 0)
        else {
            return CheckStatus::Skipped {
                reason: "no `[cooldown] min-age-days` in the policy".into(),
            };
        };
        let Some(graph) = cx.graph else {
            return CheckStatus::Skipped {
                reason: "no Cargo.lock".into(),
            };
        };
        let min_secs = i64::from(rule.min_age_days) * 86_400;
        let now = cx.clock.now();
        for (i, pkg) in graph.packages().iter().enumerate() {
            let Some(registry) = graph.registry(i) else {
                continue;
            };
            let version = pkg.version.to_string();
            let exempt = rule.exempt.iter().any(|e| match e.split_once('@') {
                Some((n, v)) => n == pkg.name.as_str() && v == version,
                None => e == pkg.name.as_str(),
            });
            if exempt || cx.incoming.is_some_and(|set| !set.contains(&i)) {
                continue;
            }
            let lookup = cx
                .index
                .and_then(|x| x.get(registry.as_deref(), pkg.name.as_str()));
            let pubtime = lookup
                .and_then(|l| l.version(&version))
                .and_then(|v| v.published());
            let at = |f: Finding| f.at(graph.path.display().to_string(), graph.line_of(i));
            match pubtime {
                Some(ts) => {
                    let age = now.duration_since(ts).as_secs();
                    if age < min_secs {
                        let ready = ts
                            .checked_add(jiff::SignedDuration::from_secs(min_secs))
                            .map(|t| t.to_string())
                            .unwrap_or_default();
                        out.push(at(Finding::new(
                            NAME,
                            &TOO_YOUNG,
                            format!(
                                "{} {version} was published {} ago; the policy waits {} days",
                                pkg.name,
                                crate::time::human_duration(age),
                                rule.min_age_days
                            ),
                        )
                        .package(graph.package_ref(i))
                        .via(graph.via(i))
                        .evidence(format!("published {ts}"))
                        .remedy(format!(
                            "keep the previous version until {ready}, or read this version and approve it: `{}`",
                            approve::command_for(&TOO_YOUNG, pkg.name.as_str(), &version)
                        ))));
                    }
                }
                None if rule.unknown_publish_time == Level::Allow => {}
                None => {
                    let why = match lookup {
                        Some(Lookup::Found { versions, .. })
                            if versions.iter().any(|v| v.version == version) =>
                        {
                            "the registry index records no publish time for it".to_string()
                        }
                        Some(Lookup::Found { .. }) => {
                            "the registry index does not list this version".to_string()
                        }
                        Some(Lookup::Missing) => "the registry has no such crate".to_string(),
                        Some(Lookup::Unknown(why)) => why.clone(),
                        None => cx
                            .index_unavailable
                            .clone()
                            .unwrap_or_else(|| "the registry index was not consulted".into()),
                    };
                    let mut f = at(Finding::new(
                        NAME,
                        &PUBTIME_UNKNOWN,
                        format!("{} {version}: publish time unknown, cooldown cannot be checked", pkg.name),
                    )
                    .package(graph.package_ref(i))
                    .via(graph.via(i))
                    .evidence(why)
                    .remedy(format!(
                        "run online (without --offline) so the index can be read, or read this version and approve it: `{}`",
                        approve::command_for(&PUBTIME_UNKNOWN, pkg.name.as_str(), &version)
                    )));
                    f.level = Some(rule.unknown_publish_time);
                    out.push(f);
                }
            }
        }
        CheckStatus::Ran
    }
}
