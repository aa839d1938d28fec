use super::*;

fn package(name: &str, version: &str) -> InventoryPackage {
    InventoryPackage {
        name: name.into(),
        version: version.into(),
        source: Some("registry+https://github.com/rust-lang/crates.io-index".into()),
        checksum: Some("00".into()),
        via: vec!["app 0.1.0".into(), format!("{name} {version}")],
        dependents: vec!["app 0.1.0".into()],
    }
}

fn run(repo: &str, branch: &str, at: &str, packages: Vec<InventoryPackage>) -> InventoryRecord {
    InventoryRecord {
        repository: repo.into(),
        branch: branch.into(),
        commit: Some("abc".into()),
        recorded_at: at.into(),
        command: "gate".into(),
        passed: true,
        package_count: packages.len() as i64,
        packages,
        ..Default::default()
    }
}

#[test]
fn first_sightings_survive_reopening_and_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    let s = open_sqlite(&path).unwrap();
    assert!(
        s.first_sighting("domain", "a.invalid", Some("x"), "2026-11-25T00:00:00Z")
            .unwrap()
    );
    assert!(
        !s.first_sighting("domain", "a.invalid", Some("y"), "2026-11-25T00:00:00Z")
            .unwrap()
    );
    drop(s);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || {
                let s = open_sqlite(&path).unwrap();
                (0..50)
                    .filter(|i| {
                        s.first_sighting("address", &format!("10.0.0.{i}:443"), None, "2026-11-26")
                            .unwrap()
                    })
                    .count()
            })
        })
        .collect();
    let firsts: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(
        firsts, 50,
        "each address is new exactly once across writers"
    );
    let s = open_sqlite(&path).unwrap();
    assert_eq!(s.destination_count().unwrap(), 51);
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let first_day = TimeRange {
        from: Some("2026-11-25".into()),
        to: Some("2026-11-26".into()),
    };
    assert_eq!(s.destinations(&first_day).unwrap().len(), 1);
}

#[test]
fn the_newest_record_of_each_branch_answers() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_sqlite(&dir.path().join("state.sqlite")).unwrap();
    let old = run(
        "r",
        "main",
        "2026-11-01T00:00:00Z",
        vec![package("url", "1.0.0")],
    );
    let new = run(
        "r",
        "main",
        "2026-11-02T00:00:00Z",
        vec![package("url", "2.0.0")],
    );
    s.record_run(&new).unwrap();
    // Recorded later but judged earlier: it does not replace the newer record.
    s.record_run(&old).unwrap();
    s.record_run(&run(
        "r",
        "dev",
        "2026-11-03T00:00:00Z",
        vec![package("syn", "2.0.0")],
    ))
    .unwrap();
    let held = s.latest_holding("url", None, None).unwrap();
    assert_eq!(held.scanned, 2);
    assert_eq!(held.runs.len(), 1);
    assert_eq!(held.packages(0), [package("url", "2.0.0")]);
    assert_eq!(
        s.latest_holding("url", Some("2026-11-03"), None)
            .unwrap()
            .scanned,
        1
    );
    // The versions are judged before any run is read: none kept, no run.
    let none = s
        .latest_holding("url", None, Some(&|v: &str| v == "1.0.0"))
        .unwrap();
    assert_eq!((none.scanned, none.runs.len(), none.rows.len()), (2, 0, 0));
    let some = s
        .latest_holding("url", None, Some(&|v: &str| v == "2.0.0"))
        .unwrap();
    assert_eq!(some.packages(0), [package("url", "2.0.0")]);
    let all = s.runs(&TimeRange::ALL, true).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].packages, old.packages);
    assert_eq!(s.latest_runs(None, false).unwrap().len(), 2);
}

#[test]
fn locations_and_passwords() {
    assert_eq!(
        redact("postgres://u:secret@db:5432/reflex?sslmode=require&password=x"),
        "postgres://u@db:5432/reflex?sslmode=require"
    );
    assert!(matches!(
        Location::parse("postgresql://h/db"),
        Location::Postgres(_)
    ));
    assert_eq!(
        Location::parse("sqlite:/tmp/x.sqlite"),
        Location::Sqlite("/tmp/x.sqlite".into())
    );
    assert!(micros("yesterday").is_err());
    assert_eq!(micros("1970-01-01").unwrap(), 0);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.sqlite");
    drop(open_sqlite(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("INSERT INTO schema_version VALUES (99)", [])
        .unwrap();
    drop(conn);
    let err = open_sqlite(&path).err().unwrap().to_string();
    assert!(err.contains("schema version is 99"), "{err}");
}
