//! The output formats: SARIF and JSON against their schemas, Markdown, a plain output file.

use crate::common::*;

#[test]
fn sarif_is_valid_against_the_official_schema() {
    let tmp = takeover();
    let run = run(tmp.path(), &args(AUDIT, &["--format", "sarif"]));
    assert_eq!(run.code, 1);
    assert_valid_sarif(&run.stdout);
    let sarif: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let report = json(&crate::common::run(
        tmp.path(),
        &args(AUDIT, &["--format", "json"]),
    ));
    assert_eq!(results.len(), report["findings"].as_array().unwrap().len());
    assert_eq!(results[0]["ruleId"], "advisory-malicious");
    assert_eq!(results[0]["level"], "error");
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "ws/Cargo.lock"
    );
    // A schema that rejects nothing would make this test pointless.
    let invalid = std::panic::catch_unwind(|| {
        assert_valid_sarif(r#"{"version": "2.1.0", "runs": [{"tool": {}}]}"#)
    });
    assert!(invalid.is_err());
}

#[test]
fn json_follows_the_published_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let tmp = takeover();
    let mut reports = vec![json(&run(
        tmp.path(),
        &args(
            AUDIT,
            &["--format", "json", "--env", "--cargo-home", &cargo_home()],
        ),
    ))];
    reports.push(json(&run(
        &repo(),
        &[
            "audit",
            "--manifest-path",
            "fixtures/corpus/bevyengine__bevy",
            "--offline",
            "--format",
            "json",
        ],
    )));
    reports.push(json(&run(
        &repo(),
        &[
            "audit",
            "--file",
            "fixtures/corpus/_historical/tikv__tikv@ee39b4e7_2020-06-01.Cargo.lock",
            "--offline",
            "--no-yanked",
            "--format",
            "json",
            "--deny",
            "none",
        ],
    )));
    for report in &reports {
        let errors: Vec<String> = validator
            .iter_errors(report)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    let mut broken = reports[0].clone();
    broken["findings"][0]["severity"] = serde_json::json!("catastrophic");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn markdown_is_a_pr_comment() {
    let tmp = takeover();
    let run = run(tmp.path(), &args(AUDIT, &["--format", "markdown"]));
    assert_eq!(run.code, 1);
    assert!(run.stdout.starts_with("## cargo-reflex audit: ❌ failed"));
    assert!(
        run.stdout
            .contains("| severity | finding | package | where | fix |")
    );
    assert!(
        run.stdout
            .contains("| 🟣 critical | [RUSTSEC-2026-9001: malicious crate `url-parse`]")
    );
    assert!(run.stdout.contains("42.9%"));
}

#[test]
fn output_file_gets_plain_text() {
    let tmp = takeover();
    let base: Vec<&str> = without(AUDIT, &["--color", "never"]);
    let run = run(
        tmp.path(),
        &args(&base, &["--color", "always", "-o", "report.txt"]),
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    let text = std::fs::read_to_string(tmp.path().join("report.txt")).unwrap();
    assert!(text.contains("advisory-malicious") && !text.contains('\u{1b}'));
}
