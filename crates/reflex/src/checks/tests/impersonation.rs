//! `impersonation`: copycat repository links and descriptions, unusual repository links.

use super::*;
use crate::checks::impersonation::Impersonation;
use crate::finding::Severity;
use crate::sources::popularity::Popularity;
use std::sync::Arc;

const SERDE_DESCRIPTION: &str = "A generic serialization/deserialization framework";

/// A corpus where `serde` (#1) lives at github.com/serde-rs/serde.
fn corpus() -> (tempfile::TempDir, Arc<Popularity>) {
    let dir = tree(&[(
        "popular.csv",
        "rank,name,repository\n1,serde,serde-rs/serde\n2,tokio,tokio-rs/tokio\n",
    )]);
    let p = Popularity::load(&dir.path().join("popular.csv")).unwrap();
    (dir, Arc::new(p))
}

fn manifest(repository: Option<&str>, description: Option<&str>) -> CrateAnalysis {
    CrateAnalysis {
        repository: repository.map(str::to_string),
        description: description.map(str::to_string),
        ..CrateAnalysis::default()
    }
}

/// Runs the check on `app` plus `crates` (name, analysis), all registry crates.
fn check(crates: Vec<(&str, Result<CrateAnalysis, String>)>) -> (CheckStatus, Vec<Finding>) {
    let (_dir, pop) = corpus();
    let mut packages = vec![("app", "0.1.0", None)];
    packages.extend(crates.iter().map(|(n, _)| (*n, "1.0.0", Some(CRATES_IO))));
    let g = graph(&packages);
    let an = analyses(
        crates
            .into_iter()
            .enumerate()
            .map(|(i, (_, a))| (i + 1, a))
            .collect(),
    );
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        popularity: Some(&pop),
        ..Context::new(clock())
    };
    run(&Impersonation, &cx)
}

#[test]
fn unknown_crate_claiming_a_popular_repository_is_medium() {
    let (status, findings) = check(vec![(
        "sirde",
        Ok(manifest(Some("https://github.com/serde-rs/serde"), None)),
    )]);
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&findings, "impersonation-repository");
    assert_eq!((f.severity, package(f)), (Severity::Medium, "sirde"));
    assert_eq!(f.title, "`sirde` claims the repository of `serde`");
}

#[test]
fn the_popular_crate_and_its_family_may_name_their_own_repository() {
    let (_, findings) = check(vec![
        (
            "serde",
            Ok(manifest(Some("https://github.com/serde-rs/serde"), None)),
        ),
        (
            "serde_derive",
            Ok(manifest(Some("https://github.com/serde-rs/serde"), None)),
        ),
    ]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn missing_repository_is_info_and_plain_http_is_low() {
    let (_, findings) = check(vec![
        ("quiet", Ok(manifest(None, None))),
        (
            "plain",
            Ok(manifest(Some("http://github.com/a/plain"), None)),
        ),
    ]);
    let by = |name: &str| {
        findings
            .iter()
            .find(|f| package(f) == name)
            .unwrap_or_else(|| panic!("{name}: {findings:#?}"))
    };
    assert_eq!(
        (by("quiet").code, by("quiet").severity),
        ("repository-link-suspicious", Severity::Info)
    );
    assert_eq!(
        (by("plain").code, by("plain").severity),
        ("repository-link-suspicious", Severity::Low)
    );
}

#[test]
fn repository_on_an_unusual_host_is_low_and_on_a_known_forge_is_not_reported() {
    let (_, findings) = check(vec![(
        "odd",
        Ok(manifest(Some("https://code.example.invalid/a/odd"), None)),
    )]);
    let f = one(&findings, "repository-link-suspicious");
    assert!(
        f.title.contains("unusual host (code.example.invalid)"),
        "{}",
        f.title
    );
    let (_, findings) = check(vec![(
        "fine",
        Ok(manifest(Some("https://codeberg.org/a/fine"), None)),
    )]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn description_copied_from_a_popular_crate_in_the_graph_is_reported() {
    let repo = |r: &str| Some(format!("https://github.com/{r}"));
    let (_, findings) = check(vec![
        (
            "serde",
            Ok(manifest(
                repo("serde-rs/serde").as_deref(),
                Some(SERDE_DESCRIPTION),
            )),
        ),
        (
            "fastser",
            Ok(manifest(
                repo("someone/fastser").as_deref(),
                Some(SERDE_DESCRIPTION),
            )),
        ),
    ]);
    let f = one(&findings, "impersonation-description");
    assert_eq!((f.severity, package(f)), (Severity::Low, "fastser"));
    assert_eq!(f.title, "`fastser` copies the description of `serde`");
}

#[test]
fn unreadable_archives_make_the_check_partial_or_skipped() {
    let (status, _) = check(vec![
        (
            "fine",
            Ok(manifest(Some("https://github.com/a/fine"), None)),
        ),
        ("gone", Err("offline".into())),
    ]);
    assert!(
        partial_because(&status, "1 archives unavailable"),
        "{status:?}"
    );
    let (status, _) = check(vec![("gone", Err("offline".into()))]);
    assert!(skipped_because(&status, "no crate archive"), "{status:?}");
}

#[test]
fn without_the_popularity_corpus_the_check_is_skipped() {
    let g = graph(&[("app", "0.1.0", None)]);
    let an = analyses(Vec::new());
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        ..Context::new(clock())
    };
    let (status, _) = run(&Impersonation, &cx);
    assert!(skipped_because(&status, "popularity corpus"), "{status:?}");
}
