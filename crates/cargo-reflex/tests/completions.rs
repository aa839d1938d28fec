//! `cargo reflex completions` and `cargo reflex man`: scripts every shell can load and roff
//! pages for the command and each subcommand.

mod common;
use common::*;
use std::process::Command;

const SUBCOMMANDS: [&str; 13] = [
    "audit",
    "inspect",
    "recon",
    "review",
    "gate",
    "init",
    "build",
    "respond",
    "drill",
    "db",
    "sbom",
    "completions",
    "man",
];

#[test]
fn completion_scripts_name_every_subcommand_for_every_shell() {
    let tmp = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(tmp.path(), &["completions", shell]);
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        for sub in SUBCOMMANDS {
            assert!(out.stdout.contains(sub), "{shell} script lacks `{sub}`");
        }
        assert!(out.stdout.contains("manifest-path"), "{shell}");
        assert!(out.stdout.contains("cargo-reflex"), "{shell}");
    }
    // As cargo runs it, `cargo reflex completions bash`.
    let via_cargo = run(tmp.path(), &["reflex", "completions", "bash"]);
    assert_eq!(
        via_cargo.stdout,
        run(tmp.path(), &["completions", "bash"]).stdout
    );
    let bad = run(tmp.path(), &["completions", "tcsh"]);
    assert_eq!(bad.code, 2);
}

/// What bash offers for `words` when the cursor is on the last one.
fn bash_complete(script: &std::path::Path, words: &[&str]) -> Vec<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let line = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _cargo_reflex cargo-reflex '{}' '{}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &line])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Regression: clap_complete's bash script completes nothing after a subcommand when the
/// binary name has a hyphen (clap-rs/clap#6421); ours must.
#[test]
fn bash_completes_subcommands_their_options_and_values() {
    if Command::new("bash").arg("--version").output().is_err() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("cargo-reflex.bash");
    let out = run(tmp.path(), &["completions", "bash"]);
    std::fs::write(&script, &out.stdout).unwrap();
    assert!(
        out.stdout.contains("complete -F _cargo_reflex") && out.stdout.contains(" cargo-reflex\n"),
        "the script must be bound to the cargo-reflex command"
    );
    assert_eq!(bash_complete(&script, &["cargo-reflex", "sb"]), ["sbom"]);
    assert_eq!(
        bash_complete(&script, &["cargo-reflex", "sbom", "--for"]),
        ["--format"]
    );
    assert_eq!(
        bash_complete(&script, &["cargo-reflex", "sbom", "--format", ""]),
        ["cyclonedx", "spdx"]
    );
    assert_eq!(
        bash_complete(&script, &["cargo-reflex", "db", "fetch", "--u"]),
        ["--url"]
    );
}

#[test]
fn man_pages_are_roff_for_the_command_and_every_subcommand() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(tmp.path(), &["man"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = out.stdout;
    assert!(
        text.starts_with(".ie") || text.starts_with(".TH"),
        "{}",
        &text[..80]
    );
    assert!(text.contains(".TH cargo-reflex 1"), "no title page");
    assert!(text.contains(".SH NAME") && text.contains(".SH SYNOPSIS"));
    assert!(text.contains(".SH OPTIONS") && text.contains(".SH SUBCOMMANDS"));
    for sub in SUBCOMMANDS {
        assert!(
            text.contains(&format!(".TH cargo-reflex-{sub} 1")),
            "no page for {sub}"
        );
    }
    assert!(text.contains(".TH cargo-reflex-db-fetch 1"));
    // Options are there, roff-escaped; the exit codes are documented.
    assert!(
        text.contains(r"\fB\-\-manifest\-path\fR"),
        "no --manifest-path"
    );
    assert!(text.contains(r"\fB\-\-format\fR"));
    assert!(text.contains("Exit codes: 0 passed"));

    let dir = tmp.path().join("man1");
    let files = run(
        tmp.path(),
        &["man", "--out-dir", &dir.display().to_string()],
    );
    assert_eq!(files.code, 0, "{}", files.stderr);
    assert!(files.stdout.is_empty());
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for sub in SUBCOMMANDS {
        assert!(
            names.contains(&format!("cargo-reflex-{sub}.1")),
            "{sub}: {names:?}"
        );
    }
    assert!(names.contains(&"cargo-reflex.1".to_string()));
    let sbom = std::fs::read_to_string(dir.join("cargo-reflex-sbom.1")).unwrap();
    assert!(sbom.contains(r"\fB\-\-vex\fR"), "{sbom}");
    assert!(sbom.contains("cyclonedx") && sbom.contains("spdx"));

    // Where groff is installed, the page must format without warnings.
    if let Ok(out) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .arg(dir.join("cargo-reflex-sbom.1"))
        .output()
    {
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        let rendered = Command::new("groff")
            .args(["-man", "-Tascii", "-P-c", "-P-b", "-P-u"])
            .arg(dir.join("cargo-reflex.1"))
            .output()
            .unwrap();
        let page = String::from_utf8_lossy(&rendered.stdout);
        assert!(page.contains("SYNOPSIS"), "{page}");
        assert!(page.contains("cargo-reflex-sbom(1)"), "{page}");
    }
}
