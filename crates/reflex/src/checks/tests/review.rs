//! `review`: what each lockfile change brings (new crates, young versions, new build-time
//! code and capabilities, native files, unsafe, source moves, downgrades, fixed advisories).

use super::*;
use crate::analysis::capabilities::Capabilities;
use crate::checks::review::Review;
use crate::finding::Severity;
use crate::graph::Graph;
use crate::review::code_diff::{CodeChanges, FileDiff};
use crate::review::{ChangeCode, LockfileDelta, ReviewInputs};
use crate::sources::crate_archive::FileKind;

fn lock(foo: &str, extra: &[(&str, &str, Option<&str>)]) -> Graph {
    let mut packages = vec![("app", "0.1.0", None), ("foo", foo, Some(CRATES_IO))];
    packages.extend_from_slice(extra);
    graph(&packages)
}

fn inputs(base: Graph, head: &Graph) -> ReviewInputs {
    let delta = LockfileDelta::between(&base, head);
    ReviewInputs {
        code: vec![ChangeCode::default(); delta.changes.len()],
        base: Some(base),
        base_label: "main".into(),
        head_label: "HEAD".into(),
        delta,
        young_days: 7,
    }
}

/// Position of the change of `name`.
fn change(inputs: &ReviewInputs, name: &str) -> usize {
    inputs
        .delta
        .changes
        .iter()
        .position(|c| c.name == name)
        .unwrap()
}

/// The change of `foo` 1.0.0 -> 1.1.0 with `old` and `new` analyses of both archives.
fn upgrade_with(old: CrateAnalysis, new: CrateAnalysis) -> Vec<Finding> {
    let head = lock("1.1.0", &[]);
    let mut inp = inputs(lock("1.0.0", &[]), &head);
    let k = change(&inp, "foo");
    inp.code[k] = ChangeCode {
        old: Some(Ok(old)),
        new: Some(Ok(new)),
        code: None,
    };
    let cx = Context {
        graph: Some(&head),
        review: Some(&inp),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Review, &cx);
    assert_eq!(status, CheckStatus::Ran);
    findings
}

fn build_script(caps: Capabilities) -> CrateAnalysis {
    CrateAnalysis {
        build_script: Some("build.rs".into()),
        capabilities: Some(caps),
        ..CrateAnalysis::default()
    }
}

