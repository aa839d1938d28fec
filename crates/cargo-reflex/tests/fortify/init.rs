//! `init`'s hardened files: emitted and written, they parse back and pass our own checks;
//! the CI workflow installs only a full commit; `--write-hardened` keeps cargo working.

use crate::common::*;
use crate::{REFLEX_REV, app, releases};
use std::path::Path;
use std::process::Command;

#[test]
fn init_hardened_files_parse_back_and_pass_our_own_checks() {
    let tmp = takeover();
    let ws = tmp.path().join("ws");
    let ci = emitted_files_parse_back(&ws);
    written_files_pass_our_own_checks(&ws, &ci);
}

/// `init --emit`: the cargo configuration, the CI workflow and the NetworkPolicy; the
/// workflow.
fn emitted_files_parse_back(ws: &Path) -> String {
    let emit = |what: &str, extra: &[&str]| {
        let mut a = vec!["init", "--offline", "--emit", what];
        a.extend_from_slice(extra);
        let r = run(ws, &a);
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
            ws,
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
    ci
}

/// `init --write-hardened`: an existing file stops it; written, the audit has nothing to say
/// about its files, and the workflow `ci` alone is fully locked.
fn written_files_pass_our_own_checks(ws: &Path, ci: &str) {
    // Written into the workspace, the audit has nothing to say about them. An existing file
    // stops init before it writes anything.
    let refused = run(ws, &["init", "--offline", "--write-hardened"]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains(".cargo/config.toml exists"),
        "{}",
        refused.stderr
    );
    assert!(!ws.join("reflex.toml").exists(), "nothing written");
    std::fs::remove_file(ws.join(".cargo/config.toml")).unwrap();
    let w = run(
        ws,
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
        ws,
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
    std::fs::write(clean.path().join(".github/workflows/reflex-build.yml"), ci).unwrap();
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
    let again = run(ws, &["init", "--offline"]);
    assert_eq!(again.code, 2);
    assert!(
        again.stderr.contains("exists") && again.stderr.contains("--force"),
        "{}",
        again.stderr
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

#[test]
fn regression_write_hardened_keeps_the_default_registry_and_cargo_add_works() {
    // crates.io's stand-in and a private registry (`internal/`) on loopback.
    let (url, server) = server();
    let mut published = releases();
    published.truncate(1);
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
    let home = registry_home(&tmp.path().join("cargo-home"), &url);
    let ws = tmp.path().join("ws");
    app(&ws);
    succeeded(
        cargo_in(&ws, &home, &["generate-lockfile"]),
        "generate-lockfile",
    );
    crates_io_stays_the_default(&ws, &home);
    // The project's mirror is now crates.io's replacement: a cargo home of its own.
    private_registry_becomes_the_default(&ws, &tmp.path().join("cargo-home-plain"), &private, &url);
}

/// Defaults: no registry declared, crates.io stays the default; cargo fetches and adds.
fn crates_io_stays_the_default(ws: &Path, home: &Path) {
    let init = run(
        ws,
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
    succeeded(cargo_in(ws, home, &["fetch"]), "fetch");
    let meta = succeeded(
        cargo_in(
            ws,
            home,
            &["metadata", "--offline", "--format-version", "1"],
        ),
        "metadata --offline",
    );
    assert!(meta.contains("rust-utilities-v2"));
    succeeded(cargo_in(ws, home, &["add", "text-tidy"]), "cargo add");
    let manifest = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("text-tidy = \"1.0.0\""), "{manifest}");
}

/// With a registry URL (and the mirror `url`): declared, and the default for publish and
/// add; `home` is a plain cargo home (the project's mirror replaces crates.io).
fn private_registry_becomes_the_default(ws: &Path, home: &Path, private: &str, url: &str) {
    let init = run(
        ws,
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
    std::fs::create_dir_all(home).unwrap();
    succeeded(
        cargo_in(ws, home, &["add", "acme-utils"]),
        "cargo add (private)",
    );
    let manifest = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("acme-utils = { version = \"1.0.0\", registry = \"internal\" }"),
        "{manifest}"
    );
    // Public crates: named as such, and they come through the mirror.
    succeeded(cargo_in(ws, home, &["remove", "text-tidy"]), "cargo remove");
    succeeded(
        cargo_in(ws, home, &["add", "text-tidy", "--registry", "crates-io"]),
        "cargo add --registry crates-io",
    );
    let manifest = std::fs::read_to_string(ws.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("text-tidy = \"1.0.0\""), "{manifest}");
    succeeded(cargo_in(ws, home, &["fetch"]), "fetch through the mirror");
    succeeded(
        cargo_in(
            ws,
            home,
            &["metadata", "--offline", "--format-version", "1"],
        ),
        "metadata --offline",
    );
}
