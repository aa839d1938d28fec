//! The change table of a review, for the human and Markdown renderers.

use super::{ChangeRow, ReviewSection, Severity};
use crate::review::ChangeKind;
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

pub fn markdown(review: &ReviewSection, s: &mut String, icon: fn(Severity) -> &'static str) {
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
    for row in &review.changes {
        let Some(code) = &row.code else { continue };
        if code.diffs.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "\n<details><summary>Build-time code of <code>{}</code></summary>\n",
            row.change.label()
        );
        for d in &code.diffs {
            let _ = writeln!(s, "`{}` ({}):\n\n```diff\n{}```", d.path, d.role, d.unified);
            if d.truncated_lines > 0 {
                let _ = writeln!(s, "_{} more lines not shown_", d.truncated_lines);
            }
        }
        let _ = writeln!(s, "\n</details>");
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
