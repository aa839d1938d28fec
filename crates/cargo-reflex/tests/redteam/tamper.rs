//! Findings about `target/` and the supervisor: framing another crate through a hard link,
//! the final program replaced, the alerts file as a symlink, FIFOs in the way.

use crate::{
    alerts_of, mentions, monitored, monitored_build, monitored_within_240s, report, scene, verdict,
};
use std::process::{Command, Stdio};

/// Finding 5: Framing: a compromised dependency hard-links its dependent's compiled build script into
/// its own OUT_DIR (a link was judged by where it lands) and writes itself through that name
/// (an open in its own OUT_DIR). Cargo then runs "rt-victim's build script". Closed: a link's
/// source is judged like a rename's (a second name for another crate's build output is
/// `target-tamper`), and a write to a file with another name among the build outputs and
/// artifacts is judged by that name: both are critical and name rt-frame. What the replaced
/// script then does is still blamed on rt-victim (it runs as rt-victim's build script), after
/// the alerts that say who put it there.
#[test]
fn hard_link_into_own_out_dir_to_frame_another_crate_is_alerted() {
    let (tmp, s, _hits) = scene("frame");
    let (_out, alerts) = monitored(&s, tmp.path());
    let r = report(&s.ws, "rt-frame", "frame.txt");
    assert_eq!(verdict(&r, "frame"), "leaked", "{r:#?}");
    let tamper: Vec<&serde_json::Value> = alerts
        .iter()
        .filter(|a| a["event"]["code"] == "target-tamper")
        .collect();
    for action in ["link", "write"] {
        let a = tamper
            .iter()
            .find(|a| a["event"]["action"] == action)
            .unwrap_or_else(|| panic!("{action}: {alerts:#?}"));
        assert_eq!(a["cargo_reflex"]["crate"], "rt-frame", "{a:#}");
        assert_eq!(a["event"]["severity"], 99, "{a:#}");
        let target = a["cargo_reflex"]["target"].as_str().unwrap();
        assert!(
            target.contains("/build/rt-victim-") && target.ends_with("/build-script-build"),
            "{a:#}"
        );
    }
}

/// Finding 6: The same two calls on the final program: a helper the build script leaves behind waits
/// for cargo to put `target/debug/rt-app` in place and writes its own program into it. The
/// replacement still happens (the sandbox lets a build script write its own OUT_DIR), but it
/// is no longer silent: the link of the final program and the write through it are critical
/// `target-tamper` alerts naming rt-frame, and the build exits 1 ("treat `target/` as hostile").
#[test]
fn final_program_replaced_through_a_hard_link_is_alerted() {
    let (tmp, s, _hits) = scene("persist");
    let (out, alerts) = monitored(&s, tmp.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&s.ws, "rt-frame", "persist.txt");
    assert_eq!(verdict(&r, "persist-done"), "leaked", "{r:#?}");
    for action in ["link", "write"] {
        let a = alerts
            .iter()
            .find(|a| a["event"]["code"] == "target-tamper" && a["event"]["action"] == action)
            .unwrap_or_else(|| panic!("{action}: {alerts:#?}"));
        assert_eq!(a["cargo_reflex"]["crate"], "rt-frame", "{a:#}");
        let target = a["cargo_reflex"]["target"].as_str().unwrap();
        assert!(
            target.ends_with("/debug/rt-app") || target.contains("/debug/deps/rt_app-"),
            "{a:#}"
        );
    }
    // The replaced program is what the alerts say: the attacker's.
    let run = Command::new(s.ws.join("target/debug/rt-app"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&run.stdout).contains("Hello from rt-app"));
    let marker = std::fs::read_to_string(tmp.path().join("pwned-by-trojan")).unwrap();
    assert!(marker.contains("rt-frame's program ran as"), "{marker}");
}

/// Finding 7: cargo-reflex opens `target/reflex-monitor/alerts.jsonl` with `File::create` on the host,
/// unsandboxed. A build replaces it with a symlink to `~/.bashrc` (no event); the next monitored
/// build truncates `~/.bashrc` and writes its alerts there, strings the build chose included:
/// the next shell runs the `$(...)` in them.
#[test]
fn alerts_file_symlink_is_replaced_not_followed() {
    let (tmp, s, _hits) = scene("plant");
    // Closed: when the build ends, cargo-reflex writes the alerts again through a fresh file
    // (never through a link), and each build opens it the same way.
    for _ in 0..2 {
        let out = monitored_build(&s, tmp.path());
        assert!(out.status.success());
        let meta =
            std::fs::symlink_metadata(s.ws.join("target/reflex-monitor/alerts.jsonl")).unwrap();
        assert!(meta.is_file(), "the alerts file is a regular file again");
        assert_eq!(
            std::fs::read_to_string(s.home.join(".bashrc")).unwrap(),
            "# original\n"
        );
    }
    assert!(!tmp.path().join("pwned-by-bashrc").exists());
}

/// Finding 8: A FIFO named `output` in a `target/debug/build/<unit>/` directory: the artifact scan
/// after the build opened it and blocked forever. Closed: the scan looks at regular files only
/// (never through a link), opens them without blocking and reads a bounded amount: the
/// summary comes, and the exit code (1, for the critical alert the build also raised).
#[test]
fn fifo_in_target_does_not_hang_cargo_reflex_after_the_build() {
    let (tmp, s, _hits) = scene("fifo,dns");
    let err = tmp.path().join("stderr.txt");
    let exited = monitored_within_240s(
        &s,
        tmp.path(),
        Stdio::from(std::fs::File::create(&err).unwrap()),
    );
    let text = std::fs::read_to_string(&err).unwrap_or_default();
    let r = report(&s.ws, "rt-fifo", "fifo.txt");
    assert_eq!(verdict(&r, "fifo"), "leaked", "the FIFO is there: {r:#?}");
    assert_eq!(exited.and_then(|e| e.code()), Some(1), "{text}");
    assert!(text.contains("cargo-reflex monitor:"), "{text}");
    assert!(
        !mentions(&alerts_of(&s.ws), "secret-exfiltration").is_empty(),
        "the critical alert is in the file"
    );
}

/// Finding 13: (Denial of service, monitored builds only.) The supervisor opened the file an exec
/// names to read its `#!` line; a FIFO blocked that open, and with it every reported call of
/// the whole build, forever. Closed: only a regular file is opened, without following a link
/// and without blocking: the exec of the FIFO fails on its own and the build goes on.
#[test]
fn exec_of_a_fifo_does_not_stall_the_supervisor() {
    let (tmp, s, _hits) = scene("stall");
    let exited = monitored_within_240s(&s, tmp.path(), Stdio::null());
    assert!(exited.is_some(), "the build never ended");
    let r = report(&s.ws, "rt-fifo", "fifo.txt");
    assert_eq!(verdict(&r, "stall"), "leaked", "{r:#?}");
    assert!(
        r.contains_key("stall-returned"),
        "the exec returned: {r:#?}"
    );
}
