//! Findings and the report that carries them. Analysis produces a [`Report`]; renderers in the
//! submodules turn it into human, JSON, SARIF or Markdown text and never decide the verdict.

pub mod change_table;
pub mod github;
pub mod grouping;
pub mod html;
pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;

use crate::checks::ci::CiStats;
use crate::checks::recon_table::{CrateRow, ReconMetrics};
use crate::finding::{CheckRun, Finding, Level, Severity};
use crate::review::ReviewSection;
use crate::sources::advisory_db::DatabaseInfo;
use serde::Serialize;

/// Version of the JSON report layout; bumped on any incompatible change.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// What was analysed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Target {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_root: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lockfile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lockfile_version: Option<u8>,
    pub package_count: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub total: usize,
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
    pub info: usize,
    /// Findings at or above the deny level.
    pub denied: usize,
    /// `None` when nothing fails the run (`--deny none`).
    pub deny_level: Option<Severity>,
    pub passed: bool,
    /// Findings dropped by `-A <code>` or an `allow` in the policy.
    pub allowed: usize,
    /// Findings covered by a policy exception or trust record.
    pub excepted: usize,
}

/// Per-code overrides from the command line, applied in one place before the verdict:
/// `-D` makes a code fail the run, `-W` makes it a warning that does not, `-A` drops it.
#[derive(Clone, Debug, Default)]
pub struct CodeOverrides {
    pub deny: Vec<String>,
    pub warn: Vec<String>,
    pub allow: Vec<String>,
}

impl CodeOverrides {
    /// Rejects codes no check knows, so a typo never silently changes nothing.
    pub fn validate(&self, known: &[&str]) -> Result<(), String> {
        for code in self.deny.iter().chain(&self.warn).chain(&self.allow) {
            if !known.contains(&code.as_str()) {
                let close: Vec<&str> = known
                    .iter()
                    .copied()
                    .filter(|k| k.contains(code.as_str()) || code.contains(*k))
                    .take(3)
                    .collect();
                let hint = if close.is_empty() {
                    String::new()
                } else {
                    format!(" (did you mean {}?)", close.join(", "))
                };
                return Err(format!("unknown finding code `{code}`{hint}"));
            }
        }
        Ok(())
    }
}

/// The whole result of a command: what was analysed, which checks ran, what was found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub command: &'static str,
    pub generated_at: String,
    pub target: Target,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory_db: Option<DatabaseInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiStats>,
    pub checks: Vec<CheckRun>,
    pub summary: Summary,
    pub findings: Vec<Finding>,
    /// `recon`: one row per crate, highest takeover score first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub crates: Vec<CrateRow>,
    /// `recon`: project-level figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<ReconMetrics>,
    /// `review` (and `gate --base`): every lockfile change, worst first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewSection>,
    /// `gate`: which policy was applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyInfo>,
}

/// The policy a gate applied.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyInfo {
    /// The policy file, or `None` for the built-in default.
    pub path: Option<String>,
    pub deny_level: Option<Severity>,
    pub exceptions: usize,
    pub trust_records: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

impl Report {
    /// An empty report for `command`; fill in the public fields, then call [`Report::finish`].
    pub fn new(command: &'static str, generated_at: String) -> Report {
        Report {
            schema_version: JSON_SCHEMA_VERSION,
            tool: ToolInfo {
                name: "cargo-reflex",
                version: env!("CARGO_PKG_VERSION"),
            },
            command,
            generated_at,
            target: Target::default(),
            advisory_db: None,
            ci: None,
            checks: Vec::new(),
            crates: Vec::new(),
            metrics: None,
            review: None,
            policy: None,
            summary: Summary {
                total: 0,
                critical: 0,
                high: 0,
                medium: 0,
                low: 0,
                info: 0,
                denied: 0,
                deny_level: None,
                passed: true,
                allowed: 0,
                excepted: 0,
            },
            findings: Vec::new(),
        }
    }

    /// Applies code overrides: `-D` codes fail the run whatever their severity, `-W` codes
    /// never do, `-A` codes are dropped and counted.
    pub fn apply_overrides(&mut self, o: &CodeOverrides) {
        let level = |code: &str| {
            if o.allow.iter().any(|c| c == code) {
                Some(Level::Allow)
            } else if o.deny.iter().any(|c| c == code) {
                Some(Level::Deny)
            } else if o.warn.iter().any(|c| c == code) {
                Some(Level::Warn)
            } else {
                None
            }
        };
        self.set_levels(|f| level(f.code));
    }

    /// Sets each finding's level from `decide` (when it says something) and drops the allowed.
    pub fn set_levels(&mut self, decide: impl Fn(&Finding) -> Option<Level>) {
        self.summary.allowed += crate::finding::set_levels(&mut self.findings, decide);
    }

    /// Sorts findings worst first and computes the summary against `deny_level`.
    pub fn finish(mut self, deny_level: Option<Severity>) -> Report {
        self.findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.code.cmp(b.code))
                .then_with(|| package_key(a).cmp(&package_key(b)))
                .then_with(|| a.title.cmp(&b.title))
        });
        self.findings.dedup();
        for f in &mut self.findings {
            f.denied = match f.level {
                Some(Level::Deny) => true,
                Some(_) => false,
                None => deny_level.is_some_and(|d| f.severity >= d),
            };
        }
        if let Some(review) = &mut self.review {
            for row in &mut review.changes {
                let side = row.change.to.as_ref().or(row.change.from.as_ref());
                let mine: Vec<&Finding> = self
                    .findings
                    .iter()
                    .filter(|f| {
                        f.package.as_ref().is_some_and(|p| {
                            p.name == row.change.name
                                && side.is_some_and(|s| s.version == p.version)
                        })
                    })
                    .collect();
                row.risk = mine.iter().map(|f| f.severity).max();
                row.signals = mine.iter().map(|f| f.code.to_string()).collect();
                row.signals.dedup();
            }
            review.changes.sort_by(|a, b| {
                b.risk
                    .cmp(&a.risk)
                    .then_with(|| a.change.kind.cmp(&b.change.kind))
                    .then_with(|| a.change.name.cmp(&b.change.name))
            });
        }
        let findings = &self.findings;
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        let denied = findings.iter().filter(|f| f.denied).count();
        self.summary = Summary {
            total: findings.len(),
            critical: count(Severity::Critical),
            high: count(Severity::High),
            medium: count(Severity::Medium),
            low: count(Severity::Low),
            info: count(Severity::Info),
            denied,
            deny_level,
            passed: denied == 0,
            allowed: self.summary.allowed,
            excepted: self.summary.excepted,
        };
        self
    }
}

fn package_key(f: &Finding) -> (&str, &str) {
    f.package
        .as_ref()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .unwrap_or(("", ""))
}
