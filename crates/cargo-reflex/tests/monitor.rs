//! `build --monitor` on the escape suite: attribution, decoded canaries, SARIF, webhook,
//! baselines and first-seen destinations.

mod common;

use common::escape::*;
use common::*;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;

/// The escape suite under `build --monitor`: every attempt is an alert attributed to the
/// right crate, the DNS exfiltration of the canary is decoded, and alerts arrive fast.
#[test]
fn monitored_build_attributes_every_attempt_and_decodes_the_canary() {
    let tmp = tempfile::tempdir().unwrap();
    let s = scene(tmp.path());
    let (hits, targets) = listen(tmp.path(), "127.0.0.1:0");
    write_targets(&s, &targets);
    let alerts_path = tmp.path().join("alerts.jsonl");
    let sarif_path = tmp.path().join("alerts.sarif");
    // A webhook receiver of our own on loopback.
    let hook = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook_url = format!("http://{}/hook", hook.local_addr().unwrap());
    let posts: Hits = Arc::default();
    let received = posts.clone();
    std::thread::spawn(move || {
        for s in hook.incoming().flatten() {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0;
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0u8; len];
            let _ = r.read_exact(&mut body);
            received
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let mut s = s;
            let _ = s.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
        }
    });
    let out = reflex_in(
        &s,
        [
            OsStr::new("build"),
            OsStr::new("--monitor"),
            OsStr::new("--webhook"),
            OsStr::new(&hook_url),
            OsStr::new("--alerts-sarif"),
            sarif_path.as_os_str(),
            OsStr::new("--alerts"),
            alerts_path.as_os_str(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "critical alerts fail the build: {stderr}"
    );
    assert!(
        stderr.contains("tried to exfiltrate secret AWS_SECRET_ACCESS_KEY via DNS (hex)"),
        "{stderr}"
    );
    let alerts = read_alerts(&alerts_path);
    let by = |kind: &str, krate: &str| -> Vec<&serde_json::Value> {
        alerts
            .iter()
            .filter(|a| {
                a["cargo_reflex"]["actor"]["kind"] == kind && a["cargo_reflex"]["crate"] == krate
            })
            .collect()
    };
    for (kind, krate) in [
        ("build-script", "hostile-build"),
        ("proc-macro", "hostile-macro"),
    ] {
        let mine = by(kind, krate);
        let has = |pred: &dyn Fn(&serde_json::Value) -> bool, what: &str| {
            assert!(
                mine.iter().any(|a| pred(a)),
                "{kind} {krate}: no alert for {what}: {mine:#?}"
            );
        };
        has(
            &|a| {
                a["event"]["code"] == "secret-exfiltration"
                    && a["event"]["action"] == "dns-query"
                    && a["cargo_reflex"]["evidence"]
                        .to_string()
                        .contains("canary AWS_SECRET_ACCESS_KEY found (hex)")
                    && a["dns"]["question"]["name"]
                        .as_str()
                        .unwrap()
                        .ends_with(".libc.exfil.invalid")
            },
            "the decoded DNS exfiltration",
        );
        for target in ["tcp4", "tcp6"] {
            let addr = targets[target].clone();
            has(
                &|a| {
                    a["event"]["action"] == "connect"
                        && a["cargo_reflex"]["target"] == addr.as_str()
                },
                target,
            );
        }
        has(
            &|a| {
                a["event"]["action"] == "connect"
                    && a["cargo_reflex"]["target"] == format!("unix:{}", targets["unix"]).as_str()
            },
            "the daemon socket",
        );
        for program in ["curl", "sh"] {
            has(
                &|a| {
                    a["event"]["action"] == "exec"
                        && a["cargo_reflex"]["target"]
                            .as_str()
                            .unwrap()
                            .ends_with(&format!("/{program}"))
                },
                program,
            );
        }
        for (written, what) in [
            (s.victim.display().to_string(), "cargo's registry cache"),
            (
                s.ws.join("app/src/main.rs").display().to_string(),
                "the project's sources",
            ),
            (
                s.home.join(".bashrc").display().to_string(),
                "a shell start-up file",
            ),
            (
                s.ws.join(".git/hooks/pre-commit").display().to_string(),
                "a git hook",
            ),
        ] {
            has(
                &|a| a["event"]["code"] == "file-write" && a["file"]["path"] == written.as_str(),
                what,
            );
        }
        // Reads of credential files and of other processes' environments (the probe reads
        // the decoys planted in the sandbox's home and cargo's home).
        for (suffix, what) in [
            ("/.ssh/id_ed25519", "the ssh key"),
            ("/.aws/credentials", "the AWS credentials"),
            ("/credentials.toml", "cargo's credentials"),
            ("/proc/1/environ", "init's environment"),
        ] {
            has(
                &|a| {
                    a["event"]["code"] == "sensitive-read"
                        && a["event"]["action"] == "read"
                        && a["event"]["type"][0] == "access"
                        && a["file"]["path"].as_str().unwrap().ends_with(suffix)
                },
                what,
            );
        }
        assert_eq!(mine[0]["cargo_reflex"]["version"], "0.1.0");
    }
    assert!(
        !alerts.iter().any(|a| a["event"]["code"] == "file-write"
            && a["file"]["path"]
                .as_str()
                .unwrap()
                .starts_with(&s.ws.join("target").display().to_string())),
        "writes into the target directory are expected"
    );
    assert!(
        alerts
            .iter()
            .all(|a| a["cargo_reflex"]["outcome"] == "blocked")
    );
    assert!(
        alerts
            .iter()
            .all(|a| a["ecs"]["version"] == "8.11.0" && a["@timestamp"].is_string())
    );
    let worst = alerts
        .iter()
        .map(|a| a["cargo_reflex"]["time_to_detect_ms"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(worst < 100.0, "time to detect {worst} ms");
    std::fs::write(s.ws.join("target/build-finished"), "").unwrap();
    assert!(hits.lock().unwrap().is_empty(), "nothing left the sandbox");
    // The same alerts as SARIF, located at the crates' lockfile entries, and on the webhook.
    let sarif_text = std::fs::read_to_string(&sarif_path).unwrap();
    assert_valid_sarif(&sarif_text);
    let sarif: serde_json::Value = serde_json::from_str(&sarif_text).unwrap();
    let exfil = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["ruleId"] == "secret-exfiltration" && r["properties"]["crate"] == "hostile-build"
        })
        .expect("a SARIF result for the exfiltration");
    assert_eq!(
        exfil["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "Cargo.lock"
    );
    let posted = posts.lock().unwrap().clone();
    assert!(
        posted
            .iter()
            .any(|p| p.contains("\"secret-exfiltration\"") && p.contains("hostile-build")),
        "{} posts",
        posted.len()
    );
}

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
