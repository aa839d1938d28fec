//! `behaviour`: each intent rule, positive and negative, build-time and run-time; the drift
//! of an upgrade in `review`.

use super::*;
use crate::analysis::behaviour::{Behaviour, Fact, Kind, Role};
use crate::checks::behaviour::Behaviours;
use crate::finding::Severity;

fn fact(kind: Kind, role: Role, subject: &str, class: &str) -> Fact {
    Fact {
        kind,
        role,
        file: if role == Role::BuildScript {
            "build.rs"
        } else {
            "src/lib.rs"
        }
        .into(),
        line: 3,
        snippet: "snippet();".into(),
        subject: subject.into(),
        class: class.into(),
        func: "f".into(),
        computed: false,
        decoded: None,
        gated: None,
    }
}

fn in_fn(mut f: Fact, func: &str) -> Fact {
    f.func = func.into();
    f
}

fn findings_for(facts: Vec<Fact>) -> Vec<Finding> {
    let g = graph(&[("app", "0.1.0", None), ("demo", "1.0.0", Some(CRATES_IO))]);
    let a = CrateAnalysis {
        behaviour: Some(Behaviour {
            facts,
            files_read: 1,
            ..Behaviour::default()
        }),
        ..CrateAnalysis::default()
    };
    let an = analyses(vec![(1, Ok(a))]);
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        ..Context::new(clock())
    };
    let (status, findings) = run(&Behaviours, &cx);
    assert_eq!(status, CheckStatus::Ran);
    findings
}

fn severity_of(findings: &[Finding], code: &str) -> Option<Severity> {
    findings.iter().find(|f| f.code == code).map(|f| f.severity)
}

use Kind::*;
use Role::*;

#[test]
fn build_script_reading_secrets_with_network_is_critical_exfiltration() {
    let found = findings_for(vec![
        fact(EnvRead, BuildScript, "GITHUB_TOKEN", ""),
        fact(Network, BuildScript, "0.0.0.0:0", "socket"),
    ]);
    let f = one(&found, "behaviour-exfiltration");
    assert_eq!(f.severity, Severity::Critical);
    assert!(f.title.contains("build-time"), "{}", f.title);
    assert!(f.evidence.iter().any(|e| e.starts_with("build.rs:3")));
}

#[test]
fn secrets_alone_or_network_alone_is_not_exfiltration() {
    let found = findings_for(vec![fact(EnvRead, BuildScript, "GITHUB_TOKEN", "")]);
    assert!(severity_of(&found, "behaviour-exfiltration").is_none());
    let found = findings_for(vec![
        fact(EnvRead, BuildScript, "CARGO_PKG_NAME", ""),
        fact(Network, BuildScript, "x", "http"),
    ]);
    assert!(
        severity_of(&found, "behaviour-exfiltration").is_none(),
        "{found:#?}"
    );
}

#[test]
fn run_time_secrets_and_network_in_one_function_are_high_apart_they_are_not() {
    let same = findings_for(vec![
        in_fn(fact(EnvRead, Library, "API_TOKEN", ""), "send"),
        in_fn(
            fact(Network, Library, "reqwest::Client::new", "http"),
            "send",
        ),
    ]);
    assert_eq!(
        severity_of(&same, "behaviour-exfiltration"),
        Some(Severity::High)
    );
    assert!(
        one(&same, "behaviour-exfiltration")
            .title
            .contains("run-time")
    );
    let apart = findings_for(vec![
        in_fn(fact(EnvRead, Library, "API_TOKEN", ""), "config"),
        in_fn(
            fact(Network, Library, "reqwest::Client::new", "http"),
            "send",
        ),
    ]);
    assert_eq!(severity_of(&apart, "behaviour-exfiltration"), None);
    let keys = findings_for(vec![
        in_fn(fact(EnvRead, Library, "WALLET_PRIVATE_KEY", ""), "config"),
        in_fn(
            fact(Network, Library, "reqwest::Client::new", "http"),
            "send",
        ),
    ]);
    assert_eq!(
        severity_of(&keys, "behaviour-exfiltration"),
        Some(Severity::High)
    );
    let dump = findings_for(vec![
        in_fn(fact(EnvDump, Library, "env::vars()", ""), "send"),
        in_fn(fact(Network, Library, "x", "http"), "send"),
    ]);
    assert_eq!(
        severity_of(&dump, "behaviour-exfiltration"),
        Some(Severity::Critical)
    );
}

