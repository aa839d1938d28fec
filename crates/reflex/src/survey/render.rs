//! The survey as text: human (a terminal screen) and Markdown (a wiki page or a PR comment).

use super::{Organisation, Repository, Survey, history::History};
use std::fmt::Write;

fn opt<T: std::fmt::Display>(v: Option<T>, unit: &str) -> String {
    v.map_or("n/a".into(), |v| format!("{v}{unit}"))
}

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |p| format!("{p:.1}%"))
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "?",
    }
}

/// The organisation's figures as (label, value) lines, shared by both renderers.
pub fn headline(o: &Organisation, h: &History) -> Vec<(&'static str, String)> {
    let months = o.churn.len();
    let changes: usize = o.churn.iter().map(|m| m.changes).sum();
    let sum = |f: &dyn Fn(&super::churn::Month) -> usize| o.churn.iter().map(f).sum::<usize>();
    vec![
        ("lockfile committed", o.lockfile_committed.label()),
        (
            "lockfile enforced (--locked in CI)",
            o.lockfile_enforced.label(),
        ),
        (
            "CI cargo calls with --locked",
            o.ci_locked_invocations.label(),
        ),
        ("gate in CI", o.gate_in_ci.label()),
        (
            "private registry",
            if o.private_registry.of == 0 {
                format!(
                    "n/a (not recorded); {} internal crates exposed",
                    o.internal_exposed
                )
            } else {
                format!(
                    "{} of {} repositories, {} packages; {} internal crates exposed",
                    o.private_registry.count,
                    o.private_registry.of,
                    o.private_registry_packages,
                    o.internal_exposed
                )
            },
        ),
        (
            "stale dependencies",
            format!(
                "{}; median age {}",
                o.stale.label(),
                opt(o.median_age_days, " days")
            ),
        ),
        (
            "known vulnerabilities",
            format!(
                "{} packages in {} repositories",
                o.vulnerable, o.repositories_with_vulnerable
            ),
        ),
        (
            "build-time code, unsafe",
            format!(
                "{} crates with build-time code, {} with unsafe (of {} archives read)",
                o.build_time_code, o.with_unsafe, o.archives_read
            ),
        ),
        ("gate passes today", o.gate_passing.label()),
        (
            "changes blocked by the gate",
            match (o.blocked_changes, o.gate_runs) {
                (Some(b), Some(r)) => format!("{b} of {r} recorded gate runs"),
                _ => "n/a (needs recorded runs: --state)".into(),
            },
        ),
        (
            "first-seen destinations",
            if h.state {
                format!(
                    "{} in {} weeks",
                    h.destinations,
                    h.first_seen_per_week.len()
                )
            } else {
                "n/a (no state store)".into()
            },
        ),
        (
            "drills",
            if h.drills.is_empty() {
                "none recorded".into()
            } else {
                format!(
                    "{} drills, {} scenarios passed; MTTD {}, MTTR {}",
                    h.drills.len(),
                    h.drill_success.label(),
                    opt(h.mttd_ms.map(|v| format!("{v:.0}")), " ms"),
                    opt(h.mttr_s.map(|v| format!("{v:.0}")), " s")
                )
            },
        ),
        (
            "lockfile churn",
            if months == 0 {
                "no history".into()
            } else {
                format!(
                    "{changes} changes in {months} months: {} added, {} removed, {} upgraded, {} downgraded",
                    sum(&|m| m.added),
                    sum(&|m| m.removed),
                    sum(&|m| m.upgraded),
                    sum(&|m| m.downgraded)
                )
            },
        ),
    ]
}

const COLUMNS: [&str; 11] = [
    "repository",
    "pkgs",
    "lock",
    "enforced",
    "--locked",
    "gate-ci",
    "vuln",
    "stale",
    "age",
    "churn",
    "gate",
];

fn row(r: &Repository) -> [String; 11] {
    [
        r.name.clone(),
        r.packages.to_string(),
        yes_no(r.lockfile_committed).into(),
        yes_no(r.lockfile_enforced).into(),
        r.ci.as_ref().map_or("n/a".into(), |c| {
            format!("{}/{}", c.locked_invocations, c.cargo_invocations)
        }),
        yes_no(r.gate_in_ci).into(),
        r.vulnerable.to_string(),
        pct(r.stale_percent),
        opt(r.median_age_days, "d"),
        r.churn
            .as_ref()
            .map_or("n/a".into(), |c| c.commits.to_string()),
        match r.gate_passed {
            Some(true) => "pass".into(),
            Some(false) => format!("FAIL ({})", r.denied),
            None => "n/a".into(),
        },
    ]
}

pub fn human(s: &Survey) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "survey of {} repositories ({}: {}) at {}",
        s.organisation.repositories,
        s.source,
        s.inputs.join(", "),
        s.generated_at
    );
    let _ = writeln!(out, "\norganisation");
    for (k, v) in headline(&s.organisation, &s.history) {
        let _ = writeln!(out, "  {k:<36} {v}");
    }
    if s.repositories.is_empty() {
        let _ = writeln!(out, "\nno Cargo workspace found");
        return out;
    }
    let rows: Vec<[String; 11]> = s.repositories.iter().map(row).collect();
    let mut widths = COLUMNS.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut l = String::from(" ");
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i == 0 {
                let _ = write!(l, " {c:<w$}");
            } else {
                let _ = write!(l, "  {c:>w$}");
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out);
    let _ = writeln!(out, "{}", line(&COLUMNS.map(String::from)));
    for r in &rows {
        let _ = writeln!(out, "{}", line(r));
    }
    for r in &s.repositories {
        if let Some(e) = &r.error {
            let _ = writeln!(out, "\nnote: {}: {e}", r.name);
        }
    }
    out
}

/// Markdown cell text: pipes and line breaks would break the table, `<` would start HTML.
fn md(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace(['\n', '\r'], " ")
}

pub fn markdown(s: &Survey) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## cargo-reflex survey: {} repositories\n\n{} ({}), {}\n",
        s.organisation.repositories,
        md(&s.source),
        md(&s.inputs.join(", ")),
        md(&s.generated_at)
    );
    let _ = writeln!(out, "| metric | value |\n|---|---|");
    for (k, v) in headline(&s.organisation, &s.history) {
        let _ = writeln!(out, "| {k} | {} |", md(&v));
    }
    if !s.repositories.is_empty() {
        let _ = writeln!(out, "\n| {} |", COLUMNS.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(COLUMNS.len()));
        for r in &s.repositories {
            let cells: Vec<String> = row(r).iter().map(|c| md(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    out
}
