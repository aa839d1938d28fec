use super::*;
use crate::finding::AdvisoryRef;
use crate::report::Report;

fn finding(code: &'static str, check: &'static str, name: &str, version: &str) -> Finding {
    let spec = crate::checks::catalog().get(code).unwrap();
    Finding::new(check, spec, format!("{code} {name}")).package(PackageRef {
        name: name.into(),
        version: version.into(),
        source: "registry+https://github.com/rust-lang/crates.io-index".into(),
    })
}

fn today() -> jiff::civil::Date {
    jiff::civil::date(2026, 11, 25)
}

#[test]
fn every_mistake_is_reported_at_once_with_its_position() {
    let text = r#"version = 1
colour = "red"

[checks]
typosqat = "deny"
advisories = "block"

[cooldown]
min-age-days = "three"

[[exception]]
code = "advisory-vulnerability"
crate = "foo@not-a-version"

[licenses]
allow = ["MIT", "MIT OR"]
"#;
    let err = Policy::parse(Path::new("reflex.toml"), text, crate::checks::catalog()).unwrap_err();
    let crate::Error::Policy(errors) = err else {
        panic!("{err:?}")
    };
    let got: Vec<String> = errors
        .problems
        .iter()
        .map(|p| {
            format!(
                "{}:{} {} | {}",
                p.line,
                p.column,
                p.message,
                p.help.clone().unwrap_or_default()
            )
        })
        .collect();
    let expect = [
        "2:1 unknown key `colour` | known keys here: version, gate,",
        "5:1 unknown check `typosqat` | did you mean `typosquat`?",
        "6:14 unknown level `block` | one of",
        "9:16 `min-age-days` must be a whole number of days | for example",
        "11:1 exception without a `reason` | add `reason",
        "13:9 `not-a-version` is not a version | write `name`",
        "16:17 `MIT OR` is not an SPDX expression",
    ];
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for (g, e) in got.iter().zip(expect) {
        assert!(g.starts_with(e), "{g:?} should start with {e:?}");
    }
}

#[test]
fn version_is_required_and_checked() {
    for (text, msg) in [
        ("[gate]\n", "missing `version`"),
        ("version = 2\n", "unsupported policy version"),
    ] {
        let Err(crate::Error::Policy(e)) =
            Policy::parse(Path::new("r.toml"), text, crate::checks::catalog())
        else {
            panic!("{text} parsed")
        };
        assert_eq!(e.problems[0].message, msg);
    }
    let Err(crate::Error::Parse(e)) = Policy::parse(
        Path::new("r.toml"),
        "version = \n",
        crate::checks::catalog(),
    ) else {
        panic!("bad TOML parsed")
    };
    assert_eq!((e.line, e.column > 0), (1, true));
}

#[test]
fn levels_exceptions_and_trust_decide_the_verdict() {
    let text = r#"version = 1
[gate]
deny-level = "medium"
[checks]
freshness = "allow"
[codes]
review-new-crate = "deny"
typosquat-suspect = "warn"
[[exception]]
code = "advisory-vulnerability"
id = "RUSTSEC-2020-0001"
reason = "not reachable"
[[exception]]
crate = "old@1.0.0"
reason = "was fine"
expires = 2026-01-01
[[exception]]
crate = "gone"
reason = "removed long ago"
[[trust]]
crate = "reviewed"
version = "2.0.0"
by = "alice"
"#;
    let policy = Policy::parse(Path::new("reflex.toml"), text, crate::checks::catalog()).unwrap();
    assert_eq!(policy.deny_level, Some(Severity::Medium));
    let mut vuln = finding("advisory-vulnerability", "advisories", "foo", "1.0.0");
    vuln.advisory = Some(AdvisoryRef {
        id: "RUSTSEC-2020-0001".into(),
        aliases: vec![],
        date: String::new(),
        url: None,
        categories: vec![],
        cvss: None,
        cvss_severity: None,
        patched: vec![],
        unaffected: vec![],
    });
    let mut report = Report::new("gate", String::new());
    report.findings = vec![
        vuln,
        finding("stale-crate", "freshness", "a", "1.0.0"),
        finding("review-new-crate", "review", "b", "1.0.0"),
        finding("typosquat-suspect", "typosquat", "serd", "1.0.0"),
        finding("advisory-vulnerability", "advisories", "old", "1.0.0"),
        finding("review-build-script-added", "review", "reviewed", "2.0.0"),
        finding("advisory-vulnerability", "advisories", "reviewed", "2.0.0"),
    ];
    let applied = policy.apply(&mut report.findings, crate::checks::catalog(), today());
    report.summary.allowed += applied.allowed;
    report.summary.excepted += applied.excepted;
    let report = report.finish(policy.deny_level);
    let verdicts: Vec<(String, String, bool)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.code.to_string(),
                f.package
                    .as_ref()
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
                f.denied,
            )
        })
        .collect();
    let has = |code: &str, name: &str, denied: bool| {
        verdicts.contains(&(code.to_string(), name.to_string(), denied))
    };
    assert!(
        has("review-new-crate", "b", true),
        "deny by code: {verdicts:#?}"
    );
    assert!(has("typosquat-suspect", "serd", false), "warn never fails");
    assert!(
        has("advisory-vulnerability", "old", true),
        "expired exception no longer applies"
    );
    assert!(
        has("advisory-vulnerability", "reviewed", true),
        "trust never covers advisories"
    );
    assert!(
        !verdicts.iter().any(|v| v.1 == "a"),
        "freshness allowed: dropped"
    );
    assert!(
        !verdicts.iter().any(|v| v.1 == "foo"),
        "excepted by advisory id"
    );
    assert!(
        !verdicts.iter().any(|v| v.0 == "review-build-script-added"),
        "trusted version"
    );
    assert!(
        has("policy-exception-expired", "old", true),
        "medium at deny-level medium"
    );
    assert!(verdicts.iter().any(|v| v.0 == "policy-exception-unused"));
    assert_eq!(report.summary.allowed, 1);
    assert_eq!(report.summary.excepted, 2);
}
