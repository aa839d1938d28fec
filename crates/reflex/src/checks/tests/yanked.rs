//! `yanked`: yanked and vanished versions, from the registry index.

use super::*;
use crate::checks::yanked::Yanked;
use crate::finding::Severity;

fn demo(version: &str) -> crate::graph::Graph {
    graph(&[("app", "0.1.0", None), ("demo", version, Some(CRATES_IO))])
}

#[test]
fn yanked_version_is_reported_with_the_next_compatible_release() {
    let g = demo("1.0.1");
    let idx = index(
        None,
        vec![(
            "demo",
            found(vec![
                entry("1.0.0", false, None),
                entry("1.0.1", true, None),
                entry("1.0.2", false, None),
                entry("2.0.0", false, None),
            ]),
        )],
    );
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Yanked, &cx);
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&findings, "yanked");
    assert_eq!((f.severity, package(f)), (Severity::Low, "demo"));
    assert_eq!(
        f.remedy.as_deref().unwrap(),
        "move to the next unyanked compatible release: `cargo update -p demo@1.0.1 --precise 1.0.2`"
    );
}

#[test]
fn the_suggested_release_skips_versions_with_advisories() {
    let (_dir, db) = advisory_db(&[(
        "demo",
        "RUSTSEC-2026-0001",
        advisory(
            "RUSTSEC-2026-0001",
            "demo",
            "2026-05-20",
            "",
            "patched = [\">= 1.0.3\"]",
        ),
    )]);
    let g = demo("1.0.1");
    let idx = index(
        None,
        vec![(
            "demo",
            found(vec![
                entry("1.0.1", true, None),
                entry("1.0.2", false, None),
                entry("1.0.3", false, None),
            ]),
        )],
    );
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        db: Some(&db),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Yanked, &cx);
    let remedy = one(&findings, "yanked").remedy.clone().unwrap();
    assert!(remedy.ends_with("--precise 1.0.3`"), "{remedy}");
}

#[test]
fn unyanked_version_is_not_reported() {
    let g = demo("1.0.0");
    let idx = index(
        None,
        vec![("demo", found(vec![entry("1.0.0", false, None)]))],
    );
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Yanked, &cx);
    assert_eq!(status, CheckStatus::Ran);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn version_missing_from_the_live_index_is_medium() {
    let g = demo("1.0.5");
    let idx = index(
        None,
        vec![("demo", found(vec![entry("1.0.0", false, None)]))],
    );
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Yanked, &cx);
    let f = one(&findings, "registry-version-missing");
    assert_eq!((f.severity, package(f)), (Severity::Medium, "demo"));
}

#[test]
fn crate_deleted_from_the_registry_is_reported() {
    let g = demo("1.0.0");
    let idx = index(None, vec![("demo", Lookup::Missing)]);
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Yanked, &cx);
    let f = one(&findings, "registry-crate-missing");
    assert_eq!((f.severity, package(f)), (Severity::Medium, "demo"));
}

#[test]
fn a_stale_local_cache_or_an_unknown_answer_makes_the_check_partial() {
    let g = graph(&[
        ("app", "0.1.0", None),
        ("demo", "1.0.5", Some(CRATES_IO)),
        ("other", "1.0.0", Some(CRATES_IO)),
    ]);
    let idx = index(
        None,
        vec![
            (
                "demo",
                Lookup::Found {
                    versions: vec![entry("1.0.0", false, None)],
                    from_network: false,
                },
            ),
            ("other", Lookup::Unknown("offline".into())),
        ],
    );
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Yanked, &cx);
    assert!(partial_because(&status, "2 packages"), "{status:?}");
    assert_eq!(codes(&findings), vec!["yanked-unchecked"]);
    assert!(
        findings[0].title.contains("2 of 2"),
        "{}",
        findings[0].title
    );
}

#[test]
fn path_and_git_packages_are_not_looked_up() {
    let g = graph(&[
        ("app", "0.1.0", None),
        ("local", "0.1.0", None),
        (
            "forked",
            "1.0.0",
            Some("git+https://example.com/forked#0123456789abcdef0123456789abcdef01234567"),
        ),
    ]);
    let idx = IndexAnswers::default();
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Yanked, &cx);
    assert_eq!(status, CheckStatus::Ran);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn without_the_index_the_check_is_skipped_with_the_reason() {
    let g = demo("1.0.0");
    let cx = Context {
        graph: Some(&g),
        index_unavailable: Some("--offline and no cache".into()),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Yanked, &cx);
    assert!(
        skipped_because(&status, "--offline and no cache"),
        "{status:?}"
    );
    assert!(findings.is_empty());
    let (status, _) = run(&Yanked, &Context::new(clock()));
    assert!(skipped_because(&status, "Cargo.lock"), "{status:?}");
}
