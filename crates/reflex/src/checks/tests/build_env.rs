//! `build-env` (`audit --env`): secrets, credential files and a network route visible to
//! build-time code. `/proc` and the home directory are faked in temporary directories.

use super::*;
use crate::checks::build_env::BuildEnv;
use crate::finding::Severity;

const ROUTE_HEADER: &str =
    "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n";

/// A fake `/proc` with `net/route` holding `routes` after the header.
fn proc_root(routes: &str) -> tempfile::TempDir {
    tree(&[("net/route", &format!("{ROUTE_HEADER}{routes}"))])
}

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

#[test]
fn secret_variable_is_reported_without_its_value() {
    let proc = proc_root("");
    let env = vars(&[("PATH", "/usr/bin"), ("DEPLOY_TOKEN", "s3cr3t-value")]);
    let cx = Context {
        env: Some(&env),
        proc_root: proc.path().to_path_buf(),
        ..Context::new(clock())
    };
    let (status, findings) = run(&BuildEnv, &cx);
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&findings, "env-secret-visible");
    assert_eq!(f.severity, Severity::Medium);
    assert!(f.title.contains("DEPLOY_TOKEN"), "{}", f.title);
    assert!(
        !format!("{f:?}").contains("s3cr3t-value"),
        "value leaked: {f:?}"
    );
}

#[test]
fn ordinary_variables_are_not_reported() {
    let proc = proc_root("");
    let env = vars(&[
        ("PATH", "/usr/bin"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("EMPTY_SECRET", ""),
    ]);
    let cx = Context {
        env: Some(&env),
        proc_root: proc.path().to_path_buf(),
        ..Context::new(clock())
    };
    let (_, findings) = run(&BuildEnv, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn credential_file_in_home_is_reported_and_an_empty_home_is_not() {
    let proc = proc_root("");
    let home = tree(&[(".netrc", "machine example.com login x password y\n")]);
    let env = vars(&[]);
    let cx = Context {
        env: Some(&env),
        home: Some(home.path().to_path_buf()),
        proc_root: proc.path().to_path_buf(),
        ..Context::new(clock())
    };
    let (_, findings) = run(&BuildEnv, &cx);
    let f = one(&findings, "env-credential-file");
    assert_eq!(f.severity, Severity::Low);
    assert!(f.title.contains(".netrc"), "{}", f.title);
    let empty = tempfile::tempdir().unwrap();
    let cx = Context {
        home: Some(empty.path().to_path_buf()),
        ..cx
    };
    let (_, findings) = run(&BuildEnv, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn default_route_makes_the_network_reachable() {
    let proc = proc_root("eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n");
    let env = vars(&[]);
    let cx = Context {
        env: Some(&env),
        proc_root: proc.path().to_path_buf(),
        ..Context::new(clock())
    };
    let (_, findings) = run(&BuildEnv, &cx);
    let f = one(&findings, "env-network-reachable");
    assert_eq!(f.evidence, vec!["IPv4 default route via interface eth0"]);
}

#[test]
fn proxy_variable_makes_the_network_reachable_without_a_route() {
    let proc = proc_root("eth0\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n");
    let env = vars(&[("https_proxy", "http://proxy.test:3128")]);
    let cx = Context {
        env: Some(&env),
        proc_root: proc.path().to_path_buf(),
        ..Context::new(clock())
    };
    let (_, findings) = run(&BuildEnv, &cx);
    let f = one(&findings, "env-network-reachable");
    assert_eq!(f.evidence, vec!["proxy variables set: https_proxy"]);
}

#[test]
fn a_local_route_only_is_not_a_network_route() {
    let proc = proc_root("eth0\t0002A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n");
    let env = vars(&[]);
    let cx = Context {
        env: Some(&env),
        proc_root: proc.path().to_path_buf(),
        ..Context::new(clock())
    };
    let (_, findings) = run(&BuildEnv, &cx);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn without_env_the_check_is_skipped() {
    let (status, findings) = run(&BuildEnv, &Context::new(clock()));
    assert!(skipped_because(&status, "--env"), "{status:?}");
    assert!(findings.is_empty());
}
