//! The evasion suite under `build --monitor` (issue #12, items 7-11 and 15).

use crate::common::assert_valid_sarif;
use crate::common::escape::{Scene, read_alerts, reflex_in};
use crate::common::evasion::{base, of, scene, text};
use serde_json::Value;
use std::ffi::OsStr;

/// The evasion suite under `build --monitor` (issue #12, items 7-11 and 15): a build script
/// and a proc-macro that rewrite their command line, pose as cargo and as `cc`, run programs
/// by relative path and from memory, reach secrets through /proc and symlinks, write through
/// /dev/fd and rename, tamper with another crate's build output and the artifacts, and
/// compile a secret into the program. Each is an alert attributed to the right crate with
/// what really became of the call; the benign C compiler run and the final link stay quiet.
#[test]
fn monitored_build_sees_through_every_evasion() {
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
    let strays: Vec<&Value> = alerts
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
        let mine = Mine {
            kind,
            krate,
            alerts: of(&alerts, kind, krate),
        };
        disguises_seen_through(&mine, &target, out_dir);
        secrets_and_writes_judged_by_the_file(&mine, &ws, &home);
        tampering_is_critical(&mine, &target);
    }
    secrets_compiled_in_are_found(&alerts, &s, &target);
    benign_compiler_and_link_stay_quiet(&alerts, &s, &target);
}

/// The alerts of one actor (`kind`) and crate, and what must be among them.
struct Mine<'a> {
    kind: &'a str,
    krate: &'a str,
    alerts: Vec<&'a Value>,
}

impl Mine<'_> {
    /// Some alert matches `pred`, and every one that does had `outcome`.
    fn has(&self, what: &str, outcome: &str, pred: &dyn Fn(&Value) -> bool) {
        let (kind, krate, mine) = (self.kind, self.krate, &self.alerts);
        let found: Vec<&&Value> = mine.iter().filter(|a| pred(a)).collect();
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
    }
}

fn code(a: &Value) -> String {
    text(a, &["event", "code"]).to_string()
}

fn tgt(a: &Value) -> String {
    text(a, &["cargo_reflex", "target"]).to_string()
}

fn evidence(a: &Value) -> String {
    a["cargo_reflex"]["evidence"].to_string()
}

fn connect_to(ip: &'static str) -> impl Fn(&Value) -> bool {
    move |a: &Value| {
        code(a) == "network-connect"
            && text(a, &["event", "action"]) == "connect"
            && tgt(a).starts_with(&format!("{ip}:"))
    }
}

/// 8, 9, 10: a rewritten command line, a copy of curl named cargo, a relative exec, fileless
/// execs and a shell started as `cc` change nothing.
fn disguises_seen_through(mine: &Mine, target: &str, out_dir: &str) {
    let kind = mine.kind;
    // 8: the rewritten command line changes nothing; nor does a copy of curl named cargo.
    mine.has(
        "the connect after the cmdline rewrite",
        "allowed",
        &connect_to("127.0.0.2"),
    );
    mine.has("the shell it runs as 'cargo'", "allowed", &|a| {
        code(a) == "process-exec" && evidence(a).contains("argv: cargo -c exit 0")
    });
    mine.has("the rewrite of its own memory", "allowed", &|a| {
        code(a) == "file-write" && tgt(a).starts_with("/proc/") && tgt(a).ends_with("/mem")
    });
    mine.has("the copy of curl named cargo", "allowed", &|a| {
        code(a) == "process-exec"
            && tgt(a).starts_with(&format!("{target}/build/{out_dir}"))
            && tgt(a).ends_with("/out/bin/cargo")
    });
    mine.has("its connect", "allowed", &connect_to("127.0.0.3"));

    // 9: a relative exec resolved in the child's directory, a canary in its arguments.
    mine.has("the relative exec with the canary", "allowed", &|a| {
        code(a) == "secret-exfiltration"
            && text(a, &["event", "action"]) == "exec"
            && tgt(a).ends_with("/out/rel/prog")
            && tgt(a).starts_with(target)
            && evidence(a).contains("canary AWS_SECRET_ACCESS_KEY in the arguments (hex)")
    });
    // Fileless: execveat(AT_EMPTY_PATH) and /proc/self/fd/N, high by itself.
    let fileless: Vec<&&Value> = mine
        .alerts
        .iter()
        .filter(|a| code(a) == "fileless-exec")
        .collect();
    assert!(
        fileless.len() >= 2
            && fileless.iter().all(|a| tgt(a).starts_with("/memfd:evasion")
                && text(a, &["cargo_reflex", "severity"]) == "high"),
        "{kind}: {fileless:#?}"
    );
    mine.has("the memfd exec with the canary", "allowed", &|a| {
        code(a) == "secret-exfiltration"
            && tgt(a).starts_with("/memfd:evasion")
            && evidence(a).contains("canary AWS_SECRET_ACCESS_KEY in the arguments (raw)")
    });

    // 10: argv[0] = "cc" is a shell, and what it runs and reaches is the crate's.
    mine.has("the shell started as cc", "allowed", &|a| {
        code(a) == "process-exec"
            && ["sh", "dash", "bash"].contains(&base(&tgt(a)))
            && evidence(a).contains("argv: cc -c curl")
    });
    mine.has("the curl it runs", "allowed", &|a| {
        text(a, &["event", "action"]) == "exec" && base(&tgt(a)) == "curl"
    });
    mine.has("its connect", "allowed", &connect_to("127.0.0.4"));
}

