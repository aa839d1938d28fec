//! The change table of a review, for the human and Markdown renderers.

use crate::finding::Severity;
use crate::review::ChangeKind;
use crate::review::{ChangeRow, ReviewSection};
use std::fmt::Write;

/// `upgraded (patch)`, `added`, ...
pub fn what(row: &ChangeRow) -> String {
    let c = &row.change;
    match (c.kind, c.bump) {
        (ChangeKind::Upgraded | ChangeKind::Downgraded, Some(b)) => {
            format!("{} ({})", c.kind.as_str(), b.as_str())
        }
        (k, _) => k.as_str().to_string(),
    }
}

/// Why it moved, in one line.
pub fn why(row: &ChangeRow) -> String {
    let c = &row.change;
    let mut parts = Vec::new();
    if !c.introduces.is_empty() {
        parts.push(format!("adds {}", c.introduces.join(", ")));
    }
    if !c.moved_by.is_empty() {
        let verb = if c.kind == ChangeKind::Removed {
            "dropped by"
        } else {
            "by"
        };
        parts.push(format!("{verb} {}", c.moved_by.join(", ")));
    } else if let Some(d) = c.direct.first() {
        parts.push(format!("through {d}"));
    } else if let Some(m) = &c.member {
        parts.push(format!("direct dependency of {m}"));
    }
    parts.join("; ")
}

/// Files and lines changed in the archive.
pub fn code_summary(row: &ChangeRow) -> String {
    let Some(code) = &row.code else {
        return "-".into();
    };
    let (a, r) = code.lines();
    let mut parts = Vec::new();
    if !code.files_added.is_empty() {
        parts.push(format!("+{} files", code.files_added.len()));
    }
    if !code.files_removed.is_empty() {
        parts.push(format!("-{} files", code.files_removed.len()));
    }
    if !code.files_changed.is_empty() {
        parts.push(format!(
            "~{} files (+{a}/-{r} lines)",
            code.files_changed.len()
        ));
    }
    if parts.is_empty() {
        "no file changes".into()
    } else {
        parts.join(", ")
    }
}

/// Codes that say what build-time code does (its behaviour), as opposed to what it is.
const BEHAVIOUR: &[&str] = &[
    crate::checks::build_time::SECRET_READ.code,
    crate::checks::build_time::NETWORK.code,
    crate::checks::build_time::OBFUSCATION.code,
    crate::checks::review::CAPABILITY_ADDED.code,
];

/// Whether a change's build-time code is shown by default: its risk is medium or worse, or its
/// code does something risky. Routine additions (a proc-macro that only expands code) are a
/// line in the table; `--diff` shows every diff.
pub fn shows_code(row: &ChangeRow) -> bool {
    row.risk.is_some_and(|r| r >= Severity::Medium)
        || row.signals.iter().any(|c| BEHAVIOUR.contains(&c.as_str()))
}

/// What the findings about a change point at in its code (`AWS_SECRET_ACCESS_KEY`,
/// `TcpStream::connect`): the diffs that contain them come first.
pub fn needles(findings: &[crate::finding::Finding], row: &ChangeRow) -> Vec<String> {
    let name = row.change.name.as_str();
    let version = row.change.to.as_ref().map(|t| t.version.as_str());
    let mut out = Vec::new();
    for f in findings.iter().filter(|f| {
        f.package
            .as_ref()
            .is_some_and(|p| p.name == name && Some(p.version.as_str()) == version)
    }) {
        for e in &f.evidence {
            for part in e.split(['`', ',', ' ', ':']).filter(|p| p.len() >= 5) {
                let t = part.trim_matches(|c: char| !c.is_alphanumeric() && c != '_');
                if t.len() >= 5 && t.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    out.push(t.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A risky change's diffs, those that contain what its findings point at first; at most
/// `limit` of them (the rest are counted).
pub fn ordered_diffs<'a>(
    code: &'a crate::review::code_diff::CodeChanges,
    needles: &[String],
    limit: usize,
) -> (Vec<&'a crate::review::code_diff::FileDiff>, usize) {
    let hits = |d: &crate::review::code_diff::FileDiff| {
        needles.iter().any(|n| d.unified.contains(n.as_str()))
    };
    let mut diffs: Vec<&crate::review::code_diff::FileDiff> = code.diffs.iter().collect();
    diffs.sort_by_key(|d| !hits(d));
    let hidden = diffs.len().saturating_sub(limit);
    diffs.truncate(limit);
    (diffs, hidden)
}

/// Diffs of one risky change shown without `--diff`.
pub const RISKY_FILES: usize = 3;

/// The most characters a Markdown report may have: GitHub refuses comments over 65,536.
pub const MARKDOWN_BUDGET: usize = 60_000;

pub fn markdown(
    review: &ReviewSection,
    findings: &[crate::finding::Finding],
    all_diffs: bool,
    s: &mut String,
    icon: fn(Severity) -> &'static str,
) {
    let _ = writeln!(
        s,
        "\n### Lockfile changes: `{}` → `{}` ({} changes)\n",
        review.base,
        review.head,
        review.changes.len()
    );
    if review.changes.is_empty() {
        let _ = writeln!(s, "No package changed.");
        return;
    }
    let _ = writeln!(
        s,
        "| risk | change | what | why | code | signals |\n|---|---|---|---|---|---|"
    );
    for row in &review.changes {
        let signals: Vec<String> = row.signals.iter().map(|c| format!("`{c}`")).collect();
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} |",
            row.risk.map(icon).unwrap_or("✅ none"),
            row.change.label(),
            what(row),
            cell(&why(row)),
            code_summary(row),
            signals.join(" ")
        );
    }
    let mut quiet = Vec::new();
    let mut cut = Vec::new();
    // Diffs share what is left of the budget with the findings that follow.
    let budget = MARKDOWN_BUDGET / 2;
    for row in &review.changes {
        let Some(code) = &row.code else { continue };
        if code.diffs.is_empty() {
            continue;
        }
        if !all_diffs && !shows_code(row) {
            quiet.push(format!("`{}`", row.change.label()));
            continue;
        }
        let limit = if all_diffs { usize::MAX } else { RISKY_FILES };
        let (diffs, mut hidden) = ordered_diffs(code, &needles(findings, row), limit);
        let mut block = format!(
            "\n<details><summary>Build-time code of <code>{}</code></summary>\n\n",
            row.change.label()
        );
        for d in diffs {
            let mut one = format!("`{}` ({}):\n\n```diff\n{}```\n", d.path, d.role, d.unified);
            if d.truncated_lines > 0 {
                let _ = writeln!(one, "_{} more lines not shown_", d.truncated_lines);
            }
            if s.len() + block.len() + one.len() > budget {
                hidden += 1;
            } else {
                block.push_str(&one);
            }
        }
        if hidden > 0 {
            cut.push(format!("{hidden} files of `{}`", row.change.label()));
        }
        let _ = writeln!(block, "\n</details>");
        s.push_str(&block);
    }
    if !quiet.is_empty() {
        let _ = writeln!(
            s,
            "\nBuild-time code with no risky behaviour found is not shown: {} (`cargo reflex review --diff`).",
            quiet.join(", ")
        );
    }
    if !cut.is_empty() {
        let _ = writeln!(
            s,
            "\n_Not shown, to fit a pull-request comment: {} (`cargo reflex review --diff` shows them)._",
            cut.join(", ")
        );
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
