//! Lockfiles and workspaces: every lockfile format and stdin, missing, out of sync, not
//! committed; a member's manifest path; a missing member manifest.

use crate::common::*;

#[test]
fn lockfile_formats_v1_to_v4_and_stdin() {
    let tmp = takeover();
    let v4 = std::fs::read_to_string(tmp.path().join("ws/Cargo.lock")).unwrap();
    std::fs::write(
        tmp.path().join("v3.lock"),
        v4.replace("version = 4", "version = 3"),
    )
    .unwrap();
    let cases = [
        (
            "fixtures/corpus/_historical/BurntSushi__ripgrep@9dcfd9a2_2019-04-25.Cargo.lock",
            1,
        ),
        (
            "fixtures/corpus/_historical/tikv__tikv@ee39b4e7_2020-06-01.Cargo.lock",
            2,
        ),
        ("fixtures/corpus/nushell__nushell/Cargo.lock", 4),
    ];
    for (path, version) in cases {
        let report = json(&run(
            &repo(),
            &[
                "audit",
                "--file",
                path,
                "--offline",
                "--no-yanked",
                "--format",
                "json",
                "--now",
                "2026-11-25",
            ],
        ));
        assert_eq!(report["target"]["lockfile_version"], version, "{path}");
        assert!(report["target"]["package_count"].as_u64().unwrap() > 50);
    }
    let v3 = json(&run(
        tmp.path(),
        &[
            "audit",
            "--file",
            "v3.lock",
            "--advisory-db",
            "advisory-db",
            "--offline",
            "--format",
            "json",
        ],
    ));
    assert_eq!(v3["target"]["lockfile_version"], 3);
    let stdin = run_with(
        tmp.path(),
        &[
            "audit",
            "--file",
            "-",
            "--advisory-db",
            "advisory-db",
            "--offline",
            "--format",
            "json",
        ],
        &[],
        Some(&v4),
    );
    assert_eq!(stdin.code, 1);
    assert_eq!(json(&stdin)["findings"][0]["package"]["name"], "url-parse");
}

#[test]
fn missing_lockfile_is_a_finding_not_a_pass() {
    let out = run(
        &repo(),
        &[
            "audit",
            "--manifest-path",
            "fixtures/corpus/bevyengine__bevy/Cargo.toml",
            "--offline",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        out.code, 1,
        "unchecked advisories fail at the default level"
    );
    let report = json(&out);
    assert_eq!(report["summary"]["passed"], false);
    assert!(codes(&report).contains(&"lockfile-missing".to_string()));
    let advisories = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "advisories")
        .unwrap();
    assert_eq!(advisories["status"], "skipped");
}

#[test]
fn out_of_sync_lockfile_is_detected() {
    let tmp = takeover();
    let manifest = tmp.path().join("ws/app/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "rust-utilities-v2 = \"2.1\"",
        "rust-utilities-v2 = \"3\"\nserde = \"1\"",
    );
    std::fs::write(&manifest, text).unwrap();
    let report = json(&run(tmp.path(), &args(AUDIT, &["--format", "json"])));
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "lockfile-out-of-sync")
        .expect("out-of-sync finding");
    let evidence = f["evidence"].to_string();
    assert!(
        evidence.contains("declares dependency `serde`"),
        "{evidence}"
    );
    assert!(
        evidence.contains("requires `rust-utilities-v2 ^3` but Cargo.lock has 2.1.1"),
        "{evidence}"
    );
}

#[test]
fn lockfile_must_be_committed_and_not_ignored() {
    let tmp = takeover();
    let ws = tmp.path().join("ws");
    git(&ws, &["init", "-q"]);
    std::fs::write(ws.join(".gitignore"), "Cargo.lock\n").unwrap();
    let report = json(&run(tmp.path(), &args(AUDIT, &["--format", "json"])));
    let c = codes(&report);
    assert!(
        c.contains(&"lockfile-untracked".into()) && c.contains(&"lockfile-gitignored".into()),
        "{c:?}"
    );
    std::fs::write(ws.join(".gitignore"), "/target\n").unwrap();
    git(&ws, &["add", "."]);
    git(&ws, &["commit", "-qm", "init"]);
    let report = json(&run(tmp.path(), &args(AUDIT, &["--format", "json"])));
    let c = codes(&report);
    assert!(
        !c.contains(&"lockfile-untracked".into()) && !c.contains(&"lockfile-gitignored".into()),
        "{c:?}"
    );
}

#[test]
fn manifest_path_of_a_member_finds_the_workspace_root() {
    let tmp = takeover();
    let from_member = json(&run(
        tmp.path(),
        &[
            "audit",
            "--manifest-path",
            "ws/app/Cargo.toml",
            "--advisory-db",
            "advisory-db",
            "--offline",
            "--format",
            "json",
        ],
    ));
    assert_eq!(from_member["target"]["workspace_root"], "ws");
    assert_eq!(from_member["target"]["lockfile"], "ws/Cargo.lock");
    // Run from inside the member directory with no flags at all.
    let inside = json(&run(
        &tmp.path().join("ws/app"),
        &[
            "audit",
            "--advisory-db",
            "../../advisory-db",
            "--offline",
            "--format",
            "json",
        ],
    ));
    assert_eq!(inside["summary"]["critical"], 1);
    assert!(!codes(&inside).contains(&"lockfile-out-of-sync".to_string()));
}

#[test]
fn missing_member_manifest_is_reported_as_unverifiable_not_as_drift() {
    let tmp = takeover();
    std::fs::remove_file(tmp.path().join("ws/app/Cargo.toml")).unwrap();
    let report = json(&run(tmp.path(), &args(AUDIT, &["--format", "json"])));
    let c = codes(&report);
    assert!(c.contains(&"lockfile-unverifiable".to_string()), "{c:?}");
    assert!(!c.contains(&"lockfile-out-of-sync".to_string()), "{c:?}");
    let lockfile = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "lockfile")
        .unwrap();
    assert_eq!(lockfile["status"], "partial");
}
