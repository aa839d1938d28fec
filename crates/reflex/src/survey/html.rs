//! The survey as one self-contained page (`--html FILE`): the organisation's figures as
//! tiles, trends as SVG charts (churn per month, first sightings and gate runs per week, drill
//! success), and one row per repository. Built from `report::html`'s escaped blocks.

use super::{Survey, render::headline};
use crate::report::html::{
    Cell, Series, bar_chart, escape, line_chart, page, section, table, tile, yes_no,
};

pub fn render(s: &Survey) -> String {
    let o = &s.organisation;
    let h = &s.history;
    let mut body = String::new();
    let mut tiles = String::from("<div class=\"tiles\">");
    let big = |r: &super::Ratio| r.percent.map_or("n/a".into(), |p| format!("{p:.0}%"));
    tiles.push_str(&tile(
        "repositories",
        &o.repositories.to_string(),
        &format!("{} packages locked", o.packages),
    ));
    tiles.push_str(&tile(
        "lockfile committed",
        &big(&o.lockfile_committed),
        &o.lockfile_committed.label(),
    ));
    tiles.push_str(&tile(
        "lockfile enforced",
        &big(&o.lockfile_enforced),
        &o.lockfile_enforced.label(),
    ));
    tiles.push_str(&tile(
        "CI cargo calls with --locked",
        &big(&o.ci_locked_invocations),
        &o.ci_locked_invocations.label(),
    ));
    tiles.push_str(&tile(
        "gate in CI",
        &big(&o.gate_in_ci),
        &o.gate_in_ci.label(),
    ));
    tiles.push_str(&tile(
        "stale dependencies",
        &big(&o.stale),
        &format!(
            "median age {}",
            o.median_age_days
                .map_or("n/a".into(), |d| format!("{d} days"))
        ),
    ));
    tiles.push_str(&tile(
        "known vulnerabilities",
        &o.vulnerable.to_string(),
        &format!("in {} repositories", o.repositories_with_vulnerable),
    ));
    tiles.push_str(&tile(
        "drill success",
        &big(&h.drill_success),
        &h.drill_success.label(),
    ));
    tiles.push_str("</div>\n");
    body.push_str(&section("organisation", "Organisation", &tiles));
    let rows: Vec<Vec<Cell>> = headline(o, h)
        .into_iter()
        .map(|(k, v)| vec![Cell::Text(k.into()), Cell::Text(v)])
        .collect();
    body.push_str(&section(
        "metrics",
        "Every metric",
        &table(&[("metric", false), ("value", false)], &rows),
    ));
    body.push_str(&section(
        "trends",
        "Trends",
        &format!("<div class=\"charts\">{}</div>", charts(s)),
    ));
    body.push_str(&section("repositories", "Repositories", &repositories(s)));
    page(
        &format!("cargo reflex survey: {} repositories", o.repositories),
        &format!(
            "{} ({}) · {}",
            s.source,
            s.inputs.join(", "),
            s.generated_at
        ),
        &body,
    )
}

fn charts(s: &Survey) -> String {
    let mut out = churn_charts(&s.organisation);
    let h = &s.history;
    let weeks: Vec<String> = h
        .first_seen_per_week
        .iter()
        .map(|w| w.week.clone())
        .collect();
    if weeks.is_empty() {
        out.push_str(&empty(
            "chart-first-seen",
            "First-seen destinations per week",
            "no sightings recorded",
        ));
    } else {
        out.push_str(&bar_chart(
            "chart-first-seen",
            "First-seen destinations per week",
            &weeks,
            &[Series {
                name: "destinations",
                color: "#7a3fd1",
                values: h
                    .first_seen_per_week
                    .iter()
                    .map(|w| w.count as f64)
                    .collect(),
            }],
        ));
    }
    if !h.gate_runs_per_week.is_empty() {
        let labels: Vec<String> = h
            .gate_runs_per_week
            .iter()
            .map(|w| w.week.clone())
            .collect();
        out.push_str(&bar_chart(
            "chart-gate-runs",
            "Gate runs per week (blocked in red)",
            &labels,
            &[
                Series {
                    name: "passed",
                    color: "#1f8f4e",
                    values: h
                        .gate_runs_per_week
                        .iter()
                        .map(|w| (w.runs - w.blocked) as f64)
                        .collect(),
                },
                Series {
                    name: "blocked",
                    color: "#d4351c",
                    values: h
                        .gate_runs_per_week
                        .iter()
                        .map(|w| w.blocked as f64)
                        .collect(),
                },
            ],
        ));
    }
    if h.drills.is_empty() {
        out.push_str(&empty(
            "chart-drills",
            "Drill success",
            "no drills recorded",
        ));
    } else {
        let labels: Vec<String> = h
            .drills
            .iter()
            .map(|d| d.started.chars().take(10).collect())
            .collect();
        let rate = h
            .drills
            .iter()
            .map(|d| {
                if d.scenarios > 0 {
                    d.passed as f64 * 100.0 / d.scenarios as f64
                } else {
                    0.0
                }
            })
            .collect();
        out.push_str(&line_chart(
            "chart-drills",
            "Drill success per drill",
            &labels,
            &[Series {
                name: "scenarios passed",
                color: "#1f8f4e",
                values: rate,
            }],
            "%",
        ));
    }
    let stale: Vec<&super::Repository> = s
        .repositories
        .iter()
        .filter(|r| r.stale_percent.is_some())
        .collect();
    if !stale.is_empty() {
        out.push_str(&bar_chart(
            "chart-stale",
            "Stale dependencies per repository (%)",
            &stale.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
            &[Series {
                name: "stale %",
                color: "#e08a00",
                values: stale
                    .iter()
                    .map(|r| r.stale_percent.unwrap_or(0.0))
                    .collect(),
            }],
        ));
    }
    out
}

