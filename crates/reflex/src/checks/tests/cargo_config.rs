//! `cargo-config`: registries, source replacement, tokens, patches and git pins.

use super::*;
use crate::checks::cargo_config::CargoConfig;
use crate::finding::{Level, Severity};
use crate::graph::workspace::{Manifest, Workspace};
use crate::sources::cargo_config::ConfigFile;
use std::path::PathBuf;

fn config(text: &str) -> ConfigFile {
    ConfigFile {
        path: PathBuf::from(".cargo/config.toml"),
        text: text.to_string(),
        table: toml::from_str(text).unwrap(),
    }
}

/// A single-package workspace whose root manifest is `text`.
fn workspace(text: &str) -> Workspace {
    let m = Manifest::parse(Path::new("Cargo.toml"), text.to_string(), None).unwrap();
    Workspace {
        root: PathBuf::from("."),
        packages: if m.name.is_some() {
            vec![m.clone()]
        } else {
            Vec::new()
        },
        root_manifest: m,
        unreadable: Vec::new(),
    }
}

fn run_config(text: &str) -> Vec<Finding> {
    let files = [config(text)];
    let ws = workspace("[package]\nname = \"app\"\nversion = \"0.1.0\"\n");
    let cx = Context {
        cargo_configs: &files,
        workspace: Some(&ws),
        ..Context::new(clock())
    };
    let (status, findings) = run(&CargoConfig, &cx);
    assert_eq!(status, CheckStatus::Ran);
    findings
}

fn run_manifest(text: &str, policy: Option<&Policy>) -> Vec<Finding> {
    let ws = workspace(text);
    let cx = Context {
        workspace: Some(&ws),
        policy,
        ..Context::new(clock())
    };
    run(&CargoConfig, &cx).1
}

const APP: &str = "[package]\nname = \"app\"\nversion = \"0.1.0\"\n\n[dependencies]\n";

#[test]
fn plain_http_registry_is_insecure() {
    let findings =
        run_config("[registries.acme]\nindex = \"sparse+http://crates.acme.test/index/\"\n");
    let f = one(&findings, "cargo-config-insecure-url");
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.location.as_ref().unwrap().line, Some(2));
}

#[test]
fn https_registry_is_not_reported() {
    let findings =
        run_config("[registries.acme]\nindex = \"sparse+https://crates.acme.test/index/\"\n");
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn token_in_a_config_file_is_plaintext() {
    let findings = run_config(
        "[registries.acme]\nindex = \"sparse+https://crates.acme.test/index/\"\ntoken = \"abc\"\n",
    );
    let f = one(&findings, "cargo-config-plaintext-token");
    assert!(f.title.contains("[registries.acme] token"), "{}", f.title);
    assert!(
        !format!("{f:?}").contains("\"abc\""),
        "the token must not be shown"
    );
}

#[test]
fn replacing_crates_io_is_reported_with_the_mirror() {
    let findings = run_config(
        "[source.crates-io]\nreplace-with = \"mirror\"\n\n[source.mirror]\nregistry = \"sparse+https://mirror.test/index/\"\n",
    );
    let f = one(&findings, "cargo-config-source-replacement");
    assert_eq!(f.severity, Severity::Low);
    assert_eq!(
        f.evidence[0],
        "registry = sparse+https://mirror.test/index/"
    );
}

#[test]
fn wrapper_from_the_repository_is_a_build_program_and_a_system_tool_is_not() {
    let findings = run_config("[build]\nrustc-wrapper = \"tools/wrap.sh\"\n");
    assert_eq!(codes(&findings), vec!["cargo-config-build-program"]);
    let findings = run_config(
        "[build]\nrustc-wrapper = \"sccache\"\n[target.x86_64-unknown-linux-gnu]\nlinker = \"/usr/bin/clang\"\n",
    );
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn git_dependency_on_a_branch_is_unpinned_medium() {
    let text = format!("{APP}foo = {{ git = \"https://example.com/foo\", branch = \"main\" }}\n");
    let findings = run_manifest(&text, None);
    let f = one(&findings, "git-dependency-unpinned");
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.title.contains("branch `main`"), "{}", f.title);
    assert_eq!(f.level, None);
}

#[test]
fn git_dependency_on_a_tag_is_unpinned_low() {
    let text = format!("{APP}foo = {{ git = \"https://example.com/foo\", tag = \"v1\" }}\n");
    let findings = run_manifest(&text, None);
    assert_eq!(
        one(&findings, "git-dependency-unpinned").severity,
        Severity::Low
    );
}

#[test]
fn git_dependency_pinned_to_a_commit_is_not_reported() {
    let text = format!(
        "{APP}foo = {{ git = \"https://example.com/foo\", rev = \"0123456789abcdef0123456789abcdef01234567\" }}\n"
    );
    let findings = run_manifest(&text, None);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn git_over_git_protocol_is_insecure() {
    let text = format!(
        "{APP}foo = {{ git = \"git://example.com/foo\", rev = \"0123456789abcdef0123456789abcdef01234567\" }}\n"
    );
    let findings = run_manifest(&text, None);
    assert_eq!(codes(&findings), vec!["cargo-config-insecure-url"]);
}

#[test]
fn the_git_rule_of_the_policy_sets_the_level_of_unpinned_git() {
    let text = format!("{APP}foo = {{ git = \"https://example.com/foo\" }}\n");
    for (rule, level) in [
        ("pinned", Level::Deny),
        ("any", Level::Warn),
        ("deny", Level::Allow),
    ] {
        let p = policy(&format!("version = 1\n[sources]\ngit = \"{rule}\"\n"));
        let findings = run_manifest(&text, Some(&p));
        assert_eq!(
            one(&findings, "git-dependency-unpinned").level,
            Some(level),
            "{rule}"
        );
    }
}

#[test]
fn patch_in_the_root_manifest_is_a_redirect() {
    let text =
        format!("{APP}serde = \"1\"\n\n[patch.crates-io]\nserde = {{ path = \"../serde\" }}\n");
    let findings = run_manifest(&text, None);
    let f = one(&findings, "cargo-patch-redirect");
    assert_eq!(f.severity, Severity::Low);
    assert!(
        f.title
            .contains("[patch.crates-io] redirects `serde` to path ../serde"),
        "{}",
        f.title
    );
}

#[test]
fn lockfile_only_mode_reads_git_pins_from_the_lockfile_and_is_partial() {
    let g = graph(&[
        ("app", "0.1.0", None),
        (
            "foo",
            "1.0.0",
            Some(
                "git+https://example.com/foo?branch=main#0123456789abcdef0123456789abcdef01234567",
            ),
        ),
        (
            "bar",
            "1.0.0",
            Some(
                "git+https://example.com/bar?rev=0123456789abcdef#0123456789abcdef0123456789abcdef01234567",
            ),
        ),
    ]);
    let cx = Context {
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, findings) = run(&CargoConfig, &cx);
    assert!(partial_because(&status, "lockfile-only"), "{status:?}");
    let f = one(&findings, "git-dependency-unpinned");
    assert_eq!(package(f), "foo");
    assert_eq!(f.location.as_ref().unwrap().line, g.line_of(1));
}
