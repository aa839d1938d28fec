//! Markdown for a GitHub job summary or a pull-request comment.

use super::Report;
use crate::finding::{CheckStatus, Severity};
use std::fmt::Write;

fn icon(sev: Severity) -> &'static str {
    match sev {
        Severity::Critical => "🟣 critical",
        Severity::High => "🔴 high",
        Severity::Medium => "🟠 medium",
        Severity::Low => "🔵 low",
        Severity::Info => "⚪ info",
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &Report) -> String {
    let mut s = String::new();
    let sm = &report.summary;
    let verdict = if sm.passed {
        "✅ passed"
    } else {
        "❌ failed"
    };
    let _ = writeln!(s, "## cargo-reflex {}: {verdict}\n", report.command);
    let t = &report.target;
    if let (Some(l), None) = (&t.lockfile, t.lockfile_version) {
        let _ = writeln!(s, "`{l}`");
    } else if let Some(l) = &t.lockfile {
        let _ = writeln!(
            s,
            "`{l}` (lockfile v{}, {} packages)",
            t.lockfile_version.unwrap_or(0),
            t.package_count
        );
    }
    if let Some(db) = &report.advisory_db {
        let count = db
            .advisory_count
            .map(|n| format!("{n} advisories, "))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "advisory database: {count}updated {} ({})",
            db.last_updated.as_deref().unwrap_or("unknown"),
            db.origin
        );
    }
    let _ = writeln!(
        s,
        "\n| critical | high | medium | low | info | fails the run |\n|---:|---:|---:|---:|---:|---:|"
    );
    let _ = writeln!(
        s,
        "| {} | {} | {} | {} | {} | {} (deny: {}) |",
        sm.critical,
        sm.high,
        sm.medium,
        sm.low,
        sm.info,
        sm.denied,
        sm.deny_level.map(|d| d.as_str()).unwrap_or("none")
    );
    if let Some(p) = &report.policy {
        let _ = writeln!(
            s,
            "\npolicy: {}",
            p.path
                .as_ref()
                .map(|x| format!(
                    "`{x}` ({} exceptions, {} trust records)",
                    p.exceptions, p.trust_records
                ))
                .unwrap_or_else(|| {
                    "default (no reflex.toml): malicious and vulnerable crates denied".into()
                })
        );
    }
    if let Some(review) = &report.review {
        super::change_table::markdown(review, &report.findings, false, &mut s, icon);
    }
    if let Some(ci) = &report.ci
        && let Some(p) = ci.locked_percent
    {
        let _ = writeln!(
            s,
            "\nCI: **{p:.1}%** of cargo invocations use `--locked` ({} of {}).",
            ci.locked_invocations, ci.cargo_invocations
        );
    }
    if !report.findings.is_empty() {
        findings(report, &mut s);
    }
    if let Some(m) = &report.metrics {
        let _ = writeln!(
            s,
            "\n**Recon:** {} crates; median age of locked versions {}; stale {}; vulnerable {}; unmaintained {}; typosquat suspects {}; confusion suspects {}.",
            m.crates,
            m.median_age_days
                .map_or("unknown".into(), |d| format!("{} months", d / 30)),
            m.stale_percent
                .map_or("unknown".into(), |p| format!("{} ({p:.1}%)", m.stale)),
            m.vulnerable,
            m.unmaintained,
            m.typosquat_suspects,
            m.confusion_suspects
        );
    }
    if !report.crates.is_empty() {
        let _ = writeln!(
            s,
            "\n<details><summary>Top takeover targets</summary>\n\n| crate | version | latest | last release | dependents | popularity | score |\n|---|---|---|---:|---:|---:|---:|"
        );
        for r in report.crates.iter().take(20) {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} | {} | {:.1} |",
                r.name,
                r.version,
                r.latest.as_deref().unwrap_or("-"),
                r.days_since_release
                    .map_or("-".into(), |d| format!("{} months ago", d / 30)),
                r.dependents,
                r.popularity_rank.map_or("-".into(), |p| format!("#{p}")),
                r.takeover_score
            );
        }
        let _ = writeln!(s, "\n</details>");
    }
    let notes: Vec<String> = report
        .checks
        .iter()
        .filter_map(|c| match &c.status {
            CheckStatus::Skipped { reason } => {
                Some(format!("- not checked: **{}** ({reason})", c.name))
            }
            CheckStatus::Partial { reason } => {
                Some(format!("- partly checked: **{}** ({reason})", c.name))
            }
            CheckStatus::Ran => None,
        })
        .collect();
    if !notes.is_empty() {
        let _ = writeln!(s, "\n{}", notes.join("\n"));
    }
    s
}

