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
