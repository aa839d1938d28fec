//! Findings against what the monitor sees and whom it blames: secret memory, DNS written on
//! a connected socket, a build script's code in rustc, an orphan of a build script.

use crate::common::escape::CANARY;
use crate::{control, mentions, monitored, report, scene, scratch, verdict};

/// Finding 2: The monitor reads paths, arguments and addresses the same way: a credential read
/// through a path in secret memory is no event at all, a program started with the canary in
/// its arguments is a low "ran <working directory>" with no arguments (the same exec with
/// plain memory is a critical secret-exfiltration), a connect is "to unknown".
#[test]
fn monitor_is_not_blinded_by_secret_memory() {
    let (tmp, s, _hits) = scene("gate");
    let (_out, alerts) = monitored(&s, tmp.path());
    let r = report(&s.ws, "rt-gate", "gate.txt");
    // Closed: memfd_secret is refused, so nothing the monitor must read can hide in it.
    let read = &r["read-secretmem"];
    assert!(!read.1.contains("canary: true"), "{r:#?}");
    assert!(
        !mentions(&alerts, "/.ssh/id_ed25519").is_empty(),
        "the plain read is still seen"
    );
    assert!(
        mentions(&alerts, "rt-exec-secretmem").is_empty()
            || alerts
                .iter()
                .any(|a| a["event"]["code"] == "secret-exfiltration"),
        "no exec with hidden arguments ran unseen"
    );
}

/// Finding 3: DNS by `connect` + `write`: the connect to port 53 was never an alert (the
/// resolver's connection), the write is not a call the monitor reads, and the sinkhole's own
/// log of the query was dropped. Closed: every query the sinkhole hears is judged (decoded,
/// canaries looked for), attributed through the socket the supervisor registered when the
/// process connected (or sent) to the resolver, and reported once (the send that carried it
/// and the sinkhole hearing it are one alert). Observe-only monitoring has no sinkhole: there
/// the written query still reaches the resolver unreported (the control run).
#[test]
fn dns_written_on_a_connected_socket_is_alerted() {
    let (tmp, s, _hits) = scene("dns");
    let (_out, alerts) = monitored(&s, tmp.path());
    let r = report(&s.ws, "rt-dns", "dns.txt");
    assert_eq!(verdict(&r, "dns-write"), "leaked", "{r:#?}");
    for via in [".sendto.exfil.invalid", ".write.exfil.invalid"] {
        let found: Vec<&serde_json::Value> = alerts
            .iter()
            .filter(|a| {
                a["event"]["code"] == "secret-exfiltration"
                    && a["cargo_reflex"]["target"]
                        .as_str()
                        .is_some_and(|t| t.ends_with(via))
            })
            .collect();
        assert_eq!(found.len(), 1, "{via}: one alert: {alerts:#?}");
        assert_eq!(found[0]["cargo_reflex"]["crate"], "rt-dns", "{via}");
        assert_eq!(
            found[0]["cargo_reflex"]["actor"]["kind"], "build-script",
            "{via}"
        );
    }
    let events = std::fs::read_to_string(s.ws.join("target/reflex-monitor/events.jsonl")).unwrap();
    assert!(
        events.contains("\"dns-query\""),
        "the sinkhole logged the queries"
    );

    let ctl = scratch();
    let (heard, alerts) = control(ctl.path(), "dns", true);
    assert!(
        heard
            .iter()
            .any(|h| h.starts_with("dns ") && h.ends_with(".write.exfil.invalid")),
        "{heard:#?}"
    );
    assert!(mentions(&alerts, ".write.exfil.invalid").is_empty());
}

