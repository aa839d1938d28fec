//! `--record` on gate/audit/recon and `respond --state`: the inventory end to end.

use crate::backend::Backend;
use crate::common::{fixture, json, run_with};
use reflex::state::TimeRange;

/// Records `lockfile` (a scenario's) as `repository` at `branch` and `now` with `command`.
fn record(b: &Backend, command: &str, scenario: &str, repository: &str, branch: &str, now: &str) {
    let lock = fixture(&format!("scenarios/{scenario}/Cargo.lock"));
    record_file(b, command, &lock, repository, branch, now);
}

/// Records the lockfile at `lock` as `repository` at `branch` and `now` with `command`.
pub fn record_file(
    b: &Backend,
    command: &str,
    lock: &std::path::Path,
    repository: &str,
    branch: &str,
    now: &str,
) {
    let lock = lock.display().to_string();
    let args = [
        command,
        "--offline",
        "--no-fetch",
        "--file",
        &lock,
        "--now",
        now,
        "--record",
        "--repository",
        repository,
        "--branch",
        branch,
        "--commit",
        "0123456789abcdef",
        "--format",
        "json",
    ];
    // The store comes from the environment here, as on a fleet's runners.
    let r = run_with(b.dir.path(), &args, &[("CARGO_REFLEX_STATE", &b.url)], None);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert!(r.stderr.contains("recorded run"), "{}", r.stderr);
}

pub fn round_trip(b: &Backend) {
    record(
        b,
        "gate",
        "takeover",
        "https://github.com/o/svc",
        "main",
        "2026-11-10T08:00:00Z",
    );
    record(
        b,
        "recon",
        "squat",
        "https://github.com/o/svc",
        "dev",
        "2026-11-11T08:00:00Z",
    );
    record(
        b,
        "audit",
        "hardened",
        "lib",
        "main",
        "2026-11-12T08:00:00Z",
    );
    let s = b.open();
    let runs = s.runs(&TimeRange::ALL, true).unwrap();
    assert_eq!(runs.len(), 3);
    let gate = &runs[0];
    assert_eq!(
        (
            gate.command.as_str(),
            gate.branch.as_str(),
            gate.commit.as_deref()
        ),
        ("gate", "main", Some("0123456789abcdef"))
    );
    assert_eq!(gate.recorded_at, "2026-11-10T08:00:00Z");
    assert!(!gate.passed, "the takeover fails the gate");
    assert!(gate.counts.denied > 0 && gate.counts.total >= gate.counts.denied);
    assert_eq!(gate.codes.values().sum::<i64>(), gate.counts.total);
    let graph = reflex::graph::Graph::load(&fixture("scenarios/takeover/Cargo.lock")).unwrap();
    assert_eq!(gate.package_count as usize, graph.packages().len());
    for (i, (p, q)) in graph.packages().iter().zip(&gate.packages).enumerate() {
        assert_eq!(q.name, p.name.to_string());
        assert_eq!(q.version, p.version.to_string());
        assert_eq!(q.source, p.source.as_ref().map(|s| s.to_string()));
        assert_eq!(q.checksum, p.checksum.as_ref().map(|c| c.to_string()));
        assert_eq!(q.via, graph.via(i));
    }
    // Survey's questions: a time range, without packages.
    let late = TimeRange::since(Some("2026-11-11"));
    let recent = s.runs(&late, false).unwrap();
    assert_eq!(recent.len(), 2);
    assert!(
        recent
            .iter()
            .all(|r| r.packages.is_empty() && r.package_count > 0)
    );
    assert_eq!(s.latest_runs(None, false).unwrap().len(), 3);
}

