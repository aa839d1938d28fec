//! Human output for a terminal: findings grouped by check, worst first, colored by severity,
//! and a one-line summary. Styling uses ANSI codes; the binary strips them when color is off.

use super::Report;
use crate::finding::{CheckStatus, Finding, Severity};
use anstyle::{AnsiColor, Style};
use std::fmt::Write;

#[derive(Clone, Copy, Debug, Default)]
pub struct HumanOptions {
    /// Show info findings and the status of every check.
    pub verbose: bool,
    /// Show only findings that fail the run, and the summary.
    pub quiet: bool,
    /// Show the code diffs of every change (by default only where behaviour is risky).
    pub diff: bool,
}

fn style(sev: Severity) -> Style {
    let color = match sev {
        Severity::Critical => AnsiColor::BrightMagenta,
        Severity::High => AnsiColor::BrightRed,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Cyan,
        Severity::Info => AnsiColor::BrightBlack,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

pub fn render(report: &Report, opts: HumanOptions) -> String {
    let mut s = String::new();
    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| {
            if opts.quiet {
                f.denied
            } else {
                opts.verbose || f.severity > Severity::Info
            }
        })
        .collect();
    if !opts.quiet {
        header(report, &mut s);
    }
    if let Some(review) = &report.review
        && !opts.quiet
    {
        changes(review, &report.findings, opts, &mut s);
    }
    // A passing gate says so in a few lines; `-v` lists what it let through.
    let brief = report.command == "gate" && report.summary.passed && !opts.verbose && !opts.quiet;
    if brief && !shown.is_empty() {
        let mut counts: Vec<String> = Vec::new();
        for sev in Severity::ALL {
            let n = shown.iter().filter(|f| f.severity == sev).count();
            if n > 0 {
                counts.push(format!("{n} {}", sev.as_str()));
            }
        }
        let _ = writeln!(
            s,
            "\n{DIM}{} findings below the deny level ({}): `-v` lists them{DIM:#}",
            shown.len(),
            counts.join(", ")
        );
    }
    let mut checks: Vec<&str> = Vec::new();
    for f in shown.iter().filter(|_| !brief) {
        if !checks.contains(&f.check) {
            checks.push(f.check);
        }
    }
    for check in checks {
        let _ = writeln!(s, "\n{BOLD}{check}{BOLD:#}");
        let mine: Vec<&Finding> = shown.iter().copied().filter(|f| f.check == check).collect();
        for g in super::grouping::group(&mine) {
            finding(&g, &mut s);
        }
    }
    if !opts.quiet && !brief && !report.crates.is_empty() {
        crate_table(report, opts.verbose, &mut s);
    }
    if !opts.quiet {
        let mut notes = Vec::new();
        for run in &report.checks {
            match &run.status {
                CheckStatus::Skipped { reason } if opts.verbose || !reason.contains("--env") => {
                    notes.push(format!("not checked: {} ({reason})", run.name))
                }
                CheckStatus::Partial { reason } => {
                    notes.push(format!("partly checked: {} ({reason})", run.name))
                }
                CheckStatus::Ran if opts.verbose => notes.push(format!("checked: {}", run.name)),
                _ => {}
            }
        }
        if let Some(ci) = &report.ci
            && let Some(p) = ci.locked_percent
        {
            notes.push(format!(
                "CI: {} of {} cargo invocations use --locked or --frozen ({p:.1}%) across {} file{}",
                    ci.locked_invocations,
                    ci.cargo_invocations,
                    ci.files,
                    if ci.files == 1 { "" } else { "s" }
                ));
        }
        if !notes.is_empty() {
            s.push('\n');
            for n in notes {
                let _ = writeln!(s, "{DIM}{n}{DIM:#}");
            }
        }
    }
    summary(report, &mut s);
    s
}

/// `build.rs`, `proc-macro`, `links=z`, `binaries`: what runs or links at build time.
fn build_time(r: &crate::checks::recon_table::CrateRow) -> String {
    let mut parts = Vec::new();
    if r.build_script == Some(true) {
        parts.push("build.rs".to_string());
    }
    if r.proc_macro == Some(true) {
        parts.push("proc-macro".to_string());
    }
    if let Some(l) = &r.links {
        parts.push(format!("links={l}"));
    }
    if r.native_files.is_some_and(|n| n > 0) {
        parts.push("binaries".to_string());
    }
    match (parts.is_empty(), r.build_script) {
        (true, None) => "-".into(),
        (true, Some(_)) => "none".into(),
        _ => parts.join(","),
    }
}

fn changes(
    review: &crate::review::ReviewSection,
    findings: &[Finding],
    opts: HumanOptions,
    s: &mut String,
) {
    use super::change_table::{
        RISKY_FILES, code_summary, needles, ordered_diffs, shows_code, what, why,
    };
    let verbose = opts.verbose;
    let _ = writeln!(
        s,
        "\n{BOLD}changes{BOLD:#} {DIM}{} -> {}, {} packages, worst first{DIM:#}",
        review.base,
        review.head,
        review.changes.len()
    );
    for row in &review.changes {
        let risk = match row.risk {
            Some(sev) => {
                let st = style(sev);
                format!("{st}{:<8}{st:#}", sev.as_str())
            }
            None => format!("{DIM}{:<8}{DIM:#}", "ok"),
        };
        let _ = writeln!(
            s,
            "  {risk} {BOLD}{}{BOLD:#}  {}  {DIM}{}; {}{DIM:#}",
            row.change.label(),
            what(row),
            why(row),
            code_summary(row)
        );
    }
    let mut quiet_code = Vec::new();
    for row in &review.changes {
        let Some(code) = &row.code else { continue };
        if !opts.diff && !shows_code(row) {
            if !code.diffs.is_empty() {
                quiet_code.push(format!(
                    "{} ({} files)",
                    row.change.label(),
                    code.diffs.len()
                ));
            }
            continue;
        }
        let limit = if opts.diff { usize::MAX } else { RISKY_FILES };
        let (diffs, hidden_files) = ordered_diffs(code, &needles(findings, row), limit);
        if hidden_files > 0 {
            quiet_code.push(format!(
                "{hidden_files} more files of {}",
                row.change.label()
            ));
        }
        for d in diffs {
            let _ = writeln!(
                s,
                "\n{BOLD}{}{BOLD:#} {DIM}{} ({}){DIM:#}",
                row.change.label(),
                d.path,
                d.role
            );
            let limit = if verbose { usize::MAX } else { 60 };
            let lines: Vec<&str> = d.unified.lines().collect();
            for l in lines.iter().take(limit) {
                let st = match l.chars().next() {
                    Some('+') if !l.starts_with("+++") => {
                        Style::new().fg_color(Some(AnsiColor::Green.into()))
                    }
                    Some('-') if !l.starts_with("---") => {
                        Style::new().fg_color(Some(AnsiColor::Red.into()))
                    }
                    _ => DIM,
                };
                let _ = writeln!(s, "    {st}{l}{st:#}");
            }
            let hidden = lines.len().saturating_sub(limit) + d.truncated_lines;
            if hidden > 0 {
                let _ = writeln!(
                    s,
                    "    {DIM}... {hidden} more lines (-v, or --format markdown){DIM:#}"
                );
            }
        }
    }
    if !quiet_code.is_empty() {
        let _ = writeln!(
            s,
            "\n{DIM}build-time code not shown (`--diff` shows it): {}{DIM:#}",
            quiet_code.join(", ")
        );
    }
}

/// Rows shown without `-v`.
const TABLE_ROWS: usize = 20;

fn crate_table(report: &Report, verbose: bool, s: &mut String) {
    let rows: Vec<_> = report
        .crates
        .iter()
        .take(if verbose { usize::MAX } else { TABLE_ROWS })
        .collect();
    let _ = writeln!(
        s,
        "\n{BOLD}crates{BOLD:#} {DIM}(highest takeover score first){DIM:#}"
    );
    let cells: Vec<[String; 11]> = rows
        .iter()
        .map(|r| {
            let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            [
                r.name.clone(),
                r.version.clone(),
                opt(&r.released),
                opt(&r.latest),
                r.versions_behind.map_or("-".into(), |b| b.to_string()),
                r.days_since_release
                    .map_or("-".into(), |d| format!("{}mo", d / 30)),
                r.dependents.to_string(),
                r.popularity_rank.map_or("-".into(), |p| format!("#{p}")),
                format!("{:.1}", r.takeover_score),
                build_time(r),
                r.unsafe_total.map_or("-".into(), |u| {
                    if r.forbids_unsafe == Some(true) {
                        "forbid".into()
                    } else {
                        u.to_string()
                    }
                }),
            ]
        })
        .collect();
    let head = [
        "crate",
        "version",
        "released",
        "latest",
        "behind",
        "last release",
        "dependents",
        "popularity",
        "score",
        "build-time",
        "unsafe",
    ];
    let mut widths = head.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String], s: &mut String| {
        let mut out = String::from("  ");
        for (i, c) in cols.iter().enumerate() {
            let pad = widths[i].saturating_sub(c.chars().count());
            if (4..9).contains(&i) || i == 10 {
                out.push_str(&" ".repeat(pad));
                out.push_str(c);
            } else {
                out.push_str(c);
                out.push_str(&" ".repeat(pad));
            }
            out.push_str("  ");
        }
        let _ = writeln!(s, "{}", out.trim_end());
    };
    let head_cols: Vec<String> = head.iter().map(|h| h.to_string()).collect();
    let mut header_line = String::new();
    line(&head_cols, &mut header_line);
    let _ = write!(s, "{DIM}{header_line}{DIM:#}");
    for (row, r) in cells.iter().zip(&rows) {
        let mut l = String::new();
        line(row.as_slice(), &mut l);
        let flags = if r.flags.is_empty() {
            String::new()
        } else {
            format!("  {DIM}{}{DIM:#}", r.flags.join(", "))
        };
        let _ = writeln!(s, "{}{flags}", l.trim_end());
    }
    if report.crates.len() > rows.len() {
        let _ = writeln!(
            s,
            "  {DIM}... {} more (-v shows all, --format json has every field){DIM:#}",
            report.crates.len() - rows.len()
        );
    }
    if let Some(m) = &report.metrics {
        let median = m
            .median_age_days
            .map_or("unknown".to_string(), |d| format!("{} months", d / 30));
        let stale = m
            .stale_percent
            .map_or("unknown".to_string(), |p| format!("{} ({p:.1}%)", m.stale));
        let _ = writeln!(
            s,
            "\n{BOLD}metrics:{BOLD:#} {} crates ({} from registries, {} with release dates, {} archives read); median age of locked versions {median}; stale (no release in {} months) {stale}; vulnerable {}; unmaintained {}; running build-time code {}; with unsafe {} (forbid unsafe {}); typosquat suspects {}; confusion suspects {}",
            m.crates,
            m.registry_crates,
            m.dated,
            m.archives_read,
            m.stale_after_days / 30,
            m.vulnerable,
            m.unmaintained,
            m.build_time_code,
            m.with_unsafe,
            m.forbid_unsafe,
            m.typosquat_suspects,
            m.confusion_suspects
        );
    }
}

