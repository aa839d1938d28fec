//! Unit tests of each check on small in-memory inputs, without the binary: a [`Context`]
//! built from a few lines of lockfile, and the findings the check pushes.

mod advisories;
mod behaviour;
mod build_approval;
mod build_env;
mod build_time;
mod cargo_config;
mod ci;
mod confusion;
mod cooldown;
mod freshness;
mod impersonation;
mod impersonation_standing;
mod licenses;
mod lockfile_hygiene;
mod policy_meta;
mod review;
mod source_policy;
mod typosquat;
mod yanked;

use super::{Check, Context, Sink};
use crate::analysis::crate_analysis::CrateAnalysis;
use crate::finding::{CheckStatus, Finding};
use crate::graph::Graph;
use crate::policy::Policy;
use crate::sources::advisory_db::{AdvisoryDb, DbOrigin, Scope};
use crate::sources::registry_index::{IndexAnswers, IndexedVersion, Lookup};
use crate::time::Clock;
use std::collections::HashMap;
use std::path::Path;

/// A fixed day, so ages and expiries never drift.
pub fn clock() -> Clock {
    Clock::fixed("2026-06-01T00:00:00Z").unwrap()
}

pub const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// A lockfile graph of `packages` (name, version, source: `None` = a workspace member),
/// where the first package depends on all the others.
pub fn graph(packages: &[(&str, &str, Option<&str>)]) -> Graph {
    let edges: Vec<(usize, usize)> = (1..packages.len()).map(|j| (0, j)).collect();
    graph_with_edges(packages, &edges)
}

/// A lockfile graph of `packages` with the dependency `edges` (from, to) by position.
pub fn graph_with_edges(
    packages: &[(&str, &str, Option<&str>)],
    edges: &[(usize, usize)],
) -> Graph {
    let mut text = String::from("version = 4\n");
    for (i, (name, version, source)) in packages.iter().enumerate() {
        text.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\n"
        ));
        if let Some(s) = source {
            text.push_str(&format!("source = \"{s}\"\n"));
            if s.starts_with("registry+") {
                text.push_str(&format!("checksum = \"{}\"\n", "0".repeat(64)));
            }
        }
        let deps: Vec<String> = edges
            .iter()
            .filter(|(from, _)| *from == i)
            .map(|&(_, to)| format!("\"{} {}\"", packages[to].0, packages[to].1))
            .collect();
        if !deps.is_empty() {
            text.push_str(&format!("dependencies = [{}]\n", deps.join(", ")));
        }
    }
    Graph::parse(Path::new("Cargo.lock"), text).unwrap()
}

/// Runs `check` on `cx`: its status and what it found.
pub fn run(check: &dyn Check, cx: &Context<'_>) -> (CheckStatus, Vec<Finding>) {
    let (status, sink) = run_sink(check, cx);
    (status, sink.findings)
}

/// Runs `check` on `cx`: its status and the whole sink (crate rows, CI stats, review table).
pub fn run_sink(check: &dyn Check, cx: &Context<'_>) -> (CheckStatus, Sink) {
    let mut sink = Sink::default();
    let status = check.run(cx, &mut sink);
    let wrong = super::catalog().disagreements(&sink.findings);
    assert!(wrong.is_empty(), "{}: {wrong:?}", check.name());
    (status, sink)
}

/// The codes of `findings`, in order.
pub fn codes(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.code).collect()
}

/// The findings of one code.
pub fn with_code<'a>(findings: &'a [Finding], code: &str) -> Vec<&'a Finding> {
    findings.iter().filter(|f| f.code == code).collect()
}

/// The one finding of `code`; fails when there is none or more than one.
pub fn one<'a>(findings: &'a [Finding], code: &str) -> &'a Finding {
    let found = with_code(findings, code);
    assert_eq!(found.len(), 1, "one {code} expected: {findings:#?}");
    found[0]
}

/// The name of the package a finding is about.
pub fn package(f: &Finding) -> &str {
    f.package.as_ref().map(|p| p.name.as_str()).unwrap_or("")
}

/// Whether the status is `Skipped` with a reason that contains `word`.
pub fn skipped_because(status: &CheckStatus, word: &str) -> bool {
    matches!(status, CheckStatus::Skipped { reason } if reason.contains(word))
}

