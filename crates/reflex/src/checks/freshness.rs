//! Freshness and takeover targets: when the locked version and the crate's last release were
//! published (the index's `pubtime`), how far behind the lockfile is, which crates went stale,
//! and which stale crates an attacker would take over first because much of the graph (and
//! much of the ecosystem) depends on them.

use super::{Check, Context, Needs, Sink};
use crate::checks::recon_table::{CrateRow, ReconMetrics};
use crate::finding::{CheckStatus, CodeSpec, Finding, Metric, Severity};
use crate::graph::{Graph, Origin};
use crate::sources::registry_index::{IndexedVersion, Lookup};
use rustsec::Version;

pub struct Freshness;

const NAME: &str = "freshness";

pub const STALE: CodeSpec = CodeSpec::new(
    "stale-crate",
    Severity::Info,
    "the crate has had no release for longer than the stale period (default 24 months)",
)
.trust_covers();
pub const UNMAINTAINED_SUSPECT: CodeSpec = CodeSpec::new(
    "unmaintained-suspect",
    Severity::Low,
    "the registry history suggests the crate is abandoned (every release yanked, or stale with every newer release yanked)",
).trust_covers().feeds(Metric::Unmaintained);
pub const TAKEOVER_TARGET: CodeSpec = CodeSpec::new(
    "takeover-target",
    Severity::Low,
    "a stale crate much of the graph depends on: where an account takeover would hurt most",
)
.trust_covers();
pub const DATA_MISSING: CodeSpec = CodeSpec::new(
    "registry-data-missing",
    Severity::Low,
    "release dates are unknown for some crates (offline and not in cargo's index cache)",
);

static CODES: [CodeSpec; 4] = [STALE, UNMAINTAINED_SUSPECT, TAKEOVER_TARGET, DATA_MISSING];

/// How many takeover targets become findings; all are in the crate table.
const TAKEOVER_FINDINGS: usize = 5;

impl Check for Freshness {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::INDEX_DETAILED)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let Some(graph) = cx.graph else {
            return CheckStatus::Skipped {
                reason: "no Cargo.lock".into(),
            };
        };
        let dependents = transitive_dependents(graph);
        let mut rows = Vec::new();
        let mut unknown = Vec::new();
        for (i, pkg) in graph.packages().iter().enumerate() {
            let origin = graph.origin(i);
            if origin == Origin::Local {
                continue;
            }
            let mut row = CrateRow {
                name: pkg.name.to_string(),
                version: pkg.version.to_string(),
                source: graph.package_ref(i).source,
                dependents: dependents[i],
                popularity_rank: cx
                    .popularity
                    .and_then(|p| p.get_exact(pkg.name.as_str()))
                    .map(|p| p.rank),
                ..CrateRow::default()
            };
            let registry = graph.registry(i);
            let lookup = registry.as_ref().and_then(|r| {
                cx.index
                    .and_then(|idx| idx.get(r.as_deref(), pkg.name.as_str()))
            });
            match lookup {
                Some(Lookup::Found { versions, .. }) => {
                    fill(&mut row, &pkg.version, versions, cx);
                    judge(cx, graph, i, &row, versions, out);
                }
                // Gone from the registry: the yanked check reports it.
                Some(Lookup::Missing) => {}
                _ if registry.is_some() => unknown.push(graph.label(i)),
                _ => {}
            }
            row.takeover_score = takeover_score(&row, cx.stale_after_days);
            rows.push(row);
        }
        rows.sort_by(|a, b| {
            b.takeover_score
                .total_cmp(&a.takeover_score)
                .then(b.dependents.cmp(&a.dependents))
                .then(a.name.cmp(&b.name))
        });
        for row in rows
            .iter()
            .filter(|r| r.takeover_score > 0.0)
            .take(TAKEOVER_FINDINGS)
        {
            let Some(i) = graph.find(&row.name, &row.version) else {
                continue;
            };
            let mut f = Finding::new(
                NAME,
                &TAKEOVER_TARGET,
                format!(
                    "{} {} is a takeover target (score {:.1})",
                    row.name, row.version, row.takeover_score
                ),
            )
            .package(graph.package_ref(i))
            .via(graph.via(i))
            .evidence(match row.dependents {
                1 => "1 package of this graph depends on it".to_string(),
                n => format!("{n} packages of this graph depend on it"),
            });
            if let Some(rank) = row.popularity_rank {
                f = f.evidence(format!("#{rank} by downloads on crates.io"));
            }
            if let Some(days) = row.days_since_release {
                f = f.evidence(format!("last release {} months ago", days / 30));
            }
            out.push(f.remedy("watch its ownership and releases closely (pin, review every bump), or replace it with a maintained crate"));
        }
        let dated: Vec<i64> = rows.iter().filter_map(|r| r.age_days).collect();
        let stale = rows.iter().filter(|r| r.stale == Some(true)).count();
        let known = rows.iter().filter(|r| r.stale.is_some()).count();
        out.metrics = Some(ReconMetrics {
            crates: graph.len(),
            registry_crates: rows
                .iter()
                .filter(|r| r.source.starts_with("registry+") || r.source.starts_with("sparse+"))
                .count(),
            dated: dated.len(),
            median_age_days: median(dated),
            stale,
            stale_percent: (known > 0)
                .then(|| (stale as f64 * 1000.0 / known as f64).round() / 10.0),
            stale_after_days: cx.stale_after_days,
            ..ReconMetrics::default()
        });
        out.crates = rows;
        if unknown.is_empty() {
            return CheckStatus::Ran;
        }
        let shown: Vec<&str> = unknown.iter().take(10).map(String::as_str).collect();
        out.push(
            Finding::new(NAME, &DATA_MISSING, match unknown.len() {
                1 => "release dates unknown for 1 crate".to_string(),
                n => format!("release dates unknown for {n} crates"),
            })
                .evidence(format!("{}{}", shown.join(", "), if unknown.len() > 10 { format!(" and {} more", unknown.len() - 10) } else { String::new() }))
                .remedy(cx.index_unavailable.clone().map_or_else(
                    || "run without --offline once, or `cargo fetch`, so the index entries are available".to_string(),
                    |why| format!("registry index not consulted: {why}"),
                )),
        );
        CheckStatus::Partial {
            reason: format!("no registry data for {} crates", unknown.len()),
        }
    }
}

