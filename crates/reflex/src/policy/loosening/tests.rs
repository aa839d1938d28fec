use super::*;
use std::path::Path;

fn policy(text: &str) -> Policy {
    Policy::parse(
        Path::new("reflex.toml"),
        &format!("version = 1\n{text}"),
        crate::checks::catalog(),
    )
    .unwrap()
}

#[test]
fn what_the_change_grants_itself_does_not_apply() {
    let base = policy("[gate]\ndeny-level = \"high\"\n[cooldown]\nmin-age-days = 3\n");
    let head = policy(
        "[gate]\ndeny-level = \"critical\"\n[cooldown]\nmin-age-days = 0\nexempt = [\"evil\"]\n[codes]\nadvisory-vulnerability = \"allow\"\n[[trust]]\ncrate = \"evil\"\nversion = \"1.0.0\"\nby = \"mallory\"\n[[exception]]\ncrate = \"evil\"\nreason = \"trust me\"\n[sandbox]\nunix-sockets = [\"/var/run/docker.sock\"]\n",
    );
    let (p, loose) = judging_policy(&base, &head);
    assert_eq!(p.deny_level, Some(Severity::High));
    assert_eq!(p.cooldown.min_age_days, 3);
    assert!(p.cooldown.exempt.is_empty() && p.trust.is_empty() && p.exceptions.is_empty());
    assert!(p.codes.is_empty() && p.sandbox.unix_sockets.is_empty());
    let text = loose.join("\n");
    for part in [
        "deny-level raised from high to critical",
        "cooldown shortened from 3 to 0 days",
        "new cooldown exemption: evil",
        "[codes] advisory-vulnerability set to \"allow\"",
        "new trust record: evil@1.0.0 by mallory",
        "new exception: crate evil (trust me)",
        "sandbox unix-socket added: /var/run/docker.sock",
    ] {
        assert!(text.contains(part), "{part}: {text}");
    }
}

#[test]
fn tightening_applies_at_once_and_an_unchanged_policy_loosens_nothing() {
    let base = policy("[[trust]]\ncrate = \"a\"\nversion = \"1.0.0\"\nby = \"x\"\n");
    let head = policy(
        "[gate]\ndeny-level = \"medium\"\n[cooldown]\nmin-age-days = 7\n[codes]\nstale-crate = \"deny\"\n",
    );
    let (p, loose) = judging_policy(&base, &head);
    assert_eq!(p.deny_level, Some(Severity::Medium));
    assert_eq!(p.cooldown.min_age_days, 7);
    assert_eq!(p.codes.get("stale-crate"), Some(&Level::Deny));
    assert!(p.trust.is_empty(), "a removed trust record is gone at once");
    assert!(loose.is_empty(), "{loose:?}");
    let (same, loose) = judging_policy(&base, &base);
    assert_eq!(same.trust.len(), 1);
    assert!(loose.is_empty());
}
