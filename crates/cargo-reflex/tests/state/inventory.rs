//! `--record` on gate/audit/recon and `respond --state`: the inventory end to end.

use crate::backend::Backend;
use crate::common::{fixture, json, run_with};
use reflex::state::TimeRange;

/// Records `lockfile` (a scenario's) as `repository` at `branch` and `now` with `command`.
fn record(b: &Backend, command: &str, scenario: &str, repository: &str, branch: &str, now: &str) {
    let lock = fixture(&format!("scenarios/{scenario}/Cargo.lock"))
        .display()
        .to_string();
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