fn header(report: &Report, s: &mut String) {
    let t = &report.target;
    let what = match (&t.lockfile, &t.workspace_root) {
        // `inspect`: one crate, not a lockfile.
        (Some(l), _) if t.lockfile_version.is_none() => l.clone(),
        (Some(l), _) => format!(
            "{l} (lockfile v{}, {} packages)",
            t.lockfile_version.unwrap_or(0),
            t.package_count
        ),
        (None, Some(w)) => format!("{w} (no Cargo.lock)"),
        (None, None) => "nothing".into(),
    };
    let _ = write!(s, "{BOLD}cargo-reflex {}{BOLD:#} {what}", report.command);
    if let Some(db) = &report.advisory_db {
        let _ = write!(
            s,
            "\n{DIM}advisory database: {} ({}updated {}){DIM:#}",
            db.path.as_deref().unwrap_or(&db.origin),
            db.advisory_count
                .map(|n| format!("{n} advisories, "))
                .unwrap_or_default(),
            db.last_updated.as_deref().unwrap_or("unknown")
        );
    }
    s.push('\n');
}

fn finding(g: &super::grouping::Group<'_>, s: &mut String) {
    let f = g.first;
    let st = style(f.severity);
    let sev = f.severity.as_str().to_ascii_uppercase();
    let _ = write!(s, "  {st}{sev:<8}{st:#} {BOLD}{}{BOLD:#}", g.title());
    if let Some(p) = &f.package
        && (!f.title.contains(&p.name) || f.advisory.is_some())
    {
        let _ = write!(s, " [{} {}]", p.name, p.version);
    }
    let _ = writeln!(s, " {DIM}({}){DIM:#}", f.code);
    let pad = "           ";
    let alone = g.members.len() == 1;
    if let Some(loc) = f.location.as_ref().filter(|_| alone) {
        let line = loc.line.map(|l| format!(":{l}")).unwrap_or_default();
        let _ = writeln!(s, "{pad}{DIM}at:{DIM:#} {}{line}", loc.path);
    }
    if f.via.len() > 1 && alone {
        let _ = writeln!(s, "{pad}{DIM}via:{DIM:#} {}", f.via.join(" -> "));
    }
    let (evidence, more) = g.evidence(if alone { usize::MAX } else { 4 });
    for e in &evidence {
        let _ = writeln!(s, "{pad}{DIM}-{DIM:#} {e}");
    }
    if more > 0 {
        let _ = writeln!(s, "{pad}{DIM}- and {more} more{DIM:#}");
    }
    if !alone && (!f.evidence.is_empty() || f.via.len() > 1 || f.location.is_some()) {
        let _ = writeln!(
            s,
            "{pad}{DIM}- `--format json` has each one with its path{DIM:#}"
        );
    }
    if let Some(a) = &f.advisory
        && let Some(url) = &a.url
    {
        let _ = writeln!(s, "{pad}{DIM}see:{DIM:#} {url}");
    }
    if let Some(r) = g.remedy() {
        let _ = writeln!(s, "{pad}{BOLD}fix:{BOLD:#} {r}");
    }
}

