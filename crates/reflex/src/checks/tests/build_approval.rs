//! `build-approval`: with `[build-time] require-approval`, build scripts and proc-macros need
//! an allowlist entry.

use super::*;
use crate::checks::build_approval::BuildApproval;
use crate::finding::Severity;

const REQUIRE: &str = "version = 1\n[build-time]\nrequire-approval = true\n";

fn allow(krate: &str, kind: &str) -> String {
    format!("[[build-time.allow]]\ncrate = \"{krate}\"\nkind = \"{kind}\"\nreason = \"reviewed\"\n")
}

fn with_script() -> CrateAnalysis {
    CrateAnalysis {
        build_script: Some("build.rs".into()),
        ..CrateAnalysis::default()
    }
}

fn with_macro() -> CrateAnalysis {
    CrateAnalysis {
        proc_macro: true,
        ..CrateAnalysis::default()
    }
}

/// Runs the check on `app -> cc, derive_it` with these analyses of `cc` and `derive_it`.
fn check(
    text: &str,
    cc: Result<CrateAnalysis, String>,
    derive: Result<CrateAnalysis, String>,
) -> (CheckStatus, Vec<Finding>) {
    let p = policy(text);
    let g = graph(&[
        ("app", "0.1.0", None),
        ("cc", "1.0.0", Some(CRATES_IO)),
        ("derive_it", "1.0.0", Some(CRATES_IO)),
    ]);
    let an = analyses(vec![(1, cc), (2, derive)]);
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        policy: Some(&p),
        ..Context::new(clock())
    };
    run(&BuildApproval, &cx)
}

#[test]
fn unapproved_build_script_and_proc_macro_are_high() {
    let (status, findings) = check(REQUIRE, Ok(with_script()), Ok(with_macro()));
    assert_eq!(status, CheckStatus::Ran);
    let script = one(&findings, "build-script-not-approved");
    assert_eq!((script.severity, package(script)), (Severity::High, "cc"));
    let remedy = script.remedy.as_deref().unwrap();
    assert!(remedy.contains("cargo reflex approve"), "{remedy}");
    let mac = one(&findings, "proc-macro-not-approved");
    assert_eq!((mac.severity, package(mac)), (Severity::High, "derive_it"));
}

#[test]
fn approved_build_script_is_not_reported() {
    let text = format!(
        "{REQUIRE}{}{}",
        allow("cc", "build-script"),
        allow("derive_it", "any")
    );
    let (status, findings) = check(&text, Ok(with_script()), Ok(with_macro()));
    assert_eq!(status, CheckStatus::Ran);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn approval_of_the_other_kind_does_not_count() {
    let text = format!("{REQUIRE}{}", allow("derive_it", "build-script"));
    let (_, findings) = check(&text, Ok(CrateAnalysis::default()), Ok(with_macro()));
    assert_eq!(codes(&findings), vec!["proc-macro-not-approved"]);
}

#[test]
fn crate_without_build_time_code_is_not_reported() {
    let (_, findings) = check(
        REQUIRE,
        Ok(CrateAnalysis::default()),
        Ok(CrateAnalysis::default()),
    );
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn unreadable_archive_is_unknown_unless_the_crate_is_approved() {
    let (status, findings) = check(REQUIRE, Err("offline".into()), Ok(CrateAnalysis::default()));
    assert!(partial_because(&status, "1 archives"), "{status:?}");
    let f = one(&findings, "build-time-unknown");
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.evidence, vec!["cc 1.0.0: offline"]);
    let text = format!("{REQUIRE}{}", allow("cc", "any"));
    let (status, findings) = check(&text, Err("offline".into()), Ok(CrateAnalysis::default()));
    assert_eq!(status, CheckStatus::Ran);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn without_require_approval_or_archives_the_check_is_skipped() {
    let (status, _) = check("version = 1\n", Ok(with_script()), Ok(with_macro()));
    assert!(skipped_because(&status, "require-approval"), "{status:?}");
    let p = policy(REQUIRE);
    let g = graph(&[("app", "0.1.0", None)]);
    let cx = Context {
        graph: Some(&g),
        policy: Some(&p),
        ..Context::new(clock())
    };
    let (status, _) = run(&BuildApproval, &cx);
    assert!(skipped_because(&status, "archives"), "{status:?}");
}
