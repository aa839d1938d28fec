//! Helpers for end-to-end tests: run the real binary with a controlled environment.
#![allow(dead_code)]

pub mod escape;
pub mod evasion;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

/// Copies a directory tree (fixtures are small).
pub fn copy_dir(from: &Path, to: &Path) {
    copy_dir_except(from, to, &[]);
}

/// Copies a directory tree without the entries named in `skip`, at any depth.
pub fn copy_dir_except(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        if skip.iter().any(|s| entry.file_name() == *s) {
            continue;
        }
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir_except(&entry.path(), &dest, skip);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// A scratch copy of the takeover scenario with its advisory database beside it, outside any
/// git repository: `<tmp>/ws` and `<tmp>/advisory-db`.
pub fn takeover() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("scenarios/takeover"), &tmp.path().join("ws"));
    copy_dir(
        &fixture("advisory-db-scenario"),
        &tmp.path().join("advisory-db"),
    );
    std::fs::create_dir_all(tmp.path().join("home")).unwrap();
    tmp
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `cargo-reflex` in `cwd` with a clean environment: no inherited secrets, an empty
/// HOME, a fixed clock and no color.
pub fn run(cwd: &Path, args: &[&str]) -> Run {
    run_with(cwd, args, &[], None)
}

pub fn run_with(cwd: &Path, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let home = cwd.join("__home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-reflex"));
    cmd.current_dir(cwd)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("CARGO_REFLEX_CACHE", cwd.join("__cache"))
        .env("NO_COLOR", "1")
        // Any network access a test forgets to point at its own server fails on loopback.
        .env("CARGO_REFLEX_DB_URL", "file:///nonexistent/advisory-db")
        .env("CARGO_REFLEX_CRATES_IO_INDEX", "http://127.0.0.1:9/")
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = if let Some(input) = stdin {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    } else {
        cmd.output().unwrap()
    };
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The standard arguments for a reproducible audit of the takeover copy.
pub const AUDIT: &[&str] = &[
    "audit",
    "--manifest-path",
    "ws",
    "--advisory-db",
    "advisory-db",
    "--offline",
    "--now",
    "2026-11-25",
    "--color",
    "never",
];

/// `base` without the given words (drop a flag and its value by listing both).
pub fn without<'a>(base: &[&'a str], drop: &[&str]) -> Vec<&'a str> {
    base.iter().copied().filter(|a| !drop.contains(a)).collect()
}

/// The committed cargo home whose index cache covers the scenario crates.
pub fn cargo_home() -> String {
    fixture("cargo-home").display().to_string()
}

pub fn args<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

pub fn json(run: &Run) -> serde_json::Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{}\n{}", run.stdout, run.stderr))
}

