//! The model of normal build activity: a monitored build whose build script runs the C
//! compiler, the archiver, pkg-config, a rustc probe and git raises no alert at all (they are
//! counted in one summary line); the same build script also starting a shell that runs a
//! download tool still raises its alerts, high.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

fn monitored(ws: &Path) -> (std::process::Output, Vec<serde_json::Value>) {
    let alerts = ws.join("alerts.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
        .args(["build", "--no-fetch", "--monitor", "--alerts"])
        .arg(&alerts)
        .arg("--state")
        .arg(ws.join("state.sqlite"))
        .current_dir(ws)
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&alerts).unwrap_or_default();
    let docs = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (out, docs)
}

#[test]
fn compilers_archivers_and_probes_are_not_alerts_but_a_download_is() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&fixture("normal-build"), tmp.path());
    let (out, alerts) = monitored(tmp.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let tools = std::fs::read_dir(tmp.path().join("target/debug/build"))
        .unwrap()
        .flatten()
        .find_map(|d| std::fs::read_to_string(d.path().join("out/tools.txt")).ok())
        .expect("the build script ran");
    assert!(
        tools.contains("cc Ok(ExitStatus(unix_wait_status(0)))"),
        "{tools}"
    );
    assert!(
        tools.contains("ar Ok(ExitStatus(unix_wait_status(0)))"),
        "{tools}"
    );
    assert!(
        alerts.is_empty(),
        "normal build activity is not alerted: {alerts:#?}"
    );
    assert!(
        stderr.contains("normal build activity, not alerted") && stderr.contains("compiler"),
        "{stderr}"
    );

    // The same build script starting `sh -c "curl ..."`.
    std::fs::write(tmp.path().join("hostile.txt"), "yes\n").unwrap();
    let (_out, alerts) = monitored(tmp.path());
    let high: Vec<String> = alerts
        .iter()
        .filter(|a| {
            a["cargo_reflex"]["crate"] == "normal-build"
                && matches!(
                    a["cargo_reflex"]["severity"].as_str(),
                    Some("high") | Some("critical")
                )
        })
        .map(|a| a["cargo_reflex"]["target"].to_string())
        .collect();
    assert!(
        high.iter().any(|t| t.contains("curl")),
        "the download tool: {alerts:#?}"
    );
    assert!(
        high.iter().any(|t| t.contains("sh") || t.contains("dash")),
        "the shell told to run a command line: {alerts:#?}"
    );
}
