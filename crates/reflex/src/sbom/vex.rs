//! What the advisory database says about each locked crates.io package, as VEX statements:
//! one per (advisory, package), with the analysis state its locked version earns. Withdrawn
//! and informational advisories (unmaintained, unsound, notice) are not vulnerabilities and
//! are left out, as cargo-audit does.

use crate::checks::advisories::is_malicious;
use crate::graph::{Graph, Origin};
use crate::sources::advisory_db::AdvisoryDb;
use rustsec::advisory::Advisory;
use rustsec::{SourceId, Version};

/// The analysis state of one locked package under one advisory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// The locked version is in the vulnerable range; exploitability is not assessed.
    InTriage,
    /// The locked version is malicious: nothing to assess.
    Exploitable,
    /// The locked version carries the fix.
    Resolved,
    /// The locked version predates the vulnerable code (an `unaffected` range).
    NotAffected,
}

impl State {
    /// Whether the locked version is affected.
    pub fn affected(self) -> bool {
        matches!(self, State::InTriage | State::Exploitable)
    }
}

/// A CVSS rating.
#[derive(Clone, Debug, PartialEq)]
pub struct Rating {
    pub vector: String,
    pub score: f64,
    /// `none`, `low`, `medium`, `high` or `critical`.
    pub severity: &'static str,
}

/// One advisory about one locked package.
#[derive(Clone, Debug)]
pub struct Statement {
    /// Index of the package in the lockfile.
    pub package: usize,
    pub id: String,
    pub url: Option<String>,
    /// Other identifiers of the same vulnerability (CVE, GHSA) with their pages.
    pub aliases: Vec<(String, Option<String>)>,
    pub title: String,
    pub description: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub references: Vec<String>,
    pub rating: Option<Rating>,
    pub malicious: bool,
    pub patched: Vec<String>,
    pub state: State,
    /// Why the state, in one sentence.
    pub detail: String,
}

/// Every non-withdrawn vulnerability advisory about every crates.io package of the graph.
pub fn statements(graph: &Graph, db: &AdvisoryDb) -> Vec<Statement> {
    let crates_io = SourceId::default();
    let mut out = Vec::new();
    for (i, pkg) in graph.packages().iter().enumerate() {
        if graph.origin(i) != Origin::CratesIo {
            continue;
        }
        let about_crates_io = |adv: &&Advisory| {
            adv.metadata
                .source
                .as_ref()
                .is_none_or(|src| src.kind() == crates_io.kind() && src.url() == crates_io.url())
        };
        for adv in db
            .for_crate(pkg.name.as_str())
            .filter(|a| a.metadata.withdrawn.is_none() && a.metadata.informational.is_none())
            .filter(about_crates_io)
        {
            out.push(statement(i, &pkg.version, adv));
        }
    }
    out.sort_by(|a, b| (&a.id, a.package).cmp(&(&b.id, b.package)));
    out
}

fn statement(package: usize, version: &Version, adv: &Advisory) -> Statement {
    let malicious = is_malicious(adv);
    let patched: Vec<String> = adv
        .versions
        .patched()
        .iter()
        .map(ToString::to_string)
        .collect();
    let (state, detail) = if adv.versions.is_vulnerable(version) {
        if malicious {
            (
                State::Exploitable,
                format!(
                    "{version} is the malicious release: remove it and rotate every secret its build could read"
                ),
            )
        } else {
            (
                State::InTriage,
                format!(
                    "{version} is in the vulnerable range; whether the vulnerable code is reachable is not assessed"
                ),
            )
        }
    } else if adv.versions.patched().iter().any(|r| r.matches(version)) {
        (
            State::Resolved,
            format!("{version} is a patched version ({})", patched.join(", ")),
        )
    } else {
        (
            State::NotAffected,
            format!("{version} is outside the affected range: the vulnerable code is not present"),
        )
    };
    let rating = adv.metadata.cvss.as_ref().map(|cvss| Rating {
        vector: cvss.to_string(),
        score: cvss.score(),
        severity: cvss.severity().as_str(),
    });
    Statement {
        package,
        id: adv.metadata.id.to_string(),
        url: adv.metadata.id.url(),
        aliases: adv
            .metadata
            .aliases
            .iter()
            .map(|a| (a.to_string(), a.url()))
            .collect(),
        title: adv.metadata.title.clone(),
        description: adv.metadata.description.trim().to_string(),
        date: adv.metadata.date.as_str().to_string(),
        references: adv
            .metadata
            .url
            .iter()
            .chain(&adv.metadata.references)
            .map(ToString::to_string)
            .collect(),
        rating,
        malicious,
        patched,
        state,
        detail,
    }
}