fn summary(report: &Report, s: &mut String) {
    let sm = &report.summary;
    let mut parts = Vec::new();
    for (n, sev) in [
        (sm.critical, Severity::Critical),
        (sm.high, Severity::High),
        (sm.medium, Severity::Medium),
        (sm.low, Severity::Low),
        (sm.info, Severity::Info),
    ] {
        if n > 0 {
            let st = style(sev);
            parts.push(format!("{st}{n} {sev}{st:#}"));
        }
    }
    let noun = if sm.total == 1 { "finding" } else { "findings" };
    let counts = if parts.is_empty() {
        "no findings".to_string()
    } else {
        format!("{} {noun} ({})", sm.total, parts.join(", "))
    };
    let verdict = match (sm.passed, sm.deny_level) {
        (true, Some(d)) => format!(
            "{}passed{:#} (nothing at or above {d})",
            style(Severity::Low),
            style(Severity::Low)
        ),
        (true, None) => "passed (--deny none)".to_string(),
        (false, Some(d)) => format!(
            "{}FAILED{:#}: {} at or above {d}",
            style(Severity::High),
            style(Severity::High),
            sm.denied
        ),
        (false, None) => "FAILED".to_string(),
    };
    let counts = if sm.allowed > 0 {
        format!("{counts}, {} allowed", sm.allowed)
    } else {
        counts
    };
    let counts = if sm.excepted > 0 {
        format!("{counts}, {} excepted by the policy", sm.excepted)
    } else {
        counts
    };
    let _ = writeln!(
        s,
        "\n{BOLD}summary:{BOLD:#} {counts} in {} packages; {verdict}",
        report.target.package_count
    );
}
