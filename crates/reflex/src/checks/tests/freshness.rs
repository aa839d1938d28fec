//! `freshness`: stale crates, abandoned ones and takeover targets, from index publish times.

use super::*;
use crate::checks::freshness::Freshness;
use crate::finding::Severity;

const OLD: Option<&str> = Some("2022-01-01T00:00:00Z");
const RECENT: Option<&str> = Some("2026-05-01T00:00:00Z");

fn demo() -> crate::graph::Graph {
    graph(&[("app", "0.1.0", None), ("demo", "1.0.0", Some(CRATES_IO))])
}

fn run_with(versions: Vec<IndexedVersion>) -> (CheckStatus, Vec<Finding>) {
    let g = demo();
    let idx = index(None, vec![("demo", found(versions))]);
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        ..Context::new(clock())
    };
    run(&Freshness, &cx)
}

#[test]
fn crate_without_a_release_for_years_is_stale_and_a_takeover_target() {
    let (status, findings) = run_with(vec![entry("1.0.0", false, OLD)]);
    assert_eq!(status, CheckStatus::Ran);
    let stale = one(&findings, "stale-crate");
    assert_eq!((stale.severity, package(stale)), (Severity::Info, "demo"));
    assert!(
        stale.title.contains("no release for 53 months"),
        "{}",
        stale.title
    );
    let target = one(&findings, "takeover-target");
    assert_eq!((target.severity, package(target)), (Severity::Low, "demo"));
}

#[test]
fn recently_released_crate_is_not_reported() {
    let (status, findings) = run_with(vec![
        entry("1.0.0", false, OLD),
        entry("1.1.0", false, RECENT),
    ]);
    assert_eq!(status, CheckStatus::Ran);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn every_release_yanked_is_an_unmaintained_suspect() {
    let (_, findings) = run_with(vec![
        entry("1.0.0", true, RECENT),
        entry("1.1.0", true, RECENT),
    ]);
    let f = one(&findings, "unmaintained-suspect");
    assert_eq!(f.severity, Severity::Low);
    assert!(f.title.contains("every release"), "{}", f.title);
}

#[test]
fn stale_crate_whose_later_releases_were_all_yanked_is_an_unmaintained_suspect() {
    let (_, findings) = run_with(vec![
        entry("1.0.0", false, OLD),
        entry("1.1.0", true, Some("2022-02-01T00:00:00Z")),
    ]);
    let f = one(&findings, "unmaintained-suspect");
    assert!(f.title.contains("every release after 1.0.0"), "{}", f.title);
}

#[test]
fn the_stale_period_is_a_parameter() {
    let g = demo();
    let idx = index(
        None,
        vec![("demo", found(vec![entry("1.0.0", false, OLD)]))],
    );
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        stale_after_days: 3000,
        ..Context::new(clock())
    };
    let (_, findings) = run(&Freshness, &cx);
    assert!(
        with_code(&findings, "stale-crate").is_empty(),
        "{findings:#?}"
    );
}

#[test]
fn crate_rows_and_metrics_are_filled() {
    let g = demo();
    let idx = index(
        None,
        vec![(
            "demo",
            found(vec![entry("1.0.0", false, OLD), entry("1.2.0", false, OLD)]),
        )],
    );
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (_, sink) = run_sink(&Freshness, &cx);
    assert_eq!(sink.crates.len(), 1);
    let row = &sink.crates[0];
    assert_eq!(row.latest.as_deref(), Some("1.2.0"));
    assert_eq!(row.versions_behind, Some(1));
    assert_eq!(row.dependents, 1);
    let m = sink.metrics.unwrap();
    assert_eq!((m.crates, m.registry_crates, m.stale), (2, 1, 1));
}

#[test]
fn missing_registry_data_makes_the_check_partial() {
    let g = demo();
    let cx = Context {
        graph: Some(&g),
        index_unavailable: Some("--offline".into()),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Freshness, &cx);
    assert!(partial_because(&status, "1 crates"), "{status:?}");
    let f = one(&findings, "registry-data-missing");
    assert_eq!(f.evidence, vec!["demo 1.0.0"]);
    assert!(f.remedy.as_deref().unwrap().contains("--offline"));
}

#[test]
fn crate_gone_from_the_registry_is_left_to_the_yanked_check() {
    let g = demo();
    let idx = index(None, vec![("demo", Lookup::Missing)]);
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Freshness, &cx);
    assert_eq!(status, CheckStatus::Ran);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn without_a_lockfile_the_check_is_skipped() {
    let (status, _) = run(&Freshness, &Context::new(clock()));
    assert!(skipped_because(&status, "Cargo.lock"), "{status:?}");
}
