//! `advisories`: RustSec advisories against the locked crates.io packages.

use super::*;
use crate::checks::advisories::Advisories;
use crate::finding::Severity;
use crate::sources::advisory_db::{AdvisoryDb, Scope};
use std::collections::BTreeSet;

const DEMO_FIXED_IN_1_2: &str = "patched = [\">= 1.2.0\"]";

fn demo_db(extra: &str) -> (tempfile::TempDir, AdvisoryDb) {
    advisory_db(&[(
        "demo",
        "RUSTSEC-2026-0001",
        advisory(
            "RUSTSEC-2026-0001",
            "demo",
            "2026-05-20",
            extra,
            DEMO_FIXED_IN_1_2,
        ),
    )])
}

fn demo_graph(version: &str) -> crate::graph::Graph {
    graph(&[("app", "0.1.0", None), ("demo", version, Some(CRATES_IO))])
}

#[test]
fn malicious_crate_is_critical() {
    let names: BTreeSet<String> = ["rustdecimal".to_string()].into();
    let db = AdvisoryDb::embedded(Scope::Crates(&names));
    let g = graph(&[
        ("app", "0.1.0", None),
        ("rustdecimal", "1.23.1", Some(CRATES_IO)),
    ]);
    let cx = Context {
        graph: Some(&g),
        db: Some(&db),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Advisories, &cx);
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&findings, "advisory-malicious");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(package(f), "rustdecimal");
    assert_eq!(f.advisory.as_ref().unwrap().id, "RUSTSEC-2022-0042");
    assert!(f.remedy.as_deref().unwrap().contains("rotate"), "{f:?}");
}

#[test]
fn vulnerable_version_is_high_with_the_patched_upgrade_as_remedy() {
    let (_dir, db) = demo_db("");
    let g = demo_graph("1.1.0");
    let idx = index(
        None,
        vec![(
            "demo",
            found(vec![
                entry("1.1.0", false, None),
                entry("1.2.3", false, None),
                entry("1.3.0", false, None),
            ]),
        )],
    );
    let cx = Context {
        graph: Some(&g),
        db: Some(&db),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Advisories, &cx);
    assert_eq!(codes(&findings), vec!["advisory-vulnerability"]);
    let f = &findings[0];
    assert_eq!((f.severity, package(f)), (Severity::High, "demo"));
    let remedy = f.remedy.as_deref().unwrap();
    assert!(remedy.contains("--precise 1.2.3"), "{remedy}");
}

#[test]
fn patched_version_is_not_reported() {
    let (_dir, db) = demo_db("");
    let g = demo_graph("1.2.0");
    let cx = Context {
        graph: Some(&g),
        db: Some(&db),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Advisories, &cx);
    assert_eq!(status, CheckStatus::Ran);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn withdrawn_advisory_is_not_reported() {
    let (_dir, db) = demo_db("withdrawn = \"2026-05-21\"");
    let g = demo_graph("1.0.0");
    let cx = Context {
        graph: Some(&g),
        db: Some(&db),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Advisories, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn informational_unmaintained_is_low_and_suggests_a_replacement() {
    let (_dir, db) = advisory_db(&[(
        "demo",
        "RUSTSEC-2026-0002",
        advisory(
            "RUSTSEC-2026-0002",
            "demo",
            "2026-05-20",
            "informational = \"unmaintained\"",
            "patched = []",
        ),
    )]);
    let g = demo_graph("1.0.0");
    let cx = Context {
        graph: Some(&g),
        db: Some(&db),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Advisories, &cx);
    let f = one(&findings, "advisory-unmaintained");
    assert_eq!(f.severity, Severity::Low);
    assert!(
        f.remedy
            .as_deref()
            .unwrap()
            .contains("maintained alternative")
    );
}

#[test]
fn a_path_or_git_package_of_the_same_name_is_not_matched() {
    let (_dir, db) = demo_db("");
    let g = graph(&[
        ("app", "0.1.0", None),
        (
            "demo",
            "1.0.0",
            Some(
                "git+https://example.com/demo?branch=main#0123456789abcdef0123456789abcdef01234567",
            ),
        ),
    ]);
    let cx = Context {
        graph: Some(&g),
        db: Some(&db),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Advisories, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn old_database_is_stale_and_a_fresh_one_is_not() {
    let (_dir, db) = advisory_db(&[(
        "demo",
        "RUSTSEC-2025-0001",
        advisory(
            "RUSTSEC-2025-0001",
            "demo",
            "2025-01-01",
            "",
            DEMO_FIXED_IN_1_2,
        ),
    )]);
    let g = demo_graph("1.2.0");
    let cx = Context {
        graph: Some(&g),
        db: Some(&db),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Advisories, &cx);
    let f = one(&findings, "advisory-db-stale");
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.title.contains("516 days"), "{}", f.title);
    // The same database within the allowed age: nothing.
    let lenient = Context {
        db_stale_days: 600,
        ..cx
    };
    let (_, findings) = run(&Advisories, &lenient);
    assert!(with_code(&findings, "advisory-db-stale").is_empty());
}

#[test]
fn failed_refresh_and_invalid_entries_are_reported() {
    let (_dir, db) = advisory_db(&[
        (
            "demo",
            "RUSTSEC-2026-0001",
            advisory(
                "RUSTSEC-2026-0001",
                "demo",
                "2026-05-20",
                "",
                DEMO_FIXED_IN_1_2,
            ),
        ),
        ("broken", "RUSTSEC-2026-0003", "not an advisory".to_string()),
    ]);
    assert_eq!(db.invalid.len(), 1);
    let g = demo_graph("1.2.0");
    let cx = Context {
        graph: Some(&g),
        db: Some(&db),
        db_refresh_error: Some("could not resolve host\n  | detail".into()),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Advisories, &cx);
    let refresh = one(&findings, "advisory-db-refresh-failed");
    assert_eq!(refresh.severity, Severity::Low);
    assert_eq!(refresh.evidence[0], "could not resolve host");
    let invalid = one(&findings, "advisory-db-invalid-entry");
    assert!(invalid.title.contains("broken"), "{}", invalid.title);
}

#[test]
fn without_a_database_or_a_lockfile_the_check_is_skipped() {
    let (status, findings) = run(&Advisories, &Context::new(clock()));
    assert!(skipped_because(&status, "advisory database"), "{status:?}");
    assert!(findings.is_empty());
    let (_dir, db) = demo_db("");
    let cx = Context {
        db: Some(&db),
        ..Context::new(clock())
    };
    let (status, _) = run(&Advisories, &cx);
    assert!(skipped_because(&status, "Cargo.lock"), "{status:?}");
}

#[test]
fn packages_outside_the_review_scope_are_not_reported() {
    let (_dir, db) = demo_db("");
    let g = demo_graph("1.0.0");
    let scope: BTreeSet<usize> = [0].into();
    let cx = Context {
        graph: Some(&g),
        db: Some(&db),
        scope: Some(&scope),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Advisories, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn in_a_review_an_advisory_the_previous_version_had_is_not_news() {
    let (_dir, db) = demo_db("");
    let base = demo_graph("1.0.0");
    let head = demo_graph("1.1.0");
    let delta = crate::review::LockfileDelta::between(&base, &head);
    let scope = delta.incoming();
    let inputs = crate::review::ReviewInputs {
        code: vec![Default::default(); delta.changes.len()],
        base: Some(base),
        base_label: "base".into(),
        head_label: "head".into(),
        delta,
        young_days: 7,
    };
    let cx = Context {
        graph: Some(&head),
        db: Some(&db),
        scope: Some(&scope),
        review: Some(&inputs),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Advisories, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}
