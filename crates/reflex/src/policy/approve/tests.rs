use super::*;
use crate::finding::{Finding, PackageRef};

const POLICY: &str = r#"# Our supply-chain policy: reviewed by the platform team.
version = 1

[gate]
deny-level = "high"   # fail on high and critical

[build-time]
require-approval = true
# Crates that may run code at build time.
[[build-time.allow]]
crate = "cc"
kind = "build-script"
reason = "compiler driver"

# Versions someone read.
[[trust]]
crate = "url"
version = "2.5.4"
by = "alice@acme.example"

[ci]
require-locked = true
# end of policy
"#;

fn trust(name: &str, version: &str) -> Entry {
    Entry::Trust {
        krate: name.into(),
        version: version.into(),
        by: "bob@acme.example".into(),
        note: "read it all".into(),
    }
}

fn allow(name: &str, kind: BuildTimeKind) -> Entry {
    Entry::BuildTime {
        krate: name.into(),
        kind,
        reason: "links libfoo".into(),
        by: "bob@acme.example".into(),
    }
}

fn edited(text: &str, entry: &Entry) -> String {
    edit(
        Path::new("reflex.toml"),
        text,
        entry,
        crate::checks::catalog(),
    )
    .unwrap()
    .expect("changed")
}

fn lock(packages: &[(&str, &str)]) -> Graph {
    let mut text = String::from("version = 4\n");
    for (n, v) in packages {
        text.push_str(&format!(
            "\n[[package]]\nname = \"{n}\"\nversion = \"{v}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{}\"\n",
            "0".repeat(64)
        ));
    }
    Graph::parse(Path::new("Cargo.lock"), text).unwrap()
}

fn request(spec: &str, kind: Option<BuildTimeKind>) -> Request {
    Request {
        spec: spec.into(),
        kind,
        reason: "read build.rs".into(),
        by: "bob".into(),
    }
}

#[test]
fn a_trust_record_lands_after_the_last_one_with_every_comment_kept() {
    let new = edited(POLICY, &trust("url-parse", "0.1.0"));
    let expect = POLICY.replace(
        "by = \"alice@acme.example\"\n",
        "by = \"alice@acme.example\"\n\n[[trust]]\ncrate = \"url-parse\"\nversion = \"0.1.0\"\nby = \"bob@acme.example\"\nnote = \"read it all\"\n",
    );
    assert_eq!(new, expect);
    let policy = Policy::parse(Path::new("reflex.toml"), &new, crate::checks::catalog()).unwrap();
    assert_eq!(policy.trust.len(), 2);
    assert_eq!(
        policy.trusted("url-parse", "0.1.0").unwrap().by,
        "bob@acme.example"
    );
}

#[test]
fn an_allow_entry_lands_after_the_last_one_with_its_reviewer_as_a_comment() {
    let new = edited(POLICY, &allow("openssl-sys", BuildTimeKind::BuildScript));
    let expect = POLICY.replace(
        "reason = \"compiler driver\"\n",
        "reason = \"compiler driver\"\n\n# approved by bob@acme.example\n[[build-time.allow]]\ncrate = \"openssl-sys\"\nkind = \"build-script\"\nreason = \"links libfoo\"\n",
    );
    assert_eq!(new, expect);
    let policy = Policy::parse(Path::new("reflex.toml"), &new, crate::checks::catalog()).unwrap();
    assert!(
        policy
            .build_time
            .allows("openssl-sys", BuildTimeKind::BuildScript)
    );
    assert!(
        !policy
            .build_time
            .allows("openssl-sys", BuildTimeKind::ProcMacro)
    );
}

#[test]
fn new_sections_go_at_the_end_and_the_top_of_the_file_stays() {
    let text = "# policy\nversion = 1 # schema\n\n[gate]\ndeny-level = \"medium\"\n";
    let new = edited(text, &allow("serde_derive", BuildTimeKind::ProcMacro));
    assert_eq!(
        new,
        format!(
            "{text}\n# approved by bob@acme.example\n[[build-time.allow]]\ncrate = \"serde_derive\"\nkind = \"proc-macro\"\nreason = \"links libfoo\"\n"
        )
    );
    let new = edited(&new, &trust("syn", "2.0.1"));
    assert!(new.starts_with(text), "{new}");
    assert!(new.ends_with("[[trust]]\ncrate = \"syn\"\nversion = \"2.0.1\"\nby = \"bob@acme.example\"\nnote = \"read it all\"\n"), "{new}");
    Policy::parse(Path::new("reflex.toml"), &new, crate::checks::catalog()).unwrap();
}

