//! The advisory database fetch and the registry index, against servers the tests run
//! themselves: a local git repository and a sparse index on loopback. No other network.

mod common;
use common::*;
use std::net::TcpListener;

/// A git repository holding the scenario advisory database: (its path, its file:// URL).
fn advisory_repo(dir: &std::path::Path) -> (std::path::PathBuf, String) {
    let upstream = dir.join("upstream");
    copy_dir(&fixture("advisory-db-scenario"), &upstream);
    git(&upstream, &["init", "-q", "-b", "main"]);
    git(&upstream, &["add", "."]);
    git(&upstream, &["commit", "-qm", "initial"]);
    let url = format!("file://{}", upstream.display());
    (upstream, url)
}

#[test]
fn db_fetch_clones_then_updates_and_audit_uses_the_clone() {
    let tmp = takeover();
    let (upstream, url) = advisory_repo(tmp.path());

    let first = run(
        tmp.path(),
        &["db", "fetch", "--url", &url, "--cache-dir", "cache"],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.starts_with("cloned advisory database"),
        "{}",
        first.stdout
    );
    assert!(first.stdout.contains(": 9 advisories"), "{}", first.stdout);
    assert!(
        first.stdout.contains("1 invalid entries skipped"),
        "{}",
        first.stdout
    );

    std::fs::create_dir_all(upstream.join("crates/arrayref")).unwrap();
    std::fs::write(
        upstream.join("crates/arrayref/RUSTSEC-2026-9005.md"),
        "```toml\n[advisory]\nid = \"RUSTSEC-2026-9005\"\npackage = \"arrayref\"\ndate = \"2026-11-23\"\n[versions]\npatched = [\">= 0.3.11\"]\n```\n\n# arrayref 0.3.10 was published by an attacker\n\nScenario fixture.\n",
    )
    .unwrap();
    git(&upstream, &["add", "."]);
    git(&upstream, &["commit", "-qm", "new advisory"]);
    let second = run(
        tmp.path(),
        &["db", "fetch", "--url", &url, "--cache-dir", "cache"],
    );
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stdout.starts_with("updated advisory database"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains(": 10 advisories"),
        "{}",
        second.stdout
    );

    // Without --advisory-db, audit prefers the fetched clone (newer than the embedded snapshot).
    let base: Vec<&str> = without(AUDIT, &["--advisory-db", "advisory-db"]);
    let report = json(&run(
        tmp.path(),
        &args(&base, &["--format", "json", "--cache-dir", "cache"]),
    ));
    assert_eq!(report["advisory_db"]["origin"], "cache");
    assert!(report.to_string().contains("RUSTSEC-2026-9005"));

    let bad = run(
        tmp.path(),
        &[
            "db",
            "fetch",
            "--url",
            "file:///nonexistent/repo",
            "--cache-dir",
            "cache2",
        ],
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("git clone failed"), "{}", bad.stderr);
}

#[test]
fn audit_refreshes_the_database_when_online_and_reports_a_failed_refresh() {
    let tmp = takeover();
    let (_, url) = advisory_repo(tmp.path());
    let base: Vec<&str> = without(AUDIT, &["--offline", "--advisory-db", "advisory-db"]);
    let report = json(&run(
        tmp.path(),
        &args(
            &base,
            &[
                "--format",
                "json",
                "--no-yanked",
                "--db-url",
                &url,
                "--cache-dir",
                "cache",
            ],
        ),
    ));
    assert_eq!(
        report["advisory_db"]["origin"], "cache",
        "audit cloned the database itself"
    );
    assert!(tmp.path().join("cache/advisory-db/.git").is_dir());
    assert_eq!(report["summary"]["critical"], 1);

    // Unreachable URL and no clone yet: the embedded snapshot is used, and the report says why.
    let report = json(&run(
        tmp.path(),
        &args(
            &base,
            &[
                "--format",
                "json",
                "--no-yanked",
                "--db-url",
                "file:///nonexistent/db",
                "--cache-dir",
                "cache2",
            ],
        ),
    ));
    assert_eq!(report["advisory_db"]["origin"], "embedded");
    assert!(codes(&report).contains(&"advisory-db-refresh-failed".to_string()));

    // --no-fetch never tries.
    let report = json(&run(
        tmp.path(),
        &args(
            &base,
            &[
                "--format",
                "json",
                "--no-yanked",
                "--no-fetch",
                "--db-url",
                "file:///nonexistent/db",
                "--cache-dir",
                "cache3",
            ],
        ),
    ));
    assert!(!codes(&report).contains(&"advisory-db-refresh-failed".to_string()));
    assert!(!tmp.path().join("cache3/advisory-db").exists());
}

