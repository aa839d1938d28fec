//! Red-team findings against `cargo reflex build` and `build --monitor`, one test each:
//! `fixtures/redteam` holds the hostile crates (each acts only on the channels the test
//! enables in `targets.txt`). Each attack was first proved to work against the sandbox or the
//! monitor; each test now asserts the hole stays closed (blocked, or alerted against the right
//! crate), while its control run still shows the attack working without the defence. Control runs build
//! the same crates with plain cargo or observe-only monitoring inside a network namespace the
//! test creates (loopback listeners, a resolver on 127.0.0.1:53). All traffic goes to the test's
//! own listeners and sockets; DNS names are under `.invalid`; the secrets are decoys.
//!
//! Scenes live under `target/redteam-tmp` (not /tmp: the sandbox covers /tmp, and where a
//! project usually lives matters for what it can see).
//!
//! The findings against the sandbox are in `sandbox.rs`, those against what the monitor sees
//! and attributes in `monitor.rs`, tampering with `target/` and stalls in `tamper.rs`.

#[path = "../common/mod.rs"]
mod common;
mod monitor;
mod sandbox;
mod tamper;

use common::escape::{
    CANARY, Hits, Scene, env, home_decoys, listen, plant, read_alerts, reflex_in,
    run_inside_namespace,
};
use common::{copy_dir_except, fixture, repo};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A scratch directory outside /tmp.
fn scratch() -> tempfile::TempDir {
    let base = repo().join("target/redteam-tmp");
    std::fs::create_dir_all(&base).unwrap();
    tempfile::tempdir_in(base).unwrap()
}

/// The red-team workspace at `<dir>/ws`, a home with decoy credentials and a `.bashrc`, an
/// empty cargo home, the escape suite's listeners (a Unix socket in the project, TCP, a
/// resolver at `dns`), and `targets.txt` enabling `enable`.
fn setup(dir: &Path, enable: &str, dns: &str, extra: &[(&str, String)]) -> (Scene, Hits) {
    let s = Scene::at(dir);
    copy_dir_except(&fixture("redteam"), &s.ws, &["target"]);
    plant(&s.home, &home_decoys());
    std::fs::create_dir_all(&s.cargo_home).unwrap();
    let (hits, targets) = listen(dir, dns);
    let mut t = format!(
        "enable={enable}\ncanary={CANARY}\nmarker={}\ntrojan_marker={}\n",
        dir.join("pwned-by-bashrc").display(),
        dir.join("pwned-by-trojan").display(),
    );
    for (k, v) in &targets {
        t.push_str(&format!("{k}={v}\n"));
    }
    for (k, v) in extra {
        t.push_str(&format!("{k}={v}\n"));
    }
    std::fs::write(s.ws.join("targets.txt"), t).unwrap();
    (s, hits)
}

/// A scratch directory with the scene enabling `enable` (the resolver on a free port).
fn scene(enable: &str) -> (tempfile::TempDir, Scene, Hits) {
    let tmp = scratch();
    let (s, hits) = setup(tmp.path(), enable, "127.0.0.1:0", &[]);
    (tmp, s, hits)
}

/// `channel -> (verdict, detail)` from `target/debug/build/<krate>-*/out/<file>`.
fn report(ws: &Path, krate: &str, file: &str) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(ws.join("target/debug/build"))
        .unwrap()
        .flatten()
    {
        if !e
            .file_name()
            .to_string_lossy()
            .starts_with(&format!("{krate}-"))
        {
            continue;
        }
        let Ok(text) = std::fs::read(e.path().join("out").join(file)) else {
            continue;
        };
        for line in String::from_utf8_lossy(&text).lines() {
            let mut f = line.splitn(3, '\t');
            let (c, v, d) = (
                f.next().unwrap_or(""),
                f.next().unwrap_or(""),
                f.next().unwrap_or(""),
            );
            out.insert(c.to_string(), (v.to_string(), d.to_string()));
        }
    }
    out
}

