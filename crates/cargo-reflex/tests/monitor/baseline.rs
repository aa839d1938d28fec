//! `--learn`, the behaviour baseline, deviations from it and first-seen destinations.

use crate::common::escape::*;
use std::ffi::OsStr;

/// `--learn` writes the behaviour baseline; the next build raises nothing for known behaviour
/// and remembers destinations; a version whose behaviour differs from its baseline is critical.
#[test]
fn baselines_and_first_seen_destinations() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scene(tmp.path());
    let (_hits, targets) = listen(tmp.path(), "127.0.0.1:0");
    write_targets(&s, &targets);
    let state = tmp.path().join("state.sqlite");
    let build = |extra: &[&str]| -> Vec<serde_json::Value> {
        let alerts = tmp.path().join("alerts.jsonl");
        let _ = std::fs::remove_dir_all(s.ws.join("target"));
        let mut args = vec![
            OsStr::new("build"),
            OsStr::new("--monitor"),
            OsStr::new("--alerts"),
            alerts.as_os_str(),
            OsStr::new("--state"),
            state.as_os_str(),
        ];
        args.extend(extra.iter().map(OsStr::new));
        let out = reflex_in(&s, args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        read_alerts(&alerts)
    };
    let code = |a: &serde_json::Value| a["event"]["code"].as_str().unwrap().to_string();
    let first = build(&["--learn"]);
    let tcp4 = targets["tcp4"].clone();
    assert!(
        first
            .iter()
            .any(|a| code(a) == "first-seen-destination"
                && a["cargo_reflex"]["target"] == tcp4.as_str()),
        "the first contact is new"
    );
    let learned = std::fs::read_to_string(s.ws.join("reflex-baseline.toml")).unwrap();
    assert!(
        learned.contains("[crate.hostile-build]") && learned.contains("\"curl\""),
        "{learned}"
    );
    assert!(
        learned.contains("/.aws/credentials\"") && learned.contains("\"/proc/<pid>/environ\""),
        "sensitive reads are part of the baseline, process ids left out: {learned}"
    );

    let second = build(&[]);
    assert!(
        !second
            .iter()
            .any(|a| code(a) == "first-seen-destination"
                && a["cargo_reflex"]["target"] == tcp4.as_str()),
        "remembered across builds"
    );
    assert!(
        !second.iter().any(|a| code(a) == "baseline-deviation"
            && a["cargo_reflex"]["target"]
                .as_str()
                .unwrap()
                .ends_with("/curl")),
        "curl is in the baseline"
    );
    let deviations: Vec<&serde_json::Value> = second
        .iter()
        .filter(|a| code(a) == "baseline-deviation")
        .collect();
    assert!(
        deviations.iter().all(|a| a["event"]["action"] != "read"),
        "known reads are not deviations: {deviations:#?}"
    );

    // The baseline recorded an older version that never ran curl.
    let edited = learned
        .replace("version = \"0.1.0\"", "version = \"0.0.9\"")
        .replace("\"curl\",", "");
    std::fs::write(s.ws.join("reflex-baseline.toml"), edited).unwrap();
    let third = build(&[]);
    assert!(
        third.iter().any(|a| code(a) == "baseline-deviation"
            && a["cargo_reflex"]["severity"] == "critical"
            && a["message"]
                .as_str()
                .unwrap()
                .contains("hostile-build 0.0.9 -> 0.1.0 changed behaviour: new process curl")),
        "{:#?}",
        third
            .iter()
            .filter(|a| code(a) == "baseline-deviation")
            .collect::<Vec<_>>()
    );
}
