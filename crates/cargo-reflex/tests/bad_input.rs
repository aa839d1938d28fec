//! Hostile and broken input: never a panic, always the file, the position and what is wrong,
//! exit 2. A corrupt advisory is reported and skipped, not fatal.

mod common;
use common::*;

fn audit_file(dir: &std::path::Path, name: &str, content: &str) -> Run {
    std::fs::write(dir.join(name), content).unwrap();
    run(dir, &["audit", "--file", name, "--offline", "--no-yanked"])
}

fn assert_error(run: &Run, needles: &[&str]) {
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "no report on error: {}", run.stdout);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    for n in needles {
        assert!(
            run.stderr.contains(n),
            "stderr lacks {n:?}:\n{}",
            run.stderr
        );
    }
}

#[test]
fn regression_truncated_lockfile_names_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let full = std::fs::read_to_string(fixture("scenarios/takeover/Cargo.lock")).unwrap();
    let cut = &full[..full.find("checksum = \"c4488").unwrap() + 20];
    assert_error(
        &audit_file(tmp.path(), "Cargo.lock", cut),
        &["Cargo.lock:40:21", "error:"],
    );
}

#[test]
fn regression_unknown_lockfile_version() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("scenarios/takeover/Cargo.lock"))
        .unwrap()
        .replace("version = 4", "version = 9");
    assert_error(
        &audit_file(tmp.path(), "Cargo.lock", &text),
        &["Cargo.lock:", "9"],
    );
}

#[test]
fn regression_toml_syntax_error() {
    let tmp = tempfile::tempdir().unwrap();
    assert_error(
        &audit_file(
            tmp.path(),
            "Cargo.lock",
            "version = 4\n[[package]\nname = \"x\"\n",
        ),
        &["Cargo.lock:2:"],
    );
}

#[test]
fn regression_lockfile_with_wrong_shapes() {
    let tmp = tempfile::tempdir().unwrap();
    assert_error(
        &audit_file(
            tmp.path(),
            "a.lock",
            "version = 4\n[[package]]\nname = \"x\"\nversion = \"not-semver\"\n",
        ),
        &["a.lock:"],
    );
    assert_error(
        &audit_file(tmp.path(), "b.lock", "version = 4\n[[package]]\nname = 7\n"),
        &["b.lock:"],
    );
    assert_error(
        &audit_file(tmp.path(), "c.lock", "\u{0}\u{1}binary"),
        &["c.lock:"],
    );
    assert_error(
        &audit_file(tmp.path(), "d.lock", ""),
        &["d.lock:1:1", "empty"],
    );
}

#[test]
fn regression_unreadable_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    assert_error(
        &run(tmp.path(), &["audit", "--file", "missing.lock"]),
        &["missing.lock"],
    );
    std::fs::create_dir(tmp.path().join("dir.lock")).unwrap();
    assert_error(
        &run(tmp.path(), &["audit", "--file", "dir.lock"]),
        &["dir.lock"],
    );
    assert_error(&run(tmp.path(), &["audit"]), &["Cargo.toml"]);
    std::fs::copy(
        fixture("scenarios/takeover/Cargo.lock"),
        tmp.path().join("Cargo.lock"),
    )
    .unwrap();
    assert_error(
        &run(
            tmp.path(),
            &["audit", "--file", "Cargo.lock", "--advisory-db", "nowhere"],
        ),
        &["nowhere", "not a RustSec advisory database"],
    );
}

#[test]
fn regression_malformed_manifest_and_cargo_config() {
    let tmp = takeover();
    let manifest = tmp.path().join("ws/app/Cargo.toml");
    std::fs::write(&manifest, "[package]\nname = \"app\"\nversion = \n").unwrap();
    assert_error(&run(tmp.path(), AUDIT), &["Cargo.toml:3:"]);

    let tmp = takeover();
    std::fs::write(tmp.path().join("ws/.cargo/config.toml"), "[registries\n").unwrap();
    assert_error(&run(tmp.path(), AUDIT), &["config.toml:1:"]);
}

