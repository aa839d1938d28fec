//! `cooldown`: incoming versions must have been public for the policy's minimum age.

use super::*;
use crate::checks::cooldown::Cooldown;
use crate::finding::{Level, Severity};
use std::collections::BTreeSet;

const WEEK: &str = "version = 1\n[cooldown]\nmin-age-days = 7\n";

fn demo() -> crate::graph::Graph {
    graph(&[("app", "0.1.0", None), ("demo", "1.0.0", Some(CRATES_IO))])
}

fn published(at: &str) -> IndexAnswers {
    index(
        None,
        vec![("demo", found(vec![entry("1.0.0", false, Some(at))]))],
    )
}

fn run_policy(text: &str, idx: Option<&IndexAnswers>) -> (CheckStatus, Vec<Finding>) {
    let p = policy(text);
    let g = demo();
    let cx = Context {
        graph: Some(&g),
        policy: Some(&p),
        index: idx,
        ..Context::new(clock())
    };
    run(&Cooldown, &cx)
}

#[test]
fn version_younger_than_the_cooldown_is_high_with_an_approve_command() {
    let idx = published("2026-05-29T12:00:00Z");
    let (status, findings) = run_policy(WEEK, Some(&idx));
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&findings, "cooldown-too-young");
    assert_eq!((f.severity, package(f)), (Severity::High, "demo"));
    let remedy = f.remedy.as_deref().unwrap();
    assert!(remedy.contains("2026-06-05T12:00:00Z"), "{remedy}");
    assert!(remedy.contains("cargo reflex approve"), "{remedy}");
}

#[test]
fn version_older_than_the_cooldown_is_not_reported() {
    let idx = published("2026-05-20T00:00:00Z");
    let (_, findings) = run_policy(WEEK, Some(&idx));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn exempt_crate_or_exact_version_is_not_reported() {
    let idx = published("2026-05-31T00:00:00Z");
    for exempt in ["demo", "demo@1.0.0"] {
        let text = format!("{WEEK}exempt = [\"{exempt}\"]\n");
        let (_, findings) = run_policy(&text, Some(&idx));
        assert!(findings.is_empty(), "{exempt}: {findings:#?}");
    }
    let text = format!("{WEEK}exempt = [\"demo@0.9.0\"]\n");
    let (_, findings) = run_policy(&text, Some(&idx));
    assert_eq!(codes(&findings), vec!["cooldown-too-young"]);
}

#[test]
fn unknown_publish_time_fails_closed_unless_allowed() {
    let idx = index(
        None,
        vec![("demo", found(vec![entry("1.0.0", false, None)]))],
    );
    let (_, findings) = run_policy(WEEK, Some(&idx));
    let f = one(&findings, "cooldown-publish-time-unknown");
    assert_eq!((f.severity, f.level), (Severity::High, Some(Level::Deny)));
    assert_eq!(
        f.evidence,
        vec!["the registry index records no publish time for it"]
    );
    let lenient = format!("{WEEK}unknown-publish-time = \"allow\"\n");
    let (_, findings) = run_policy(&lenient, Some(&idx));
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn without_index_data_the_reason_is_the_unavailable_index() {
    let p = policy(WEEK);
    let g = demo();
    let cx = Context {
        graph: Some(&g),
        policy: Some(&p),
        index_unavailable: Some("--offline".into()),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Cooldown, &cx);
    assert_eq!(
        one(&findings, "cooldown-publish-time-unknown").evidence,
        vec!["--offline"]
    );
}

#[test]
fn versions_already_in_the_base_are_not_held_back() {
    let p = policy(WEEK);
    let g = demo();
    let idx = published("2026-05-31T00:00:00Z");
    let incoming: BTreeSet<usize> = BTreeSet::new();
    let cx = Context {
        graph: Some(&g),
        policy: Some(&p),
        index: Some(&idx),
        incoming: Some(&incoming),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Cooldown, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn without_a_cooldown_in_the_policy_the_check_is_skipped() {
    let (status, findings) = run_policy("version = 1\n", None);
    assert!(skipped_because(&status, "min-age-days"), "{status:?}");
    assert!(findings.is_empty());
    let (status, _) = run(&Cooldown, &Context::new(clock()));
    assert!(skipped_because(&status, "min-age-days"), "{status:?}");
}
