//! `policy`: which policy applies, loosening by the change, stale allowlist entries.

use super::*;
use crate::checks::policy_meta::PolicyMeta;
use crate::finding::Severity;

const ALLOW_CC: &str = "version = 1\n[build-time]\nrequire-approval = true\n\n[[build-time.allow]]\ncrate = \"cc\"\nkind = \"build-script\"\nreason = \"compiles C\"\n";

fn check(
    text: &str,
    cc: Option<Result<CrateAnalysis, String>>,
    in_graph: bool,
) -> (CheckStatus, Vec<Finding>) {
    let p = policy(text);
    let g = if in_graph {
        graph(&[("app", "0.1.0", None), ("cc", "1.0.0", Some(CRATES_IO))])
    } else {
        graph(&[("app", "0.1.0", None)])
    };
    let an = analyses(cc.map(|a| (1, a)).into_iter().collect());
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        policy: Some(&p),
        ..Context::new(clock())
    };
    run(&PolicyMeta, &cx)
}

#[test]
fn default_policy_is_announced() {
    let p = Policy::default();
    let cx = Context {
        policy: Some(&p),
        ..Context::new(clock())
    };
    let (status, findings) = run(&PolicyMeta, &cx);
    assert_eq!(status, CheckStatus::Ran);
    assert_eq!(one(&findings, "policy-default").severity, Severity::Info);
}

#[test]
fn a_policy_file_is_not_the_default() {
    let (_, findings) = check("version = 1\n", None, false);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn loosening_by_the_change_is_high_with_each_loosening_as_evidence() {
    let p = policy("version = 1\n");
    let loosened = vec!["cooldown shortened from 7 to 0 days".to_string()];
    let cx = Context {
        policy: Some(&p),
        policy_loosened: &loosened,
        ..Context::new(clock())
    };
    let (_, findings) = run(&PolicyMeta, &cx);
    let f = one(&findings, "policy-loosened");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.evidence, loosened);
}

#[test]
fn allowlist_entry_for_a_crate_not_in_the_graph_is_unused() {
    let (_, findings) = check(ALLOW_CC, None, false);
    let f = one(&findings, "policy-allow-unused");
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(f.location.as_ref().unwrap().line, Some(5));
    assert_eq!(f.evidence, vec!["reason: compiles C"]);
}

#[test]
fn allowlist_entry_for_a_crate_without_that_code_is_unused() {
    let no_script = Some(Ok(CrateAnalysis::default()));
    let (_, findings) = check(ALLOW_CC, no_script, true);
    assert_eq!(codes(&findings), vec!["policy-allow-unused"]);
}

#[test]
fn allowlist_entry_in_use_is_not_reported() {
    let script = Some(Ok(CrateAnalysis {
        build_script: Some("build.rs".into()),
        ..CrateAnalysis::default()
    }));
    let (_, findings) = check(ALLOW_CC, script, true);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn allowlist_entry_for_an_unread_archive_is_not_called_unused() {
    let (_, findings) = check(ALLOW_CC, Some(Err("offline".into())), true);
    assert!(findings.is_empty(), "{findings:#?}");
    let (_, findings) = check(ALLOW_CC, None, true);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn without_a_policy_the_check_is_skipped() {
    let (status, _) = run(&PolicyMeta, &Context::new(clock()));
    assert!(skipped_because(&status, "no policy"), "{status:?}");
}
