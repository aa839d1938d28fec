//! The sandbox escape suite: `fixtures/escape` holds a build script and a proc-macro that try
//! every channel (DNS, UDP, TCP over IPv4 and IPv6, curl, sh, a host daemon's Unix socket,
//! credential files, other processes' environments, writes into cargo's cache, the project,
//! shell start-up files and git hooks, a daemon that outlives the build, io_uring), and the
//! channels of issue #12: descriptors the caller leaves open (a file outside, a TCP
//! connection in the host's network namespace, a directory of the real home), a Unix socket
//! in the project, a raw block device, secret files (`/etc/shadow-`, `/etc/gshadow-`,
//! registry tokens in cargo's configuration, `.env`, the CI token in `.git/config`, CI cloud
//! credentials) and set-uid or set-gid files through every system call that sets a mode.
//! The terminal is `tests/terminal.rs`.
//!
//! `cargo reflex build` must block every one of them and still build. The control run builds
//! the same crates without the sandbox, inside a network namespace this test creates (with a
//! resolver it runs), and every attempt must succeed: the sandbox is what stops them. All
//! traffic goes to listeners on loopback; DNS names are under `.invalid`.

mod common;

use common::escape::*;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};

#[test]
fn sandboxed_build_blocks_every_escape_and_still_builds() {
    if !reflex_sandbox::probe().missing().is_empty() {
        panic!(
            "this machine cannot sandbox: {:?}",
            reflex_sandbox::probe().missing()
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let s = scene(tmp.path());
    let (hits, mut targets) = listen(tmp.path(), "127.0.0.1:0");
    let _block = block_device(tmp.path(), &mut targets);
    write_targets(&s, &targets);
    let manifest = s.ws.join("Cargo.toml");
    let out = reflex_in_with_fds(
        &s,
        &targets,
        [
            OsStr::new("build"),
            OsStr::new("--manifest-path"),
            manifest.as_os_str(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the build itself succeeds: {stderr}");
    // In the order of the environment, which bash (holding the extra descriptors) reorders.
    assert!(
        stderr.contains("dropped 2 secret-looking variables: AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN")
            || stderr.contains(
                "dropped 2 secret-looking variables: GITHUB_TOKEN, AWS_SECRET_ACCESS_KEY"
            ),
        "{stderr}"
    );
    assert!(!stderr.contains(CANARY), "a secret value was printed");
    let seen = observe(&s, &hits, true);
    let mut leaked = Vec::new();
    for role in ROLES {
        for channel in CHANNELS {
            let o = probe_outcome(&seen, role, channel);
            if o.2 != "blocked" && !JUDGED_OUTSIDE.contains(&channel) {
                leaked.push(format!("{role} {channel}: {}", o.3));
            }
        }
    }
    assert!(leaked.is_empty(), "escapes: {leaked:#?}");
    assert!(
        seen.hits.is_empty(),
        "traffic reached the listeners: {:#?}",
        seen.hits
    );
    assert!(seen.damage.is_empty(), "{:#?}", seen.damage);
    let set_id = set_id_files(&s.ws.join("target"));
    assert!(
        set_id.is_empty(),
        "set-id files left in target/: {set_id:#?}"
    );
}

/// The policy lets a named file and a named socket through (`[sandbox] expose` and
/// `unix-sockets`), and nothing else: what the sandbox hides stays hidden because it hides
/// it, not by accident.
#[test]
fn policy_exposes_only_the_named_file_and_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scene(tmp.path());
    let (hits, targets) = listen(tmp.path(), "127.0.0.1:0");
    write_targets(&s, &targets);
    std::fs::write(
        s.ws.join("reflex.toml"),
        "version = 1\n[sandbox]\nexpose = [\".env\"]\nunix-sockets = [\"project.sock\"]\n",
    )
    .unwrap();
    let out = reflex_in(&s, ["build"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the build itself succeeds: {stderr}");
    let seen = observe(&s, &hits, true);
    for role in ROLES {
        for (channel, verdict) in [
            ("read-dotenv", "leaked"),
            ("unix-socket-project", "leaked"),
            ("read-gha-creds", "blocked"),
            ("read-git-extraheader", "blocked"),
            ("unix-socket", "blocked"),
        ] {
            let o = probe_outcome(&seen, role, channel);
            assert_eq!(o.2, verdict, "{role} {channel}: {}", o.3);
        }
        assert!(
            seen.hits
                .iter()
                .any(|h| h.starts_with("unixp unix-socket-project") && h.contains(role)),
            "{:#?}",
            seen.hits
        );
    }
}

/// Runs inside the control network namespace (started by the test below): listeners and a
/// resolver on the namespace's loopback, the hostile crates built with plain cargo.
#[test]
#[ignore = "runs only inside the control namespace"]
fn escape_control_inside() {
    let Ok(dir) = std::env::var("ESCAPE_INSIDE") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let s = Scene::at(&dir);
    let (hits, mut targets) = listen(&dir, "127.0.0.1:53");
    if let Ok(dev) = std::env::var("ESCAPE_BLOCK_DEVICE") {
        targets.insert("block_device", dev);
    }
    write_targets(&s, &targets);
    // Plain cargo, or cargo-reflex monitoring without the sandbox (observe only).
    let status = match std::env::var("ESCAPE_OBSERVE") {
        Ok(reflex) => with_inherited_fds(&s, &targets["fdsock"], reflex)
            .args([
                "build",
                "--no-fetch",
                "--monitor",
                "--no-sandbox",
                "--allow-unsandboxed",
                "--alerts",
            ])
            .arg(dir.join("observe-alerts.jsonl"))
            .arg("--state")
            .arg(dir.join("state.sqlite"))
            .current_dir(&s.ws)
            .status()
            .unwrap(),
        Err(_) => with_inherited_fds(&s, &targets["fdsock"], "cargo")
            .args(["build", "--offline", "--locked"])
            .current_dir(&s.ws)
            .status()
            .unwrap(),
    };
    let seen = observe(&s, &hits, status.success());
    std::fs::write(
        dir.join("control.json"),
        serde_json::to_string(&seen).unwrap(),
    )
    .unwrap();
}

/// Runs `escape_control_inside` in a network namespace of its own (loopback, with the test's
/// resolver as the system's), optionally with cargo-reflex observing instead of plain cargo.
/// Plain cargo runs with the descriptors of `with_inherited_fds` open and, as root, a loop
/// device to read.
fn control_run(tmp: &Path, observe: bool) -> Observed {
    let s = scene(tmp);
    let mut block = std::collections::BTreeMap::new();
    let _block = if observe {
        None
    } else {
        block_device(tmp, &mut block)
    };
    let mut env = env(&s);
    env.push(("ESCAPE_INSIDE".into(), tmp.display().to_string()));
    if observe {
        env.push((
            "ESCAPE_OBSERVE".into(),
            env!("CARGO_BIN_EXE_cargo-reflex").into(),
        ));
    }
    if let Some(dev) = block.get("block_device") {
        env.push(("ESCAPE_BLOCK_DEVICE".into(), dev.clone()));
    }
    run_inside_namespace(tmp, "escape_control_inside", env);
    let mut text = String::new();
    std::fs::File::open(tmp.join("control.json"))
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn without_the_sandbox_every_escape_succeeds() {
    let tmp = tempfile::tempdir().unwrap();
    let seen = control_run(tmp.path(), false);
    assert!(seen.build_ok);
    let mut blocked = Vec::new();
    for role in ROLES {
        for channel in CHANNELS {
            let o = probe_outcome(&seen, role, channel);
            if JUDGED_OUTSIDE.contains(&channel) || o.2 == "leaked" {
                continue;
            }
            match not_shown_here(&seen, role, channel) {
                Some(why) => note(&format!("{role} {channel} not shown: {why}")),
                None => blocked.push(format!("{role} {channel}: {}", o.3)),
            }
        }
    }
    assert!(
        blocked.is_empty(),
        "without the sandbox these should succeed: {blocked:#?}"
    );
    for role in ROLES {
        for heard in [
            "tcp4 tcp-ipv4",
            "tcp6 tcp-ipv6",
            "tcp4 GET /curl/",
            "unix unix",
            "unixp unix-socket-project",
            "fdsock fd-socket",
        ] {
            assert!(
                seen.hits
                    .iter()
                    .any(|h| h.starts_with(heard) && h.contains(role)),
                "{heard} from the {role}: {:#?}",
                seen.hits
            );
        }
        for dns in [".libc.exfil.invalid", ".udp.exfil.invalid"] {
            assert!(
                seen.hits
                    .iter()
                    .any(|h| h.starts_with("dns ") && h.ends_with(dns)),
                "{dns}: {:#?}",
                seen.hits
            );
        }
    }
    for d in [
        "registry source poisoned",
        "project source changed",
        ".bashrc changed",
        "git hook written",
    ] {
        assert!(
            seen.damage.iter().any(|x| x == d),
            "{d}: {:#?}",
            seen.damage
        );
    }
    assert!(
        seen.damage.iter().any(|x| x.contains("daemon outlived")),
        "{:#?}",
        seen.damage
    );
    for role in ROLES {
        let d = format!("{role} wrote outside through an inherited descriptor");
        assert!(seen.damage.contains(&d), "{d}: {:#?}", seen.damage);
    }
    // What the sandboxed test looks for in target/ is there after the control run.
    let set_id = set_id_files(&tmp.path().join("ws/target"));
    let made = seen
        .outcomes
        .iter()
        .filter(|o| o.1.starts_with("set") && o.2 == "leaked")
        .count();
    assert!(
        made > 0 && set_id.len() == made,
        "every set-id file is found: {set_id:#?}"
    );
}

/// Observe-only monitoring (`--monitor --no-sandbox`) blocks nothing and sees the same events:
/// every attempt reaches the test's listeners and is an alert attributed to its crate.
#[test]
fn observe_only_monitoring_sees_the_attempts_it_lets_through() {
    let tmp = tempfile::tempdir().unwrap();
    let seen = control_run(tmp.path(), true);
    assert!(
        !seen.build_ok,
        "critical alerts (secret exfiltration) fail the build"
    );
    for role in ROLES {
        assert!(
            seen.hits
                .iter()
                .any(|h| h.starts_with("tcp4 tcp-ipv4") && h.contains(role)),
            "nothing is blocked: {:#?}",
            seen.hits
        );
    }
    let alerts = read_alerts(&tmp.path().join("observe-alerts.jsonl"));
    for (kind, krate) in [
        ("build-script", "hostile-build"),
        ("proc-macro", "hostile-macro"),
    ] {
        let mine: Vec<&serde_json::Value> = alerts
            .iter()
            .filter(|a| {
                a["cargo_reflex"]["actor"]["kind"] == kind && a["cargo_reflex"]["crate"] == krate
            })
            .collect();
        assert!(
            mine.iter()
                .any(|a| a["event"]["code"] == "secret-exfiltration"
                    && a["event"]["action"] == "dns-query"),
            "{kind}: the canary in DNS"
        );
        assert!(mine.iter().any(|a| {
            a["event"]["action"] == "exec"
                && a["cargo_reflex"]["target"]
                    .as_str()
                    .unwrap()
                    .ends_with("/curl")
        }));
        assert!(mine.iter().any(|a| a["event"]["action"] == "connect"));
        assert!(
            mine.iter().any(|a| a["event"]["code"] == "sensitive-read"
                && a["cargo_reflex"]["outcome"] == "allowed"
                && a["file"]["path"]
                    .as_str()
                    .unwrap()
                    .ends_with("/.aws/credentials")),
            "{kind}: the credential read"
        );
        // Nothing is stopped: each call did what it would have done anyway (some fail on
        // their own, such as glibc looking for an nscd socket that is not there).
        let stopped: Vec<&&serde_json::Value> = mine
            .iter()
            .filter(|a| {
                !matches!(
                    a["cargo_reflex"]["outcome"].as_str(),
                    Some("allowed" | "failed")
                )
            })
            .collect();
        assert!(stopped.is_empty(), "{kind}: {stopped:#?}");
    }
}
