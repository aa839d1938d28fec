//! End-to-end tests of `cargo reflex recon` on the squat scenario (typosquats, dependency
//! confusion, stale and abandoned crates) and on the real corpus.

mod common;
use common::*;
use std::path::Path;

/// `<tmp>/ws` (the squat scenario) and `<tmp>/advisory-db`.
fn squat() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("scenarios/squat"), &tmp.path().join("ws"));
    copy_dir(
        &fixture("advisory-db-scenario"),
        &tmp.path().join("advisory-db"),
    );
    tmp
}

const RECON: &[&str] = &[
    "recon",
    "--manifest-path",
    "ws",
    "--advisory-db",
    "advisory-db",
    "--now",
    "2026-11-25",
    "--color",
    "never",
];

fn findings<'a>(report: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .collect()
}

#[test]
fn offline_recon_names_typosquats_and_says_what_it_cannot_date() {
    let tmp = squat();
    let run = run(tmp.path(), &args(RECON, &["--offline", "--format", "json"]));
    let report = json(&run);
    let squats: Vec<(&str, &str)> = findings(&report, "typosquat-suspect")
        .iter()
        .map(|f| {
            (
                f["package"]["name"].as_str().unwrap(),
                f["title"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        squats.contains(&("serd", "`serd` may imitate `serde`")),
        "{squats:?}"
    );
    assert!(
        squats.contains(&("rustdecimal", "`rustdecimal` may imitate `rust_decimal`")),
        "{squats:?}"
    );
    assert_eq!(
        squats.len(),
        2,
        "url_parse is not in the default corpus: {squats:?}"
    );
    assert_eq!(findings(&report, "registry-data-missing").len(), 1);
    let freshness = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "freshness")
        .unwrap();
    assert_eq!(freshness["status"], "partial");
    assert_eq!(report["metrics"]["typosquat_suspects"], 2);
    assert_eq!(report["metrics"]["dated"], 0);

    // A custom corpus: `url-parse` imitates `url_parse`.
    let custom = json(&common::run(
        tmp.path(),
        &args(
            RECON,
            &[
                "--offline",
                "--format",
                "json",
                "--popular",
                "ws/popular.txt",
            ],
        ),
    ));
    assert!(
        findings(&custom, "typosquat-suspect")
            .iter()
            .any(|f| f["title"] == "`url-parse` may imitate `url_parse`")
    );
}

#[test]
fn online_recon_dates_crates_ranks_takeover_targets_and_finds_confusion() {
    let tmp = squat();
    let (url, _server) = online_registry(tmp.path());
    let extra = [
        "--crates-io-index",
        url.as_str(),
        "--cargo-home",
        "no-cargo-home",
        "--no-fetch",
        "--internal-prefix",
        "acme-",
    ];
    let run = run(
        tmp.path(),
        &args(RECON, &[&["--format", "json"][..], &extra[..]].concat()),
    );
    let report = json(&run);

    takeover_targets_ranked(&report);
    dependency_confusion_found(&report);
    assert_eq!(
        run.code, 1,
        "the high confusion finding and the malicious advisory fail the run"
    );

    build_time_code_read_from_the_archives(&report, tmp.path());

    // What users see.
    let human = common::run(tmp.path(), &args(RECON, &extra));
    insta::assert_snapshot!(
        "squat_recon_human",
        human.stdout.replace(&url, "http://127.0.0.1:PORT/")
    );
    // SARIF of a recon run is valid too (schema quirk as in the audit test).
    let sarif_run = common::run(
        tmp.path(),
        &args(RECON, &[&["--format", "sarif"][..], &extra[..]].concat()),
    );
    let sarif: serde_json::Value = serde_json::from_str(&sarif_run.stdout).unwrap();
    let sarif_schema_text = std::fs::read_to_string(fixture("sarif/sarif-schema-2.1.0.json"))
        .unwrap()
        .replace(
            "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
            "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
        );
    let sarif_validator =
        jsonschema::validator_for(&serde_json::from_str(&sarif_schema_text).unwrap()).unwrap();
    assert!(sarif_validator.is_valid(&sarif));
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        report["findings"].as_array().unwrap().len()
    );
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// The registry recon asks: a sparse index (crates.io's, and the private registry's under
/// `alt/`, which the lockfile in `dir` is pointed at), and the archives of three crates. Its
/// URL and the server.
fn online_registry(dir: &Path) -> (String, reflex::drill::registry::Registry) {
    let crate_file = |name: &str| std::fs::read(fixture(&format!("crates/{name}"))).unwrap();
    let (url, server) = server();
    let index: Vec<(&str, String)> = vec![
        (
            "ol/d-/old-but-gold",
            line_at("old-but-gold", "1.0.0", false, "2019-01-15T00:00:00Z"),
        ),
        (
            "ab/an/abandoned",
            line_at("abandoned", "0.1.0", true, "2020-01-01T00:00:00Z")
                + &line_at("abandoned", "0.2.0", true, "2020-02-01T00:00:00Z"),
        ),
        (
            "se/rd/serd",
            line_at("serd", "0.1.0", false, "2026-11-01T00:00:00Z"),
        ),
        (
            "ur/l-/url-parse",
            line_at("url-parse", "0.1.0", false, "2026-11-20T00:00:00Z"),
        ),
        (
            "ac/me/acme-auth",
            line_at("acme-auth", "0.9.0", false, "2026-06-01T00:00:00Z"),
        ),
        (
            "in/te/internal-utils",
            line_at("internal-utils", "9.9.9", false, "2026-10-01T00:00:00Z"),
        ),
        (
            "bi/ll/billing",
            line_at("billing", "1.0.0", false, "2025-01-01T00:00:00Z"),
        ),
        (
            "alt/in/te/internal-utils",
            line_at("internal-utils", "1.4.0", false, "2026-03-01T00:00:00Z"),
        ),
    ];
    let mut entries: Vec<(String, Vec<u8>)> = index
        .into_iter()
        .map(|(p, b)| (p.to_string(), b.into_bytes()))
        .collect();
    entries.push((
        "config.json".into(),
        format!("{{\"dl\": \"{url}dl\"}}").into_bytes(),
    ));
    for (name, version) in [
        ("url-parse", "0.1.0"),
        ("serd", "0.1.0"),
        ("rustdecimal", "1.23.1"),
    ] {
        entries.push((
            format!("dl/{name}/{version}/download"),
            crate_file(&format!("{name}-{version}.crate")),
        ));
    }
    server.serve_files(entries.into_iter().collect());
    let lock = dir.join("ws/Cargo.lock");
    let text = std::fs::read_to_string(&lock).unwrap().replace(
        "sparse+http://127.0.0.1:9/index/",
        &format!("sparse+{url}alt/"),
    );
    std::fs::write(&lock, text).unwrap();
    (url, server)
}

/// Freshness and takeover targets.
fn takeover_targets_ranked(report: &serde_json::Value) {
    // old-but-gold is old, stale and everything depends on it.
    let rows = report["crates"].as_array().unwrap();
    let gold = &rows[0];
    assert_eq!(
        gold["name"], "old-but-gold",
        "highest takeover score first: {rows:#?}"
    );
    assert_eq!(gold["released"], "2019-01-15");
    assert_eq!(gold["stale"], true);
    assert_eq!(gold["dependents"], 5);
    assert!(gold["takeover_score"].as_f64().unwrap() > 0.0);
    assert!(
        findings(report, "takeover-target")
            .iter()
            .any(|f| f["package"]["name"] == "old-but-gold")
    );
    assert!(
        findings(report, "stale-crate")
            .iter()
            .any(|f| f["package"]["name"] == "old-but-gold")
    );
    assert_eq!(
        findings(report, "unmaintained-suspect")[0]["package"]["name"],
        "abandoned"
    );
    let serd = rows.iter().find(|r| r["name"] == "serd").unwrap();
    assert_eq!(serd["age_days"], 24);
    assert_eq!(serd["stale"], false);
    assert_eq!(report["metrics"]["stale"], 2);
}

/// Dependency confusion and internal names.
fn dependency_confusion_found(report: &serde_json::Value) {
    // Dependency confusion: the private registry's crate and the unpublishable workspace crate
    // exist on crates.io; an internal-prefixed crate comes from crates.io.
    let confusion: Vec<&str> = findings(report, "dependency-confusion")
        .iter()
        .map(|f| f["package"]["name"].as_str().unwrap())
        .collect();
    assert!(
        confusion.contains(&"internal-utils") && confusion.contains(&"billing"),
        "{confusion:?}"
    );
    let utils = findings(report, "dependency-confusion")
        .into_iter()
        .find(|f| f["package"]["name"] == "internal-utils")
        .unwrap();
    assert!(
        utils["evidence"]
            .to_string()
            .contains("public 9.9.9 is newer than the internal 1.4.0")
    );
    assert_eq!(
        findings(report, "internal-name-from-public-registry")[0]["package"]["name"],
        "acme-auth"
    );
    assert!(
        findings(report, "internal-crate-without-prefix")
            .iter()
            .any(|f| f["package"]["name"] == "billing")
    );
}

/// Build-time code and repository claims, read from the archives; only verified archives are
/// cached.
fn build_time_code_read_from_the_archives(report: &serde_json::Value, dir: &Path) {
    let rows = report["crates"].as_array().unwrap();
    // Build-time code, read from the archives the registry serves.
    assert_eq!(
        findings(report, "archive-checksum-mismatch")[0]["package"]["name"],
        "rustdecimal"
    );
    assert!(
        findings(report, "archive-hostile")
            .iter()
            .any(|f| f["evidence"].to_string().contains("path escapes"))
    );
    let secret = findings(report, "build-time-secret-read");
    assert_eq!(secret[0]["package"]["name"], "url-parse");
    assert!(
        secret[0]["evidence"]
            .to_string()
            .contains("AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN")
    );
    assert!(
        findings(report, "build-time-network")
            .iter()
            .any(|f| f["package"]["name"] == "url-parse")
    );
    assert!(
        findings(report, "build-time-process")
            .iter()
            .any(|f| f["package"]["name"] == "serd" && f["evidence"].to_string().contains("sh"))
    );
    assert!(
        findings(report, "native-binary")
            .iter()
            .any(|f| f["package"]["name"] == "serd")
    );
    let serd = rows.iter().find(|r| r["name"] == "serd").unwrap();
    assert_eq!(
        (serd["proc_macro"].as_bool(), serd["unsafe_total"].as_u64()),
        (Some(true), Some(1))
    );
    let parse = rows.iter().find(|r| r["name"] == "url-parse").unwrap();
    assert_eq!(parse["build_script"], true);
    assert_eq!(report["metrics"]["build_time_code"], 2);
    // serd points at serde's repository: a copycat.
    let claims = findings(report, "impersonation-repository");
    assert!(
        claims
            .iter()
            .any(|f| f["title"] == "`serd` claims the repository of `serde`"),
        "{claims:?}"
    );
    assert!(
        findings(report, "repository-link-suspicious")
            .iter()
            .any(|f| f["package"]["name"] == "url-parse")
    );
    assert!(
        dir.join("__cache/crates/url-parse-0.1.0.crate").is_file(),
        "verified archives are cached"
    );
    assert!(
        !dir.join("__cache/crates/rustdecimal-1.23.1.crate").exists(),
        "a tampered archive is never cached"
    );
}

/// Every typosquat suspicion on the real corpus lockfiles, reviewed by hand: an `-rs` affix on a
/// popular name (`multipart-rs` for `multipart` #788) is the pattern squatters use (`lasso-rs`,
/// `winx-rs`, `monero-rpc-rs`); forks numbered after a crate outside the top 2,000 (`get-size2`),
/// siblings in a digit series (`wasip1` beside `wasip2` and `wasip3`) and crates of the popularity
/// corpus near a more popular name (`manyhow`) are not flagged; nothing else in 14 real graphs is.
#[test]
fn typosquat_suspicions_on_the_real_corpus_are_the_reviewed_ones() {
    let mut lines = Vec::new();
    let corpus = fixture("corpus");
    let mut locks: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("Cargo.lock"))
        .filter(|p| p.is_file())
        .collect();
    locks.extend(
        std::fs::read_dir(corpus.join("_historical"))
            .unwrap()
            .flatten()
            .map(|e| e.path()),
    );
    locks.sort();
    for lock in locks {
        let report = json(&run(
            &repo(),
            &[
                "recon",
                "--file",
                lock.to_str().unwrap(),
                "--offline",
                "--format",
                "json",
                "--no-fetch",
            ],
        ));
        for f in findings(&report, "typosquat-suspect") {
            lines.push(format!(
                "{}: {} [{}]",
                lock.strip_prefix(&corpus).unwrap().display(),
                f["title"].as_str().unwrap(),
                f["evidence"][0].as_str().unwrap()
            ));
        }
    }
    insta::assert_snapshot!("corpus_typosquats", lines.join("\n"));
}