pub fn codes(report: &serde_json::Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Runs git in `dir` with a throwaway identity; panics if it fails.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A sparse index on loopback: `path -> body`; unknown paths answer 404.
pub fn serve_index(entries: Vec<(&'static str, String)>) -> String {
    serve(
        entries
            .into_iter()
            .map(|(p, b)| (p.to_string(), b.into_bytes()))
            .collect(),
    )
}

/// A loopback HTTP server answering `GET /<path>` from `entries`, 404 otherwise.
pub fn serve(entries: Vec<(String, Vec<u8>)>) -> String {
    let (url, server) = server();
    server.serve_files(entries.into_iter().collect());
    url
}

/// A loopback HTTP server (the drill's registry server) and its URL, serving nothing until
/// `serve_files` (so the files can name its address).
pub fn server() -> (String, reflex::drill::registry::Registry) {
    let server = reflex::drill::registry::Registry::start().unwrap();
    (server.url().to_string(), server)
}

pub fn line(name: &str, vers: &str, yanked: bool) -> String {
    format!(
        "{{\"name\":\"{name}\",\"vers\":\"{vers}\",\"deps\":[],\"cksum\":\"{}\",\"features\":{{}},\"yanked\":{yanked},\"pubtime\":\"2026-01-01T00:00:00Z\"}}\n",
        "0".repeat(64)
    )
}

/// An index line with a chosen publish time.
pub fn line_at(name: &str, vers: &str, yanked: bool, pubtime: &str) -> String {
    line(name, vers, yanked).replace("2026-01-01T00:00:00Z", pubtime)
}

/// A `.crate` archive (gzipped tar under `<name>-<version>/`) and its sha256, made in memory
/// (the drill's registry makes them the same way).
pub fn crate_archive(name: &str, version: &str, files: &[(&str, &str)]) -> (Vec<u8>, String) {
    reflex::drill::registry::crate_archive(name, version, files).unwrap()
}

/// Asserts a JSON report follows `docs/report.schema.json`.
pub fn assert_valid_report(report: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// Asserts SARIF output is valid against the official 2.1.0 schema.
pub fn assert_valid_sarif(text: &str) {
    let sarif: serde_json::Value = serde_json::from_str(text).unwrap();
    // The official schema's `run.language` pattern has a stray `]` that Rust regex engines
    // reject; we emit no `language`, so it is replaced with the intended pattern.
    let schema_text = std::fs::read_to_string(fixture("sarif/sarif-schema-2.1.0.json"))
        .unwrap()
        .replace(
            "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$",
            "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$",
        );
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF schema violations: {errors:#?}");
}

/// The cargo this test runs under (real cargo, not the binary under test).
pub fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Makes `home` a cargo home whose crates.io is the sparse registry at `registry` (a
/// loopback server the test started); returns it.
pub fn registry_home(home: &Path, registry: &str) -> PathBuf {
    std::fs::create_dir_all(home).unwrap();
    std::fs::write(
        home.join("config.toml"),
        format!(
            "[source.crates-io]\nreplace-with = \"local\"\n\n[source.local]\nregistry = \"sparse+{registry}\"\n"
        ),
    )
    .unwrap();
    home.to_path_buf()
}

/// Real cargo in `ws` with the CARGO_HOME `home` as it is (its crates.io is whatever its
/// configuration and the project's say), none of the caller's target directory or default
/// registry, no retries.
pub fn cargo_in(ws: &Path, home: &Path, args: &[&str]) -> Output {
    Command::new(cargo_program())
        .args(args)
        .current_dir(ws)
        .env("CARGO_HOME", home)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_REGISTRY_DEFAULT")
        .env("CARGO_NET_RETRY", "0")
        .output()
        .unwrap()
}

/// Real cargo in `ws` with its own CARGO_HOME `home`, the sparse registry at `registry`
/// (a loopback server the test started) replacing crates.io.
pub fn cargo_against(ws: &Path, home: &Path, registry: &str, args: &[&str]) -> Output {
    registry_home(home, registry);
    cargo_in(ws, home, args)
}

/// `cargo_against`, which must succeed; its standard output.
pub fn cargo_ok(ws: &Path, home: &Path, registry: &str, args: &[&str]) -> String {
    succeeded(
        cargo_against(ws, home, registry, args),
        &format!("cargo {args:?}"),
    )
}

/// The standard output of a command that must have succeeded (`what` names it if not).
pub fn succeeded(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A release for the drill's registry: a manifest (`deps` appended to its `[package]`) and
/// `files`.
pub fn release(
    name: &str,
    version: &str,
    pubtime: &str,
    deps: &str,
    files: &[(&str, &str)],
) -> reflex::drill::registry::Publish {
    let mut all = std::collections::BTreeMap::new();
    all.insert(
        "Cargo.toml".to_string(),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"utilities\"\n{deps}"
        ),
    );
    all.extend(files.iter().map(|(p, t)| (p.to_string(), t.to_string())));
    reflex::drill::registry::Publish {
        name: name.into(),
        version: version.into(),
        registry: None,
        files: all,
        pubtime: pubtime.into(),
    }
}

/// A sparse registry on loopback holding `releases`: its URL and the server (serving until
/// dropped).
pub fn registry_of(
    releases: &[reflex::drill::registry::Publish],
) -> (String, reflex::drill::registry::Registry) {
    let (url, server) = server();
    server.publish(releases).unwrap();
    (url, server)
}

/// The first YAML document of `text`.
pub fn yaml(text: &str) -> saphyr::YamlOwned {
    use saphyr::LoadableYamlNode;
    saphyr::YamlOwned::load_from_str(text)
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
}

/// Runs zizmor (offline, the auditor persona: everything it can find) on a workflow or an
/// action; None when zizmor is not installed.
pub fn zizmor(path: &Path) -> Option<(i32, String)> {
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

/// Says on the test's standard error (not captured) that zizmor is missing and what it
/// would have checked.
pub fn skip_zizmor(unchecked: &str) {
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!("SKIPPED: zizmor is not installed (pip install zizmor); {unchecked}\n").as_bytes(),
    );
}