#[test]
fn db_status_describes_the_embedded_snapshot() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run(tmp.path(), &["db", "status", "--cache-dir", "empty"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("advisory database: embedded"));
    assert!(run.stdout.contains("last updated: 2025-10-28"));
    assert!(run.stdout.contains("advisories: 86"));
}

#[test]
fn yanked_and_vanished_versions_from_a_sparse_index() {
    let tmp = takeover();
    let smallvec = ["0.6.8", "0.6.9", "0.6.10", "0.6.14", "1.13.2"]
        .iter()
        .map(|v| line("smallvec", v, *v == "0.6.9" || *v == "0.6.8"))
        .collect();
    let arrayref = ["0.3.8", "0.3.9"]
        .iter()
        .map(|v| line("arrayref", v, false))
        .collect();
    let utilities = line("rust-utilities-v2", "2.1.1", false);
    let internal = line("internal-utils", "1.4.0", true);
    let url = serve_index(vec![
        ("sm/al/smallvec", smallvec),
        ("ar/ra/arrayref", arrayref),
        ("ru/st/rust-utilities-v2", utilities),
        ("alt/in/te/internal-utils", internal),
    ]);
    // The lockfile's alternative registry is served by the same loopback server.
    let lock = tmp.path().join("ws/Cargo.lock");
    let text = std::fs::read_to_string(&lock).unwrap().replace(
        "sparse+http://127.0.0.1:9/index/",
        &format!("sparse+{url}alt/"),
    );
    std::fs::write(&lock, text).unwrap();
    let base: Vec<&str> = without(AUDIT, &["--offline"]);
    let run = run(
        tmp.path(),
        &args(
            &base,
            &[
                "--format",
                "json",
                "--crates-io-index",
                &url,
                "--cargo-home",
                "no-cargo-home",
            ],
        ),
    );
    let report = json(&run);
    let find = |code: &str| -> Vec<serde_json::Value> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .cloned()
            .collect()
    };
    let yanked = find("yanked");
    assert_eq!(yanked.len(), 2, "{report:#}");
    let smallvec = yanked
        .iter()
        .find(|f| f["package"]["name"] == "smallvec")
        .expect("smallvec is yanked");
    // 0.6.10 is the next unyanked release, but RUSTSEC-2021-0003 still affects it.
    assert!(
        smallvec["remedy"]
            .as_str()
            .unwrap()
            .contains("--precise 0.6.14"),
        "{smallvec:#}"
    );
    // The alternative registry is consulted as well: its crate is yanked there.
    assert!(
        yanked
            .iter()
            .any(|f| f["package"]["name"] == "internal-utils")
    );
    assert_eq!(
        find("registry-version-missing")[0]["package"]["name"],
        "arrayref"
    );
    assert_eq!(
        find("registry-crate-missing")[0]["package"]["name"],
        "url-parse"
    );
    assert!(
        find("yanked-unchecked").is_empty(),
        "everything was checked: {report:#}"
    );
}

#[test]
fn unreachable_registry_falls_back_to_the_cache_and_says_what_it_could_not_check() {
    let tmp = takeover();
    // A port nothing listens on: bind, read the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let base: Vec<&str> = without(AUDIT, &["--offline"]);
    let cargo_home = cargo_home();
    let report = json(&run(
        tmp.path(),
        &args(
            &base,
            &[
                "--format",
                "json",
                "--crates-io-index",
                &url,
                "--cargo-home",
                &cargo_home,
            ],
        ),
    ));
    let codes = codes(&report);
    assert!(
        codes.contains(&"yanked".into()),
        "smallvec is yanked per cargo's cache: {codes:?}"
    );
    let unchecked = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "yanked-unchecked")
        .unwrap();
    assert!(
        unchecked["evidence"]
            .to_string()
            .contains("could not be reached"),
        "{unchecked}"
    );
}

#[test]
fn fetched_index_entries_are_cached_with_a_max_age() {
    let tmp = takeover();
    let yanked = serve_index(vec![("sm/al/smallvec", line("smallvec", "0.6.9", true))]);
    let restored = serve_index(vec![("sm/al/smallvec", line("smallvec", "0.6.9", false))]);
    let base: Vec<&str> = without(AUDIT, &["--offline"]);
    let smallvec_yanked = |url: &str, extra: &[&str]| -> bool {
        let mut a = args(
            &base,
            &[
                "--format",
                "json",
                "--cargo-home",
                "none",
                "--crates-io-index",
                url,
            ],
        );
        a.extend_from_slice(extra);
        let report = json(&run(tmp.path(), &a));
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "yanked" && f["package"]["name"] == "smallvec")
    };
    assert!(smallvec_yanked(&yanked, &[]));
    // A fresh cached entry answers without asking the (now different) registry...
    assert!(smallvec_yanked(&restored, &[]));
    // ...until it is older than --index-max-age.
    assert!(!smallvec_yanked(&restored, &["--index-max-age", "0"]));
}
