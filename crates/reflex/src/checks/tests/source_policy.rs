//! `sources`: packages only from the registries and git hosts the policy allows.

use super::*;
use crate::checks::source_policy::SourcePolicy;
use crate::finding::Severity;
use crate::sources::cargo_config::ConfigFile;
use std::path::PathBuf;

const ACME: &str = "registry+https://crates.acme.test/index";
const GIT: &str =
    "git+https://github.com/acme/forked?rev=0123456#0123456789abcdef0123456789abcdef01234567";

fn mixed() -> crate::graph::Graph {
    graph(&[
        ("app", "0.1.0", None),
        ("serde", "1.0.0", Some(CRATES_IO)),
        ("billing", "1.0.0", Some(ACME)),
        ("forked", "1.0.0", Some(GIT)),
    ])
}

fn run_policy(text: &str, configs: &[ConfigFile]) -> (CheckStatus, Vec<Finding>) {
    let p = policy(text);
    let g = mixed();
    let cx = Context {
        graph: Some(&g),
        policy: Some(&p),
        cargo_configs: configs,
        ..Context::new(clock())
    };
    run(&SourcePolicy, &cx)
}

fn denied(findings: &[Finding]) -> Vec<&str> {
    with_code(findings, "source-not-allowed")
        .into_iter()
        .map(package)
        .collect()
}

#[test]
fn registry_not_in_the_allowlist_is_high() {
    let (status, findings) = run_policy(
        "version = 1\n[sources]\nallow-registries = [\"crates-io\"]\n",
        &[],
    );
    assert_eq!(status, CheckStatus::Ran);
    assert_eq!(denied(&findings), vec!["billing"]);
    assert_eq!(findings[0].severity, Severity::High);
}

#[test]
fn crates_io_outside_the_allowlist_is_denied() {
    let (_, findings) = run_policy(
        "version = 1\n[sources]\nallow-registries = [\"https://crates.acme.test/index\"]\n",
        &[],
    );
    assert_eq!(denied(&findings), vec!["serde"]);
}

#[test]
fn registry_allowed_by_its_cargo_config_name_is_not_reported() {
    let text = "[registries.acme]\nindex = \"https://crates.acme.test/index\"\n";
    let configs = [ConfigFile {
        path: PathBuf::from(".cargo/config.toml"),
        text: text.into(),
        table: toml::from_str(text).unwrap(),
    }];
    let (_, findings) = run_policy(
        "version = 1\n[sources]\nallow-registries = [\"crates-io\", \"acme\"]\n",
        &configs,
    );
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn git_source_is_denied_by_git_deny_or_an_unlisted_host() {
    let (_, findings) = run_policy("version = 1\n[sources]\ngit = \"deny\"\n", &[]);
    assert_eq!(denied(&findings), vec!["forked"]);
    let (_, findings) = run_policy(
        "version = 1\n[sources]\nallow-git = [\"https://gitlab.com/\"]\n",
        &[],
    );
    assert_eq!(denied(&findings), vec!["forked"]);
}

#[test]
fn git_source_on_an_allowed_host_is_not_reported() {
    let (_, findings) = run_policy(
        "version = 1\n[sources]\nallow-git = [\"https://github.com/acme/\"]\n",
        &[],
    );
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn default_policy_allows_every_source() {
    let (_, findings) = run_policy("version = 1\n", &[]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn without_a_policy_the_check_is_skipped() {
    let g = mixed();
    let cx = Context {
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, _) = run(&SourcePolicy, &cx);
    assert!(skipped_because(&status, "no policy"), "{status:?}");
}
