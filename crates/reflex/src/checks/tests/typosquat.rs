//! `typosquat`: registry crates whose names imitate far more popular ones.

use super::*;
use crate::checks::typosquat::Typosquat;
use crate::finding::Severity;
use crate::sources::popularity::Popularity;
use std::sync::Arc;

fn corpus() -> Arc<Popularity> {
    Arc::new(Popularity::from_names(&["serde", "tokio", "rust_decimal"]))
}

#[test]
fn separator_lookalike_of_a_popular_crate_is_a_suspect() {
    let pop = corpus();
    let g = graph(&[
        ("app", "0.1.0", None),
        ("rustdecimal", "1.23.1", Some(CRATES_IO)),
    ]);
    let cx = Context {
        graph: Some(&g),
        popularity: Some(&pop),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Typosquat, &cx);
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&findings, "typosquat-suspect");
    assert_eq!((f.severity, package(f)), (Severity::Medium, "rustdecimal"));
    assert_eq!(f.title, "`rustdecimal` may imitate `rust_decimal`");
    let remedy = f.remedy.as_deref().unwrap();
    assert!(remedy.contains("cargo reflex approve"), "{remedy}");
}

#[test]
fn popular_crates_and_unrelated_names_are_not_suspects() {
    let pop = corpus();
    let g = graph(&[
        ("app", "0.1.0", None),
        ("serde", "1.0.0", Some(CRATES_IO)),
        ("tokio", "1.0.0", Some(CRATES_IO)),
        ("acme-billing", "0.3.0", Some(CRATES_IO)),
    ]);
    let cx = Context {
        graph: Some(&g),
        popularity: Some(&pop),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Typosquat, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn companion_pulled_in_by_the_crate_it_resembles_is_not_a_suspect() {
    let pop = corpus();
    let packages = [
        ("app", "0.1.0", None),
        ("serde", "1.0.0", Some(CRATES_IO)),
        ("serde-rs", "0.1.0", Some(CRATES_IO)),
    ];
    let companion = graph_with_edges(&packages, &[(0, 1), (1, 2)]);
    let cx = Context {
        graph: Some(&companion),
        popularity: Some(&pop),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Typosquat, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
    // The same crate brought in by the workspace itself is a suspect.
    let direct = graph_with_edges(&packages, &[(0, 1), (0, 2)]);
    let cx = Context {
        graph: Some(&direct),
        ..cx
    };
    let (_, findings) = run(&Typosquat, &cx);
    assert_eq!(package(one(&findings, "typosquat-suspect")), "serde-rs");
}

#[test]
fn git_and_path_packages_are_not_judged_by_name() {
    let pop = corpus();
    let g = graph(&[
        ("app", "0.1.0", None),
        (
            "rustdecimal",
            "1.0.0",
            Some("git+https://example.com/rustdecimal#0123456789abcdef0123456789abcdef01234567"),
        ),
        ("tokio-rs", "0.1.0", None),
    ]);
    let cx = Context {
        graph: Some(&g),
        popularity: Some(&pop),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Typosquat, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn target_rank_limits_the_imitated_crates() {
    let pop = corpus();
    let g = graph(&[
        ("app", "0.1.0", None),
        ("rustdecimal", "1.23.1", Some(CRATES_IO)),
    ]);
    let cx = Context {
        graph: Some(&g),
        popularity: Some(&pop),
        typosquat_target_rank: 2,
        ..Context::new(clock())
    };
    let (_, findings) = run(&Typosquat, &cx);
    assert!(findings.is_empty(), "rust_decimal is #3: {findings:#?}");
}

#[test]
fn without_a_popularity_corpus_the_check_is_skipped() {
    let g = graph(&[("app", "0.1.0", None)]);
    let cx = Context {
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Typosquat, &cx);
    assert!(skipped_because(&status, "popularity corpus"), "{status:?}");
    assert!(findings.is_empty());
}