fn days_since(cx: &Context<'_>, pubtime: Option<&str>) -> Option<i64> {
    let ts: jiff::Timestamp = pubtime?.parse().ok()?;
    Some(cx.clock.now().duration_since(ts).as_secs() / 86_400)
}

fn fill(row: &mut CrateRow, locked: &Version, versions: &[IndexedVersion], cx: &Context<'_>) {
    let locked_entry = versions.iter().find(|v| v.version == locked.to_string());
    row.dependencies = locked_entry.and_then(|v| v.deps.clone());
    if row.links.is_none() {
        row.links = locked_entry.and_then(|v| v.links.clone());
    }
    row.released = locked_entry
        .and_then(|v| v.pubtime.as_ref())
        .map(|t| t.get(..10).unwrap_or(t).to_string());
    row.age_days = days_since(cx, locked_entry.and_then(|v| v.pubtime.as_deref()));
    let releases: Vec<(Version, &IndexedVersion)> = versions
        .iter()
        .filter(|v| !v.yanked)
        .filter_map(|v| {
            Version::parse(&v.version)
                .ok()
                .filter(|p| p.pre.is_empty())
                .map(|p| (p, v))
        })
        .collect();
    if let Some((latest, entry)) = releases.iter().max_by(|a, b| a.0.cmp(&b.0)) {
        row.latest = Some(latest.to_string());
        row.latest_released = entry
            .pubtime
            .as_ref()
            .map(|t| t.get(..10).unwrap_or(t).to_string());
    }
    row.versions_behind = Some(releases.iter().filter(|(v, _)| v > locked).count());
    let newest_publish = versions.iter().filter_map(|v| v.pubtime.as_deref()).max();
    row.days_since_release = days_since(cx, newest_publish);
    row.stale = row.days_since_release.map(|d| d > cx.stale_after_days);
}

