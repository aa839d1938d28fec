//! Parity with cargo-audit 0.22: on every corpus lockfile, the same advisory IDs for the same
//! package versions, with the same database. Expected results were generated once by
//! `scripts/gen-parity-fixtures.sh` with cargo-audit and are committed under fixtures/parity.

use reflex::commands::{CommandOptions, audit};
use reflex::time::Clock;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn kind(code: &str) -> Option<&'static str> {
    Some(match code {
        "advisory-vulnerability" | "advisory-malicious" => "vulnerability",
        "advisory-unmaintained" => "unmaintained",
        "advisory-unsound" => "unsound",
        "advisory-notice" => "notice",
        _ => return None,
    })
}

fn ours(lockfile: &Path) -> BTreeSet<String> {
    let mut opts = CommandOptions::new(root());
    opts.lockfile = Some(lockfile.to_path_buf());
    opts.advisory_db = Some(root().join("data/advisory-db"));
    opts.check_yanked = false;
    opts.cache_dir = None;
    opts.clock = Clock::fixed("2026-11-25").unwrap();
    let report = audit(&opts, &|_, _, _| {}).expect("audit runs");
    report
        .findings
        .iter()
        .filter_map(|f| {
            let k = kind(f.code)?;
            let a = f.advisory.as_ref()?;
            let p = f.package.as_ref()?;
            Some(format!("{} {} {} {k}", a.id, p.name, p.version))
        })
        .collect()
}

#[test]
fn same_advisories_as_cargo_audit_on_the_corpus() {
    let corpus = root().join("fixtures/corpus");
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&corpus).unwrap().flatten() {
        let lock = entry.path().join("Cargo.lock");
        if lock.is_file() {
            cases.push((entry.file_name().to_string_lossy().into_owned(), lock));
        }
    }
    for entry in std::fs::read_dir(corpus.join("_historical"))
        .unwrap()
        .flatten()
    {
        let name = entry
            .file_name()
            .to_string_lossy()
            .trim_end_matches(".Cargo.lock")
            .to_string();
        cases.push((name, entry.path()));
    }
    assert!(cases.len() >= 14, "corpus lockfiles found: {}", cases.len());
    let mut total = 0;
    for (name, lock) in cases {
        let expected: BTreeSet<String> =
            std::fs::read_to_string(root().join(format!("fixtures/parity/{name}.txt")))
                .unwrap_or_else(|e| panic!("fixture for {name}: {e}"))
                .lines()
                .map(str::to_string)
                .collect();
        let got = ours(&lock);
        assert_eq!(
            got, expected,
            "advisory matches differ from cargo-audit on {name}"
        );
        total += expected.len();
    }
    assert!(total > 150, "parity covers {total} advisory matches");
}
