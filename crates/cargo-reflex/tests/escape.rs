//! The sandbox escape suite: `fixtures/escape` holds a build script and a proc-macro that try
//! every channel (DNS, UDP, TCP over IPv4 and IPv6, curl, sh, a host daemon's Unix socket,
//! credential files, other processes' environments, writes into cargo's cache, the project,
//! shell start-up files and git hooks, a daemon that outlives the build, io_uring).
//!
//! `cargo reflex build` must block every one of them and still build. The control run builds
//! the same crates without the sandbox, inside a network namespace this test creates (with a
//! resolver it runs), and every attempt must succeed: the sandbox is what stops them. All
//! traffic goes to listeners on loopback; DNS names are under `.invalid`.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CANARY: &str = "reflexcanaryWJALRXUTNFEMIK7MDENG";
const ROLES: [&str; 2] = ["build-script", "proc-macro"];
const CHANNELS: [&str; 19] = [
    "env-secret",
    "dns-libc",
    "dns-udp",
    "tcp-ipv4",
    "tcp-ipv6",
    "spawn-curl",
    "spawn-sh",
    "unix-socket",
    "read-ssh-key",
    "read-aws-credentials",
    "read-cargo-credentials",
    "read-proc1-environ",
    "read-parent-environ",
    "write-registry-cache",
    "write-project-source",
    "write-shell-startup",
    "write-git-hook",
    "daemon",
    "io-uring",
];

/// Channels the probe cannot judge from inside: a DNS query through libc counts when the
/// resolver hears it (whatever the answer), a daemon when it outlives the build. The tests
/// judge these from outside (resolver log, marker files).
const JUDGED_OUTSIDE: [&str; 2] = ["dns-libc", "daemon"];

/// What the listeners heard: one line per connection or datagram.
type Hits = Arc<Mutex<Vec<String>>>;

/// Loopback listeners for every network channel; `dns` answers NXDOMAIN.
fn listen(dir: &Path, dns: &str) -> (Hits, BTreeMap<&'static str, String>) {
    let hits: Hits = Arc::default();
    let mut targets = BTreeMap::new();
    for (key, addr) in [("tcp4", "127.0.0.1:0"), ("tcp6", "[::1]:0")] {
        let l = std::net::TcpListener::bind(addr).unwrap();
        let (h, url) = (hits.clone(), l.local_addr().unwrap());
        targets.insert(key, url.to_string());
        if key == "tcp4" {
            targets.insert("http", format!("http://{url}/"));
        }
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let mut line = String::new();
                let mut r = BufReader::new(s.try_clone().unwrap());
                let _ = r.read_line(&mut line);
                h.lock().unwrap().push(format!("{key} {}", line.trim()));
                let mut s = s;
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
    }
    let udp = std::net::UdpSocket::bind(dns).unwrap();
    targets.insert("dns", udp.local_addr().unwrap().to_string());
    let h = hits.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let name = query_name(&buf[..n]);
            h.lock().unwrap().push(format!("dns {name}"));
            // NXDOMAIN: the question echoed with the response and rcode bits set.
            let mut reply = buf[..n].to_vec();
            if reply.len() > 3 {
                reply[2] |= 0x80;
                reply[3] = (reply[3] & 0xf0) | 3;
            }
            let _ = udp.send_to(&reply, from);
        }
    });
    let sock = dir.join("daemon.sock");
    let unix = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    targets.insert("unix", sock.display().to_string());
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in unix.incoming().flatten() {
            let mut text = String::new();
            let _ = BufReader::new(s).read_line(&mut text);
            h.lock().unwrap().push(format!("unix {}", text.trim()));
        }
    });
    (hits, targets)
}

fn query_name(packet: &[u8]) -> String {
    let mut i = 12;
    let mut labels = Vec::new();
    while i < packet.len() && packet[i] != 0 {
        let n = packet[i] as usize;
        labels.push(
            String::from_utf8_lossy(&packet[i + 1..(i + 1 + n).min(packet.len())]).into_owned(),
        );
        i += n + 1;
    }
    labels.join(".")
}

/// FNV-1a, as the probe computes it, of this machine's init environment.
/// The outcome the probe of `role` reported for `channel`: (role, channel, verdict, detail).
fn probe_outcome<'a>(
    seen: &'a Observed,
    role: &str,
    channel: &str,
) -> &'a (String, String, String, String) {
    seen.outcomes
        .iter()
        .find(|o| o.0 == role && o.1 == channel)
        .unwrap_or_else(|| panic!("{role} did not try {channel}: {:#?}", seen.outcomes))
}

fn proc1_hash() -> Option<String> {
    let b = std::fs::read("/proc/1/environ").ok()?;
    Some(
        b.iter()
            .fold(1469598103934665603u64, |h, x| {
                (h ^ *x as u64).wrapping_mul(1099511628211)
            })
            .to_string(),
    )
}

