//! `cargo reflex approve` end to end: the gate denies a crate whose build script is not
//! approved, the exact command its remedy prints records the approval in `reflex.toml`
//! (comments kept), and the gate then passes. The approval applies only once it has landed
//! on its own (no self-approval). A sparse registry on loopback, lockfile written by real cargo.

mod common;

use common::*;
use std::path::Path;

const NOW: &str = "2026-11-25T12:00:00Z";

const POLICY: &str = r#"# Supply-chain policy of app: changes to this file need a second reviewer.
version = 1

[build-time]
require-approval = true   # every build script is read before it runs

# Versions someone read in full.
[[trust]]
crate = "app"
version = "0.1.0"
by = "team@example.invalid"
note = "our own code"

# Keep this comment at the end.
"#;

/// A registry holding `zlib-probe` 1.2.0 (an ordinary build script, published long ago).
fn registry() -> String {
    let (url, server) = server();
    server
        .publish(&[reflex::drill::registry::Publish {
            name: "zlib-probe".into(),
            version: "1.2.0".into(),
            registry: None,
            files: [
                (
                    "Cargo.toml",
                    "[package]\nname = \"zlib-probe\"\nversion = \"1.2.0\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"probes\"\n",
                ),
                (
                    "build.rs",
                    "fn main() {\n    println!(\"cargo:rerun-if-changed=build.rs\");\n}\n",
                ),
                ("src/lib.rs", "pub fn level() -> u8 {\n    6\n}\n"),
            ]
            .into_iter()
            .map(|(p, t)| (p.to_string(), t.to_string()))
            .collect(),
            pubtime: "2025-06-01T10:00:00Z".into(),
        }])
        .unwrap();
    url
}

fn gate(ws: &Path, registry: &str, extra: &[&str]) -> (Run, serde_json::Value) {
    let mut all = vec!["gate", "--format", "json"];
    all.extend(extra);
    all.extend([
        "--now",
        NOW,
        "--cargo-home",
        "reflex-cargo-home",
        "--no-fetch",
    ]);
    let run = run_with(
        ws,
        &all,
        &[("CARGO_REFLEX_CRATES_IO_INDEX", registry)],
        None,
    );
    let report = json(&run);
    (run, report)
}

fn finding<'a>(
    report: &'a serde_json::Value,
    code: &str,
    name: &str,
) -> Option<&'a serde_json::Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code && f["package"]["name"] == name)
}

/// The `cargo reflex approve ...` command in backticks in a remedy, split like a shell would
/// (double quotes group words).
fn approve_command(remedy: &str) -> Vec<String> {
    let start = remedy
        .find("`cargo reflex approve ")
        .unwrap_or_else(|| panic!("no approve command in {remedy:?}"));
    let command = &remedy[start + 1..];
    let command = &command[..command.find('`').unwrap()];
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in command.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    assert!(!quoted, "unbalanced quotes in {command:?}");
    words.push(word);
    words
}

/// Each line of `old` appears in `new`, in the same order.
fn keeps_lines(old: &str, new: &str) -> bool {
    let mut rest = new.lines();
    old.lines().all(|l| rest.any(|n| n == l))
}