/// Finding 4: A build script makes rustc run its code: `cargo:rustc-env=LD_PRELOAD=<the .so cargo
/// built for a proc-macro build dependency>` (no exec, no write: the build script itself is not
/// one event). The library's constructor runs inside the rustc compiling the crate, which the
/// monitor treated as the baseline. Closed: the supervisor reads the environment of every exec,
/// and rustc started with `LD_PRELOAD` is a critical `loader-injection` naming the build script
/// of the crate being compiled; rustc's own credential reads, connects and writes outside the
/// build's places are alerts too ("rustc compiling rt-preload", the code may have been
/// injected by its build script). The sandbox does not stop the preload: the control run
/// (observe-only) shows the attack at work, the canary reaching the listener and `~/.bashrc`
/// changed, and now reported as well.
#[test]
fn build_script_code_in_rustc_via_rustc_env_ld_preload_is_alerted() {
    let (tmp, s, _hits) = scene("preload");
    let (out, alerts) = monitored(&s, tmp.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "a critical alert fails the build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&s.ws, "rt-preload", "preload.txt");
    assert!(r["in-rustc"].1.contains("/rustc"), "{r:#?}");
    assert!(
        r["read .aws/credentials"].1.contains("canary: true"),
        "{r:#?}"
    );
    let injection: Vec<&serde_json::Value> = alerts
        .iter()
        .filter(|a| a["event"]["code"] == "loader-injection")
        .collect();
    assert!(!injection.is_empty(), "{alerts:#?}");
    for a in &injection {
        assert_eq!(a["cargo_reflex"]["crate"], "rt-preload", "{a:#}");
        assert_eq!(a["cargo_reflex"]["actor"]["kind"], "build-script", "{a:#}");
        assert_eq!(a["event"]["severity"], 99, "{a:#}");
        assert!(a.to_string().contains("LD_PRELOAD="), "{a:#}");
    }
    for (code, target) in [
        ("sensitive-read", "/.aws/credentials"),
        ("network-connect", "127.0.0.1:"),
        ("file-write", "/.bashrc"),
    ] {
        let a = alerts
            .iter()
            .find(|a| {
                a["event"]["code"] == code
                    && a["cargo_reflex"]["target"]
                        .as_str()
                        .is_some_and(|t| t.contains(target))
            })
            .unwrap_or_else(|| panic!("{code} {target}: {alerts:#?}"));
        assert_eq!(a["cargo_reflex"]["actor"]["kind"], "rustc", "{a:#}");
        assert_eq!(a["cargo_reflex"]["crate"], "rt-preload", "{a:#}");
        assert!(
            a["message"]
                .as_str()
                .unwrap()
                .contains("injected by the build script of rt-preload"),
            "{a:#}"
        );
    }

    let ctl = scratch();
    let (heard, alerts) = control(ctl.path(), "preload", true);
    assert!(
        heard
            .iter()
            .any(|h| h.starts_with("tcp4 rt-preload tcp") && h.contains(CANARY)),
        "{heard:#?}"
    );
    let bashrc = std::fs::read_to_string(ctl.path().join("home/.bashrc")).unwrap();
    assert!(bashrc.contains("rt-preload was here"), "{bashrc}");
    assert!(
        alerts
            .iter()
            .any(|a| a["event"]["code"] == "loader-injection"
                && a["cargo_reflex"]["crate"] == "rt-preload"),
        "observe-only sees it too: {alerts:#?}"
    );
}

/// Finding 10: A double-forked grandchild that makes no call the supervisor reports until the init
/// has adopted it: its ancestry was lost and its critical DNS exfiltration named no crate.
/// Closed for build scripts: a fork keeps its executable (the process cannot change
/// `/proc/<pid>/exe`: `PR_SET_MM` is refused), and a compiled build script's path names one
/// recorded run, whose ancestry the supervisor kept; the orphan gets it. (An orphan of a
/// program run by several processes, `/bin/sh` say, stays "an unattributed process".)
#[test]
fn orphan_of_a_build_script_keeps_its_attribution() {
    let (tmp, s, _hits) = scene("orphan");
    let (_out, alerts) = monitored(&s, tmp.path());
    let r = report(&s.ws, "rt-dns", "orphan.txt");
    assert_eq!(verdict(&r, "orphan"), "leaked", "{r:#?}");
    let exfil: Vec<&serde_json::Value> = alerts
        .iter()
        .filter(|a| a["event"]["code"] == "secret-exfiltration")
        .collect();
    assert!(!exfil.is_empty(), "{alerts:#?}");
    for a in exfil {
        assert_eq!(a["cargo_reflex"]["actor"]["kind"], "build-script", "{a:#}");
        assert_eq!(a["cargo_reflex"]["crate"], "rt-dns", "{a:#}");
    }
}
