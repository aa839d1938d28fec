//! `reflex.toml`: the project's supply-chain policy. Parsed with spans and validated in one
//! pass ([`parse`]); applied to a finished set of findings in one place ([`Policy::apply`]):
//! per-check and per-code levels, exceptions (with reasons and expiry dates) and trust records.
//!
//! Without a file the [`Policy::default`] applies: findings at or above `high` fail the run,
//! which denies known-malicious and vulnerable crates and nothing else is required.

pub mod approve;
pub mod loosening;
mod parse;
pub mod vet;

use crate::error::{Error, Result};
use crate::finding::{Catalog, CodeSpec};
use crate::finding::{Finding, Level, PackageRef, Severity};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `version` this build reads.
pub const SCHEMA_VERSION: u32 = 1;
/// The policy file's name at the workspace root.
pub const FILE_NAME: &str = "reflex.toml";

/// The policy's own codes (listed by the `policy` check, emitted by [`Policy::apply`]).
pub const EXCEPTION_EXPIRED: CodeSpec = CodeSpec::new(
    "policy-exception-expired",
    Severity::Medium,
    "a policy exception passed its expiry date and no longer applies",
);
pub const EXCEPTION_UNUSED: CodeSpec = CodeSpec::new(
    "policy-exception-unused",
    Severity::Low,
    "a policy exception matches no finding",
);

#[derive(Clone, Debug)]
pub struct Policy {
    /// Where it came from; `None` for the built-in default.
    pub path: Option<PathBuf>,
    /// Findings at or above this fail the run unless a level says otherwise.
    pub deny_level: Option<Severity>,
    /// `[checks]`: level for every code of a check.
    pub checks: BTreeMap<String, Level>,
    /// `[codes]`: level for one code; wins over `[checks]`.
    pub codes: BTreeMap<String, Level>,
    pub exceptions: Vec<Exception>,
    pub cooldown: Cooldown,
    pub sources: Sources,
    pub build_time: BuildTime,
    /// `[[trust]]` records plus those imported from cargo-vet audits.
    pub trust: Vec<TrustRecord>,
    pub trust_imports: Vec<PathBuf>,
    /// cargo-vet criteria that count as trust (default `safe-to-deploy`).
    pub trust_criteria: Vec<String>,
    pub ci: Ci,
    pub licenses: Option<Licenses>,
    pub internal_prefixes: Vec<String>,
    pub sandbox: SandboxRules,
}

/// `[sandbox]`: what `cargo reflex build` lets through. The default allows nothing.
#[derive(Clone, Debug, Default)]
pub struct SandboxRules {
    /// Environment variables passed into the build stage.
    pub pass_env: Vec<String>,
    /// Secret-looking files the sandbox would hide or clean that the build may see as they
    /// are (`expose = [".env"]`: a build that reads its `.env` at compile time).
    pub expose: Vec<PathBuf>,
    /// Pathname Unix sockets the build may connect or send to (every other is refused).
    pub unix_sockets: Vec<PathBuf>,
    pub allow: Vec<SandboxAllow>,
}

/// `[[sandbox.allow]]`: a crate whose build script legitimately needs a path or a variable.
#[derive(Clone, Debug, Default)]
pub struct SandboxAllow {
    pub krate: String,
    pub env: Vec<String>,
    pub read: Vec<PathBuf>,
    pub write: Vec<PathBuf>,
    pub reason: String,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            path: None,
            deny_level: Some(Severity::High),
            checks: BTreeMap::new(),
            codes: BTreeMap::new(),
            exceptions: Vec::new(),
            cooldown: Cooldown::default(),
            sources: Sources::default(),
            build_time: BuildTime::default(),
            trust: Vec::new(),
            trust_imports: Vec::new(),
            trust_criteria: vec!["safe-to-deploy".into()],
            ci: Ci::default(),
            licenses: None,
            internal_prefixes: Vec::new(),
            sandbox: SandboxRules::default(),
        }
    }
}

/// `[[exception]]`: findings it matches are dropped while it has not expired.
#[derive(Clone, Debug, Default)]
pub struct Exception {
    pub code: Option<String>,
    pub krate: Option<String>,
    pub version: Option<String>,
    /// Advisory id or alias.
    pub id: Option<String>,
    /// File the finding points at (CI files, configs).
    pub path: Option<String>,
    pub reason: String,
    pub expires: Option<jiff::civil::Date>,
    /// Line in the policy file, for findings about the exception itself.
    pub line: u32,
}

