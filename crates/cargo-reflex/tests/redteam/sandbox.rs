//! Findings against the sandbox: the Unix socket allowlist, AF_VSOCK, io_uring, and secrets
//! around the workspace.

use crate::common::escape::{CANARY, Scene, note};
use crate::{build, control, hits_of, monitored, report, scene, scratch, setup, verdict};
use std::process::Command;
use std::time::{Duration, Instant};

/// Finding 1: The Unix socket allowlist reads the address from the caller's memory through
/// `/proc/<pid>/mem`. An address in `memfd_secret` memory reads as nothing there (the kernel
/// still reads it for connect): not a Unix path, so let through. And with an empty allowlist a
/// second thread flipping the first byte of the path (NUL: an abstract name, not checked;
/// '/': the socket) wins within milliseconds: the README's "keep the allowlist empty" does
/// not close the race.
#[test]
fn unix_socket_allowlist_holds_against_secret_memory_and_a_race() {
    let (_tmp, s, hits) = scene("gate");
    let out = build(&s, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&s.ws, "rt-gate", "gate.txt");
    // Closed: memfd_secret is refused, and the supervisor connects on its own copy of the
    // address (a flipped byte changes nothing it acts on).
    for channel in ["unix-plain", "unix-secretmem", "unix-race"] {
        assert_eq!(verdict(&r, channel), "blocked", "{channel}: {r:#?}");
    }
    let heard = hits_of(&hits);
    assert!(
        !heard.iter().any(|h| h.contains("rt-gate")),
        "nothing reached the socket: {heard:#?}"
    );
}

/// Finding 9: AF_VSOCK is not governed by the network namespace: a vsock listener outside the sandbox
/// (the test's, on a free port) and a bind to the same port inside collide (EADDRINUSE).
/// Nothing is sent: in a VM a connect to CID 2 reaches the hypervisor's host.
#[test]
fn vsock_is_refused_in_the_sandbox() {
    let tmp = scratch();
    let port_file = tmp.path().join("vsock-port");
    let holder = Command::new("python3")
        .arg("-c")
        .arg(
            "import socket,sys,time\n\
             s=socket.socket(socket.AF_VSOCK,socket.SOCK_STREAM)\n\
             s.bind((socket.VMADDR_CID_ANY,0xFFFFFFFF)); s.listen(1)\n\
             open(sys.argv[1],'w').write(str(s.getsockname()[1]))\n\
             time.sleep(600)\n",
        )
        .arg(&port_file)
        .spawn();
    let Ok(mut holder) = holder else {
        note("vsock not tried: no python3");
        return;
    };
    let start = Instant::now();
    let mut port = Err(());
    while start.elapsed() < Duration::from_secs(10) {
        match std::fs::read_to_string(&port_file) {
            Ok(p) if !p.is_empty() => {
                port = Ok(p);
                break;
            }
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    let Ok(port) = port else {
        let _ = holder.kill();
        note("vsock not tried: no AF_VSOCK here");
        return;
    };
    let (s, _hits) = setup(tmp.path(), "vsock", "127.0.0.1:0", &[("vsock_port", port)]);
    let out = build(&s, &[]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&s.ws, "rt-vsock", "vsock.txt");
    // Closed: socket() is refused for every family but Unix, IPv4, IPv6 and netlink.
    assert_eq!(verdict(&r, "vsock"), "blocked", "{r:#?}");
    assert!(!r["vsock"].1.contains("EADDRINUSE"), "{r:#?}");
}

/// Finding 11: Observe-only monitoring installs no deny filter: io_uring works, and its openat, read,
/// connect and send are no system call the notification filter stops. The credential file is
/// read and its secret reaches the listener with no event and no alert.
#[test]
fn io_uring_is_refused_even_when_observing_only() {
    let tmp = scratch();
    let (heard, _alerts) = control(tmp.path(), "uring", true);
    // Closed: the notification filter refuses io_uring, whose reads and sends it cannot see.
    assert!(
        !heard
            .iter()
            .any(|h| h.starts_with("tcp4 rt-uring") && h.contains(CANARY)),
        "{heard:#?}"
    );
    // The sandbox refuses io_uring.
    let (_tmp2, s, _hits) = scene("uring");
    assert!(build(&s, &[]).status.success());
    let r = report(&s.ws, "rt-uring", "uring.txt");
    assert_eq!(verdict(&r, "uring"), "blocked", "{r:#?}");
}

/// Finding 12: Secrets the sandbox leaves in view, in a Cargo workspace inside a monorepo checked out
/// by CI: the repository's `.env` above the workspace, the job token actions/checkout v6 keeps
/// in `$RUNNER_TEMP/git-credentials-*.config` (included from `.git/config` with
/// `includeIf.gitdir`; `$RUNNER_TEMP` is outside any home in container jobs (`/__w/_temp`) and
/// on self-hosted runners), a submodule's `.git/modules/<name>/config` with the v4/v5
/// `extraheader`, and a proxy password in cargo's `config.toml`. No alert either.
#[test]
fn secrets_around_the_workspace_are_hidden_or_cleaned() {
    let (tmp, s, _hits) = scene("secrets");
    let d = tmp.path();
    let mono = d.join("mono");
    let runner_temp = d.join("runner-temp");
    // The workspace one level down in the repository.
    std::fs::create_dir_all(&mono).unwrap();
    std::fs::rename(&s.ws, mono.join("rust")).unwrap();
    let ws = mono.join("rust");
    std::fs::create_dir_all(mono.join(".git/modules/vendor-sub")).unwrap();
    std::fs::create_dir_all(&runner_temp).unwrap();
    let included = runner_temp.join("git-credentials-0d9c.config");
    let submodule = mono.join(".git/modules/vendor-sub/config");
    let cargo_config = s.cargo_home.join("config.toml");
    for (p, text) in [
        (mono.join(".env"), format!("API_TOKEN={CANARY}\n")),
        (
            mono.join(".git/config"),
            format!(
                "[core]\n\trepositoryformatversion = 0\n[includeIf \"gitdir:{}/.git/\"]\n\tpath = {}\n",
                mono.display(),
                included.display()
            ),
        ),
        (
            included.clone(),
            format!(
                "[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic {CANARY}\n"
            ),
        ),
        (
            submodule.clone(),
            format!(
                "[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic {CANARY}\n"
            ),
        ),
        (
            cargo_config.clone(),
            format!("[http]\nproxy = \"http://ci:{CANARY}@proxy.invalid:3128\"\n"),
        ),
    ] {
        std::fs::write(p, text).unwrap();
    }
    let paths = [mono.join(".env"), included, submodule, cargo_config];
    let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut t = std::fs::read_to_string(ws.join("targets.txt")).unwrap();
    t.push_str(&format!("secret_paths={}\n", list.join(",")));
    std::fs::write(ws.join("targets.txt"), t).unwrap();
    let moved = Scene {
        ws: ws.clone(),
        ..Scene::at(d)
    };
    let (out, alerts) = monitored(&moved, d);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report(&ws, "rt-secrets", "secrets.txt");
    // Closed: the repository's .env, the credential file .git/config includes, submodule
    // configs and proxy passwords in cargo's config are hidden or cleaned.
    for i in 0..paths.len() {
        assert_eq!(
            verdict(&r, &format!("secret-{i}")),
            "blocked",
            "{i}: {r:#?}"
        );
    }
    let _ = alerts;
}