#[test]
fn download_and_execute_is_critical() {
    let found = findings_for(vec![fact(DownloadExec, Library, "in fn f", "")]);
    assert_eq!(
        severity_of(&found, "behaviour-download-execute"),
        Some(Severity::Critical)
    );
    let tool = findings_for(vec![
        fact(
            Exec,
            BuildScript,
            "curl -o /tmp/x https://x",
            "download-tool",
        ),
        fact(Exec, BuildScript, "sh", "shell"),
    ]);
    assert!(severity_of(&tool, "behaviour-download-execute").is_some());
    let probe = findings_for(vec![
        fact(Exec, BuildScript, "$RUSTC", "compiler"),
        fact(Exec, BuildScript, "cc", "compiler"),
    ]);
    assert!(severity_of(&probe, "behaviour-download-execute").is_none());
}

#[test]
fn environment_gated_exec_is_high_and_ordinary_conditions_are_not() {
    let mut gated = fact(Exec, Library, "/tmp/x", "other");
    gated.gated = Some("environment variable GITLAB_CI".into());
    let found = findings_for(vec![gated]);
    assert_eq!(
        severity_of(&found, "behaviour-env-gated"),
        Some(Severity::High)
    );
    let mut probe = fact(Exec, BuildScript, "cc", "compiler");
    probe.gated = Some("environment variable CI".into());
    assert!(severity_of(&findings_for(vec![probe]), "behaviour-env-gated").is_none());
    let mut dated = fact(Network, Library, "x", "http");
    dated.gated = Some("the current date".into());
    assert!(
        severity_of(&findings_for(vec![dated]), "behaviour-env-gated").is_none(),
        "token expiry checks are ordinary"
    );
}

#[test]
fn obfuscated_exec_is_high_and_critical_with_network() {
    let mut exec = fact(Exec, BuildScript, "sh", "shell");
    exec.decoded = Some("xor".into());
    let alone = findings_for(vec![exec.clone()]);
    assert_eq!(
        severity_of(&alone, "behaviour-obfuscated"),
        Some(Severity::High)
    );
    let with_net = findings_for(vec![exec, fact(Network, BuildScript, "x", "socket")]);
    assert_eq!(
        severity_of(&with_net, "behaviour-obfuscated"),
        Some(Severity::Critical)
    );
    let plain = findings_for(vec![fact(Exec, BuildScript, "sh", "shell")]);
    assert!(severity_of(&plain, "behaviour-obfuscated").is_none());
}

#[test]
fn key_search_with_network_is_high_without_it_nothing() {
    let found = findings_for(vec![
        fact(KeySearch, Library, "[0-9a-f]{64}", "hex private keys"),
        fact(Network, Library, "x", "http"),
    ]);
    assert_eq!(
        severity_of(&found, "behaviour-key-search"),
        Some(Severity::High)
    );
    let alone = findings_for(vec![fact(
        KeySearch,
        Library,
        "[0-9a-f]{64}",
        "hex private keys",
    )]);
    assert!(severity_of(&alone, "behaviour-key-search").is_none());
}

#[test]
fn build_script_running_a_shipped_file_is_high_run_time_medium() {
    let build = findings_for(vec![fact(
        Exec,
        BuildScript,
        "./bin/helper",
        "shipped-file",
    )]);
    assert_eq!(
        severity_of(&build, "behaviour-runs-shipped-file"),
        Some(Severity::High)
    );
    let run = findings_for(vec![fact(Exec, Library, "./bin/helper", "shipped-file")]);
    assert_eq!(
        severity_of(&run, "behaviour-runs-shipped-file"),
        Some(Severity::Medium)
    );
}

#[test]
fn ordinary_capabilities_are_info() {
    let found = findings_for(vec![
        fact(Network, Library, "hyper::client", "http"),
        fact(Exec, BuildScript, "cc", "compiler"),
        fact(Exec, BuildScript, "$RUSTC", "compiler"),
        fact(EnvRead, BuildScript, "TARGET", ""),
    ]);
    assert!(
        found.iter().all(|f| f.severity == Severity::Info),
        "{found:#?}"
    );
    assert_eq!(with_code(&found, "behaviour-capabilities").len(), 2);
}

