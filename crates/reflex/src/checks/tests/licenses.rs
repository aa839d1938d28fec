//! `licenses`: each crate's SPDX expression must be satisfiable with the allowed licenses.

use super::*;
use crate::checks::licenses::Licenses;
use crate::finding::{Level, Severity};

const MIT_APACHE: &str = "version = 1\n[licenses]\nallow = [\"MIT\", \"Apache-2.0\"]\n";

fn licensed(license: Option<&str>, file: Option<&str>) -> CrateAnalysis {
    CrateAnalysis {
        license: license.map(str::to_string),
        license_file: file.map(str::to_string),
        ..CrateAnalysis::default()
    }
}

fn check(text: &str, a: Result<CrateAnalysis, String>) -> (CheckStatus, Vec<Finding>) {
    let p = policy(text);
    let g = graph(&[("app", "0.1.0", None), ("demo", "1.0.0", Some(CRATES_IO))]);
    let an = analyses(vec![(1, a)]);
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        policy: Some(&p),
        ..Context::new(clock())
    };
    run(&Licenses, &cx)
}

#[test]
fn license_outside_the_allowlist_is_high() {
    let (status, findings) = check(MIT_APACHE, Ok(licensed(Some("GPL-3.0-only"), None)));
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&findings, "license-not-allowed");
    assert_eq!((f.severity, package(f)), (Severity::High, "demo"));
    assert_eq!(f.evidence, vec!["allowed: MIT, Apache-2.0"]);
}

#[test]
fn satisfiable_expressions_are_not_reported() {
    for expr in [
        "MIT",
        "MIT OR Apache-2.0",
        "GPL-3.0-only OR MIT",
        "MIT/Apache-2.0",
    ] {
        let (_, findings) = check(MIT_APACHE, Ok(licensed(Some(expr), None)));
        assert!(findings.is_empty(), "{expr}: {findings:#?}");
    }
}

#[test]
fn conjunction_needs_every_license() {
    let (_, findings) = check(MIT_APACHE, Ok(licensed(Some("MIT AND GPL-3.0-only"), None)));
    assert_eq!(codes(&findings), vec!["license-not-allowed"]);
}

#[test]
fn missing_or_file_only_license_is_unknown_at_the_policy_level() {
    let (_, findings) = check(MIT_APACHE, Ok(licensed(None, None)));
    let f = one(&findings, "license-unknown");
    assert_eq!((f.severity, f.level), (Severity::Medium, Some(Level::Warn)));
    assert!(f.title.ends_with("no license declared"), "{}", f.title);
    let strict = format!("{MIT_APACHE}unknown = \"deny\"\n");
    let (_, findings) = check(&strict, Ok(licensed(None, Some("LICENSE.txt"))));
    let f = one(&findings, "license-unknown");
    assert_eq!(f.level, Some(Level::Deny));
    assert!(
        f.title.contains("license only in a file (LICENSE.txt)"),
        "{}",
        f.title
    );
}

#[test]
fn expression_that_is_not_spdx_is_unknown() {
    let (_, findings) = check(
        MIT_APACHE,
        Ok(licensed(Some("Do what you want (c) me"), None)),
    );
    assert_eq!(codes(&findings), vec!["license-unknown"]);
}

#[test]
fn unreadable_archive_makes_the_check_partial() {
    let (status, findings) = check(MIT_APACHE, Err("offline".into()));
    assert!(
        partial_because(&status, "1 archives unavailable"),
        "{status:?}"
    );
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn without_licenses_in_the_policy_the_check_is_skipped() {
    let (status, _) = check("version = 1\n", Ok(licensed(Some("GPL-3.0-only"), None)));
    assert!(skipped_because(&status, "[licenses]"), "{status:?}");
}
