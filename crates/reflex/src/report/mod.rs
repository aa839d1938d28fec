//! Findings and the report that carries them. Analysis produces a [`Report`]; renderers in the
//! submodules turn it into human, JSON, SARIF or Markdown text and never decide the verdict.

pub mod github;
pub mod grouping;
pub mod human;
pub mod json;
pub mod markdown;
pub mod review_view;
pub mod sarif;

use serde::Serialize;
use std::fmt;

/// Version of the JSON report layout; bumped on any incompatible change.
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// How bad a finding is. Ordered: `Info < Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A finding code: stable kebab-case name, default severity and one-line description.
/// Each check module declares its own codes; `checks::all_codes` collects them.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct CodeSpec {
    pub code: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
}

/// A package as findings name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageRef {
    pub name: String,
    pub version: String,
    /// `registry+<url>`, `git+<url>#<rev>`, or `path` for workspace and path crates.
    pub source: String,
}

/// A place in a file, 1-based.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Location {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// Details of the advisory behind an advisory finding.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdvisoryRef {
    pub id: String,
    pub aliases: Vec<String>,
    pub date: String,
    pub url: Option<String>,
    pub categories: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss_severity: Option<String>,
    pub patched: Vec<String>,
    pub unaffected: Vec<String>,
}

/// One problem found, with everything needed to understand and fix it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    /// Name of the check that produced it.
    pub check: &'static str,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<PackageRef>,
    /// The dependency path that pulls the package in, from a workspace member.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub via: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advisory: Option<AdvisoryRef>,
    /// Whether this finding fails the run (computed by [`Report::finish`]).
    pub denied: bool,
    /// Level forced by `-D/-W` or the policy; `None` lets the deny level decide.
    #[serde(skip)]
    pub level: Option<Level>,
}

/// What a policy or `-D/-W/-A` says about a finding, whatever its severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Fails the run.
    Deny,
    /// Reported, never fails the run.
    Warn,
    /// Dropped (counted in the summary).
    Allow,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        match s {
            "deny" => Some(Level::Deny),
            "warn" => Some(Level::Warn),
            "allow" => Some(Level::Allow),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Deny => "deny",
            Level::Warn => "warn",
            Level::Allow => "allow",
        }
    }
}

impl Finding {
    pub fn new(check: &'static str, spec: &'static CodeSpec, title: impl Into<String>) -> Self {
        Finding {
            code: spec.code,
            severity: spec.severity,
            check,
            title: title.into(),
            package: None,
            via: Vec::new(),
            evidence: Vec::new(),
            remedy: None,
            location: None,
            advisory: None,
            denied: false,
            level: None,
        }
    }

    pub fn package(mut self, package: PackageRef) -> Self {
        self.package = Some(package);
        self
    }

    pub fn via(mut self, via: Vec<String>) -> Self {
        self.via = via;
        self
    }

    pub fn evidence(mut self, line: impl Into<String>) -> Self {
        self.evidence.push(line.into());
        self
    }

    pub fn remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = Some(remedy.into());
        self
    }

    pub fn at(mut self, path: impl Into<String>, line: Option<u32>) -> Self {
        self.location = Some(Location {
            path: path.into(),
            line,
            column: None,
        });
        self
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }
}

/// Whether a check ran fully; a check that could not run says so instead of passing silently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum CheckStatus {
    Ran,
    Partial { reason: String },
    Skipped { reason: String },
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckRun {
    pub name: &'static str,
    #[serde(flatten)]
    pub status: CheckStatus,
}

/// Where the advisories came from.
#[derive(Clone, Debug, Serialize)]
pub struct DatabaseInfo {
    /// `embedded`, `cache` or `directory`.
    pub origin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    /// Number of advisories; absent when only the graph's crates were loaded from a directory.
    pub advisory_count: Option<usize>,
    pub invalid_entries: usize,
}

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

/// CI figures worth a headline: how many cargo invocations are pinned to the lockfile.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct CiStats {
    pub files: usize,
    pub cargo_invocations: usize,
    pub locked_invocations: usize,
    /// Share of cargo invocations that use `--locked` or `--frozen`, in percent.
    pub locked_percent: Option<f64>,
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

/// The lockfile changes a review looked at.
#[derive(Clone, Debug, Serialize)]
pub struct ReviewSection {
    pub base: String,
    pub head: String,
    pub changes: Vec<ChangeRow>,
}

/// One change with what was learnt about it.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeRow {
    #[serde(flatten)]
    pub change: crate::review::Change,
    /// Days since the incoming version was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advisories_fixed: Vec<String>,
    /// Highest severity among the findings about this change.
    pub risk: Option<Severity>,
    /// Codes of the findings about this change, worst first.
    pub signals: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<crate::review::code_diff::CodeChanges>,
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

/// What recon knows about one crate of the graph.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct CrateRow {
    pub name: String,
    pub version: String,
    pub source: String,
    /// Publish date of the locked version (from the index's `pubtime`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_days: Option<i64>,
    /// Newest unyanked, non-prerelease version and its date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latest_released: Option<String>,
    /// Unyanked releases newer than the locked one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions_behind: Option<usize>,
    /// Days since the crate's last release of any version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_since_release: Option<i64>,
    pub stale: Option<bool>,
    /// Packages in the graph that depend on it, directly or not.
    pub dependents: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub popularity_rank: Option<u32>,
    /// How attractive a takeover target it is: reach in the graph times popularity times
    /// staleness; 0 for crates released within the last year.
    pub takeover_score: f64,
    /// Dependencies of the locked version as the registry index lists them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<String>>,
    /// Build-time code and unsafe, from the crate archive (absent when it was not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_script: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proc_macro: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native_files: Option<usize>,
    /// Unsafe functions, blocks, impls, traits and extern blocks outside tests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsafe_total: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forbids_unsafe: Option<bool>,
    /// Finding codes about this crate.
    pub flags: Vec<String>,
}

/// Project-level recon figures.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ReconMetrics {
    pub crates: usize,
    pub registry_crates: usize,
    /// Crates whose release dates are known.
    pub dated: usize,
    pub median_age_days: Option<i64>,
    pub stale: usize,
    pub stale_percent: Option<f64>,
    pub stale_after_days: i64,
    pub vulnerable: usize,
    pub unmaintained: usize,
    pub typosquat_suspects: usize,
    pub confusion_suspects: usize,
    /// Crate archives read (build-time code and unsafe are known for these).
    pub archives_read: usize,
    /// Crates with a build script or proc-macro.
    pub build_time_code: usize,
    pub with_unsafe: usize,
    pub forbid_unsafe: usize,
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
        let before = self.findings.len();
        self.findings.retain_mut(|f| match decide(f) {
            Some(Level::Allow) => false,
            Some(l) => {
                f.level = Some(l);
                true
            }
            None => true,
        });
        self.summary.allowed += before - self.findings.len();
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
