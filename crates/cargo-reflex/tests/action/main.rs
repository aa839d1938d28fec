//! The GitHub Action (`action.yml` at the repository root) run by a harness that imitates a
//! runner: each `run:` step goes to `bash --noprofile --norc -eo pipefail` with the step's
//! evaluated `env:` and `working-directory`, fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY /
//! GITHUB_PATH files, GITHUB_EVENT_PATH holding a pull_request payload, and GITHUB_WORKSPACE a
//! clone of a fixture repository with a base and a head commit; `${{ ... }}` expressions are
//! evaluated as the runner would (inputs with their defaults, github.*, runner.*, steps.*).
//! `uses:` steps (the cache) are not run: a cache miss. `cargo install` is answered by a stand-in
//! `cargo` on PATH that records its arguments and links the binary under test instead of
//! building it; `id`, `sudo` and `sysctl` stand-ins play a non-root runner user whose sysctl
//! flips a copy of /proc/sys, so this machine's kernel settings are never touched. The fixture
//! is the takeover of `fortify/`: a sparse registry on loopback, lockfiles written by real
//! cargo, the sandboxed build run for real.
//!
//! The fixture is in `fixture.rs`, the expressions in `expr.rs`, the runner in `runner.rs`;
//! the sandboxed build in `sandboxed.rs`, what the action and the README pin in `pins.rs`.

#[path = "../common/mod.rs"]
mod common;
mod expr;
mod fixture;
mod pins;
mod runner;
mod sandboxed;

use common::*;
use fixture::Fixture;
use runner::{ActionRun, Job};
use serde_json::Value;
use std::process::Command;

/// The gate's arguments for the fixture: a fixed clock, the advisory database not fetched.
pub const GATE_ARGS: &str = "--no-fetch --now 2026-11-25T12:00:00Z";

fn sarif_results(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert_valid_sarif(&text);
    let sarif: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    sarif["runs"][0]["results"].as_array().unwrap().clone()
}

fn severity_total(run: &ActionRun) -> u64 {
    ["critical", "high", "medium", "low", "info"]
        .iter()
        .map(|s| run.count(s))
        .sum()
}

#[test]
fn clean_change_passes_with_summary_outputs_and_sarif() {
    let fx = Fixture::new();
    let job = Job::new(&fx, &fx.clean, None);
    let run = job.run(&[("args", GATE_ARGS)]);
    assert!(run.failed().is_none(), "{}", run.log());

    // Installed from the action's own source at its commit, with the lockfile.
    let log = std::fs::read_to_string(&job.install_log).unwrap();
    let expected = format!(
        "install --locked --path {}/crates/cargo-reflex --root {}/cargo-reflex/",
        job.path("action").display(),
        job.path("tool-cache").display()
    );
    assert!(log.starts_with(&expected), "{log}");
    assert!(
        run.step("Install").stdout.contains("cargo-reflex "),
        "{}",
        run.log()
    );
    // A second job on the same runner finds it (what the cache restores): no second install.
    let again = job.run(&[("args", GATE_ARGS)]);
    assert!(again.failed().is_none(), "{}", again.log());
    assert_eq!(std::fs::read_to_string(&job.install_log).unwrap(), log);

    assert_eq!(run.out("verdict"), "passed");
    assert_eq!(run.count("denied"), 0);
    let findings = run.count("findings");
    assert_eq!(severity_total(&run), findings, "{:?}", run.outputs);
    assert_eq!(run.count("critical") + run.count("high"), 0);
    let results = sarif_results(run.out("sarif"));
    assert_eq!(results.len() as u64, findings);
    assert!(
        run.out("sarif")
            .starts_with(&job.path("temp").display().to_string())
    );
    assert_eq!(run.out("build"), "skipped");
    assert_eq!(run.out("alerts"), "");
    assert!(run.out("bin").ends_with("/bin/cargo-reflex"));

    // The gate judged the pull request's change: text-tidy arrives, from the base commit.
    let gate = run.step("Gate");
    assert!(
        gate.stdout
            .lines()
            .any(|l| l.starts_with("::notice title=cargo-reflex gate::passed")),
        "{}",
        gate.stdout
    );
    assert!(run.summary.contains("text-tidy"), "{}", run.summary);
    assert!(!run.summary.contains("url-parse"), "{}", run.summary);
    assert!(run.step("Allow user namespaces").outcome == "skipped");
}

