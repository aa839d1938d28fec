//! First sightings, drills, many writers at once, and broken stores.

use crate::backend::{Backend, Kind};
use crate::common::run_with;
use reflex::state::{
    DrillRecord, Fallback, InventoryPackage, InventoryRecord, Location, StateStore, TimeRange,
};

pub fn first_sightings(b: &Backend) {
    let s = b.open();
    assert_eq!(s.schema_version().unwrap(), reflex::state::SCHEMA_VERSION);
    let day1 = "2026-11-01T10:00:00Z";
    assert!(
        s.first_sighting("domain", "a.invalid", Some("x"), day1)
            .unwrap()
    );
    assert!(
        !s.first_sighting("domain", "a.invalid", Some("y"), day1)
            .unwrap()
    );
    assert!(
        s.first_sighting("address", "a.invalid", None, "2026-11-09T00:00:00Z")
            .unwrap()
    );
    drop(s);
    let s = b.open();
    assert!(
        !s.first_sighting("domain", "a.invalid", None, "later")
            .unwrap(),
        "remembered"
    );
    assert_eq!(s.destination_count().unwrap(), 2);
    let all = s.destinations(&TimeRange::ALL).unwrap();
    assert_eq!(all[0].value, "a.invalid");
    assert_eq!(
        (all[0].sightings, all[0].first_crate.as_deref()),
        (3, Some("x"))
    );
    assert_eq!(all[0].first_seen, day1);
    let week2 = TimeRange {
        from: Some("2026-11-08".into()),
        to: Some("2026-11-15".into()),
    };
    let w = s.destinations(&week2).unwrap();
    assert_eq!((w.len(), w[0].kind.as_str()), (1, "address"));
}

fn drill(started: &str, scenario: &str, passed: bool) -> DrillRecord {
    DrillRecord {
        started: started.into(),
        scenario: scenario.into(),
        passed,
        gate: if passed { "blocked" } else { "missed" }.into(),
        sandbox: "contained".into(),
        monitor: "detected".into(),
        time_to_detect_ms: Some(10.0),
        time_to_remediate_s: passed.then_some(30.0),
    }
}

pub fn drill_runs(b: &Backend) {
    let s = b.open();
    let (d1, d2) = ("2026-11-01T00:00:00Z", "2026-11-08T00:00:00Z");
    s.record_drill(&[drill(d1, "takeover", true), drill(d1, "typosquat", false)])
        .unwrap();
    s.record_drill(&[drill(d2, "takeover", true), drill(d2, "typosquat", true)])
        .unwrap();
    // Recording a drill again replaces its rows.
    s.record_drill(&[drill(d1, "typosquat", false)]).unwrap();
    let h = s.drill_history().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[0].started.as_str(), h[0].scenarios, h[0].passed),
        (d1, 2, 1)
    );
    assert_eq!(h[0].failed, vec!["typosquat".to_string()]);
    assert_eq!((h[0].blocked, h[0].contained, h[0].detected), (1, 2, 2));
    assert_eq!(h[0].mean_time_to_remediate_s, Some(30.0));
    assert_eq!((h[1].passed, h[1].failed.len()), (2, 0));
    let recent = s
        .drill_records(&TimeRange::since(Some("2026-11-05")))
        .unwrap();
    assert_eq!(recent.len(), 2);
    assert!(recent.iter().all(|r| r.started == d2));
}

pub const WRITER_ENV: &str = "REFLEX_STATE_TEST_WRITER";
const WRITERS: usize = 50;
const SHARED: usize = 20;
const REPOS: usize = 10;

/// One writer process: shared and own sightings, one recorded run; prints how many of its
/// sightings were first.
pub fn writer(job: &str) {
    let (i, url) = job.split_once(' ').unwrap();
    let i: usize = i.parse().unwrap();
    let s = reflex::state::open(&Location::parse(url)).unwrap();
    let now = "2026-11-20T00:00:00Z";
    let mut firsts = 0;
    for k in 0..SHARED {
        let d = format!("shared-{k}.invalid");
        firsts += s.first_sighting("domain", &d, Some("w"), now).unwrap() as usize;
    }
    let own = format!("writer-{i}.invalid");
    firsts += s.first_sighting("domain", &own, None, now).unwrap() as usize;
    let packages = (0..200)
        .map(|p| InventoryPackage {
            name: format!("crate-{p}"),
            version: format!("1.0.{i}"),
            source: Some("registry+https://github.com/rust-lang/crates.io-index".into()),
            checksum: Some(format!("{p:064x}")),
            via: vec!["app 0.1.0".into(), format!("crate-{p} 1.0.{i}")],
            dependents: vec!["app 0.1.0".into()],
        })
        .collect::<Vec<_>>();
    s.record_run(&InventoryRecord {
        repository: format!("repo-{}", i % REPOS),
        branch: "main".into(),
        recorded_at: format!("2026-11-20T00:00:{i:02}Z"),
        command: "gate".into(),
        passed: true,
        package_count: packages.len() as i64,
        packages,
        ..Default::default()
    })
    .unwrap();
    println!("{firsts}");
}

