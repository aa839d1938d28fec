//! `respond`: which lockfiles under many trees hold a crate or an advisory's crate.

mod common;

use common::*;

fn tree() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (dir, from) in [
        ("a", "scenarios/takeover/Cargo.lock"),
        ("b/nested", "scenarios/squat/Cargo.lock"),
        ("c/ignored", "scenarios/takeover/Cargo.lock"),
        ("e", "scenarios/hardened/Cargo.lock"),
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::copy(fixture(from), root.join(dir).join("Cargo.lock")).unwrap();
    }
    std::fs::write(root.join("c/.gitignore"), "ignored/\n").unwrap();
    std::fs::create_dir_all(root.join("d")).unwrap();
    std::fs::write(
        root.join("d/Cargo.lock"),
        "version = 4\n[[package]]\nname = \"url-parse\"\nversion = 1\n",
    )
    .unwrap();
    tmp
}

#[test]
fn finds_every_affected_lockfile_with_paths_and_remedies() {
    let tmp = tree();
    let r = run(
        tmp.path(),
        &["respond", "url-parse", ".", "--format", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(
        v["lockfiles_scanned"], 4,
        ".gitignore'd trees are skipped: {v:#}"
    );
    let projects = v["projects"].as_array().unwrap();
    let files: Vec<&str> = projects
        .iter()
        .map(|p| p["lockfile"].as_str().unwrap())
        .collect();
    assert_eq!(files, vec!["./a/Cargo.lock", "./b/nested/Cargo.lock"]);
    let takeover = &projects[0]["matches"][0];
    assert_eq!(takeover["version"], "0.1.0");
    assert_eq!(
        takeover["via"],
        serde_json::json!(["app 0.1.0", "rust-utilities-v2 2.1.1", "url-parse 0.1.0"])
    );
    assert!(
        takeover["remedy"]
            .as_str()
            .unwrap()
            .starts_with("update or replace rust-utilities-v2 2.1.1")
    );
    assert!(
        v["lockfiles_unreadable"][0]
            .as_str()
            .unwrap()
            .contains("d/Cargo.lock"),
        "{v:#}"
    );

    let adv = json(&run(
        tmp.path(),
        &["respond", "RUSTSEC-2019-0009", "--format", "json"],
    ));
    let m = &adv["projects"][0]["matches"][0];
    assert_eq!(
        (m["name"].as_str(), m["version"].as_str()),
        (Some("smallvec"), Some("0.6.9"))
    );
    assert_eq!(m["advisories"][0], "RUSTSEC-2019-0009");
    // 0.6.10 fixes RUSTSEC-2019-0009 but RUSTSEC-2021-0003 still affects it: the remedy
    // names the first release free of every advisory of the crate.
    assert_eq!(
        m["remedy"],
        "cargo update -p smallvec@0.6.9 --precise 0.6.14"
    );

    let req = json(&run(
        tmp.path(),
        &["respond", "url-parse@>0.1.0", "--format", "json"],
    ));
    assert!(
        req["projects"].as_array().unwrap().is_empty(),
        "0.1.0 does not match >0.1.0"
    );
    let fail = run(tmp.path(), &["respond", "url-parse", "--fail-if-affected"]);
    assert_eq!(fail.code, 1);
    assert!(
        fail.stdout.contains("2 of 4 lockfiles affected"),
        "{}",
        fail.stdout
    );
}

#[test]
fn bad_queries_are_errors() {
    let tmp = tree();
    for (q, msg) in [
        ("url-parse@>>1", "is not a version requirement"),
        ("RUSTSEC-1999-9999", "no advisory `RUSTSEC-1999-9999`"),
    ] {
        let r = run(tmp.path(), &["respond", q]);
        assert_eq!(r.code, 2, "{q}");
        assert!(r.stderr.contains(msg), "{}", r.stderr);
    }
    let r = run(tmp.path(), &["respond", "x", "no-such-dir"]);
    assert_eq!(r.code, 2);
}

/// A generated tree of thousands of repositories (real corpus lockfiles, hard-linked), a few of
/// which carry the crate: every lockfile is scanned, exactly the affected ones are reported.
#[test]
fn thousands_of_lockfiles_give_exact_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let corpus: Vec<std::path::PathBuf> = std::fs::read_dir(fixture("corpus"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("Cargo.lock"))
        .filter(|p| p.is_file())
        .collect();
    let total = 3_000;
    let affected = [17, 1_234, 2_999];
    for i in 0..total {
        let dir = tmp.path().join(format!("org-{}/repo-{}", i / 100, i % 100));
        std::fs::create_dir_all(&dir).unwrap();
        if affected.contains(&i) {
            std::fs::copy(
                fixture("scenarios/takeover/Cargo.lock"),
                dir.join("Cargo.lock"),
            )
            .unwrap();
        } else {
            std::fs::hard_link(&corpus[i % corpus.len()], dir.join("Cargo.lock")).unwrap();
        }
    }
    let r = run(
        tmp.path(),
        &["respond", "url-parse@=0.1.0", ".", "--format", "json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["lockfiles_scanned"], total);
    let found: Vec<&str> = v["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["lockfile"].as_str().unwrap())
        .collect();
    assert_eq!(
        found,
        [
            "./org-0/repo-17/Cargo.lock",
            "./org-12/repo-34/Cargo.lock",
            "./org-29/repo-99/Cargo.lock"
        ]
    );
}

/// Regression: the byte prefilter skipped lockfiles whose entry is spelled in another valid
/// TOML way (15 of 18 spellings said "0 of 1 lockfiles affected" while `audit` found the
/// malicious crate in all of them). Every spelling must be found, as the full parser reads it.
#[test]
fn regression_respond_finds_every_toml_spelling_of_an_entry() {
    const SRC: &str = "source = \"registry+https://github.com/rust-lang/crates.io-index\"";
    let app =
        "[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"rustdecimal\"]\n";
    let entry = |name: &str, version: &str| format!("[[package]]\n{name}\n{version}\n{SRC}\n");
    let canonical_version = "version = \"1.23.1\"";
    let mut spellings: Vec<(&str, String)> = [
        ("no spaces", "name=\"rustdecimal\""),
        ("literal string", "name = 'rustdecimal'"),
        ("multi-line basic", "name = \"\"\"rustdecimal\"\"\""),
        ("multi-line literal", "name = '''rustdecimal'''"),
        ("quoted key", "\"name\" = \"rustdecimal\""),
        ("literal key", "'name' = \"rustdecimal\""),
        ("\\u escape inside", "name = \"rust\\u0064ecimal\""),
        ("\\u escape first", "name = \"\\u0072ustdecimal\""),
        ("\\U escape last", "name = \"rustdecima\\U0000006C\""),
        ("tabs", "name\t=\t\"rustdecimal\""),
        ("wide spaces", "name  =  \"rustdecimal\""),
        ("trailing comment", "name = \"rustdecimal\" # the crate"),
    ]
    .iter()
    .map(|(what, name)| {
        (
            *what,
            format!("version = 4\n\n{app}\n{}", entry(name, canonical_version)),
        )
    })
    .collect();
    for (what, version) in [
        ("version without spaces", "version=\"1.23.1\""),
        ("version literal", "version = '1.23.1'"),
        ("version escaped", "version = \"\\u0031.23.1\""),
    ] {
        spellings.push((
            what,
            format!(
                "version = 4\n\n{app}\n{}",
                entry("name = \"rustdecimal\"", version)
            ),
        ));
    }
    spellings.push((
        "version before name",
        format!("version = 4\n\n{app}\n[[package]]\n{canonical_version}\nname = \"rustdecimal\"\n{SRC}\n"),
    ));
    spellings.push((
        "inline array of tables",
        format!(
            "version = 4\npackage = [\n  {{ name = \"app\", version = \"0.1.0\", dependencies = [\"rustdecimal\"] }},\n  {{ name = \"rustdecimal\", version = \"1.23.1\", {SRC} }},\n]\n"
        ),
    ));
    spellings.push((
        "dotted key in a table",
        format!("version = 4\n\n{app}\n[[package]]\nname.x = 1\n").replace("name.x = 1", "name = \"rustdecimal\"\nversion = \"1.23.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\""),
    ));
    assert_eq!(spellings.len(), 18);
    let mut missed = Vec::new();
    for (what, lock) in &spellings {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("Cargo.lock"), lock).unwrap();
        let r = run(
            tmp.path(),
            &["respond", "rustdecimal", ".", "--format", "json"],
        );
        let v = json(&r);
        if v["projects"].as_array().map_or(0, |p| p.len()) != 1 {
            missed.push(format!("{what}: {}{}", r.stdout, r.stderr));
        }
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}