fn set(items: &[&str]) -> std::collections::BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn new_crate_is_low_and_an_unchanged_graph_has_no_findings() {
    let head = lock("1.0.0", &[("bar", "1.0.0", Some(CRATES_IO))]);
    let inp = inputs(lock("1.0.0", &[]), &head);
    let cx = Context {
        graph: Some(&head),
        review: Some(&inp),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Review, &cx);
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&findings, "review-new-crate");
    assert_eq!((f.severity, package(f)), (Severity::Low, "bar"));
    assert_eq!(codes(&findings), vec!["review-new-crate"]);
    let same = inputs(lock("1.0.0", &[]), &lock("1.0.0", &[]));
    let cx = Context {
        review: Some(&same),
        ..cx
    };
    let (_, findings) = run(&Review, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn downgrade_and_source_change_are_reported() {
    let head = lock("1.0.0", &[]);
    let inp = inputs(lock("1.1.0", &[]), &head);
    let cx = Context {
        graph: Some(&head),
        review: Some(&inp),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Review, &cx);
    assert_eq!(one(&findings, "review-downgrade").severity, Severity::Low);
    let moved = graph(&[
        ("app", "0.1.0", None),
        (
            "foo",
            "1.0.0",
            Some("registry+https://crates.acme.test/index"),
        ),
    ]);
    let inp = inputs(lock("1.0.0", &[]), &moved);
    let cx = Context {
        graph: Some(&moved),
        review: Some(&inp),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Review, &cx);
    let f = one(&findings, "review-source-changed");
    assert_eq!((f.severity, package(f)), (Severity::Medium, "foo"));
}

#[test]
fn version_published_days_ago_is_young_and_an_older_one_is_not() {
    let head = lock("1.1.0", &[]);
    let inp = inputs(lock("1.0.0", &[]), &head);
    for (pubtime, young) in [
        ("2026-05-30T00:00:00Z", true),
        ("2026-01-01T00:00:00Z", false),
    ] {
        let idx = index(
            None,
            vec![("foo", found(vec![entry("1.1.0", false, Some(pubtime))]))],
        );
        let cx = Context {
            graph: Some(&head),
            review: Some(&inp),
            index: Some(&idx),
            ..Context::new(clock())
        };
        let (_, sink) = run_sink(&Review, &cx);
        let found = with_code(&sink.findings, "review-version-young");
        assert_eq!(
            found.len(),
            usize::from(young),
            "{pubtime}: {:#?}",
            sink.findings
        );
        if young {
            assert_eq!(found[0].severity, Severity::Medium);
        }
        let rows = sink.review.unwrap().changes;
        assert_eq!(rows[0].age_days, Some(if young { 2 } else { 151 }));
    }
}

#[test]
fn build_script_added_is_low_and_critical_with_an_exfiltration_shape() {
    let plain = upgrade_with(
        CrateAnalysis::default(),
        build_script(Capabilities::default()),
    );
    assert_eq!(
        one(&plain, "review-build-script-added").severity,
        Severity::Low
    );
    let exfil = Capabilities {
        env_reads: set(&["GITHUB_TOKEN"]),
        network: set(&["reqwest"]),
        ..Capabilities::default()
    };
    let findings = upgrade_with(CrateAnalysis::default(), build_script(exfil));
    assert_eq!(
        one(&findings, "review-build-script-added").severity,
        Severity::Critical
    );
}

#[test]
fn unchanged_build_script_is_not_reported_and_a_diff_of_it_is() {
    let unchanged = upgrade_with(
        build_script(Capabilities::default()),
        build_script(Capabilities::default()),
    );
    assert!(unchanged.is_empty(), "{unchanged:#?}");
    let head = lock("1.1.0", &[]);
    let mut inp = inputs(lock("1.0.0", &[]), &head);
    let k = change(&inp, "foo");
    inp.code[k] = ChangeCode {
        old: Some(Ok(build_script(Capabilities::default()))),
        new: Some(Ok(build_script(Capabilities::default()))),
        code: Some(Ok(CodeChanges {
            diffs: vec![FileDiff {
                path: "build.rs".into(),
                role: "build script",
                unified: "+let x = 1;\n".into(),
                truncated_lines: 0,
            }],
            ..CodeChanges::default()
        })),
    };
    let cx = Context {
        graph: Some(&head),
        review: Some(&inp),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Review, &cx);
    assert_eq!(codes(&findings), vec!["review-build-script-changed"]);
}

#[test]
fn new_proc_macro_is_reported() {
    let findings = upgrade_with(
        CrateAnalysis::default(),
        CrateAnalysis {
            proc_macro: true,
            ..CrateAnalysis::default()
        },
    );
    assert_eq!(codes(&findings), vec!["review-proc-macro-added"]);
}

#[test]
fn gained_capability_is_high_and_a_kept_one_is_not_reported() {
    let before = Capabilities {
        processes: set(&["Command::new(\"cc\")"]),
        ..Capabilities::default()
    };
    let after = Capabilities {
        network: set(&["std::net::TcpStream"]),
        ..before.clone()
    };
    let findings = upgrade_with(build_script(before.clone()), build_script(after));
    let f = one(&findings, "review-capability-added");
    assert_eq!((f.severity, package(f)), (Severity::High, "foo"));
    assert!(f.evidence[0].contains("TcpStream"), "{f:?}");
    let kept = upgrade_with(build_script(before.clone()), build_script(before));
    assert!(kept.is_empty(), "{kept:#?}");
}

#[test]
fn added_native_file_and_more_unsafe_are_reported() {
    let mut new = CrateAnalysis {
        native_files: vec![("bin/helper".into(), FileKind::Elf)],
        ..CrateAnalysis::default()
    };
    new.unsafe_counts.blocks = 3;
    let findings = upgrade_with(CrateAnalysis::default(), new);
    assert_eq!(
        one(&findings, "review-native-binary-added").severity,
        Severity::High
    );
    let f = one(&findings, "review-unsafe-increased");
    assert_eq!(f.title, "foo 1.0.0 -> 1.1.0: unsafe grows from 0 to 3");
}

#[test]
fn unreadable_archive_of_a_change_is_reported_and_partial() {
    let head = lock("1.1.0", &[]);
    let mut inp = inputs(lock("1.0.0", &[]), &head);
    let k = change(&inp, "foo");
    inp.code[k].code = Some(Err("download failed".into()));
    let cx = Context {
        graph: Some(&head),
        review: Some(&inp),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Review, &cx);
    assert!(partial_because(&status, "1 changes"), "{status:?}");
    assert_eq!(
        one(&findings, "review-code-unavailable").evidence,
        vec!["download failed"]
    );
}

#[test]
fn upgrade_past_an_advisory_is_noted_as_fixed() {
    let (_dir, db) = advisory_db(&[(
        "foo",
        "RUSTSEC-2026-0009",
        advisory(
            "RUSTSEC-2026-0009",
            "foo",
            "2026-05-01",
            "",
            "patched = [\">= 1.1.0\"]",
        ),
    )]);
    let head = lock("1.1.0", &[]);
    let inp = inputs(lock("1.0.0", &[]), &head);
    let cx = Context {
        graph: Some(&head),
        review: Some(&inp),
        db: Some(&db),
        ..Context::new(clock())
    };
    let (_, sink) = run_sink(&Review, &cx);
    let f = one(&sink.findings, "review-advisory-fixed");
    assert_eq!(f.severity, Severity::Info);
    assert_eq!(
        sink.review.unwrap().changes[0].advisories_fixed,
        vec!["RUSTSEC-2026-0009"]
    );
}

#[test]
fn base_without_a_lockfile_is_reported() {
    let head = lock("1.0.0", &[]);
    let inp = ReviewInputs {
        base: None,
        base_label: "main".into(),
        head_label: "HEAD".into(),
        delta: LockfileDelta::default(),
        code: Vec::new(),
        young_days: 7,
    };
    let cx = Context {
        graph: Some(&head),
        review: Some(&inp),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Review, &cx);
    let f = one(&findings, "review-no-base");
    assert_eq!(f.title, "main has no Cargo.lock: all 2 packages are new");
}

#[test]
fn without_a_base_the_check_is_skipped() {
    let g = lock("1.0.0", &[]);
    let cx = Context {
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, _) = run(&Review, &cx);
    assert!(skipped_because(&status, "no base"), "{status:?}");
}