/// Whether the status is `Partial` with a reason that contains `word`.
pub fn partial_because(status: &CheckStatus, word: &str) -> bool {
    matches!(status, CheckStatus::Partial { reason } if reason.contains(word))
}

/// One index entry: (version, yanked, publish time).
pub fn entry(version: &str, yanked: bool, pubtime: Option<&str>) -> IndexedVersion {
    IndexedVersion {
        version: version.into(),
        yanked,
        pubtime: pubtime.map(str::to_string),
        links: None,
        deps: None,
        checksum: None,
    }
}

/// A crate the sparse index answered for.
pub fn found(versions: Vec<IndexedVersion>) -> Lookup {
    Lookup::Found {
        versions,
        from_network: true,
    }
}

/// Index answers for crates.io (`None`) or another registry, by crate name.
pub fn index(registry: Option<&str>, answers: Vec<(&str, Lookup)>) -> IndexAnswers {
    let mut idx = IndexAnswers::default();
    idx.extend(
        registry,
        answers
            .into_iter()
            .map(|(n, l)| (n.to_string(), l))
            .collect(),
    );
    idx
}

/// A policy file's text, parsed against the real catalog.
pub fn policy(text: &str) -> Policy {
    Policy::parse(Path::new("reflex.toml"), text, super::catalog()).unwrap()
}

/// Archive analyses by package index.
pub fn analyses(
    entries: Vec<(usize, Result<CrateAnalysis, String>)>,
) -> HashMap<usize, Result<CrateAnalysis, String>> {
    entries.into_iter().collect()
}

/// A RustSec advisory file about `package` with `extra` lines in its `[advisory]` table and
/// `versions` as its `[versions]` table.
pub fn advisory(id: &str, package: &str, date: &str, extra: &str, versions: &str) -> String {
    format!(
        "```toml\n[advisory]\nid = \"{id}\"\npackage = \"{package}\"\ndate = \"{date}\"\n{extra}\n[versions]\n{versions}\n```\n\n# Advisory about {package}\n\nA test advisory.\n"
    )
}

/// An advisory database directory of `files` ((package, id, text)), opened whole.
pub fn advisory_db(files: &[(&str, &str, String)]) -> (tempfile::TempDir, AdvisoryDb) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("crates")).unwrap();
    for (package, id, text) in files {
        let pkg_dir = dir.path().join("crates").join(package);
        std::fs::create_dir_all(&pkg_dir).unwrap();
        std::fs::write(pkg_dir.join(format!("{id}.md")), text).unwrap();
    }
    let db = AdvisoryDb::open(
        dir.path(),
        DbOrigin::Directory(dir.path().to_path_buf()),
        Scope::All,
    )
    .unwrap();
    (dir, db)
}

/// Writes `files` ((relative path, text)) under a new temporary directory.
pub fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn the_test_graph_parses_with_its_edges() {
    let g = graph(&[("app", "0.1.0", None), ("serde", "1.0.0", Some(CRATES_IO))]);
    assert_eq!(g.len(), 2);
    assert!(g.find("serde", "1.0.0").is_some());
    assert_eq!(g.dependencies(0), &[1]);
}

#[test]
fn explicit_edges_are_the_only_edges() {
    let g = graph_with_edges(
        &[
            ("app", "0.1.0", None),
            ("a", "1.0.0", Some(CRATES_IO)),
            ("b", "1.0.0", Some(CRATES_IO)),
        ],
        &[(0, 1), (1, 2)],
    );
    assert_eq!(g.dependencies(0), &[1]);
    assert_eq!(g.dependents(2), &[1]);
    assert_eq!(g.via(2), vec!["app 0.1.0", "a 1.0.0", "b 1.0.0"]);
}

mod registry {
    use super::super::*;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let codes: Vec<_> = all()
            .flat_map(|c| c.codes().iter().map(move |s| (c.name(), s)))
            .collect();
        let mut seen = std::collections::HashSet::new();
        for (check, spec) in &codes {
            assert!(
                seen.insert(spec.code),
                "duplicate code {} in {check}",
                spec.code
            );
            assert!(
                spec.code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "code {} is not kebab-case",
                spec.code
            );
            assert!(
                !spec.summary.is_empty() && !spec.summary.ends_with('.'),
                "summary of {}",
                spec.code
            );
        }
        assert!(codes.len() >= 20);
    }

    #[test]
    fn check_names_are_unique() {
        let mut names: Vec<_> = all().map(|c| c.name()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
