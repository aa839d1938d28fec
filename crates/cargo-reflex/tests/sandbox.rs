//! `cargo reflex build` around the escape suite: interrupts and crashes leave nothing behind,
//! exit codes say what happened, `--dry-run` shows the profile, the policy's exceptions apply.

mod common;

use common::*;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Processes whose command line holds `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .filter(|c| c.contains(needle))
        .collect()
}

fn mount_count() -> usize {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .count()
}

fn start(ws: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
        .args(["build", "--no-fetch"])
        .current_dir(ws)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

fn wait_for(path: &Path, limit: Duration) {
    let t = Instant::now();
    while !path.exists() {
        assert!(t.elapsed() < limit, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<i32> {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        assert!(t.elapsed() < limit, "cargo-reflex did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A copy of the hanging build whose build script starts `sleep <seconds>`: tests run in
/// parallel, so each looks for its own number.
fn hanging_build_with(seconds: u32) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("sandbox-cleanup"), tmp.path());
    std::fs::create_dir_all(tmp.path().join("target")).unwrap();
    std::fs::write(tmp.path().join("sleep-seconds"), seconds.to_string()).unwrap();
    tmp
}

fn hanging_build() -> tempfile::TempDir {
    hanging_build_with(987_000)
}

#[test]
fn interrupted_build_leaves_no_process_or_mount_and_says_so() {
    let mounts = mount_count();
    for (signal, code, seconds) in [("TERM", 143, 987_101), ("INT", 130, 987_102)] {
        let marker = format!("sleep {seconds}");
        let tmp = hanging_build_with(seconds);
        let mut child = start(tmp.path());
        wait_for(&tmp.path().join("target/started"), Duration::from_secs(120));
        assert!(
            !processes_with(&marker).is_empty(),
            "the build script's child runs"
        );
        let killed = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        assert_eq!(
            wait_exit(&mut child, Duration::from_secs(10)),
            Some(code),
            "SIG{signal}"
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            processes_with(&marker),
            Vec::<String>::new(),
            "after SIG{signal}"
        );
    }
    assert_eq!(mount_count(), mounts, "no mount leaked into the host");
}

#[test]
fn killed_cargo_reflex_takes_the_sandbox_with_it() {
    let tmp = hanging_build_with(987_201);
    let mut child = start(tmp.path());
    wait_for(&tmp.path().join("target/started"), Duration::from_secs(120));
    Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .unwrap();
    let _ = child.wait();
    let t = Instant::now();
    while !processes_with("sleep 987201").is_empty() {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "orphans survived: {:?}",
            processes_with("sleep 987201")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn failing_cargo_and_bad_arguments_have_their_exit_codes() {
    let tmp = hanging_build();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
            .args(args)
            .current_dir(tmp.path())
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .unwrap()
    };
    let failed = run(&["build", "--no-fetch", "--", "--no-such-flag"]);
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(String::from_utf8_lossy(&failed.stderr).contains("`cargo build` exited with"));
    let bad = run(&["build", "--cargo", "publish"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a build command"));
    let unsandboxed = run(&["build", "--no-sandbox"]);
    assert_eq!(
        unsandboxed.status.code(),
        Some(2),
        "--no-sandbox needs --allow-unsandboxed"
    );
}

#[test]
fn dry_run_prints_the_profile_and_the_policy_exceptions() {
    let tmp = hanging_build();
    std::fs::write(
        tmp.path().join("reflex.toml"),
        "version = 1\n[sandbox]\npass-env = [\"FLAVOUR\"]\n[[sandbox.allow]]\ncrate = \"openssl-sys\"\nenv = [\"OPENSSL_DIR\"]\nwrite = [\"/var/cache/ossl\"]\nreason = \"vendored OpenSSL\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
        .args(["build", "--dry-run", "--cargo", "test", "--", "--workspace"])
        .current_dir(tmp.path())
        .env_remove("CARGO_TARGET_DIR")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )
        .env("FLAVOUR", "fast")
        .env("OPENSSL_DIR", "/opt/ossl")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "secret-looking variables removed: AWS_SECRET_ACCESS_KEY",
        "test --offline --locked --workspace",
        "network:     new network namespace, loopback only",
        &format!("writable   {}", tmp.path().join("target").display()),
        "writable   /var/cache/ossl",
        "empty tmpfs /tmp",
        "io_uring_setup",
        "policy exception: openssl-sys: env OPENSSL_DIR; write /var/cache/ossl (vendored OpenSSL)",
        "    FLAVOUR\n",
        "    OPENSSL_DIR\n",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    assert!(!text.contains("wJalrXUtnFEMI"), "values are never printed");
    assert!(
        !text.contains("    AWS_SECRET_ACCESS_KEY\n"),
        "not passed into the build"
    );
    // Nothing ran.
    assert!(!tmp.path().join("target/started").exists());
}

/// As an unprivileged user (nobody) the same sandbox is set up through a user namespace. The
/// toolchain under /root is not readable by nobody, so `$CARGO` points at `sh`, which runs the
/// script `build` in the project: it reports its identity and tries to write.
#[test]
fn unprivileged_user_gets_the_same_sandbox() {
    let root = Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&root.stdout).trim() != "0"
        || Command::new("setpriv").arg("--version").output().is_err()
    {
        // Not root here: this process is itself the unprivileged case, which the escape
        // suite already covers.
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("reflex-unpriv")
        .tempdir()
        .unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"u\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("Cargo.lock"),
        "version = 4\n\n[[package]]\nname = \"u\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::write(
        dir.join("build"),
        "id -u; touch target/inside && echo target-writable; touch src/evil 2>/dev/null || echo src-read-only\n",
    )
    .unwrap();
    let exe = dir.join("cargo-reflex");
    std::fs::copy(env!("CARGO_BIN_EXE_cargo-reflex"), &exe).unwrap();
    Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(dir)
        .status()
        .unwrap();
    Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(dir)
        .status()
        .unwrap();
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "env",
            "-i",
            "PATH=/usr/bin:/bin",
        ])
        .arg(format!("HOME={}", dir.display()))
        .arg("CARGO=/bin/sh")
        .arg(&exe)
        .args(["build", "--no-fetch"])
        .current_dir(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        vec!["65534", "target-writable", "src-read-only"]
    );
    assert!(dir.join("target/inside").exists() && !dir.join("src/evil").exists());
}

/// No event is lost under load: 1,000 processes and 10,000 DNS queries from one build script
/// are exactly 1,000 exec and 10,000 DNS-query alerts, all attributed to it.
#[test]
fn monitor_loses_no_event_under_load() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("monitor-load"), tmp.path());
    let alerts = tmp.path().join("alerts.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
        .args(["build", "--no-fetch", "--monitor", "--alerts"])
        .arg(&alerts)
        .arg("--state")
        .arg(tmp.path().join("state.sqlite"))
        .current_dir(tmp.path())
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&alerts).unwrap();
    let mut execs = 0;
    let mut queries = std::collections::BTreeSet::new();
    for line in text.lines() {
        let a: serde_json::Value = serde_json::from_str(line).unwrap();
        let r = &a["cargo_reflex"];
        if r["actor"]["kind"] != "build-script" || r["crate"] != "noisy" {
            continue;
        }
        match (a["event"]["action"].as_str(), a["event"]["code"].as_str()) {
            (Some("exec"), _) if r["target"].as_str().unwrap().ends_with("/true") => execs += 1,
            (Some("dns-query"), Some("dns-query" | "dns-exfiltration")) => {
                queries.insert(r["target"].as_str().unwrap().to_string());
            }
            _ => {}
        }
    }
    assert_eq!(execs, 1000);
    assert_eq!(queries.len(), 10_000);
}
