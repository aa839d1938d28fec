//! End-to-end tests of `cargo reflex inspect` on `.crate` files, crate directories and a
//! loopback registry: findings, formats, exit codes, and hostile inputs.

mod common;
use common::*;
use std::path::Path;

/// A scratch directory with the fixture crates (`crates/`, `inspect/`).
fn scratch() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("crates"), &tmp.path().join("crates"));
    copy_dir(&fixture("inspect"), &tmp.path().join("inspect"));
    tmp
}

/// `inspect <target>`, reproducible: a fixed clock, no color.
fn inspect(dir: &Path, target: &str, extra: &[&str]) -> Run {
    let base = ["inspect", target, "--now", "2026-11-25", "--color", "never"];
    run(dir, &args(&base, extra))
}

fn findings(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["title"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn has(report: &serde_json::Value, code: &str, severity: &str) -> bool {
    findings(report)
        .iter()
        .any(|(c, s, _)| c == code && s == severity)
}

#[test]
fn a_crate_file_is_read_offline_and_its_build_script_judged() {
    let tmp = scratch();
    let out = inspect(
        tmp.path(),
        "crates/url-parse-0.1.0.crate",
        &["--format", "json"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = json(&out);
    assert_valid_report(&report);
    assert_eq!(report["command"], "inspect");
    assert_eq!(report["target"]["package_count"], 1);
    assert!(
        has(&report, "build-time-secret-read", "high"),
        "{:#?}",
        findings(&report)
    );
    let f = &report["findings"].as_array().unwrap()[0];
    assert_eq!(f["package"]["name"], "url-parse");
    assert_eq!(f["package"]["version"], "0.1.0");
    assert_eq!(f["location"]["path"], "crates/url-parse-0.1.0.crate");
    assert!(f["location"].get("line").is_none(), "{f:#}");
    // Offline: the registry was not asked, and the report says so.
    let yanked = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "yanked")
        .unwrap();
    assert_ne!(yanked["status"], "ran", "{yanked:#}");
}

#[test]
fn a_look_alike_proc_macro_claiming_the_original_repository() {
    let tmp = scratch();
    let out = inspect(tmp.path(), "crates/serd-0.1.0.crate", &["--format", "json"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let report = json(&out);
    assert!(has(&report, "typosquat-suspect", "medium"));
    assert!(has(&report, "impersonation-repository", "medium"));
    assert!(has(&report, "native-binary", "low"));
}

#[test]
fn human_report_of_an_impersonation() {
    let tmp = scratch();
    let out = inspect(tmp.path(), "inspect/copycat", &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    insta::assert_snapshot!("copycat_human", out.stdout);
}

#[test]
fn hostile_and_malicious_archives() {
    let tmp = scratch();
    let report = json(&inspect(
        tmp.path(),
        "crates/rustdecimal-1.23.1.crate",
        &["--format", "json"],
    ));
    assert!(has(&report, "advisory-malicious", "critical"));
    assert!(has(&report, "archive-hostile", "high"));
    assert!(has(&report, "typosquat-suspect", "medium"));
}

#[test]
fn a_directory_claiming_a_popular_repository_is_an_impersonation() {
    let tmp = scratch();
    let out = inspect(tmp.path(), "inspect/copycat", &["--format", "json"]);
    let report = json(&out);
    assert_valid_report(&report);
    let claim = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "impersonation-repository")
        .unwrap_or_else(|| panic!("{:#?}", findings(&report)));
    assert_eq!(claim["title"], "`fastser` claims the repository of `serde`");
    assert_eq!(claim["location"]["path"], "inspect/copycat");
    // serde's newest version in the corpus is 1.0.197: the number is copied.
    assert_eq!(claim["severity"], "high", "{claim:#}");
    let evidence = claim["evidence"].to_string();
    assert!(evidence.contains("no .cargo_vcs_info.json"), "{evidence}");
    assert!(
        evidence.contains("the same version number as `serde` (1.0.197)"),
        "{evidence}"
    );
    assert_eq!(out.code, 1);
}

#[test]
fn content_cloned_from_an_archive_in_cargos_cache_is_found() {
    let tmp = scratch();
    // serde's archive in cargo's download cache, sharing the copy's README and files.
    let dir = tmp.path().join("inspect/copycat");
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
    let (lib, de, readme) = (read("src/lib.rs"), read("src/de.rs"), read("README.md"));
    let manifest = "[package]\nname = \"serde\"\nversion = \"1.0.210\"\ndescription = \"A generic serialization/deserialization framework\"\nrepository = \"https://github.com/serde-rs/serde\"\n";
    let vcs =
        r#"{"git":{"sha1":"0000000000000000000000000000000000000000"},"path_in_vcs":"serde"}"#;
    let (bytes, _) = crate_archive(
        "serde",
        "1.0.210",
        &[
            ("Cargo.toml", manifest),
            (".cargo_vcs_info.json", vcs),
            ("README.md", &readme),
            ("src/lib.rs", &lib),
            ("src/de.rs", &de),
        ],
    );
    let cache = tmp
        .path()
        .join("__home/.cargo/registry/cache/index.crates.io-1949cf8c6b5b557f");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join("serde-1.0.210.crate"), bytes).unwrap();
    let report = json(&inspect(
        tmp.path(),
        "inspect/copycat",
        &["--format", "json"],
    ));
    let claim = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "impersonation-repository")
        .unwrap();
    let evidence = claim["evidence"].to_string();
    for copied in [
        "the description of `serde`",
        "the README of `serde`",
        "2 of its 2 files are identical to files of `serde`",
    ] {
        assert!(evidence.contains(copied), "{copied}: {evidence}");
    }
    // The same copy under its own repository is a clone, not a repository claim.
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap()
        .replace("serde-rs/serde", "someone/fastser");
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    let report = json(&inspect(
        tmp.path(),
        "inspect/copycat",
        &["--format", "json"],
    ));
    assert!(
        has(&report, "impersonation-clone", "high"),
        "{:#?}",
        findings(&report)
    );
    assert!(!has(&report, "impersonation-repository", "high"));
}

#[test]
fn a_monorepo_sibling_is_not_an_impersonation() {
    let tmp = scratch();
    let out = inspect(tmp.path(), "inspect/sibling", &["--format", "json"]);
    let report = json(&out);
    let imp: Vec<_> = findings(&report)
        .into_iter()
        .filter(|(c, _, _)| c.starts_with("impersonation"))
        .collect();
    assert!(imp.is_empty(), "{imp:#?}");
    assert_eq!(out.code, 0, "{:#?}", findings(&report));
    // Without its VCS info, the same crate claims sha2's repository with nothing to show.
    std::fs::remove_file(tmp.path().join("inspect/sibling/.cargo_vcs_info.json")).unwrap();
    let report = json(&inspect(
        tmp.path(),
        "inspect/sibling",
        &["--format", "json"],
    ));
    assert!(
        has(&report, "impersonation-repository", "medium"),
        "{:#?}",
        findings(&report)
    );
    // A checkout of the repository it claims says where it lives, as cargo would record it.
    let checkout = tmp.path().join("hashes");
    copy_dir(&tmp.path().join("inspect/sibling"), &checkout.join("sm3"));
    git(&checkout, &["init", "-q"]);
    git(
        &checkout,
        &[
            "remote",
            "add",
            "origin",
            "git@github.com:RustCrypto/hashes.git",
        ],
    );
    let report = json(&inspect(tmp.path(), "hashes/sm3", &["--format", "json"]));
    let imp: Vec<_> = findings(&report)
        .into_iter()
        .filter(|(c, _, _)| c.starts_with("impersonation"))
        .collect();
    assert!(imp.is_empty(), "{imp:#?}");
}

#[test]
fn human_report_of_a_directory() {
    let tmp = scratch();
    let out = inspect(tmp.path(), "inspect/sibling", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("sibling_human", out.stdout);
    let out = inspect(tmp.path(), "inspect/sibling", &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    insta::assert_snapshot!("sibling_json", out.stdout);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let tmp = scratch();
    std::fs::write(tmp.path().join("plain.crate"), "not gzip at all").unwrap();
    std::fs::create_dir_all(tmp.path().join("empty")).unwrap();
    let cases = [
        (
            "plain.crate",
            "plain.crate is not a .crate archive: not a gzip stream",
        ),
        ("empty", "empty: no Cargo.toml in this directory"),
        ("missing.crate", "missing.crate: no such file or directory"),
        (
            "no-such-crate-anywhere",
            "cannot find `no-such-crate-anywhere` in the registry index",
        ),
        ("bad name!", "`bad name!` is not a crate name"),
        ("serde@one", "`one` is not a version"),
    ];
    for (target, message) in cases {
        let out = inspect(tmp.path(), target, &["--offline"]);
        assert_eq!(out.code, 2, "{target}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(message), "{target}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    }
    // Options of the lockfile commands do not apply to one crate.
    for extra in [["--manifest-path", "Cargo.toml"], ["--file", "Cargo.lock"]] {
        let out = inspect(tmp.path(), "inspect/sibling", &extra);
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(out.stderr.contains("do not apply"), "{}", out.stderr);
    }
    let (target, message) = ("serde@", "`` is not a version");
    let out = inspect(tmp.path(), target, &["--offline"]);
    assert_eq!(out.code, 2, "{target}: {}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains(message), "{target}: {}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    // A truncated archive is a finding about the archive, not a crash.
    let bytes = std::fs::read(tmp.path().join("crates/url-parse-0.1.0.crate")).unwrap();
    std::fs::write(tmp.path().join("cut.crate"), &bytes[..bytes.len() * 2 / 3]).unwrap();
    let out = inspect(tmp.path(), "cut.crate", &["--format", "json"]);
    assert!(out.code == 1 || out.code == 2, "{}", out.stderr);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn a_name_is_read_from_the_registry_newest_release_first() {
    let tmp = scratch();
    let (url, registry) = server();
    let bytes = std::fs::read(tmp.path().join("crates/url-parse-0.1.0.crate")).unwrap();
    let sum = reflex::sources::crate_archive::sha256_hex(&bytes);
    let index = format!(
        "{}{}",
        line("url-parse", "0.0.9", false),
        line("url-parse", "0.1.0", false)
    )
    .replace(&"0".repeat(64), &sum);
    registry.serve_files(
        [
            (
                "config.json".to_string(),
                format!("{{\"dl\": \"{url}dl\"}}").into_bytes(),
            ),
            ("ur/l-/url-parse".to_string(), index.into_bytes()),
            ("dl/url-parse/0.1.0/download".to_string(), bytes),
        ]
        .into_iter()
        .collect(),
    );
    let out = run_with(
        tmp.path(),
        &[
            "inspect",
            "url-parse",
            "--no-fetch",
            "--now",
            "2026-11-25",
            "--format",
            "json",
        ],
        &[("CARGO_REFLEX_CRATES_IO_INDEX", &url)],
        None,
    );
    let report = json(&out);
    assert_eq!(report["target"]["lockfile"], "url-parse@0.1.0");
    assert!(has(&report, "build-time-secret-read", "high"));
    let statuses: Vec<(&str, &str)> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    assert!(statuses.contains(&("yanked", "ran")), "{statuses:?}");
    assert!(statuses.contains(&("freshness", "ran")), "{statuses:?}");
    // An explicit version the index does not list.
    let out = run_with(
        tmp.path(),
        &["inspect", "url-parse@9.9.9", "--no-fetch"],
        &[("CARGO_REFLEX_CRATES_IO_INDEX", &url)],
        None,
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`url-parse` has no version 9.9.9"),
        "{}",
        out.stderr
    );
    // The file is what the registry serves for that release (checked --online)...
    let online_file = |url: &str| {
        json(&run_with(
            tmp.path(),
            &[
                "inspect",
                "crates/url-parse-0.1.0.crate",
                "--online",
                "--no-fetch",
                "--index-max-age",
                "0",
                "--format",
                "json",
            ],
            &[("CARGO_REFLEX_CRATES_IO_INDEX", url)],
            None,
        ))
    };
    assert!(!has(
        &online_file(&url),
        "archive-checksum-mismatch",
        "critical"
    ));
    // ... or it is not.
    let (other_url, other) = server();
    other.serve_files(
        [
            (
                "config.json".to_string(),
                format!("{{\"dl\": \"{other_url}dl\"}}").into_bytes(),
            ),
            (
                "ur/l-/url-parse".to_string(),
                line("url-parse", "0.1.0", false)
                    .replace(&"0".repeat(64), &"1".repeat(64))
                    .into_bytes(),
            ),
        ]
        .into_iter()
        .collect(),
    );
    assert!(has(
        &online_file(&other_url),
        "archive-checksum-mismatch",
        "critical"
    ));
}