struct Scene {
    ws: PathBuf,
    home: PathBuf,
    cargo_home: PathBuf,
    victim: PathBuf,
}

/// A copy of the hostile workspace (a git repository), a home directory full of fake
/// credentials, a cargo home with a registry source to poison.
fn scene(dir: &Path) -> Scene {
    let ws = dir.join("ws");
    copy_dir(&fixture("escape"), &ws);
    std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
    let home = dir.join("home");
    for (path, text) in [
        (
            ".ssh/id_ed25519",
            format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARY}\n"),
        ),
        (
            ".aws/credentials",
            format!("[default]\naws_secret_access_key = {CANARY}\n"),
        ),
        (".bashrc", "# original\n".to_string()),
        (
            ".docker/config.json",
            format!("{{\"auths\":{{\"x\":{{\"auth\":\"{CANARY}\"}}}}}}"),
        ),
        (
            ".netrc",
            format!("machine example.invalid login u password {CANARY}\n"),
        ),
    ] {
        let p = home.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let cargo_home = dir.join("cargo-home");
    std::fs::create_dir_all(&cargo_home).unwrap();
    std::fs::write(
        cargo_home.join("credentials.toml"),
        format!("[registry]\ntoken = \"cio{CANARY}\"\n"),
    )
    .unwrap();
    let victim =
        cargo_home.join("registry/src/index.crates.io-1949cf8c6b5b557f/victim-1.0.0/src/lib.rs");
    std::fs::create_dir_all(victim.parent().unwrap()).unwrap();
    std::fs::write(&victim, "pub fn ok() {}\n").unwrap();
    Scene {
        ws,
        home,
        cargo_home,
        victim,
    }
}

fn write_targets(s: &Scene, targets: &BTreeMap<&'static str, String>) {
    let mut t = format!(
        "canary={CANARY}\ndns_name=exfil.invalid\nhome={}\ncargo_home={}\nregistry_victim={}\nproject={}\nmarker_dir={}\nproc1_hash={}\n",
        s.home.display(),
        s.cargo_home.display(),
        s.victim.display(),
        s.ws.display(),
        s.ws.join("target").display(),
        proc1_hash().unwrap_or_default(),
    );
    for (k, v) in targets {
        t.push_str(&format!("{k}={v}\n"));
    }
    std::fs::write(s.ws.join("targets.txt"), t).unwrap();
}

/// The build's environment: the real toolchain, the fake home and secrets.
fn env(s: &Scene) -> Vec<(String, String)> {
    let real_home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let rustup = std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{real_home}/.rustup"));
    let mut env = vec![
        (
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_default(),
        ),
        ("HOME".into(), s.home.display().to_string()),
        ("CARGO_HOME".into(), s.cargo_home.display().to_string()),
        ("RUSTUP_HOME".into(), rustup),
        ("AWS_SECRET_ACCESS_KEY".into(), CANARY.into()),
        ("GITHUB_TOKEN".into(), format!("ghp_{CANARY}")),
        ("CARGO_TERM_COLOR".into(), "never".into()),
    ];
    for k in ["RUSTUP_TOOLCHAIN", "CARGO_BUILD_JOBS"] {
        if let Ok(v) = std::env::var(k) {
            env.push((k.into(), v));
        }
    }
    env
}

/// (role, channel) -> (verdict, detail) from both probes' reports.
fn outcomes(ws: &Path) -> BTreeMap<(String, String), (String, String)> {
    let mut out = BTreeMap::new();
    for (role, krate) in [("build-script", "hostile-build"), ("proc-macro", "app")] {
        let build = ws.join("target/debug/build");
        let report = std::fs::read_dir(&build)
            .unwrap()
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{krate}-"))
            })
            .map(|e| e.path().join("out/escape.txt"))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("no report of the {role}"));
        for line in std::fs::read_to_string(report).unwrap().lines() {
            let mut f = line.splitn(3, '\t');
            let (c, v, d) = (
                f.next().unwrap(),
                f.next().unwrap_or(""),
                f.next().unwrap_or(""),
            );
            out.insert(
                (role.to_string(), c.to_string()),
                (v.to_string(), d.to_string()),
            );
        }
    }
    out
}