/// The findings table (same causes on one row) and their details, within the budget of a
/// pull-request comment: what does not fit is counted, never silently dropped.
fn findings(report: &Report, s: &mut String) {
    use super::change_table::MARKDOWN_BUDGET;
    if report.review.is_some() {
        let _ = writeln!(s, "\n### Findings");
    }
    let _ = writeln!(
        s,
        "\n| severity | finding | package | where | fix |\n|---|---|---|---|---|"
    );
    let all: Vec<&crate::finding::Finding> = report.findings.iter().collect();
    let groups = super::grouping::group(&all);
    // Rows first (the verdict), details after, each only while the budget lasts.
    let reserve = 2_000;
    let mut left_out = 0;
    for g in &groups {
        let f = g.first;
        let pkg = match (g.members.len(), &f.package) {
            (1, Some(p)) => format!("`{} {}`", p.name, p.version),
            (n, Some(_)) => format!("{n} crates"),
            _ => String::new(),
        };
        let loc = f
            .location
            .as_ref()
            .filter(|_| g.members.len() == 1)
            .map(|l| {
                format!(
                    "`{}{}`",
                    l.path,
                    l.line.map(|n| format!(":{n}")).unwrap_or_default()
                )
            })
            .unwrap_or_default();
        let title = match f.advisory.as_ref().and_then(|a| a.url.as_ref()) {
            Some(url) => format!("[{}]({url})", cell(&g.title())),
            None => cell(&g.title()),
        };
        let row = format!(
            "| {} | {title} <br><sub>`{}`</sub> | {pkg} | {loc} | {} |\n",
            icon(f.severity),
            f.code,
            cell(g.remedy().as_deref().unwrap_or(""))
        );
        if s.len() + row.len() + reserve > MARKDOWN_BUDGET {
            left_out += 1;
            continue;
        }
        s.push_str(&row);
    }
    if left_out > 0 {
        let _ = writeln!(
            s,
            "\n_{left_out} more findings cut to fit a pull-request comment: `--format json` or `--format sarif` has them all._"
        );
    }
    let mut details = String::from("\n<details><summary>Details</summary>\n\n");
    let mut any = false;
    let mut cut = 0;
    for g in groups
        .iter()
        .filter(|g| g.first.via.len() > 1 || !g.first.evidence.is_empty())
    {
        let f = g.first;
        let mut item = format!("- **{}** (`{}`)\n", cell(&g.title()), f.code);
        if f.via.len() > 1 && g.members.len() == 1 {
            let _ = writeln!(item, "  - via: {}", f.via.join(" → "));
        }
        let (evidence, more) = g.evidence(if g.members.len() == 1 { usize::MAX } else { 4 });
        for e in &evidence {
            let _ = writeln!(item, "  - {}", cell(e));
        }
        if more > 0 {
            let _ = writeln!(item, "  - and {more} more");
        }
        if s.len() + details.len() + item.len() + reserve > MARKDOWN_BUDGET {
            cut += 1;
            continue;
        }
        details.push_str(&item);
        any = true;
    }
    if cut > 0 {
        let _ = writeln!(
            details,
            "\n_{cut} more details cut to fit a pull-request comment._"
        );
    }
    if any || cut > 0 {
        let _ = writeln!(details, "\n</details>");
        s.push_str(&details);
    }
}
