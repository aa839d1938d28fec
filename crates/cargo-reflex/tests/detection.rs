//! The committed subset of the detection benchmark (scripts/bench-detection.py): `cargo reflex
//! inspect <directory>` on benign reconstructions of real malicious crates (fixtures/malware,
//! tuning part only: the held-out part is for the benchmark) must give a high or critical finding
//! that is not an advisory, and on benign controls with ordinary shapes (fixtures/malware/controls)
//! none. Offline: a directory is read as data, never built.

mod common;
use common::*;

/// Build time and run time, look-alikes and original names: the seed's `url-parse`, the
/// arrayref campaign's `proc-macro1`, the detached downloader of issue #14, and the run-time
/// payloads of rustdecimal, faster_log and polymarket-clients-sdk.
/// Also three shapes the second held-out round (fixtures/malware/HELD_OUT_2, measured once
/// untuned, then looked at) showed were missed: a proc-macro opening URLs (better-macro), a
/// build script replacing rustc in the toolchain (poisoning-rustc), and a library writing a
/// script and giving it to `sh` (termcolour).
const POSITIVES: &[&str] = &[
    "url-parse",
    "proc-macro1",
    "cache-warmup",
    "rustdecimal",
    "faster_log",
    "polymarket-clients-sdk",
    "better-macro",
    "poisoning-rustc",
    "termcolour",
];

/// Ordinary shapes that look suspicious by category: an SDK sending signed requests with its
/// own key, a `-sys` build script downloading a checksummed prebuilt library, `git rev-parse`
/// at build time, a self-updater, opt-in telemetry.
const CONTROLS: &[&str] = &[
    "zlite-sys",
    "rustc-probe",
    "http-lite",
    "dirs-config",
    "paygate-sdk",
    "fastinfer-sys",
    "buildstamp",
    "selfup",
    "usage-beacon",
];

/// `high`/`critical` findings of `inspect <dir>` whose code is not an advisory's, as `code:severity`.
fn flags(dir: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let target = fixture("malware").join(dir);
    let r = run(
        tmp.path(),
        &[
            "inspect",
            target.to_str().unwrap(),
            "--format",
            "json",
            "--deny",
            "none",
            "--color",
            "never",
        ],
    );
    assert_eq!(r.code, 0, "inspect {dir}: {}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("inspect {dir}: not JSON ({e}): {}", r.stdout));
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| matches!(f["severity"].as_str(), Some("high" | "critical")))
        .filter(|f| !f["code"].as_str().unwrap_or("").starts_with("advisory-"))
        .map(|f| {
            format!(
                "{}:{}",
                f["code"].as_str().unwrap(),
                f["severity"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn committed_held_out_list_names_existing_fixtures_outside_this_test() {
    let held = std::fs::read_to_string(fixture("malware/HELD_OUT")).unwrap();
    let names: Vec<&str> = held
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(names.len() >= 6, "at least 6 held-out positives");
    for name in &names {
        assert!(
            fixture("malware").join(name).join("LABEL.md").is_file(),
            "HELD_OUT names {name}, which has no fixture"
        );
        assert!(
            !POSITIVES.contains(name),
            "{name} is held out: not for this test"
        );
    }
}

#[test]
fn reconstructed_malware_is_flagged_high_by_behaviour_or_name() {
    let missed: Vec<String> = POSITIVES
        .iter()
        .filter(|p| flags(p).is_empty())
        .map(|p| p.to_string())
        .collect();
    assert!(
        missed.is_empty(),
        "not flagged high or critical (advisories excluded): {missed:?}"
    );
}

#[test]
fn ordinary_crates_get_no_high_finding() {
    let noisy: Vec<String> = CONTROLS
        .iter()
        .filter_map(|c| {
            let f = flags(&format!("controls/{c}"));
            (!f.is_empty()).then(|| format!("{c}: {}", f.join(", ")))
        })
        .collect();
    assert!(noisy.is_empty(), "false positives: {noisy:?}");
}

/// Evasions the red team of 2026-11-30 wrote against the behaviour rules
/// (fixtures/malware/redteam, README there) that are closed: each must stay flagged.
const RED_TEAM_CLOSED: &[&str] = &[
    "rt-tests-dir",
    "rt-macro-outside-src",
    "rt-dedupe-decoy",
    "rt-persist-cargo-config",
    "rt-build-helper-file",
    "rt-trait-default",
    "rt-envs-roundtrip",
    "rt-test-attribute",
    "rt-test-module-include",
    "rt-test-generic-param",
    "rt-test-impl-generic",
    "rt-test-attr-same-line",
    "rt-test-cfg-injected",
    "rt-prefilter-const-types",
    "rt2-alias-const",
    "rt2-empty-block-comment",
    "rt2-empty-comment-macro",
    "rt2-escaped-capture",
    "rt2-int-array",
    "rt2-nonascii-capture",
    "rt2-pulled-caller",
];

#[test]
fn closed_red_team_evasions_stay_flagged() {
    for name in RED_TEAM_CLOSED {
        let found = flags(&format!("redteam/{name}"));
        assert!(
            found.iter().any(|f| f.starts_with("behaviour-")),
            "{name}: {found:?}"
        );
    }
}