impl Exception {
    pub fn matches(&self, f: &Finding) -> bool {
        let pkg = f.package.as_ref();
        self.code.as_deref().is_none_or(|c| c == f.code)
            && self
                .krate
                .as_deref()
                .is_none_or(|n| pkg.is_some_and(|p| p.name == n))
            && self
                .version
                .as_deref()
                .is_none_or(|v| pkg.is_some_and(|p| p.version == v))
            && self.id.as_deref().is_none_or(|id| {
                f.advisory
                    .as_ref()
                    .is_some_and(|a| a.id == id || a.aliases.iter().any(|x| x == id))
            })
            && self
                .path
                .as_deref()
                .is_none_or(|p| f.location.as_ref().is_some_and(|l| l.path == p))
    }

    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.code {
            parts.push(format!("code {c}"));
        }
        match (&self.krate, &self.version) {
            (Some(n), Some(v)) => parts.push(format!("crate {n}@{v}")),
            (Some(n), None) => parts.push(format!("crate {n}")),
            _ => {}
        }
        if let Some(id) = &self.id {
            parts.push(id.clone());
        }
        if let Some(p) = &self.path {
            parts.push(format!("path {p}"));
        }
        parts.join(", ")
    }
}

/// `[cooldown]`: new versions must have been public this long before they are accepted.
#[derive(Clone, Debug)]
pub struct Cooldown {
    pub min_age_days: u32,
    /// What an unknown publish time means: deny (fail closed) by default.
    pub unknown_publish_time: Level,
    pub exempt: Vec<String>,
}

impl Default for Cooldown {
    fn default() -> Cooldown {
        Cooldown {
            min_age_days: 0,
            unknown_publish_time: Level::Deny,
            exempt: Vec::new(),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum GitRule {
    /// Git sources only with a `rev` pinned in the manifest.
    #[default]
    Pinned,
    Any,
    Deny,
}

/// `[sources]`.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// Registries by name (`crates-io`, a `[registries]` name) or index URL; `None` = any.
    pub allow_registries: Option<Vec<String>>,
    pub git: GitRule,
    /// Git URL prefixes allowed (empty = any URL, subject to `git`).
    pub allow_git: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BuildTimeKind {
    BuildScript,
    ProcMacro,
    #[default]
    Any,
}

impl BuildTimeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildTimeKind::BuildScript => "build-script",
            BuildTimeKind::ProcMacro => "proc-macro",
            BuildTimeKind::Any => "any",
        }
    }

