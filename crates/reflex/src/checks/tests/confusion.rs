//! `confusion`: internal crates whose names also exist on crates.io.

use super::*;
use crate::checks::confusion::Confusion;
use crate::finding::Severity;
use crate::graph::workspace::{Manifest, Workspace};
use std::path::PathBuf;

const PRIVATE: &str = "registry+https://crates.acme.test/index";

fn prefixes() -> Vec<String> {
    vec!["acme-".to_string()]
}

#[test]
fn internal_prefix_from_crates_io_is_high() {
    let g = graph(&[
        ("app", "0.1.0", None),
        ("acme-billing", "1.0.0", Some(CRATES_IO)),
    ]);
    let prefixes = prefixes();
    let cx = Context {
        graph: Some(&g),
        internal_prefixes: &prefixes,
        ..Context::new(clock())
    };
    let (_, findings) = run(&Confusion, &cx);
    let f = one(&findings, "internal-name-from-public-registry");
    assert_eq!((f.severity, package(f)), (Severity::High, "acme-billing"));
}

#[test]
fn private_registry_crate_with_a_public_twin_is_reported() {
    let g = graph(&[
        ("app", "0.1.0", None),
        ("acme-billing", "1.0.0", Some(PRIVATE)),
    ]);
    let idx = index(
        None,
        vec![(
            "acme-billing",
            found(vec![
                entry("0.1.0", false, None),
                entry("99.0.0", false, None),
            ]),
        )],
    );
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Confusion, &cx);
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&findings, "dependency-confusion");
    assert_eq!((f.severity, package(f)), (Severity::Medium, "acme-billing"));
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("public 99.0.0 is newer")),
        "{f:?}"
    );
}

#[test]
fn private_crate_without_a_public_twin_is_not_reported() {
    let g = graph(&[
        ("app", "0.1.0", None),
        ("acme-billing", "1.0.0", Some(PRIVATE)),
        ("serde", "1.0.0", Some(CRATES_IO)),
    ]);
    let idx = index(None, vec![("acme-billing", Lookup::Missing)]);
    let prefixes = prefixes();
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        internal_prefixes: &prefixes,
        ..Context::new(clock())
    };
    let (status, findings) = run(&Confusion, &cx);
    assert_eq!(status, CheckStatus::Ran);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn unpublishable_workspace_crate_with_a_public_twin_is_reported() {
    let text = "[package]\nname = \"billing\"\nversion = \"0.1.0\"\npublish = false\n";
    let m = Manifest::parse(Path::new("billing/Cargo.toml"), text.into(), None).unwrap();
    let ws = Workspace {
        root: PathBuf::from("."),
        root_manifest: m.clone(),
        packages: vec![m],
        unreadable: Vec::new(),
    };
    let g = graph(&[("app", "0.1.0", None), ("billing", "0.1.0", None)]);
    let idx = index(
        None,
        vec![("billing", found(vec![entry("0.0.1", false, None)]))],
    );
    let cx = Context {
        graph: Some(&g),
        workspace: Some(&ws),
        index: Some(&idx),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Confusion, &cx);
    let f = one(&findings, "dependency-confusion");
    assert_eq!(package(f), "billing");
    assert!(f.title.contains("publish = false"), "{}", f.title);
    // A publishable workspace crate of the same name is not internal.
    let (_, findings) = run(
        &Confusion,
        &Context {
            workspace: None,
            ..cx
        },
    );
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn internal_crate_without_the_prefix_is_low() {
    let g = graph(&[("app", "0.1.0", None), ("billing", "1.0.0", Some(PRIVATE))]);
    let idx = index(None, vec![("billing", Lookup::Missing)]);
    let prefixes = prefixes();
    let cx = Context {
        graph: Some(&g),
        index: Some(&idx),
        internal_prefixes: &prefixes,
        ..Context::new(clock())
    };
    let (_, findings) = run(&Confusion, &cx);
    let f = one(&findings, "internal-crate-without-prefix");
    assert_eq!((f.severity, package(f)), (Severity::Low, "billing"));
}

#[test]
fn internal_crate_not_looked_up_makes_the_check_partial() {
    let g = graph(&[("app", "0.1.0", None), ("billing", "1.0.0", Some(PRIVATE))]);
    let cx = Context {
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Confusion, &cx);
    assert!(partial_because(&status, "1 internal crates"), "{status:?}");
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn without_a_lockfile_the_check_is_skipped() {
    let (status, _) = run(&Confusion, &Context::new(clock()));
    assert!(skipped_because(&status, "Cargo.lock"), "{status:?}");
}