#[test]
fn endpoints_tls_and_embedded_executables() {
    let found = findings_for(vec![fact(
        Endpoint,
        Library,
        "https://pastebin.com/raw/x",
        "paste site",
    )]);
    assert_eq!(
        severity_of(&found, "behaviour-endpoint"),
        Some(Severity::Medium)
    );
    let sent = findings_for(vec![
        fact(
            Endpoint,
            Library,
            "https://discord.com/api/webhooks/1/x",
            "Discord webhook",
        ),
        fact(Network, Library, "x", "http"),
    ]);
    assert_eq!(
        severity_of(&sent, "behaviour-exfiltration"),
        Some(Severity::High)
    );
    let tls = findings_for(vec![fact(
        TlsOff,
        Library,
        ".danger_accept_invalid_certs(true)",
        "",
    )]);
    assert_eq!(severity_of(&tls, "behaviour-tls-off"), Some(Severity::Low));
    let exe = findings_for(vec![fact(
        EmbeddedExe,
        Library,
        "ELF byte array",
        "literal",
    )]);
    assert_eq!(
        severity_of(&exe, "behaviour-embedded-executable"),
        Some(Severity::Medium)
    );
}

#[test]
fn build_time_identity_sent_out_is_high() {
    let found = findings_for(vec![
        fact(EnvRead, BuildScript, "USER", ""),
        fact(Network, BuildScript, ".to_socket_addrs()", "dns"),
    ]);
    assert_eq!(
        severity_of(&found, "behaviour-exfiltration"),
        Some(Severity::High)
    );
}

#[test]
fn partial_analysis_is_said() {
    let g = graph(&[("app", "0.1.0", None), ("demo", "1.0.0", Some(CRATES_IO))]);
    let a = CrateAnalysis {
        behaviour: Some(Behaviour {
            partial: vec!["src/huge.rs: too large to read (generated?)".into()],
            ..Behaviour::default()
        }),
        ..CrateAnalysis::default()
    };
    let an = analyses(vec![(1, Ok(a))]);
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        ..Context::new(clock())
    };
    let (_, found) = run(&Behaviours, &cx);
    assert!(one(&found, "behaviour-partial").evidence[0].contains("src/huge.rs"));
}

#[test]
fn drift_says_what_an_upgrade_newly_does() {
    let old = CrateAnalysis {
        behaviour: Some(Behaviour {
            facts: vec![fact(Exec, BuildScript, "cc", "compiler")],
            ..Behaviour::default()
        }),
        ..CrateAnalysis::default()
    };
    let new = CrateAnalysis {
        behaviour: Some(Behaviour {
            facts: vec![
                fact(Exec, BuildScript, "cc", "compiler"),
                fact(Network, Library, "std::net::TcpStream", "socket"),
            ],
            ..Behaviour::default()
        }),
        ..CrateAnalysis::default()
    };
    let mut make = |s: &'static crate::finding::CodeSpec, t: String| Finding::new("review", s, t);
    let found = crate::checks::behaviour::drift(
        "demo 1.0.1",
        &old,
        &new,
        &crate::checks::review::BEHAVIOUR_ADDED,
        &mut make,
    );
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].severity, Severity::High);
    assert!(
        found[0].title.contains("run-time") && found[0].title.contains("newly uses the network"),
        "{}",
        found[0].title
    );
    let same = crate::checks::behaviour::drift(
        "demo 1.0.1",
        &new,
        &new,
        &crate::checks::review::BEHAVIOUR_ADDED,
        &mut make,
    );
    assert!(same.is_empty());
    let mut evil = new.clone();
    if let Some(b) = &mut evil.behaviour {
        b.facts.push(fact(EnvDump, Library, "env::vars()", ""));
        b.facts.last_mut().unwrap().func = "f".into();
    }
    let found = crate::checks::behaviour::drift(
        "demo 1.0.1",
        &new,
        &evil,
        &crate::checks::review::BEHAVIOUR_ADDED,
        &mut make,
    );
    assert_eq!(found[0].severity, Severity::Critical, "{found:#?}");
}