pub fn respond_from_records(b: &Backend) {
    // svc@main had the takeover, then moved to the hardened lockfile: only its newest counts.
    record(b, "gate", "takeover", "svc", "main", "2026-11-10T08:00:00Z");
    record(b, "gate", "hardened", "svc", "main", "2026-11-12T08:00:00Z");
    record(
        b,
        "gate",
        "takeover",
        "svc",
        "release",
        "2026-11-11T08:00:00Z",
    );
    record(b, "audit", "squat", "web", "main", "2026-11-13T08:00:00Z");
    let cwd = b.dir.path();
    let ask = |extra: &[&str]| {
        let mut args = vec![
            "respond",
            "url-parse",
            "--state",
            &b.url,
            "--format",
            "json",
        ];
        args.extend(extra);
        let r = run_with(cwd, &args, &[], None);
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r)
    };
    let v = ask(&[]);
    assert_eq!(v["lockfiles_scanned"], 3, "{v:#}");
    let projects = v["projects"].as_array().unwrap();
    let names: Vec<&str> = projects
        .iter()
        .map(|p| p["lockfile"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names[0].starts_with("svc (release @ 0123456789ab, recorded 2026-11-11T08:00:00Z"));
    assert!(names[1].starts_with("web (main"));
    // The same matches as walking the checkouts.
    let tree = tempfile::tempdir().unwrap();
    for (dir, scenario) in [("svc", "takeover"), ("web", "squat")] {
        std::fs::create_dir_all(tree.path().join(dir)).unwrap();
        let lock = fixture(&format!("scenarios/{scenario}/Cargo.lock"));
        std::fs::copy(lock, tree.path().join(dir).join("Cargo.lock")).unwrap();
    }
    let walk = run_with(
        tree.path(),
        &["respond", "url-parse", ".", "--format", "json"],
        &[],
        None,
    );
    let walked = json(&walk);
    for (from_state, from_walk) in projects.iter().zip(walked["projects"].as_array().unwrap()) {
        assert_eq!(from_state["matches"], from_walk["matches"]);
    }
    let v = ask(&["--since", "2026-11-12"]);
    assert_eq!(v["lockfiles_scanned"], 2);
    assert_eq!(v["projects"].as_array().unwrap().len(), 1);
    let r = run_with(
        cwd,
        &[
            "respond",
            "url-parse",
            "--state",
            &b.url,
            "--fail-if-affected",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.starts_with("url-parse: 2 of 3 lockfiles affected"),
        "{}",
        r.stdout
    );
}

/// Rewrites the (new, empty) store of `b` as schema version 1 holding two runs: `a` (itoa 1.0.1,
/// app) and `b` (serde 1.0.0, the same itoa row).
pub fn version_1_store(b: &Backend) {
    use crate::backend::Kind;
    use reflex::state::micros;
    drop(b.open());
    let pg = b.kind == Kind::Postgres;
    let (position, key) = match pg {
        true => (
            "position INTEGER NOT NULL,",
            ", PRIMARY KEY (run_id, position)",
        ),
        false => ("", ""),
    };
    let at = |i: i64| if pg { format!("{i}, ") } else { String::new() };
    let t1 = micros("2026-11-01T00:00:00Z").unwrap();
    let t2 = micros("2026-11-02T00:00:00Z").unwrap();
    let itoa = "'itoa', '1.0.1', 'registry+https://github.com/rust-lang/crates.io-index', 'abc', \
                'app 0.1.0\nitoa 1.0.1', 'app 0.1.0'";
    b.sql(&format!(
        "DROP TABLE run_packages; DROP TABLE package_rows; DROP TABLE latest_runs;
         DELETE FROM schema_version WHERE version > 1;
         CREATE TABLE latest_runs (repository TEXT NOT NULL, branch TEXT NOT NULL,
             run_id BIGINT NOT NULL, recorded_us BIGINT NOT NULL,
             PRIMARY KEY (repository, branch));
         CREATE TABLE run_packages (run_id BIGINT NOT NULL, {position} name TEXT NOT NULL,
             version TEXT NOT NULL, source TEXT, checksum TEXT, via TEXT NOT NULL,
             dependents TEXT NOT NULL{key});
         CREATE INDEX run_packages_by_name ON run_packages (name, run_id);
         INSERT INTO runs (repository, branch, commit_id, recorded_at, recorded_us, command,
             passed, deny_level, total, critical, high, medium, low, info, denied, codes,
             details, package_count, tool_version)
         VALUES ('a', 'main', NULL, '2026-11-01T00:00:00Z', {t1}, 'audit', true, NULL,
                 0, 0, 0, 0, 0, 0, 0, '{{}}', 'null', 2, '0'),
                ('b', 'main', 'c0ffee', '2026-11-02T00:00:00Z', {t2}, 'gate', false, 'high',
                 1, 0, 1, 0, 0, 0, 1, '{{}}', 'null', 2, '0');
         INSERT INTO run_packages VALUES (1, {}{itoa}), (1, {}'app', '0.1.0', NULL, NULL, '', ''),
             (2, {}'serde', '1.0.0', 'registry+https://github.com/rust-lang/crates.io-index',
              'def', 'app 0.2.0\nserde 1.0.0', 'app 0.2.0'), (2, {}{itoa});
         INSERT INTO latest_runs VALUES ('a', 'main', 1, {t1}), ('b', 'main', 2, {t2});",
        at(1),
        at(2),
        at(1),
        at(2),
    ));
}

/// A store of schema version 1 (each run's package rows in full) is upgraded in place: the
/// same runs and packages, each distinct package row stored once, also for runs recorded
/// after the upgrade.
pub fn migrates_version_1(b: &Backend) {
    use reflex::state::{InventoryPackage, InventoryRecord, SCHEMA_VERSION};
    version_1_store(b);
    let s = b.open();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(b.count("SELECT COUNT(*) FROM package_rows"), 3);
    let runs = s.runs(&TimeRange::ALL, true).unwrap();
    let names = |r: &InventoryRecord| -> Vec<String> {
        r.packages.iter().map(|p| p.name.clone()).collect()
    };
    assert_eq!(names(&runs[0]), ["itoa", "app"]);
    assert_eq!(names(&runs[1]), ["serde", "itoa"]);
    let want = InventoryPackage {
        name: "itoa".into(),
        version: "1.0.1".into(),
        source: Some("registry+https://github.com/rust-lang/crates.io-index".into()),
        checksum: Some("abc".into()),
        via: vec!["app 0.1.0".into(), "itoa 1.0.1".into()],
        dependents: vec!["app 0.1.0".into()],
    };
    assert_eq!(runs[0].packages[0], want);
    assert_eq!(runs[1].packages[1], want);
    assert_eq!(runs[0].packages[1].source, None);
    let held = s.latest_holding("itoa", None, None).unwrap();
    assert_eq!((held.scanned, held.runs.len(), held.rows.len()), (2, 2, 1));
    assert!((0..2).all(|i| held.packages(i) == [want.clone()]));
    // The newest records carry who and when, taken from their runs by the migration.
    let b_run = &held.runs[1].0;
    assert_eq!(
        (
            b_run.repository.as_str(),
            b_run.commit.as_deref(),
            b_run.recorded_at.as_str(),
            b_run.command.as_str(),
            b_run.passed,
            b_run.package_count
        ),
        (
            "b",
            Some("c0ffee"),
            "2026-11-02T00:00:00Z",
            "gate",
            false,
            2
        )
    );
    // A run recorded now shares the migrated row: the store's digest and the migration's agree.
    let id = s
        .record_run(&InventoryRecord {
            repository: "c".into(),
            branch: "main".into(),
            recorded_at: "2026-11-03T00:00:00Z".into(),
            command: "audit".into(),
            passed: true,
            packages: vec![want.clone()],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(b.count("SELECT COUNT(*) FROM package_rows"), 3);
    let held = s.latest_holding("itoa", None, None).unwrap();
    assert_eq!(held.runs.len(), 3);
    assert_eq!(held.runs[2].0.id, Some(id));
    assert_eq!(held.packages(2), [want]);
}

/// A migration that fails leaves the store as it was (one transaction), says so and exits 2;
/// once the cause is gone, the next opening migrates it completely.
pub fn failed_migration_changes_nothing(b: &Backend) {
    version_1_store(b);
    // In the way of the migration's first step (renaming the version 1 table).
    b.sql("CREATE TABLE run_packages_v1 (x INTEGER)");
    let cwd = b.dir.path();
    let ask = || {
        run_with(
            cwd,
            &["respond", "itoa", "--state", &b.url, "--format", "json"],
            &[],
            None,
        )
    };
    let r = ask();
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("migrating the state store") && r.stderr.contains("run_packages_v1"),
        "{}",
        r.stderr
    );
    assert_eq!(b.count("SELECT MAX(version) FROM schema_version"), 1);
    assert_eq!(b.count("SELECT COUNT(*) FROM run_packages"), 4);
    assert_eq!(
        b.count(
            "SELECT COUNT(*) FROM run_packages WHERE name = 'itoa' AND version = '1.0.1' \
             AND via IS NOT NULL"
        ),
        2,
        "the version 1 rows are untouched"
    );
    b.sql("DROP TABLE run_packages_v1");
    let r = ask();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = json(&r);
    assert_eq!(v["lockfiles_scanned"], 2);
    assert_eq!(v["projects"].as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(
        b.count("SELECT MAX(version) FROM schema_version"),
        reflex::state::SCHEMA_VERSION
    );
}