#[test]
fn inline_arrays_stay_inline() {
    let text = "version = 1\ntrust = [{ crate = \"a\", version = \"1.0.0\", by = \"x\" }]\n[build-time]\nallow = [{ crate = \"b\", reason = \"r\" }]\n";
    let new = edited(text, &trust("c", "1.0.0"));
    let new = edited(&new, &allow("d", BuildTimeKind::BuildScript));
    let policy = Policy::parse(Path::new("reflex.toml"), &new, crate::checks::catalog()).unwrap();
    assert!(policy.trusted("c", "1.0.0").is_some());
    assert!(policy.build_time.allows("d", BuildTimeKind::BuildScript));
    assert!(!new.contains("[["), "{new}");
}

#[test]
fn approving_twice_changes_nothing() {
    let once = edited(POLICY, &trust("url-parse", "0.1.0"));
    let twice = edit(
        Path::new("reflex.toml"),
        &once,
        &trust("url-parse", "0.1.0"),
        crate::checks::catalog(),
    )
    .unwrap();
    assert_eq!(twice, None);
    // Already trusted by someone else, or allowed with `kind = "any"`: nothing to add.
    assert_eq!(
        edit(
            Path::new("reflex.toml"),
            POLICY,
            &trust("url", "2.5.4"),
            crate::checks::catalog()
        )
        .unwrap(),
        None
    );
    let any =
        "version = 1\n[[build-time.allow]]\ncrate = \"ring\"\nkind = \"any\"\nreason = \"r\"\n";
    assert_eq!(
        edit(
            Path::new("reflex.toml"),
            any,
            &allow("ring", BuildTimeKind::ProcMacro),
            crate::checks::catalog()
        )
        .unwrap(),
        None
    );
    // Another version or kind is another approval.
    assert!(
        edit(
            Path::new("reflex.toml"),
            POLICY,
            &trust("url", "2.5.5"),
            crate::checks::catalog()
        )
        .unwrap()
        .is_some()
    );
    assert!(
        edit(
            Path::new("reflex.toml"),
            POLICY,
            &allow("cc", BuildTimeKind::ProcMacro),
            crate::checks::catalog()
        )
        .unwrap()
        .is_some()
    );
}

#[test]
fn a_missing_policy_is_created_and_a_broken_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let done = approve(
        &path,
        &trust("url-parse", "0.1.0"),
        crate::checks::catalog(),
    )
    .unwrap();
    assert!(done.created && done.changed);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("version = 1\n\n[[trust]]\n"), "{text}");
    let again = approve(
        &path,
        &trust("url-parse", "0.1.0"),
        crate::checks::catalog(),
    )
    .unwrap();
    assert!(!again.created && !again.changed);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);

    std::fs::write(&path, "version = 1\n[gate]\ndeny-levle = \"high\"\n").unwrap();
    let err = approve(&path, &trust("a", "1.0.0"), crate::checks::catalog()).unwrap_err();
    assert!(matches!(err, Error::Policy(_)), "{err:?}");
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("deny-levle")
    );
}