#[test]
fn the_printed_remedy_records_the_approval_and_the_gate_then_passes() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nzlib-probe = \"1\"\n",
    )
    .unwrap();
    std::fs::write(ws.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        ws.join(".gitignore"),
        "/target\n/__home\n/__cache\n/reflex-cargo-home\n",
    )
    .unwrap();
    std::fs::write(ws.join("reflex.toml"), POLICY).unwrap();
    let registry = registry();
    cargo_ok(
        &ws,
        &tmp.path().join("home"),
        &registry,
        &["generate-lockfile"],
    );
    git(&ws, &["init", "-q", "-b", "main"]);
    git(&ws, &["config", "user.email", "reviewer@example.invalid"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "app with zlib-probe"]);

    // The gate denies the unapproved build script, and says how to approve it.
    let (gated, report) = gate(&ws, &registry, &[]);
    assert_eq!(gated.code, 1, "{}{}", gated.stdout, gated.stderr);
    let denied = finding(&report, "build-script-not-approved", "zlib-probe")
        .unwrap_or_else(|| panic!("{report:#}"));
    assert_eq!(denied["denied"], true);
    let remedy = denied["remedy"].as_str().unwrap();
    let command = approve_command(remedy);
    assert_eq!(
        command,
        [
            "cargo",
            "reflex",
            "approve",
            "zlib-probe",
            "--kind",
            "build-script",
            "--reason",
            "..."
        ],
        "{remedy}"
    );

    // Run exactly that (`cargo reflex` is this binary).
    let args: Vec<&str> = command[2..].iter().map(String::as_str).collect();
    let approved = run(&ws, &args);
    assert_eq!(approved.code, 0, "{}{}", approved.stdout, approved.stderr);
    let policy = std::fs::read_to_string(ws.join("reflex.toml")).unwrap();
    assert_ne!(policy, POLICY);
    assert!(
        keeps_lines(POLICY, &policy),
        "comments and order kept:\n{policy}"
    );
    assert!(
        policy.contains(
            "# approved by reviewer@example.invalid\n[[build-time.allow]]\ncrate = \"zlib-probe\"\nkind = \"build-script\"\nreason = \"...\"\n"
        ),
        "{policy}"
    );
    assert!(
        policy.ends_with("# Keep this comment at the end.\n"),
        "{policy}"
    );
    // What was written is printed as TOML, and the reminder about self-approval.
    assert!(
        approved
            .stdout
            .starts_with("# approved by reviewer@example.invalid\n[[build-time.allow]]\n"),
        "{}",
        approved.stdout
    );
    assert!(
        approved.stderr.contains("updated reflex.toml")
            && approved.stderr.contains("commit reflex.toml on its own"),
        "{}",
        approved.stderr
    );

    // Approving twice changes nothing.
    let again = run(&ws, &args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stderr.contains("already has this approval"),
        "{}",
        again.stderr
    );
    assert_eq!(
        std::fs::read_to_string(ws.join("reflex.toml")).unwrap(),
        policy
    );

    // The gate now passes for that finding.
    let (gated, report) = gate(&ws, &registry, &[]);
    assert!(
        finding(&report, "build-script-not-approved", "zlib-probe").is_none(),
        "{report:#}"
    );
    assert_eq!(gated.code, 0, "{}{}", gated.stdout, gated.stderr);

    // Judged against the base revision, the uncommitted approval is the change approving
    // itself: it does not apply and is reported.
    let (gated, report) = gate(&ws, &registry, &["--base", "HEAD"]);
    assert_eq!(gated.code, 1, "{}{}", gated.stdout, gated.stderr);
    assert!(finding(&report, "build-script-not-approved", "zlib-probe").is_some());
    assert!(
        report["findings"].to_string().contains("policy-loosened"),
        "{report:#}"
    );
    // Landed on its own, it applies.
    git(
        &ws,
        &["commit", "-q", "-am", "approve zlib-probe's build script"],
    );
    let (gated, _) = gate(&ws, &registry, &["--base", "HEAD"]);
    assert_eq!(gated.code, 0, "{}{}", gated.stdout, gated.stderr);
}

#[test]
fn trust_records_take_the_locked_version_and_mistakes_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ws = tmp.path().join("ws");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::write(
        ws.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(ws.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        ws.join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"syn 1.0.109\", \"syn 2.0.90\"]\n\n[[package]]\nname = \"syn\"\nversion = \"1.0.109\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"syn\"\nversion = \"2.0.90\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n",
    )
    .unwrap();
    let env = [("USER", "carol")];

    // No reflex.toml yet: it is created.
    let ok = run_with(&ws, &["approve", "app", "--reason", "ours"], &env, None);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stderr.contains("created reflex.toml"), "{}", ok.stderr);
    assert_eq!(
        std::fs::read_to_string(ws.join("reflex.toml")).unwrap(),
        "version = 1\n\n[[trust]]\ncrate = \"app\"\nversion = \"0.1.0\"\nby = \"carol\"\nnote = \"ours\"\n"
    );

    for (args, message) in [
        (
            &["approve", "syn", "--reason", "read it"][..],
            "2 versions of `syn` are locked: 1.0.109, 2.0.90",
        ),
        (
            &["approve", "serd", "--reason", "read it"],
            "`serd` is not in",
        ),
        (
            &["approve", "syn@2.0.90", "--reason", " "],
            "an approval needs a reason",
        ),
    ] {
        let failed = run_with(&ws, args, &env, None);
        assert_eq!(failed.code, 2, "{args:?}: {}", failed.stderr);
        assert!(
            failed.stderr.contains(message),
            "{args:?}: {}",
            failed.stderr
        );
    }
    let ok = run_with(
        &ws,
        &[
            "approve",
            "syn@2.0.90",
            "--reason",
            "read it",
            "--by",
            "dave",
        ],
        &env,
        None,
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert_eq!(
        ok.stdout,
        "[[trust]]\ncrate = \"syn\"\nversion = \"2.0.90\"\nby = \"dave\"\nnote = \"read it\"\n"
    );
    assert!(
        std::fs::read_to_string(ws.join("reflex.toml"))
            .unwrap()
            .ends_with("note = \"ours\"\n\n[[trust]]\ncrate = \"syn\"\nversion = \"2.0.90\"\nby = \"dave\"\nnote = \"read it\"\n")
    );
}
