//! The sandboxed build: user namespaces restricted (and lifted), the build and tests run
//! monitored, and what the gate only reports caught by the monitor.

use crate::GATE_ARGS;
use crate::fixture::Fixture;
use crate::runner::Job;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Ubuntu 24.04's AppArmor switch, as a copy of /proc/sys the step is pointed at, on a runner
/// whose user is not root (GitHub-hosted runners run as uid 1001): `id` says so.
fn restricted_proc_sys(job: &mut Job) {
    let sys = job.path("proc-sys");
    std::fs::create_dir_all(sys.join("kernel")).unwrap();
    std::fs::write(
        sys.join("kernel/apparmor_restrict_unprivileged_userns"),
        "1\n",
    )
    .unwrap();
    job.set_env("CARGO_REFLEX_PROC_SYS", &sys.display().to_string());
    stand_in(job, "id", "echo 1001\n");
}

/// An executable `name` in the job's own bin directory (first on PATH).
fn stand_in(job: &Job, name: &str, body: &str) {
    let path = job.path("bin").join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    Command::new("chmod").arg("+x").arg(&path).status().unwrap();
}

#[test]
fn restricted_user_namespaces_without_permission_fail_with_what_to_do() {
    let fx = Fixture::new();
    let mut job = Job::new(&fx, &fx.clean, None);
    restricted_proc_sys(&mut job);
    let run = job.run(&[
        ("args", GATE_ARGS),
        ("build", "true"),
        ("lift-userns-restriction", "false"),
    ]);
    let failed = run.failed().unwrap_or_else(|| panic!("{}", run.log()));
    assert!(
        failed.name.starts_with("Allow user namespaces"),
        "{}",
        run.log()
    );
    assert_eq!(failed.code, Some(1));
    assert!(
        failed.stdout.contains("::error title=cargo-reflex::")
            && failed
                .stdout
                .contains("sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"),
        "{}",
        failed.stdout
    );
    assert_eq!(run.step("Gate").outcome, "skipped");
}

#[test]
fn build_and_tests_run_in_the_monitored_sandbox_after_lifting_the_restriction() {
    let fx = Fixture::new();
    let mut job = Job::new(&fx, &fx.clean, None);
    restricted_proc_sys(&mut job);
    // The runner's sudo and sysctl: they record the call and flip the copy (this machine is
    // untouched).
    let sysctl_log = job.path("sysctl.log");
    stand_in(
        &job,
        "sudo",
        &format!(
            "echo \"sudo $*\" >> '{}'\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n",
            sysctl_log.display()
        ),
    );
    stand_in(
        &job,
        "sysctl",
        &format!(
            "echo 0 > '{}'\n",
            job.path("proc-sys/kernel/apparmor_restrict_unprivileged_userns")
                .display()
        ),
    );
    let run = job.run(&[("args", GATE_ARGS), ("build", "true")]);
    assert!(run.failed().is_none(), "{}", run.log());
    let userns = run.step("Allow user namespaces");
    assert!(
        userns.stdout.contains(
            "::notice title=cargo-reflex::set kernel.apparmor_restrict_unprivileged_userns=0"
        ),
        "{}",
        run.log()
    );
    assert_eq!(
        std::fs::read_to_string(&sysctl_log).unwrap().trim(),
        "sudo -n sysctl -q -w kernel.apparmor_restrict_unprivileged_userns=0"
    );
    assert_eq!(run.out("verdict"), "passed");
    assert_eq!(run.out("build"), "passed");
    let alerts = run.out("alerts");
    assert!(Path::new(alerts).is_file(), "{}", run.log());
    assert!(
        run.summary.contains("cargo-reflex build: passed"),
        "{}",
        run.summary
    );
    let build = run.step("Build");
    assert!(
        build
            .stderr
            .contains("stage 2 (sandboxed, offline): cargo build"),
        "{}",
        build.stderr
    );
    assert!(build.stderr.contains("cargo test"), "{}", build.stderr);
}

#[test]
fn a_change_the_gate_only_reports_is_caught_by_the_monitor() {
    let fx = Fixture::new();
    let job = Job::new(&fx, &fx.hostile, None);
    let run = job.run(&[
        ("args", GATE_ARGS),
        ("build", "true"),
        ("fail-on-findings", "false"),
    ]);
    assert_eq!(run.out("verdict"), "failed");
    let failed = run.failed().unwrap_or_else(|| panic!("{}", run.log()));
    assert!(failed.name.starts_with("Build"), "{}", run.log());
    assert_eq!(failed.code, Some(1), "{}", run.log());
    assert_eq!(run.out("build"), "failed");
    let alerts = std::fs::read_to_string(run.out("alerts")).unwrap();
    let critical: Vec<Value> = alerts
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|a| a.to_string().contains("url-parse") && a.to_string().contains("critical"))
        .collect();
    assert!(!critical.is_empty(), "{alerts}");
    assert!(
        run.summary.contains("cargo-reflex build: failed"),
        "{}",
        run.summary
    );
}