/// What the attempts changed on disk, checked from outside.
fn damage(s: &Scene) -> Vec<String> {
    let mut d = Vec::new();
    if std::fs::read_to_string(&s.victim).unwrap() != "pub fn ok() {}\n" {
        d.push("registry source poisoned".to_string());
    }
    if std::fs::read_to_string(s.ws.join("app/src/main.rs"))
        .unwrap()
        .contains("injected")
    {
        d.push("project source changed".into());
    }
    if std::fs::read_to_string(s.home.join(".bashrc")).unwrap() != "# original\n" {
        d.push(".bashrc changed".into());
    }
    if s.ws.join(".git/hooks/pre-commit").exists() {
        d.push("git hook written".into());
    }
    for role in ROLES {
        if s.ws.join(format!("target/daemon-{role}")).exists() {
            d.push(format!("{role} daemon outlived the build"));
        }
    }
    d
}

#[derive(serde::Serialize, serde::Deserialize, Debug)]
struct Observed {
    outcomes: Vec<(String, String, String, String)>,
    hits: Vec<String>,
    damage: Vec<String>,
    build_ok: bool,
}

fn observe(s: &Scene, hits: &Hits, build_ok: bool) -> Observed {
    // A daemon still alive now writes its marker.
    std::fs::write(s.ws.join("target/build-finished"), "").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    Observed {
        outcomes: outcomes(&s.ws)
            .into_iter()
            .map(|((r, c), (v, d))| (r, c, v, d))
            .collect(),
        hits: hits.lock().unwrap().clone(),
        damage: damage(s),
        build_ok,
    }
}

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
    let (hits, targets) = listen(tmp.path(), "127.0.0.1:0");
    write_targets(&s, &targets);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
        .args(["build", "--manifest-path"])
        .arg(s.ws.join("Cargo.toml"))
        .current_dir(&s.ws)
        .env_clear()
        .envs(env(&s))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the build itself succeeds: {stderr}");
    assert!(
        stderr.contains("dropped 2 secret-looking variables: AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN"),
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
    let s = Scene {
        ws: dir.join("ws"),
        home: dir.join("home"),
        cargo_home: dir.join("cargo-home"),
        victim: dir.join(
            "cargo-home/registry/src/index.crates.io-1949cf8c6b5b557f/victim-1.0.0/src/lib.rs",
        ),
    };
    let (hits, targets) = listen(&dir, "127.0.0.1:53");
    write_targets(&s, &targets);
    // Plain cargo, or cargo-reflex monitoring without the sandbox (observe only).
    let status = match std::env::var("ESCAPE_OBSERVE") {
        Ok(reflex) => std::process::Command::new(reflex)
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
        Err(_) => std::process::Command::new("cargo")
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
fn control_run(tmp: &Path, observe: bool) -> Observed {
    let s = scene(tmp);
    let resolv = tmp.join("resolv.conf");
    std::fs::write(&resolv, "nameserver 127.0.0.1\n").unwrap();
    let mut env = env(&s);
    env.push(("ESCAPE_INSIDE".into(), tmp.display().to_string()));
    if observe {
        env.push((
            "ESCAPE_OBSERVE".into(),
            env!("CARGO_BIN_EXE_cargo-reflex").into(),
        ));
    }
    let profile = reflex_sandbox::Profile {
        program: std::env::current_exe().unwrap(),
        args: [
            "escape_control_inside",
            "--exact",
            "--ignored",
            "--nocapture",
        ]
        .map(String::from)
        .to_vec(),
        cwd: tmp.to_path_buf(),
        env,
        isolation: reflex_sandbox::Isolation::NetworkOnly {
            resolv_conf: Some(resolv),
        },
        ..Default::default()
    };
    let outcome =
        reflex_sandbox::run(&profile, Path::new(env!("CARGO_BIN_EXE_cargo-reflex"))).unwrap();
    assert_eq!(outcome, reflex_sandbox::Outcome::Exited(0));
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
            let unreadable_init = channel == "read-proc1-environ" && proc1_hash().is_none();
            if o.2 != "leaked" && !unreadable_init && !JUDGED_OUTSIDE.contains(&channel) {
                blocked.push(format!("{role} {channel}: {}", o.3));
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
}

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
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
        .args([
            "build",
            "--monitor",
            "--webhook",
            &hook_url,
            "--alerts-sarif",
        ])
        .arg(&sarif_path)
        .arg("--alerts")
        .arg(&alerts_path)
        .current_dir(&s.ws)
        .env_clear()
        .envs(env(&s))
        .output()
        .unwrap();
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
    let alerts: Vec<serde_json::Value> = std::fs::read_to_string(&alerts_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
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
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
            .args(["build", "--monitor", "--alerts"])
            .arg(&alerts)
            .arg("--state")
            .arg(&state)
            .args(extra)
            .current_dir(&s.ws)
            .env_clear()
            .envs(env(&s))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&alerts)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
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
    let alerts: Vec<serde_json::Value> =
        std::fs::read_to_string(tmp.path().join("observe-alerts.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
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
            mine.iter()
                .all(|a| a["cargo_reflex"]["outcome"] == "allowed")
        );
    }
}