fn judge(
    cx: &Context<'_>,
    graph: &Graph,
    i: usize,
    row: &CrateRow,
    versions: &[IndexedVersion],
    out: &mut Sink,
) {
    let pkg = &graph.packages()[i];
    let finding = |spec: &'static CodeSpec, title: String| {
        Finding::new(NAME, spec, title)
            .package(graph.package_ref(i))
            .via(graph.via(i))
            .at(graph.path.display().to_string(), graph.line_of(i))
    };
    if row.stale == Some(true) {
        let months = row.days_since_release.unwrap_or(0) / 30;
        out.push(
            finding(&STALE, format!("`{}` has had no release for {months} months", pkg.name))
                .evidence(format!("last release: {}", row.latest_released.as_deref().unwrap_or("unknown")))
                .evidence(format!("stale after {} months", cx.stale_after_days / 30))
                .remedy("check that the crate is still maintained; prefer a maintained alternative for new code"),
        );
    }
    let all_yanked = !versions.is_empty() && versions.iter().all(|v| v.yanked);
    let newer: Vec<&IndexedVersion> = versions
        .iter()
        .filter(|v| Version::parse(&v.version).is_ok_and(|p| p > pkg.version))
        .collect();
    let newer_all_yanked = !newer.is_empty() && newer.iter().all(|v| v.yanked);
    if all_yanked {
        out.push(
            finding(
                &UNMAINTAINED_SUSPECT,
                format!("every release of `{}` is yanked", pkg.name),
            )
            .evidence(format!("{} releases, all yanked", versions.len()))
            .remedy("the authors withdrew the crate: replace it"),
        );
    } else if row.stale == Some(true) && newer_all_yanked {
        out.push(
            finding(
                &UNMAINTAINED_SUSPECT,
                format!(
                    "`{}` is stale and every release after {} was yanked",
                    pkg.name, pkg.version
                ),
            )
            .evidence(format!(
                "yanked: {}",
                newer
                    .iter()
                    .map(|v| v.version.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .remedy(
                "find out why the later releases were withdrawn; consider a maintained alternative",
            ),
        );
    }
}

/// Reach in the graph x ecosystem popularity x years without a release beyond the first.
pub fn takeover_score(row: &CrateRow, stale_after_days: i64) -> f64 {
    let Some(days) = row.days_since_release else {
        return 0.0;
    };
    let staleness = (days as f64 - 365.0).max(0.0) / 365.0;
    if staleness == 0.0 {
        return 0.0;
    }
    let popularity = row
        .popularity_rank
        .map_or(1.0, |r| 1.0 + (20_001.0f64 / f64::from(r.max(1))).ln());
    let reach = 1.0 + row.dependents as f64;
    let stale_weight = if days > stale_after_days { 1.5 } else { 1.0 };
    (reach.ln_1p() * popularity * staleness * stale_weight * 10.0).round() / 10.0
}

/// For every package, how many packages depend on it, directly or transitively.
pub fn transitive_dependents(graph: &Graph) -> Vec<usize> {
    let n = graph.len();
    let mut counts = vec![0; n];
    let mut seen = vec![usize::MAX; n];
    let mut stack = Vec::new();
    for (i, count) in counts.iter_mut().enumerate() {
        seen[i] = i; // a cycle back to the crate itself does not count
        stack.clear();
        stack.extend_from_slice(graph.dependents(i));
        while let Some(j) = stack.pop() {
            if seen[j] == i {
                continue;
            }
            seen[j] = i;
            *count += 1;
            stack.extend_from_slice(graph.dependents(j));
        }
    }
    counts
}

fn median(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2
    } else {
        values[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takeover_score_needs_staleness_and_grows_with_reach_and_popularity() {
        let row = |days, dependents, rank| CrateRow {
            days_since_release: Some(days),
            dependents,
            popularity_rank: rank,
            ..CrateRow::default()
        };
        assert_eq!(takeover_score(&row(100, 50, Some(10)), 730), 0.0);
        let low = takeover_score(&row(1000, 1, None), 730);
        let reach = takeover_score(&row(1000, 100, None), 730);
        let popular = takeover_score(&row(1000, 100, Some(5)), 730);
        assert!(
            0.0 < low && low < reach && reach < popular,
            "{low} {reach} {popular}"
        );
        assert_eq!(median(vec![5, 1, 3]), Some(3));
        assert_eq!(median(vec![]), None);
    }
}