#[test]
fn hostile_change_fails_the_gate_with_annotations_and_skips_the_build() {
    let fx = Fixture::new();
    // actions/checkout's default: one commit; the action fetches the base it needs.
    let job = Job::new(&fx, &fx.hostile, Some(1));
    assert!(
        Command::new("git")
            .current_dir(&job.workspace)
            .args(["cat-file", "-e", &format!("{}^{{commit}}", fx.base)])
            .output()
            .unwrap()
            .status
            .code()
            != Some(0),
        "the clone is shallow"
    );
    let run = job.run(&[("args", GATE_ARGS), ("build", "true")]);
    let failed = run.failed().unwrap_or_else(|| panic!("{}", run.log()));
    assert!(failed.name.starts_with("Gate"), "{}", run.log());
    assert_eq!(failed.code, Some(1), "{}", run.log());
    assert_eq!(
        run.step("Build").outcome,
        "skipped",
        "nothing the gate denied is built"
    );
    assert_eq!(run.out("build"), "skipped");

    assert_eq!(run.out("verdict"), "failed");
    assert!(run.count("denied") >= 5, "{:?}", run.outputs);
    assert_eq!(severity_total(&run), run.count("findings"));
    assert!(run.count("critical") >= 1, "{:?}", run.outputs);
    let results = sarif_results(run.out("sarif"));
    assert_eq!(results.len() as u64, run.count("findings"));
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "build-script-not-approved"
                && r["properties"]["package"]["name"] == "url-parse"),
        "{results:#?}"
    );
    // Annotations on the lockfile line, then the verdict line.
    let gate = &failed.stdout;
    assert!(
        gate.lines()
            .any(|l| l.starts_with("::error file=Cargo.lock,line=") && l.contains("url-parse")),
        "{gate}"
    );
    assert!(
        gate.lines()
            .any(|l| l.starts_with("::notice title=cargo-reflex gate::FAILED")),
        "{gate}"
    );
    // The job summary is the review: what arrived, why, and the build script's diff.
    for what in ["rust-utilities-v2", "url-parse", "AWS_SECRET_ACCESS_KEY"] {
        assert!(run.summary.contains(what), "{what}: {}", run.summary);
    }

    // fail-on-findings: false reports the same verdict without failing the step.
    let report_only = job.run(&[("args", GATE_ARGS), ("fail-on-findings", "false")]);
    assert!(report_only.failed().is_none(), "{}", report_only.log());
    assert_eq!(report_only.out("verdict"), "failed");
    assert_eq!(report_only.out("denied"), run.out("denied"));
}

#[test]
fn gate_error_is_an_error_not_a_verdict() {
    let fx = Fixture::new();
    let job = Job::new(&fx, &fx.clean, None);
    let run = job.run(&[("args", GATE_ARGS), ("policy", "missing.toml")]);
    let failed = run.failed().unwrap_or_else(|| panic!("{}", run.log()));
    assert!(failed.name.starts_with("Gate"));
    assert_eq!(failed.code, Some(2), "{}", run.log());
    assert_eq!(run.out("verdict"), "error");
    assert!(
        failed.stdout.contains("::error title=cargo-reflex::"),
        "{}",
        failed.stdout
    );
    // A base that is nowhere: the message says how to check out.
    let run = job.run(&[
        ("args", GATE_ARGS),
        ("base", "0123456789abcdef0123456789abcdef01234567"),
    ]);
    let failed = run.failed().unwrap();
    assert_eq!(failed.code, Some(2), "{}", run.log());
    assert!(
        failed.stdout.contains("fetch-depth: 0"),
        "{}",
        failed.stdout
    );
}