/// 11: secrets reached through /proc and links, writes through /dev/fd and renames.
fn secrets_and_writes_judged_by_the_file(mine: &Mine, ws: &str, home: &str) {
    // 11: secrets read through /proc/self/root, an O_PATH descriptor reopened through
    // /proc/self/fd/N, and a symlink in OUT_DIR: judged by the file actually opened.
    for (secret, how) in [
        (".ssh/id_ed25519", "/proc/self/root"),
        (".aws/credentials", "an O_PATH descriptor reopened"),
        (".config/gh/hosts.yml", "a symlink in OUT_DIR"),
    ] {
        let path = format!("{home}/{secret}");
        mine.has(how, "allowed", &|a| {
            code(a) == "sensitive-read"
                && text(a, &["event", "action"]) == "read"
                && text(a, &["file", "path"]) == path
        });
    }
    mine.has("the symlink to the secret", "allowed", &|a| {
        code(a) == "sensitive-read"
            && text(a, &["event", "action"]) == "link"
            && tgt(a) == format!("{home}/.config/gh/hosts.yml")
    });
    mine.has("the write through /dev/fd/N", "denied", &|a| {
        code(a) == "file-write"
            && text(a, &["event", "action"]) == "write"
            && tgt(a) == format!("{ws}/evasion-app/src/main.rs")
    });
    mine.has("the rename into the project", "denied", &|a| {
        code(a) == "file-write"
            && text(a, &["event", "action"]) == "rename"
            && tgt(a) == format!("{ws}/evasion-app/src/injected.rs")
    });
}

/// 7: tampering with another crate's build output and the artifacts.
fn tampering_is_critical(mine: &Mine, target: &str) {
    let kind = mine.kind;
    // 7: another crate's build output and the artifacts, critical.
    let tamper = |a: &Value, action: &str, pred: &dyn Fn(&str) -> bool| {
        code(a) == "target-tamper"
            && text(a, &["cargo_reflex", "severity"]) == "critical"
            && text(a, &["event", "action"]) == action
            && pred(&tgt(a))
    };
    let victim_build = format!("{target}/build/victim-");
    let victim_lib = format!("{target}/deps/libvictim-");
    if kind == "build-script" {
        mine.has("the compiled build script of victim", "allowed", &|a| {
            tamper(a, "write", &|t| {
                t.starts_with(&victim_build) && t.ends_with("/build-script-build")
            })
        });
        mine.has("victim's library in deps", "allowed", &|a| {
            tamper(a, "write", &|t| t.starts_with(&victim_lib))
        });
        mine.has("the program in target/debug", "allowed", &|a| {
            tamper(a, "write", &|t| t == format!("{target}/evasion-app"))
        });
    } else {
        mine.has("a rename into victim's OUT_DIR", "allowed", &|a| {
            tamper(a, "rename", &|t| {
                t.starts_with(&victim_build) && t.ends_with("/out/planted.rs")
            })
        });
        mine.has("a truncate of victim's library", "allowed", &|a| {
            tamper(a, "write", &|t| t.starts_with(&victim_lib))
        });
        mine.has("a hard link into deps", "allowed", &|a| {
            tamper(a, "link", &|t| {
                t == format!("{target}/deps/libplanted-0123456789abcdef.rlib")
            })
        });
    }
}

/// 7: secrets compiled in: found in the build script's output and the program.
fn secrets_compiled_in_are_found(alerts: &[Value], s: &Scene, target: &str) {
    // 7: secrets compiled in: through cargo:rustc-env (the build script's output names it)
    // and through a proc-macro's expansion, found in the program after the build.
    let artifact = |kind: &str, krate: &str, canary: &str, file: &str| {
        of(alerts, kind, krate).into_iter().any(|a| {
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
}

/// 10: the benign compiler runs and the final link.
fn benign_compiler_and_link_stay_quiet(alerts: &[Value], s: &Scene, target: &str) {
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
    let benign = of(alerts, "build-script", "benign-cc");
    assert!(
        benign
            .iter()
            .all(|a| text(a, &["cargo_reflex", "severity"]) == "low"
                && text(a, &["event", "code"]) == "process-exec"),
        "{benign:#?}"
    );
    let links: Vec<&Value> = alerts
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