/// Lockfile churn per month: packages changed by kind, and commits.
fn churn_charts(o: &super::Organisation) -> String {
    let mut out = String::new();
    let months: Vec<String> = o.churn.iter().map(|m| m.month.clone()).collect();
    let col = |f: fn(&super::churn::Month) -> usize| o.churn.iter().map(|m| f(m) as f64).collect();
    if months.is_empty() {
        out.push_str(&empty(
            "chart-churn",
            "Lockfile churn per month",
            "no git history of Cargo.lock",
        ));
    } else {
        out.push_str(&bar_chart(
            "chart-churn",
            "Packages changed in Cargo.lock per month",
            &months,
            &[
                Series {
                    name: "added",
                    color: "#1f8f4e",
                    values: col(|m| m.added),
                },
                Series {
                    name: "upgraded",
                    color: "#2f6fdb",
                    values: col(|m| m.upgraded),
                },
                Series {
                    name: "downgraded",
                    color: "#e08a00",
                    values: col(|m| m.downgraded),
                },
                Series {
                    name: "removed",
                    color: "#d4351c",
                    values: col(|m| m.removed),
                },
            ],
        ));
        out.push_str(&bar_chart(
            "chart-lockfile-changes",
            "Commits changing Cargo.lock per month",
            &months,
            &[Series {
                name: "commits",
                color: "#5b6475",
                values: col(|m| m.changes),
            }],
        ));
    }
    out
}

/// A chart's place when there is nothing to draw: an empty frame that says why.
fn empty(id: &str, title: &str, why: &str) -> String {
    format!(
        "<figure><figcaption>{t}</figcaption><svg class=\"chart\" id=\"{i}\" data-chart=\"{i}\" viewBox=\"0 0 640 120\" role=\"img\" aria-label=\"{t}\" xmlns=\"http://www.w3.org/2000/svg\"><rect x=\"0\" y=\"0\" width=\"640\" height=\"120\" fill=\"#fbfcfd\" stroke=\"#e6e9ef\"/><text x=\"320\" y=\"64\" text-anchor=\"middle\">{w}</text></svg></figure>\n",
        t = escape(title),
        i = escape(id),
        w = escape(why)
    )
}

fn repositories(s: &Survey) -> String {
    if s.repositories.is_empty() {
        return "<p class=\"muted\">No Cargo workspace found.</p>\n".into();
    }
    let rows: Vec<Vec<Cell>> = s
        .repositories
        .iter()
        .map(|r| {
            let mut name = format!("<code>{}</code>", escape(&r.name));
            if let Some(b) = &r.branch {
                name.push_str(&format!(" <span class=\"muted\">{}</span>", escape(b)));
            }
            if let Some(e) = &r.error {
                name.push_str(&format!("<br><span class=\"muted\">{}</span>", escape(e)));
            }
            vec![
                Cell::Html(name),
                Cell::Num(r.packages.to_string()),
                Cell::Html(yes_no(r.lockfile_committed)),
                Cell::Html(yes_no(r.lockfile_enforced)),
                Cell::Num(r.ci.as_ref().map_or("n/a".into(), |c| {
                    format!("{}/{}", c.locked_invocations, c.cargo_invocations)
                })),
                Cell::Html(yes_no(r.gate_in_ci)),
                Cell::Num(r.vulnerable.to_string()),
                Cell::Num(r.stale_percent.map_or("n/a".into(), |p| format!("{p:.1}%"))),
                Cell::Num(r.median_age_days.map_or("n/a".into(), |d| format!("{d} d"))),
                Cell::Num(format!("{}/{}", r.build_time_code, r.with_unsafe)),
                Cell::Num(
                    r.churn
                        .as_ref()
                        .map_or("n/a".into(), |c| c.commits.to_string()),
                ),
                Cell::Html(match r.gate_passed {
                    Some(true) => "<span class=\"yes\">pass</span>".into(),
                    Some(false) => format!("<span class=\"no\">fail ({})</span>", r.denied),
                    None => "<span class=\"unknown\">n/a</span>".into(),
                }),
            ]
        })
        .collect();
    table(
        &[
            ("repository", false),
            ("packages", true),
            ("lockfile committed", false),
            ("enforced", false),
            ("CI --locked", true),
            ("gate in CI", false),
            ("vulnerable", true),
            ("stale", true),
            ("median age", true),
            ("build-time / unsafe", true),
            ("lockfile commits", true),
            ("gate", false),
        ],
        &rows,
    )
}