    /// The kind an allow entry names (`any` for anything else).
    pub fn parse(s: &str) -> BuildTimeKind {
        match s {
            "build-script" => BuildTimeKind::BuildScript,
            "proc-macro" => BuildTimeKind::ProcMacro,
            _ => BuildTimeKind::Any,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct BuildTimeAllow {
    pub krate: String,
    pub kind: BuildTimeKind,
    pub reason: String,
    pub line: u32,
}

/// `[build-time]`: which crates may run code at build time.
#[derive(Clone, Debug, Default)]
pub struct BuildTime {
    /// A crate with a build script or proc-macro needs an `allow` entry.
    pub require_approval: bool,
    pub allow: Vec<BuildTimeAllow>,
}

impl BuildTime {
    pub fn allows(&self, name: &str, kind: BuildTimeKind) -> bool {
        self.allow
            .iter()
            .any(|a| a.krate == name && (a.kind == BuildTimeKind::Any || a.kind == kind))
    }
}

/// Someone read this exact version and vouches for it.
#[derive(Clone, Debug, Default)]
pub struct TrustRecord {
    pub krate: String,
    pub version: String,
    pub by: String,
    pub note: Option<String>,
    /// `reflex.toml` or the imported audits file.
    pub source: String,
}

#[derive(Clone, Debug, Default)]
pub struct Ci {
    pub require_locked: bool,
}

/// `[licenses]`: allowed SPDX licenses; a crate's expression must be satisfiable with them.
#[derive(Clone, Debug)]
pub struct Licenses {
    pub allow: Vec<String>,
    /// What a missing or unreadable license means.
    pub unknown: Level,
}

impl Default for Licenses {
    fn default() -> Licenses {
        Licenses {
            allow: Vec::new(),
            unknown: Level::Warn,
        }
    }
}

impl Policy {
    /// `reflex.toml` at `root`, if there is one.
    pub fn discover(root: &Path, catalog: &Catalog) -> Result<Option<Policy>> {
        let path = root.join(FILE_NAME);
        if path.is_file() {
            Policy::load(&path, catalog).map(Some)
        } else {
            Ok(None)
        }
    }

    /// Reads and validates a policy file, then its cargo-vet imports (relative to the file).
    pub fn load(path: &Path, catalog: &Catalog) -> Result<Policy> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut policy = Policy::parse(path, &text, catalog)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for import in policy.trust_imports.clone() {
            let file = base.join(&import);
            let records = vet::import(&file, &policy.trust_criteria)?;
            policy.trust.extend(records);
        }
        Ok(policy)
    }

    /// Validates `text` as the policy file at `path`; every problem is reported at once.
    pub fn parse(path: &Path, text: &str, catalog: &Catalog) -> Result<Policy> {
        parse::parse(path, text, catalog)
    }

    pub fn is_default(&self) -> bool {
        self.path.is_none()
    }

    /// The trust record for this exact version, if any.
    pub fn trusted(&self, name: &str, version: &str) -> Option<&TrustRecord> {
        self.trust
            .iter()
            .find(|t| t.krate == name && t.version == version)
    }

    /// The level the policy gives a finding: `[codes]` first, then `[checks]`, then the
    /// level the check itself set from the policy's rules (`[ci] require-locked`,
    /// `[sources] git`).
    pub fn level(&self, f: &Finding) -> Option<Level> {
        if let Some(l) = self.codes.get(f.code) {
            return Some(*l);
        }
        if let Some(l) = self.checks.get(f.check) {
            return Some(*l);
        }
        f.level
    }

    /// Applies levels, exceptions and trust to the findings, then adds findings about the
    /// policy itself (expired and unused exceptions). Call before `Report::finish`.
    pub fn apply(
        &self,
        findings: &mut Vec<Finding>,
        catalog: &Catalog,
        today: jiff::civil::Date,
    ) -> Applied {
        let allowed = crate::finding::set_levels(findings, |f| self.level(f));
        let mut used = vec![false; self.exceptions.len()];
        let mut kept = Vec::with_capacity(findings.len());
        let mut excepted = 0;
        for f in std::mem::take(findings) {
            let exception = self
                .exceptions
                .iter()
                .enumerate()
                .find(|(_, e)| e.matches(&f) && e.expires.is_none_or(|d| d >= today));
            if let Some((i, _)) = exception {
                used[i] = true;
                excepted += 1;
                continue;
            }
            let trusted = f
                .package
                .as_ref()
                .and_then(|p| self.trusted(&p.name, &p.version))
                .filter(|_| catalog.trust_covers(f.code));
            if trusted.is_some() {
                excepted += 1;
                continue;
            }
            kept.push(f);
        }
        *findings = kept;
        let file = self
            .path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| FILE_NAME.into());
        for (e, used) in self.exceptions.iter().zip(used) {
            let expired = e.expires.is_some_and(|d| d < today);
            let spec = if expired {
                &EXCEPTION_EXPIRED
            } else if !used {
                &EXCEPTION_UNUSED
            } else {
                continue;
            };
            let title = if expired {
                format!(
                    "exception for {} expired on {}",
                    e.describe(),
                    e.expires.map(|d| d.to_string()).unwrap_or_default()
                )
            } else {
                format!("exception for {} matched no finding", e.describe())
            };
            let mut f = Finding::new("policy", spec, title)
                .evidence(format!("reason: {}", e.reason))
                .at(file.clone(), Some(e.line));
            f = if expired {
                f.remedy("review the finding again; renew the exception with a new date or fix it")
            } else {
                f.remedy("remove the exception: what it excused is gone")
            };
            if let (Some(n), Some(v)) = (&e.krate, &e.version) {
                f = f.package(PackageRef {
                    name: n.clone(),
                    version: v.clone(),
                    source: String::new(),
                });
            }
            if let Some(l) = self.level(&f) {
                f.level = Some(l);
            }
            findings.push(f);
        }
        Applied { allowed, excepted }
    }
}

/// What applying the policy dropped: findings allowed, and findings excepted or trusted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    pub allowed: usize,
    pub excepted: usize,
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod sandbox_tests;