pub fn concurrent_writers(b: &Backend) {
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..WRITERS)
        .map(|i| {
            std::process::Command::new(&exe)
                .env(WRITER_ENV, format!("{i} {}", b.url))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut firsts = 0;
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a writer failed");
        firsts += String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<usize>()
            .unwrap();
    }
    let s = b.open();
    assert_eq!(
        firsts,
        SHARED + WRITERS,
        "each destination is first exactly once"
    );
    assert_eq!(s.destination_count().unwrap(), (SHARED + WRITERS) as i64);
    let all = s.destinations(&TimeRange::ALL).unwrap();
    for d in all.iter().filter(|d| d.value.starts_with("shared-")) {
        assert_eq!(d.sightings, WRITERS as i64, "{}: no sighting lost", d.value);
    }
    let runs = s.runs(&TimeRange::ALL, true).unwrap();
    assert_eq!(runs.len(), WRITERS);
    assert!(runs.iter().all(|r| r.packages.len() == 200));
    let latest = s.latest_runs(None, false).unwrap();
    assert_eq!(latest.len(), REPOS);
    for r in &latest {
        let repo: usize = r.repository.trim_start_matches("repo-").parse().unwrap();
        let newest = (0..WRITERS).filter(|i| i % REPOS == repo).max().unwrap();
        assert_eq!(r.recorded_at, format!("2026-11-20T00:00:{newest:02}Z"));
    }
    let held = s.latest_holding("crate-7", None, None).unwrap();
    assert_eq!((held.scanned, held.runs.len()), (REPOS, REPOS));
}

/// A store written by a newer cargo-reflex, and one that cannot be reached: exit 2, clearly.
pub fn bad_state(b: &Backend) {
    drop(b.open());
    let cwd = b.dir.path();
    b.sql("INSERT INTO schema_version VALUES (99)");
    let r = run_with(cwd, &["respond", "url-parse", "--state", &b.url], &[], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("schema version is 99"), "{}", r.stderr);
    let unreachable = match b.kind {
        Kind::Sqlite => cwd.display().to_string(), // a directory, not a file
        Kind::Postgres => "postgres://reflex:secret@127.0.0.1:1/none?connect_timeout=2".into(),
    };
    let lock = crate::common::fixture("scenarios/takeover/Cargo.lock");
    let lock = lock.display().to_string();
    let args = [
        "gate",
        "--offline",
        "--no-fetch",
        "--file",
        &lock,
        "--record",
        "--state",
        &unreachable,
    ];
    let r = run_with(cwd, &args, &[], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("state store"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("secret"),
        "no password in messages: {}",
        r.stderr
    );
    let r = run_with(
        cwd,
        &["respond", "x", "--state", &b.url, "--since", "soon"],
        &[],
        None,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
}

/// A monitor never loses a sighting: when the shared store cannot be reached, or drops the
/// connection during the build, sightings go to the local file and that is reported.
pub fn monitor_fallback(b: &Backend) {
    let local = b.dir.path().join("local.sqlite");
    let down = Location::parse("postgres://reflex@127.0.0.1:1/none?connect_timeout=2");
    let f = Fallback::open(&down, local.clone());
    assert!(
        f.first_sighting("domain", "x.invalid", None, "2026-11-20")
            .unwrap()
    );
    let (why, at) = f.fell_back().expect("reported");
    assert!(why.contains("connecting to the state store"), "{why}");
    assert_eq!(at, local.display().to_string());
    let f = Fallback::open(&Location::parse(&b.url), local.clone());
    assert!(
        f.first_sighting("domain", "before.invalid", None, "2026-11-20")
            .unwrap()
    );
    assert!(f.fell_back().is_none());
    if b.kind == Kind::Postgres {
        // The server drops every connection of this database mid-run.
        let db = b.url.rsplit('/').next().unwrap().split('?').next().unwrap();
        b.sql(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = '{db}' AND pid <> pg_backend_pid()"
        ));
        assert!(
            f.first_sighting("domain", "after.invalid", None, "2026-11-20")
                .unwrap()
        );
        assert!(f.fell_back().is_some(), "the drop is reported");
        let kept = reflex::state::open_sqlite(&local).unwrap();
        let values: Vec<String> = kept
            .destinations(&TimeRange::ALL)
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .collect();
        assert!(values.contains(&"after.invalid".to_string()), "{values:?}");
    }
    assert!(
        b.open()
            .destinations(&TimeRange::ALL)
            .unwrap()
            .iter()
            .any(|d| d.value == "before.invalid")
    );
}
