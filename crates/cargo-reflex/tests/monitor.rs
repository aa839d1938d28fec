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
        // The true outcome of each call: DNS answered by the sinkhole and the daemon's socket
        // refused by the sandbox; nothing listens on the sandbox's loopback, so connections
        // there fail; programs run.
        fn outcome(a: &serde_json::Value) -> &str {
            a["cargo_reflex"]["outcome"].as_str().unwrap()
        }
        for target in ["tcp4", "tcp6"] {
            let addr = targets[target].clone();
            has(
                &|a| {
                    a["event"]["action"] == "connect"
                        && a["cargo_reflex"]["target"] == addr.as_str()
                        && outcome(a) == "failed"
                },
                target,
            );
        }
        has(
            &|a| {
                a["event"]["action"] == "connect"
                    && a["cargo_reflex"]["target"] == format!("unix:{}", targets["unix"]).as_str()
                    && outcome(a) == "denied"
            },
            "the daemon socket",
        );
        has(
            &|a| {
                a["event"]["action"] == "dns-query"
                    && a["dns"]["question"]["name"]
                        .as_str()
                        .unwrap()
                        .ends_with(".libc.exfil.invalid")
                    && outcome(a) == "denied"
            },
            "the query the sinkhole answered",
        );
        // The program actually run (`sh` is a link to a shell).
        for programs in [&["curl"][..], &["sh", "dash", "bash"][..]] {
            has(
                &|a| {
                    let t = a["cargo_reflex"]["target"].as_str().unwrap();
                    a["event"]["action"] == "exec"
                        && programs.contains(&t.rsplit('/').next().unwrap())
                        && outcome(a) == "allowed"
                },
                programs[0],
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
                &|a| {
                    a["event"]["code"] == "file-write"
                        && a["file"]["path"] == written.as_str()
                        && a["cargo_reflex"]["outcome"] == "denied"
                },
                what,
            );
        }
        // Reads of credential files and of other processes' environments (the probe reads
        // the decoys planted in the sandbox's home and cargo's home).
        // The decoys are read (allowed); the init's environment is not (it is not dumpable).
        for (suffix, what, outcome) in [
            ("/.ssh/id_ed25519", "the ssh key", "allowed"),
            ("/.aws/credentials", "the AWS credentials", "allowed"),
            ("/credentials.toml", "cargo's credentials", "allowed"),
            ("/proc/1/environ", "init's environment", "denied"),
        ] {
            has(
                &|a| {
                    a["event"]["code"] == "sensitive-read"
                        && a["event"]["action"] == "read"
                        && a["event"]["type"][0] == "access"
                        && a["file"]["path"].as_str().unwrap().ends_with(suffix)
                        && a["cargo_reflex"]["outcome"] == outcome
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
        alerts.iter().all(|a| ["allowed", "denied", "failed"]
            .contains(&a["cargo_reflex"]["outcome"].as_str().unwrap())),
        "every alert carries the call's true outcome"
    );
    assert!(
        !alerts
            .iter()
            .any(|a| a["cargo_reflex"]["actor"]["kind"] == "unknown"
                && a["event"]["action"] != "exec"),
        "{:#?}",
        alerts
            .iter()
            .filter(|a| a["cargo_reflex"]["actor"]["kind"] == "unknown")
            .collect::<Vec<_>>()
    );
    assert!(
        alerts
            .iter()
            .all(|a| a["ecs"]["version"] == "8.11.0" && a["@timestamp"].is_string())
    );
    let slowest = alerts
        .iter()
        .max_by(|a, b| {
            let t =
                |x: &serde_json::Value| x["cargo_reflex"]["time_to_detect_ms"].as_f64().unwrap();
            t(a).total_cmp(&t(b))
        })
        .unwrap();
    let worst = slowest["cargo_reflex"]["time_to_detect_ms"]
        .as_f64()
        .unwrap();
    assert!(worst < 100.0, "time to detect {worst} ms: {slowest:#}");
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

/// The evasion suite under `build --monitor` (issue #12, items 7-11 and 15): a build script
/// and a proc-macro that rewrite their command line, pose as cargo and as `cc`, run programs
/// by relative path and from memory, reach secrets through /proc and symlinks, write through
/// /dev/fd and rename, tamper with another crate's build output and the artifacts, and
/// compile a secret into the program. Each is an alert attributed to the right crate with
/// what really became of the call; the benign C compiler run and the final link stay quiet.
#[test]
fn monitored_build_sees_through_every_evasion() {
    use common::evasion::*;
    let tmp = tempfile::tempdir().unwrap();
    let s = scene(tmp.path());
    let alerts_path = tmp.path().join("alerts.jsonl");
    let sarif_path = tmp.path().join("alerts.sarif");
    let state = tmp.path().join("state.sqlite");
    let out = reflex_in(
        &s,
        [
            OsStr::new("build"),
            OsStr::new("--monitor"),
            OsStr::new("--alerts"),
            alerts_path.as_os_str(),
            OsStr::new("--alerts-sarif"),
            sarif_path.as_os_str(),
            OsStr::new("--state"),
            state.as_os_str(),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "critical alerts: {stderr}");
    let alerts = read_alerts(&alerts_path);
    let target = s.ws.join("target/debug");
    let target = target.display().to_string();
    let ws = s.ws.display().to_string();
    let home = s.home.display().to_string();

    // 15: the true outcome of every call, nothing "blocked", in JSON, ECS and SARIF.
    for a in &alerts {
        let o = text(a, &["cargo_reflex", "outcome"]);
        assert!(["allowed", "denied", "failed"].contains(&o), "{a:#}");
        let ecs = text(a, &["event", "outcome"]);
        assert_eq!(ecs == "success", o == "allowed", "{a:#}");
    }
    let sarif = std::fs::read_to_string(&sarif_path).unwrap();
    assert_valid_sarif(&sarif);
    assert!(!sarif.contains("blocked") && !stderr.contains("blocked"));
    let summary = stderr
        .lines()
        .find(|l| l.starts_with("cargo-reflex monitor:"))
        .unwrap_or_default();
    assert!(
        summary.contains(" allowed, ") && summary.contains(" denied"),
        "outcomes counted in the summary: {summary}"
    );
    assert!(stderr.contains("[allowed]"), "{stderr}");
    // Every alert is attributed: no baseline, nothing unexplained.
    let strays: Vec<&serde_json::Value> = alerts
        .iter()
        .filter(|a| {
            !["build-script", "proc-macro"].contains(&text(a, &["cargo_reflex", "actor", "kind"]))
        })
        .collect();
    assert!(strays.is_empty(), "unattributed alerts: {strays:#?}");

    for (kind, krate, out_dir) in [
        ("build-script", "evasion-build", "evasion-build-"),
        ("proc-macro", "evasion-macro", "evasion-app-"),
    ] {
        let mine = of(&alerts, kind, krate);
        let has = |what: &str, outcome: &str, pred: &dyn Fn(&serde_json::Value) -> bool| {
            let found: Vec<&&serde_json::Value> = mine.iter().filter(|a| pred(a)).collect();
            assert!(
                !found.is_empty(),
                "{kind} {krate}: no alert for {what}: {mine:#?}"
            );
            assert!(
                found
                    .iter()
                    .all(|a| text(a, &["cargo_reflex", "outcome"]) == outcome),
                "{kind} {krate}: {what} should be {outcome}: {found:#?}"
            );
        };
        let code = |a: &serde_json::Value| text(a, &["event", "code"]).to_string();
        let tgt = |a: &serde_json::Value| text(a, &["cargo_reflex", "target"]).to_string();
        let evidence = |a: &serde_json::Value| a["cargo_reflex"]["evidence"].to_string();
        let connect_to = |ip: &'static str| {
            move |a: &serde_json::Value| {
                code(a) == "network-connect"
                    && text(a, &["event", "action"]) == "connect"
                    && tgt(a).starts_with(&format!("{ip}:"))
            }
        };

        // 8: the rewritten command line changes nothing; nor does a copy of curl named cargo.
        has(
            "the connect after the cmdline rewrite",
            "allowed",
            &connect_to("127.0.0.2"),
        );
        has("the shell it runs as 'cargo'", "allowed", &|a| {
            code(a) == "process-exec" && evidence(a).contains("argv: cargo -c exit 0")
        });
        has("the rewrite of its own memory", "allowed", &|a| {
            code(a) == "file-write" && tgt(a).starts_with("/proc/") && tgt(a).ends_with("/mem")
        });
        has("the copy of curl named cargo", "allowed", &|a| {
            code(a) == "process-exec"
                && tgt(a).starts_with(&format!("{target}/build/{out_dir}"))
                && tgt(a).ends_with("/out/bin/cargo")
        });
        has("its connect", "allowed", &connect_to("127.0.0.3"));

        // 9: a relative exec resolved in the child's directory, a canary in its arguments.
        has("the relative exec with the canary", "allowed", &|a| {
            code(a) == "secret-exfiltration"
                && text(a, &["event", "action"]) == "exec"
                && tgt(a).ends_with("/out/rel/prog")
                && tgt(a).starts_with(&target)
                && evidence(a).contains("canary AWS_SECRET_ACCESS_KEY in the arguments (hex)")
        });
        // Fileless: execveat(AT_EMPTY_PATH) and /proc/self/fd/N, high by itself.
        let fileless: Vec<&&serde_json::Value> =
            mine.iter().filter(|a| code(a) == "fileless-exec").collect();
        assert!(
            fileless.len() >= 2
                && fileless.iter().all(|a| tgt(a).starts_with("/memfd:evasion")
                    && text(a, &["cargo_reflex", "severity"]) == "high"),
            "{kind}: {fileless:#?}"
        );
        has("the memfd exec with the canary", "allowed", &|a| {
            code(a) == "secret-exfiltration"
                && tgt(a).starts_with("/memfd:evasion")
                && evidence(a).contains("canary AWS_SECRET_ACCESS_KEY in the arguments (raw)")
        });

        // 10: argv[0] = "cc" is a shell, and what it runs and reaches is the crate's.
        has("the shell started as cc", "allowed", &|a| {
            code(a) == "process-exec"
                && ["sh", "dash", "bash"].contains(&base(&tgt(a)))
                && evidence(a).contains("argv: cc -c curl")
        });
        has("the curl it runs", "allowed", &|a| {
            text(a, &["event", "action"]) == "exec" && base(&tgt(a)) == "curl"
        });
        has("its connect", "allowed", &connect_to("127.0.0.4"));

        // 11: secrets read through /proc/self/root, an O_PATH descriptor reopened through
        // /proc/self/fd/N, and a symlink in OUT_DIR: judged by the file actually opened.
        for (secret, how) in [
            (".ssh/id_ed25519", "/proc/self/root"),
            (".aws/credentials", "an O_PATH descriptor reopened"),
            (".config/gh/hosts.yml", "a symlink in OUT_DIR"),
        ] {
            let path = format!("{home}/{secret}");
            has(how, "allowed", &|a| {
                code(a) == "sensitive-read"
                    && text(a, &["event", "action"]) == "read"
                    && text(a, &["file", "path"]) == path
            });
        }
        has("the symlink to the secret", "allowed", &|a| {
            code(a) == "sensitive-read"
                && text(a, &["event", "action"]) == "link"
                && tgt(a) == format!("{home}/.config/gh/hosts.yml")
        });
        has("the write through /dev/fd/N", "denied", &|a| {
            code(a) == "file-write"
                && text(a, &["event", "action"]) == "write"
                && tgt(a) == format!("{ws}/evasion-app/src/main.rs")
        });
        has("the rename into the project", "denied", &|a| {
            code(a) == "file-write"
                && text(a, &["event", "action"]) == "rename"
                && tgt(a) == format!("{ws}/evasion-app/src/injected.rs")
        });

        // 7: another crate's build output and the artifacts, critical.
        let tamper = |a: &serde_json::Value, action: &str, pred: &dyn Fn(&str) -> bool| {
            code(a) == "target-tamper"
                && text(a, &["cargo_reflex", "severity"]) == "critical"
                && text(a, &["event", "action"]) == action
                && pred(&tgt(a))
        };
        let victim_build = format!("{target}/build/victim-");
        let victim_lib = format!("{target}/deps/libvictim-");
        if kind == "build-script" {
            has("the compiled build script of victim", "allowed", &|a| {
                tamper(a, "write", &|t| {
                    t.starts_with(&victim_build) && t.ends_with("/build-script-build")
                })
            });
            has("victim's library in deps", "allowed", &|a| {
                tamper(a, "write", &|t| t.starts_with(&victim_lib))
            });
            has("the program in target/debug", "allowed", &|a| {
                tamper(a, "write", &|t| t == format!("{target}/evasion-app"))
            });
        } else {
            has("a rename into victim's OUT_DIR", "allowed", &|a| {
                tamper(a, "rename", &|t| {
                    t.starts_with(&victim_build) && t.ends_with("/out/planted.rs")
                })
            });
            has("a truncate of victim's library", "allowed", &|a| {
                tamper(a, "write", &|t| t.starts_with(&victim_lib))
            });
            has("a hard link into deps", "allowed", &|a| {
                tamper(a, "link", &|t| {
                    t == format!("{target}/deps/libplanted-0123456789abcdef.rlib")
                })
            });
        }
    }

    // 7: secrets compiled in: through cargo:rustc-env (the build script's output names it)
    // and through a proc-macro's expansion, found in the program after the build.
    let artifact = |kind: &str, krate: &str, canary: &str, file: &str| {
        of(&alerts, kind, krate).into_iter().any(|a| {
            text(a, &["event", "code"]) == "secret-exfiltration"
                && text(a, &["event", "action"]) == "artifact"
                && text(a, &["cargo_reflex", "target"]) == file
                && a["cargo_reflex"]["evidence"]
                    .to_string()
                    .contains(&format!("canary {canary} in"))
        })
    };
    let output = std::fs::read_dir(s.ws.join("target/debug/build"))
        .unwrap()
        .flatten()
        .map(|e| e.path().join("output"))
        .find(|p| {
            p.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("evasion-build-")
                && std::fs::read_to_string(p).is_ok_and(|t| t.contains("EVASION_LEAK"))
        })
        .expect("the build script's output");
    assert!(
        artifact(
            "build-script",
            "evasion-build",
            "AWS_SECRET_ACCESS_KEY",
            &output.display().to_string()
        ),
        "the rustc-env instruction: {alerts:#?}"
    );
    let program = format!("{target}/evasion-app");
    assert!(artifact(
        "build-script",
        "evasion-build",
        "AWS_SECRET_ACCESS_KEY",
        &program
    ));
    assert!(artifact(
        "proc-macro",
        "evasion-macro",
        "GITHUB_TOKEN",
        &program
    ));
    let canary_text = alerts
        .iter()
        .filter(|a| a["event"]["action"] == "artifact")
        .map(|a| a.to_string())
        .collect::<String>();
    assert!(
        !canary_text.contains("cargo:rustc-env=EVASION_LEAK=") || canary_text.contains("=<canary>"),
        "the secret is not repeated in the evidence"
    );

    // 10: the benign build script's compiler runs are low at most (or not alerted at all),
    // and the link of the program (in a rustc that loads the proc-macro) is nobody's alert.
    let compiled = std::fs::read_dir(s.ws.join("target/debug/build"))
        .unwrap()
        .flatten()
        .any(|e| {
            e.file_name().to_string_lossy().starts_with("benign-cc-")
                && e.path().join("out/hello.o").is_file()
        });
    assert!(compiled, "the benign build script ran the C compiler");
    let benign = of(&alerts, "build-script", "benign-cc");
    assert!(
        benign
            .iter()
            .all(|a| text(a, &["cargo_reflex", "severity"]) == "low"
                && text(a, &["event", "code"]) == "process-exec"),
        "{benign:#?}"
    );
    let links: Vec<&serde_json::Value> = alerts
        .iter()
        .filter(|a| {
            let t = text(a, &["cargo_reflex", "target"]);
            a["event"]["action"] == "exec"
                && ["gcc", "cc", "collect2", "ld", "ld.lld", "rust-lld"]
                    .iter()
                    .any(|n| base(t) == *n || base(t).contains("-gcc"))
                && a["cargo_reflex"]["crate"] != "benign-cc"
        })
        .collect();
    assert!(links.is_empty(), "the link is not blamed: {links:#?}");
    assert!(
        !alerts.iter().any(|a| {
            a["cargo_reflex"]["actor"]["kind"] == "proc-macro"
                && text(a, &["cargo_reflex", "target"])
                    .starts_with(&format!("{target}/deps/evasion_app-"))
        }),
        "nor is the program it writes"
    );
}
