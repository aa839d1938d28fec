//! The finding model: what every check, the policy and every renderer share. It depends on
//! nothing else in the crate (the lowest layer; see `tests/layers.rs`).

mod catalog;

pub use catalog::Catalog;
use serde::Serialize;
use std::fmt;

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

/// A finding code: stable kebab-case name, default severity, one-line description, and what
/// the rest of the tool must know about it (so no other module hard-codes a code).
/// Each check module declares its own codes as constants; [`Catalog`] collects them.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct CodeSpec {
    pub code: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    /// Other severities a finding of this code may carry, decided by its evidence.
    #[serde(skip)]
    pub varies: &'static [Severity],
    /// A trust record (a human review of that exact version) clears it.
    #[serde(skip)]
    pub trust_covers: bool,
    /// How `init` records it when the policy is adopted.
    #[serde(skip)]
    pub baseline: Baseline,
    /// What `cargo reflex approve` records to clear it.
    #[serde(skip)]
    pub approval: Approval,
    /// The recon metric its packages count towards.
    #[serde(skip)]
    pub metric: Option<Metric>,
}

/// What `approve` records to clear a finding of a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approval {
    /// A trust record for the exact version (for codes a trust record covers).
    Trust,
    /// A `[[build-time.allow]]` entry of this kind (`build-script`, `proc-macro`).
    BuildTime(&'static str),
    /// Nothing: the finding is a fact to fix.
    None,
}

/// How `init` records a denied finding of a code in the starter policy's baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Baseline {
    /// An exception for the package (advisories expire after 90 days).
    Exception,
    /// An exemption of the exact version from the cooldown.
    CooldownExempt,
    /// A `[[build-time.allow]]` entry of the approval's kind.
    BuildTimeAllow,
    /// Never: it must be fixed, not accepted.
    Never,
}

/// Recon figures that count the packages with findings of a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Vulnerable,
    Unmaintained,
    TyposquatSuspects,
    ConfusionSuspects,
}

impl CodeSpec {
    /// A code with a fixed severity that may be baselined and no trust or approval.
    pub const fn new(code: &'static str, severity: Severity, summary: &'static str) -> CodeSpec {
        CodeSpec {
            code,
            severity,
            summary,
            varies: &[],
            trust_covers: false,
            baseline: Baseline::Exception,
            approval: Approval::None,
            metric: None,
        }
    }

    /// The evidence may set one of these severities instead of the default.
    pub const fn varies(mut self, severities: &'static [Severity]) -> CodeSpec {
        self.varies = severities;
        self
    }

    /// A trust record clears it, and `approve` records one.
    pub const fn trust_covers(mut self) -> CodeSpec {
        self.trust_covers = true;
        self.approval = Approval::Trust;
        self
    }

    /// Cleared by a build-time allow of `kind` (and by a trust record); `init` records an
    /// allow for what is present when the policy is adopted.
    pub const fn build_time_approval(mut self, kind: &'static str) -> CodeSpec {
        self.trust_covers = true;
        self.approval = Approval::BuildTime(kind);
        self.baseline = Baseline::BuildTimeAllow;
        self
    }

    /// `init` exempts the exact locked version from the cooldown.
    pub const fn cooldown(mut self) -> CodeSpec {
        self.baseline = Baseline::CooldownExempt;
        self
    }

    /// `init` never baselines it: it must be fixed.
    pub const fn never_baseline(mut self) -> CodeSpec {
        self.baseline = Baseline::Never;
        self
    }

    pub const fn feeds(mut self, metric: Metric) -> CodeSpec {
        self.metric = Some(metric);
        self
    }

    /// Whether a finding of this code may carry `severity`.
    pub fn allows(&self, severity: Severity) -> bool {
        severity == self.severity || self.varies.contains(&severity)
    }
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

/// Sets each finding's level from `decide`, or keeps the level its check set from the policy;
/// drops the allowed ones and returns how many.
pub fn set_levels(
    findings: &mut Vec<Finding>,
    decide: impl Fn(&Finding) -> Option<Level>,
) -> usize {
    let before = findings.len();
    findings.retain_mut(|f| match decide(f).or(f.level) {
        Some(Level::Allow) => false,
        Some(l) => {
            f.level = Some(l);
            true
        }
        None => true,
    });
    before - findings.len()
}