#[test]
fn the_version_comes_from_the_argument_or_the_lockfile() {
    let g = lock(&[("url", "2.5.4"), ("syn", "1.0.109"), ("syn", "2.0.90")]);
    let e = Entry::resolve(&request("url", None), Some(&g)).unwrap();
    assert!(matches!(e, Entry::Trust { ref version, .. } if version == "2.5.4"));
    let e = Entry::resolve(&request("url@2.5.5", None), Some(&g)).unwrap();
    assert!(matches!(e, Entry::Trust { ref version, .. } if version == "2.5.5"));
    let e = Entry::resolve(&request("not-locked@1.0.0", None), Some(&g)).unwrap();
    assert!(matches!(e, Entry::Trust { ref krate, .. } if krate == "not-locked"));

    let Err(Error::Usage(msg, help)) = Entry::resolve(&request("syn", None), Some(&g)) else {
        panic!("several versions")
    };
    assert_eq!(msg, "2 versions of `syn` are locked: 1.0.109, 2.0.90");
    assert!(help.unwrap().contains("syn@2.0.90"));
    // An allow entry is for every version.
    let e = Entry::resolve(&request("syn", Some(BuildTimeKind::ProcMacro)), Some(&g)).unwrap();
    assert!(matches!(
        e,
        Entry::BuildTime {
            kind: BuildTimeKind::ProcMacro,
            ..
        }
    ));

    for (spec, kind, lockfile, msg) in [
        ("serd", None, Some(&g), "`serd` is not in Cargo.lock"),
        (
            "serd",
            Some(BuildTimeKind::BuildScript),
            Some(&g),
            "`serd` is not in Cargo.lock",
        ),
        ("url", None, None, "no Cargo.lock to look `url` up in"),
        ("url@two", None, Some(&g), "`two` is not a version"),
        (
            "url crate",
            None,
            Some(&g),
            "`url crate` is not a crate name",
        ),
    ] {
        let Err(Error::Usage(got, _)) = Entry::resolve(&request(spec, kind), lockfile) else {
            panic!("{spec} accepted")
        };
        assert_eq!(got, msg);
    }
}

#[test]
fn an_empty_reason_or_reviewer_is_refused() {
    for (reason, by, msg) in [
        ("", "bob", "an approval needs a reason"),
        ("  \n", "bob", "an approval needs a reason"),
        ("ok", " ", "an approval needs a reviewer"),
    ] {
        let r = Request {
            reason: reason.into(),
            by: by.into(),
            ..request("url@1.0.0", None)
        };
        let Err(Error::Usage(got, _)) = Entry::resolve(&r, None) else {
            panic!("{reason:?} {by:?} accepted")
        };
        assert_eq!(got, msg);
    }
}

#[test]
fn shown_entries_are_valid_toml_as_shown() {
    for e in [trust("a", "1.0.0"), allow("b", BuildTimeKind::BuildScript)] {
        let text = format!("version = 1\n{}", e.to_toml());
        Policy::parse(Path::new("reflex.toml"), &text, crate::checks::catalog()).unwrap();
    }
    assert_eq!(
        allow("b", BuildTimeKind::BuildScript).to_toml(),
        "# approved by bob@acme.example\n[[build-time.allow]]\ncrate = \"b\"\nkind = \"build-script\"\nreason = \"links libfoo\"\n"
    );
}

/// Every remedy command names the approval that clears its finding: applying what the
/// command writes drops the finding.
#[test]
fn each_suggested_approval_clears_its_finding() {
    let lockfile = lock(&[("foo", "1.2.3")]);
    let approvable = crate::checks::catalog()
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.approval != Approval::None);
    for spec in approvable {
        let code = spec.code;
        let command = command_for(spec, "foo", "1.2.3");
        let args: Vec<&str> = command.split_whitespace().collect();
        let kind = args
            .iter()
            .position(|a| *a == "--kind")
            .map(|i| match args[i + 1] {
                "build-script" => BuildTimeKind::BuildScript,
                _ => BuildTimeKind::ProcMacro,
            });
        let entry = Entry::resolve(
            &Request {
                spec: args[3].into(),
                kind,
                reason: "r".into(),
                by: "me".into(),
            },
            Some(&lockfile),
        );
        let text = edited("version = 1\n", &entry.unwrap());
        let policy =
            Policy::parse(Path::new("reflex.toml"), &text, crate::checks::catalog()).unwrap();
        match kind {
            // The allowlist check consults the entries itself.
            Some(k) => assert!(policy.build_time.allows("foo", k), "{code}: {command}"),
            None => {
                let mut findings = vec![Finding::new("x", spec, "t").package(PackageRef {
                    name: "foo".into(),
                    version: "1.2.3".into(),
                    source: String::new(),
                })];
                policy.apply(
                    &mut findings,
                    crate::checks::catalog(),
                    jiff::civil::date(2026, 1, 1),
                );
                assert!(findings.is_empty(), "{code}: {command}");
            }
        }
    }
}