#[test]
fn regression_invalid_workflow_is_a_finding_not_a_crash() {
    let tmp = takeover();
    std::fs::write(
        tmp.path().join("ws/.github/workflows/broken.yml"),
        "jobs:\n  a: [unclosed\n",
    )
    .unwrap();
    let run = run(tmp.path(), &args(AUDIT, &["--format", "json"]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = json(&run);
    let f = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "ci-file-unparsable")
        .expect("finding");
    assert!(
        f["location"]["path"]
            .as_str()
            .unwrap()
            .ends_with("broken.yml")
    );
    assert!(f["location"]["line"].as_u64().unwrap() >= 2);
}

#[test]
fn regression_corrupt_advisory_is_skipped_not_fatal() {
    let tmp = takeover();
    std::fs::write(
        tmp.path()
            .join("advisory-db/crates/smallvec/RUSTSEC-2019-0009.md"),
        "```toml\n[advisory\n```\n# x\n",
    )
    .unwrap();
    let run = run(tmp.path(), &args(AUDIT, &["--format", "json"]));
    assert_eq!(run.code, 1);
    let report = json(&run);
    assert_eq!(report["advisory_db"]["invalid_entries"], 2);
    let text = report.to_string();
    assert!(
        text.contains("RUSTSEC-2019-0012"),
        "the rest of the smallvec advisories still match"
    );
    assert!(!text.contains("\"RUSTSEC-2019-0009\""));
}

#[test]
fn regression_hostile_names_and_cycles_in_lockfile() {
    let tmp = tempfile::tempdir().unwrap();
    let lock = r#"version = 4
[[package]]
name = "a"
version = "0.1.0"
dependencies = ["b", "ghost"]

[[package]]
name = "b"
version = "0.1.0"
dependencies = ["a"]

[[package]]
name = "zz\u202e-evil"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;
    // A dependency on a package the lockfile does not contain: malformed, pointed at.
    assert_error(
        &audit_file(tmp.path(), "Cargo.lock", lock),
        &["Cargo.lock:5:", "ghost"],
    );
    // Cycles and odd names are fine.
    let run = audit_file(tmp.path(), "Cargo.lock", &lock.replace(", \"ghost\"", ""));
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// A scratch copy of the takeover workspace in a fresh git repository (no commits yet).
fn repo_without_history() -> tempfile::TempDir {
    let tmp = takeover();
    git(&tmp.path().join("ws"), &["init", "-q", "-b", "main"]);
    tmp
}

fn review(dir: &std::path::Path, extra: &[&str]) -> Run {
    let mut a = vec!["review", "--offline", "--now", "2026-11-25"];
    a.extend_from_slice(extra);
    run(dir, &a)
}

#[test]
fn regression_invalid_policy_points_at_every_mistake() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("scenarios/takeover"), tmp.path());
    std::fs::write(
        tmp.path().join("reflex.toml"),
        "version = 1\n[checks]\ntyposqat = \"deny\"\n[cooldown]\nmin-age-days = -3\nunknown-publish-time = \"maybe\"\n[[exception]]\ncode = \"no-such-code\"\n[sources]\ngit = \"sometimes\"\n[[build-time.allow]]\ncrate = \"cc\"\n",
    )
    .unwrap();
    let gate = run(tmp.path(), &["gate", "--offline"]);
    assert_error(
        &gate,
        &[
            "reflex.toml has 7 problems",
            "reflex.toml:3:1: unknown check `typosqat`",
            "did you mean `typosquat`?",
            "reflex.toml:5:16: `min-age-days` must be a whole number of days",
            "reflex.toml:6:24: unknown level `maybe`",
            "reflex.toml:7:1: exception without a `reason`",
            "reflex.toml:8:8: unknown finding code `no-such-code`",
            "reflex.toml:10:7: unknown git rule `sometimes`",
            "reflex.toml:11:1: allow entry without a `reason`",
        ],
    );
    // Not TOML at all: one syntax error with its position.
    std::fs::write(tmp.path().join("reflex.toml"), "version = 1\n[checks\n").unwrap();
    assert_error(
        &run(tmp.path(), &["gate", "--offline"]),
        &["reflex.toml:2:"],
    );
    // A cargo-vet import that is not there.
    std::fs::write(
        tmp.path().join("reflex.toml"),
        "version = 1\n[trust-import]\naudits = [\"supply-chain/audits.toml\"]\n",
    )
    .unwrap();
    assert_error(
        &run(tmp.path(), &["gate", "--offline"]),
        &[
            "cannot read the cargo-vet audits",
            "supply-chain/audits.toml",
        ],
    );
}

#[test]
fn regression_review_of_unknown_revision_and_empty_history() {
    let tmp = repo_without_history();
    let ws = tmp.path().join("ws");
    assert_error(
        &review(&ws, &[]),
        &[
            "cannot compare with `HEAD`: the repository has no commits yet",
            "--base-file",
        ],
    );
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "first"]);
    assert_error(
        &review(&ws, &["no-such-branch"]),
        &["unknown revision `no-such-branch`", "fetch-depth: 0"],
    );
    assert_error(&review(&ws, &["main..nope"]), &["unknown revision `nope`"]);
    // Outside any repository.
    let plain = takeover();
    assert_error(
        &review(&plain.path().join("ws"), &[]),
        &["is not in a git repository", "--base-file"],
    );
}

#[test]
fn regression_review_base_without_lockfile_lists_everything_as_new() {
    let tmp = repo_without_history();
    let ws = tmp.path().join("ws");
    let lock = std::fs::read_to_string(ws.join("Cargo.lock")).unwrap();
    std::fs::remove_file(ws.join("Cargo.lock")).unwrap();
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "no lockfile yet"]);
    std::fs::write(ws.join("Cargo.lock"), lock).unwrap();
    let r = review(&ws, &["--format", "json", "--deny", "none"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r);
    assert!(codes(&report).contains(&"review-no-base".to_string()));
    let changes = report["review"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 6, "{changes:#?}");
    assert!(changes.iter().all(|c| c["kind"] == "added"));
}

#[test]
fn regression_review_file_arguments() {
    let tmp = takeover();
    let ws = tmp.path().join("ws");
    assert_error(
        &review(&ws, &["--head-file", "Cargo.lock"]),
        &["--head-file needs a base to compare with"],
    );
    assert_error(
        &review(&ws, &["--base-file", "missing.lock"]),
        &["missing.lock"],
    );
    std::fs::write(
        ws.join("broken.lock"),
        "version = 4\n[[package]]\nname = 1\n",
    )
    .unwrap();
    assert_error(
        &review(&ws, &["--base-file", "broken.lock"]),
        &["broken.lock:3:"],
    );
    // The same file on both sides: nothing changed, and it says so.
    let same = review(
        &ws,
        &[
            "--base-file",
            "Cargo.lock",
            "--head-file",
            "Cargo.lock",
            "--format",
            "json",
        ],
    );
    assert_eq!(
        json(&same)["review"]["changes"].as_array().unwrap().len(),
        0
    );
}
