//! The gate's policy rules: allowed sources and git pins, licenses, and exceptions that
//! expire.

use crate::common::*;
use std::path::Path;

/// A finding as the tests look at it: (code, crate, denied).
type Found = (String, String, bool);

fn has(found: &[Found], code: &str, name: &str, denied: bool) -> bool {
    found.contains(&(code.into(), name.into(), denied))
}

#[test]
fn gate_policy_rules_sources_git_licenses_and_exceptions() {
    let tmp = tempfile::tempdir().unwrap();
    policy_scene(tmp.path());
    let (report, found) = gate(tmp.path(), "2026-11-25");
    assert!(
        has(&found, "source-not-allowed", "internal-utils", true),
        "{found:#?}"
    );
    assert!(has(&found, "source-not-allowed", "gitother", true));
    assert!(
        has(&found, "git-dependency-unpinned", "gitbranch", true),
        "git = pinned denies it"
    );
    assert!(
        !found.iter().any(|f| f.1 == "gitpinned"),
        "pinned git is fine: {found:#?}"
    );
    assert!(
        has(&found, "license-unknown", "nolicense", true),
        "unknown = deny"
    );
    assert!(
        !found
            .iter()
            .any(|f| f.0.starts_with("license") && (f.1 == "dual" || f.1 == "gpl-thing")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.0 == "policy-exception-unused" && !f.2)
    );
    assert_eq!(report["summary"]["excepted"], 1);
    assert_eq!(report["policy"]["path"], "policy.toml");

    // After its expiry date the exception no longer applies, and says so.
    let (_, found) = gate(tmp.path(), "2027-02-01");
    assert!(
        has(&found, "license-not-allowed", "gpl-thing", true),
        "{found:#?}"
    );
    assert!(found.iter().any(|f| f.0 == "policy-exception-expired"));
}

/// In `dir`: a lockfile with crates of every license and source the policy judges (the
/// registry's archives in the cargo home `home/`), and `policy.toml`.
fn policy_scene(dir: &Path) {
    let cache = dir.join("home/registry/cache/index.crates.io-1949cf8c6b5b557f");
    std::fs::create_dir_all(&cache).unwrap();
    let mut lock = String::from(
        "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"gpl-thing\", \"dual\", \"nolicense\", \"internal-utils\", \"gitpinned\", \"gitbranch\", \"gitother\"]\n",
    );
    for (name, license) in [
        ("gpl-thing", Some("GPL-3.0-only")),
        ("dual", Some("MIT OR Apache-2.0")),
        ("nolicense", None),
    ] {
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"1.0.0\"\n{}",
            license
                .map(|l| format!("license = \"{l}\"\n"))
                .unwrap_or_default()
        );
        let (bytes, sum) = crate_archive(
            name,
            "1.0.0",
            &[("Cargo.toml", &manifest), ("src/lib.rs", "")],
        );
        std::fs::write(cache.join(format!("{name}-1.0.0.crate")), bytes).unwrap();
        lock.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{sum}\"\n"
        ));
    }
    for (name, source) in [
        ("internal-utils", "sparse+http://127.0.0.1:9/index/"),
        (
            "gitpinned",
            "git+https://github.com/acme/a?rev=0123456#0123456789abcdef0123456789abcdef01234567",
        ),
        (
            "gitbranch",
            "git+https://github.com/acme/b?branch=main#0123456789abcdef0123456789abcdef01234567",
        ),
        (
            "gitother",
            "git+https://evil.example/c#0123456789abcdef0123456789abcdef01234567",
        ),
    ] {
        lock.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"1.0.0\"\nsource = \"{source}\"\n"
        ));
    }
    std::fs::write(dir.join("Cargo.lock"), lock).unwrap();
    std::fs::write(
        dir.join("policy.toml"),
        r#"version = 1
[sources]
allow-registries = ["crates-io"]
git = "pinned"
allow-git = ["https://github.com/acme/"]

[licenses]
allow = ["MIT", "Apache-2.0"]
unknown = "deny"

[[exception]]
code = "license-not-allowed"
crate = "gpl-thing"
reason = "legal approved the GPL for this internal tool"
expires = 2027-01-01

[[exception]]
code = "yanked"
crate = "nothing"
reason = "left over"
"#,
    )
    .unwrap();
}

/// The gate's findings in `dir` at `now`: (code, crate, denied).
fn gate(dir: &Path, now: &str) -> (serde_json::Value, Vec<Found>) {
    let r = run(
        dir,
        &[
            "gate",
            "--file",
            "Cargo.lock",
            "--policy",
            "policy.toml",
            "--offline",
            "--cargo-home",
            "home",
            "--now",
            now,
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report = json(&r);
    assert_valid_report(&report);
    let found: Vec<Found> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["package"]["name"].as_str().unwrap_or("").to_string(),
                f["denied"].as_bool().unwrap(),
            )
        })
        .collect();
    (report, found)
}