fn verdict(r: &BTreeMap<String, (String, String)>, channel: &str) -> String {
    r.get(channel)
        .map(|(v, _)| v.clone())
        .unwrap_or_else(|| panic!("no {channel} in {r:#?}"))
}

fn build(s: &Scene, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["build"];
    args.extend_from_slice(extra);
    reflex_in(s, args)
}

fn monitored(s: &Scene, dir: &Path) -> (std::process::Output, Vec<serde_json::Value>) {
    let out = monitored_build(s, dir);
    let alerts = alerts_of(&s.ws);
    (out, alerts)
}

fn monitored_build(s: &Scene, dir: &Path) -> std::process::Output {
    let state = dir.join("state.sqlite");
    reflex_in(
        s,
        [
            OsStr::new("build"),
            OsStr::new("--monitor"),
            OsStr::new("--state"),
            state.as_os_str(),
        ],
    )
}

fn alerts_of(ws: &Path) -> Vec<serde_json::Value> {
    let p = ws.join("target/reflex-monitor/alerts.jsonl");
    if p.is_file() {
        read_alerts(&p)
    } else {
        Vec::new()
    }
}

fn mentions(alerts: &[serde_json::Value], text: &str) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a.to_string())
        .filter(|a| a.contains(text))
        .collect()
}

fn hits_of(h: &Hits) -> Vec<String> {
    h.lock().unwrap().clone()
}

/// `build --monitor` in the scene (its state in `dir`), standard error to `stderr`: how it
/// exited, or None when it still ran after 240 seconds (it is killed then).
fn monitored_within_240s(s: &Scene, dir: &Path, stderr: Stdio) -> Option<ExitStatus> {
    let state = dir.join("state.sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
        .args(["build", "--monitor", "--state"])
        .arg(&state)
        .current_dir(&s.ws)
        .env_clear()
        .envs(env(s))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let start = Instant::now();
    let mut exited = None;
    while start.elapsed() < Duration::from_secs(240) {
        if let Some(st) = child.try_wait().unwrap() {
            exited = Some(st);
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    exited
}

/// Runs `redteam_control_inside` in a network namespace of its own (loopback, a resolver on
/// 127.0.0.1:53 as the system's): plain cargo, or with `observe` cargo-reflex monitoring
/// without the sandbox. Returns what the listeners heard and the alerts.
fn control(dir: &Path, enable: &str, observe: bool) -> (Vec<String>, Vec<serde_json::Value>) {
    let s = Scene::at(dir);
    let mut e = env(&s);
    e.push(("REDTEAM_INSIDE".into(), dir.display().to_string()));
    e.push(("REDTEAM_ENABLE".into(), enable.into()));
    if observe {
        e.push(("REDTEAM_OBSERVE".into(), "1".into()));
    }
    run_inside_namespace(dir, "redteam_control_inside", e);
    let hits: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("hits.json")).unwrap()).unwrap();
    (hits, alerts_of(&dir.join("ws")))
}

#[test]
#[ignore = "runs only inside the control namespace"]
fn redteam_control_inside() {
    let Ok(dir) = std::env::var("REDTEAM_INSIDE") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let enable = std::env::var("REDTEAM_ENABLE").unwrap();
    let (s, hits) = setup(&dir, &enable, "127.0.0.1:53", &[]);
    let status = if std::env::var("REDTEAM_OBSERVE").is_ok() {
        let state = dir.join("state.sqlite");
        Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
            .args(["build", "--no-fetch", "--monitor", "--no-sandbox"])
            .args(["--allow-unsandboxed", "--state"])
            .arg(state)
            .current_dir(&s.ws)
            .status()
            .unwrap()
    } else {
        Command::new("cargo")
            .args(["build", "--offline", "--locked"])
            .current_dir(&s.ws)
            .status()
            .unwrap()
    };
    common::escape::note(&format!("control build: {status}"));
    std::thread::sleep(Duration::from_secs(1));
    std::fs::write(
        dir.join("hits.json"),
        serde_json::to_string(&hits_of(&hits)).unwrap(),
    )
    .unwrap();
}
