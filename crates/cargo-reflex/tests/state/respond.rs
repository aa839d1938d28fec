//! `respond --state` gives the walk's answer for every kind of query: a crate in several
//! versions across lockfiles (and twice in one), version requirements that keep some rows,
//! all of them or none (then no run is read at all), and rows shared by many records.

use crate::backend::Backend;
use crate::common::{json, run_with};
use crate::inventory::record_file;

const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// A lockfile: workspace member `root` depending on `direct`, then the registry packages
/// (`name`, `version`, their dependencies as lockfile entries).
fn lockfile(root: &str, direct: &[&str], packages: &[(&str, &str, &[&str])]) -> String {
    let list = |deps: &[&str]| -> String { deps.iter().map(|d| format!(" \"{d}\",\n")).collect() };
    let mut text = format!(
        "version = 4\n\n[[package]]\nname = \"{root}\"\nversion = \"0.1.0\"\ndependencies = [\n{}]\n",
        list(direct)
    );
    for (i, (name, version, deps)) in packages.iter().enumerate() {
        text += &format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"{CRATES_IO}\"\nchecksum = \"{i:064x}\"\n"
        );
        if !deps.is_empty() {
            text += &format!("dependencies = [\n{}]\n", list(deps));
        }
    }
    text
}

pub fn respond_from_records_equals_the_walk(b: &Backend) {
    let tree = tempfile::tempdir().unwrap();
    let repos: [(&str, String); 4] = [
        // foo directly.
        (
            "alpha",
            lockfile("alpha", &["foo"], &[("foo", "1.0.0", &[])]),
        ),
        // foo twice: directly (1.2.0) and through mid (2.0.0).
        (
            "beta",
            lockfile(
                "beta",
                &["foo 1.2.0", "mid"],
                &[
                    ("foo", "1.2.0", &[]),
                    ("foo", "2.0.0", &[]),
                    ("mid", "0.3.0", &["foo 2.0.0"]),
                ],
            ),
        ),
        // The same lockfile as alpha's in another repository: alpha's rows, shared.
        (
            "gamma",
            lockfile("alpha", &["foo"], &[("foo", "1.0.0", &[])]),
        ),
        // No foo at all.
        (
            "delta",
            lockfile("delta", &["mid"], &[("mid", "0.3.0", &[])]),
        ),
    ];
    for (i, (repo, text)) in repos.iter().enumerate() {
        let dir = tree.path().join(repo);
        std::fs::create_dir_all(&dir).unwrap();
        let lock = dir.join("Cargo.lock");
        std::fs::write(&lock, text).unwrap();
        let now = format!("2026-11-0{}T08:00:00Z", i + 1);
        record_file(b, "audit", &lock, repo, "main", &now);
        // Recorded twice: the newest record is one of two sharing every row.
        record_file(
            b,
            "gate",
            &lock,
            repo,
            "main",
            &format!("2026-11-1{i}T08:00:00Z"),
        );
    }
    // (query, matches): alpha's and gamma's 1.0.0, beta's 1.2.0 and 2.0.0; mid in beta and delta.
    let queries = [
        ("foo", 4),
        ("foo@<1.1", 2),
        ("foo@^1", 3),
        ("foo@>=1.1", 2),
        ("foo@>=3", 0),
        ("mid", 2),
        ("nothing", 0),
    ];
    for (query, expected) in queries {
        let r = run_with(
            b.dir.path(),
            &["respond", query, "--state", &b.url, "--format", "json"],
            &[],
            None,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let recorded = json(&r);
        let w = run_with(
            tree.path(),
            &["respond", query, ".", "--format", "json"],
            &[],
            None,
        );
        assert_eq!(w.code, 0, "{}", w.stderr);
        let walked = json(&w);
        assert_eq!(recorded["lockfiles_scanned"], 4, "{query}: {recorded:#}");
        assert_eq!(walked["lockfiles_scanned"], 4, "{query}: {walked:#}");
        let (from_state, from_walk) = (
            recorded["projects"].as_array().unwrap(),
            walked["projects"].as_array().unwrap(),
        );
        assert_eq!(from_state.len(), from_walk.len(), "{query}: {recorded:#}");
        // The walk names lockfiles by path, the inventory by repository: both in name order.
        for (s, w) in from_state.iter().zip(from_walk) {
            let repo = s["lockfile"].as_str().unwrap().split(' ').next().unwrap();
            assert!(
                w["lockfile"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("{repo}/Cargo.lock")),
                "{query}: {s:#} vs {w:#}"
            );
            assert!(
                s["lockfile"]
                    .as_str()
                    .unwrap()
                    .contains("recorded 2026-11-1")
            );
            assert_eq!(s["matches"], w["matches"], "{query}");
        }
        let matches: usize = from_state
            .iter()
            .map(|p| p["matches"].as_array().unwrap().len())
            .sum();
        assert_eq!(matches, expected, "{query}: {recorded:#}");
    }
}
