//! The escape suite's scene: the hostile workspace copied with its targets, a home full of
//! fake credentials, secret files in the project and cargo's configuration, loopback
//! listeners, descriptors and devices handed to the build, and what the probes and the
//! listeners observed.

use super::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const CANARY: &str = "reflexcanaryWJALRXUTNFEMIK7MDENG";
pub const ROLES: [&str; 2] = ["build-script", "proc-macro"];
pub const CHANNELS: [&str; 43] = [
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
    // Descriptors the caller holds (numbers 7, 8 and 9, see `with_inherited_fds`).
    "fd-file",
    "fd-socket",
    "fd-dir-home",
    "unix-socket-project",
    "device-block",
    "read-shadow-backup",
    "read-gshadow-backup",
    "read-cargo-config-token",
    "read-project-cargo-config-token",
    "read-dotenv",
    "read-gha-creds",
    "read-git-extraheader",
    "read-git-url-credentials",
    "setuid-chmod",
    "setgid-chmod",
    "setuid-fchmod",
    "setuid-fchmodat",
    "setuid-fchmodat2",
    "setuid-open",
    "setuid-openat",
    "setuid-openat2",
    "setuid-creat",
    "setuid-mknod",
    "setuid-mknodat",
];

/// Channels the probe cannot judge from inside: a DNS query through libc counts when the
/// resolver hears it (whatever the answer), a daemon when it outlives the build. The tests
/// judge these from outside (resolver log, marker files).
pub const JUDGED_OUTSIDE: [&str; 2] = ["dns-libc", "daemon"];

/// The descriptor numbers a build inherits from its caller (see `with_inherited_fds`).
pub const FD_FILE: i32 = 7;
pub const FD_SOCKET: i32 = 8;
pub const FD_DIR: i32 = 9;

/// What the listeners heard: one line per connection or datagram (per line on the socket
/// the build inherits, `fdsock`).
pub type Hits = Arc<Mutex<Vec<String>>>;

/// Loopback listeners for every network channel; `dns` answers NXDOMAIN.
pub fn listen(dir: &Path, dns: &str) -> (Hits, BTreeMap<&'static str, String>) {
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
    // The connection the build inherits as a descriptor: every line is a hit.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    targets.insert("fdsock", l.local_addr().unwrap().to_string());
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let h = h.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(s).lines() {
                    let Ok(line) = line else { break };
                    h.lock().unwrap().push(format!("fdsock {}", line.trim()));
                }
            });
        }
    });
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
    // A daemon's socket inside the project tree (not under /tmp, which the sandbox covers).
    let ws = dir.join("ws");
    if ws.is_dir() {
        let sock = ws.join("project.sock");
        let unix = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        targets.insert("unix_project", sock.display().to_string());
        let h = hits.clone();
        std::thread::spawn(move || {
            for s in unix.incoming().flatten() {
                let mut text = String::new();
                let _ = BufReader::new(s).read_line(&mut text);
                h.lock().unwrap().push(format!("unixp {}", text.trim()));
            }
        });
    }
    (hits, targets)
}

pub fn query_name(packet: &[u8]) -> String {
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
pub fn probe_outcome<'a>(
    seen: &'a Observed,
    role: &str,
    channel: &str,
) -> &'a (String, String, String, String) {
    seen.outcomes
        .iter()
        .find(|o| o.0 == role && o.1 == channel)
        .unwrap_or_else(|| panic!("{role} did not try {channel}: {:#?}", seen.outcomes))
}

pub fn proc1_hash() -> Option<String> {
    let b = std::fs::read("/proc/1/environ").ok()?;
    Some(
        b.iter()
            .fold(1469598103934665603u64, |h, x| {
                (h ^ *x as u64).wrapping_mul(1099511628211)
            })
            .to_string(),
    )
}

pub struct Scene {
    pub ws: PathBuf,
    pub home: PathBuf,
    pub cargo_home: PathBuf,
    pub victim: PathBuf,
    /// A file outside every writable mount, handed to the build as descriptor 7.
    pub outside: PathBuf,
}

impl Scene {
    /// The scene `scene(dir)` made (without making anything).
    pub fn at(dir: &Path) -> Scene {
        Scene {
            ws: dir.join("ws"),
            home: dir.join("home"),
            cargo_home: dir.join("cargo-home"),
            victim: dir.join(
                "cargo-home/registry/src/index.crates.io-1949cf8c6b5b557f/victim-1.0.0/src/lib.rs",
            ),
            outside: dir.join("outside-fd.log"),
        }
    }
}

/// A copy of the hostile workspace (a git repository), a home directory full of fake
/// credentials, a cargo home with a registry source to poison, secrets in the project
/// (`.env`, a CI cloud credential file, the CI token in `.git/config`) and registry tokens in
/// cargo's configuration files.
pub fn scene(dir: &Path) -> Scene {
    let ws = dir.join("ws");
    copy_dir(&fixture("escape"), &ws);
    std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
    for (path, text) in [
        (".env", format!("API_TOKEN={CANARY}\n")),
        (
            // As google-github-actions/auth writes it into the workspace.
            "gha-creds-0123abcd.json",
            format!(
                "{{\"type\":\"external_account\",\"credential_source\":{{\"headers\":{{\"Authorization\":\"Bearer {CANARY}\"}}}}}}\n"
            ),
        ),
        (
            // As actions/checkout leaves it with persist-credentials (the default).
            ".git/config",
            format!(
                "[core]\n\trepositoryformatversion = 0\n\tbare = false\n[remote \"origin\"]\n\turl = https://x-access-token:ghs_{CANARY}@github.com/o/r\n[http \"https://github.com/\"]\n\textraheader = AUTHORIZATION: basic {CANARY}\n"
            ),
        ),
        (
            ".cargo/config.toml",
            format!("[registry]\ntoken = \"cio{CANARY}\"\n"),
        ),
    ] {
        let p = ws.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
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
    // The legacy place of the token, still honoured by cargo.
    std::fs::write(
        cargo_home.join("config.toml"),
        format!("[registry]\ntoken = \"{CANARY}\"\n"),
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
        outside: dir.join("outside-fd.log"),
    }
}

pub fn write_targets(s: &Scene, targets: &BTreeMap<&'static str, String>) {
    let mut t = format!(
        "canary={CANARY}\ndns_name=exfil.invalid\nhome={}\ncargo_home={}\nregistry_victim={}\nproject={}\nmarker_dir={}\nproc1_hash={}\n",
        s.home.display(),
        s.cargo_home.display(),
        s.victim.display(),
        s.ws.display(),
        s.ws.join("target").display(),
        proc1_hash().unwrap_or_default(),
    );
    t.push_str(&format!(
        "fd_file={FD_FILE}\nfd_file_path={}\nfd_socket={FD_SOCKET}\nfd_dir={FD_DIR}\n",
        s.outside.display()
    ));
    if let Some(peer) = targets.get("fdsock") {
        t.push_str(&format!("fd_socket_peer={peer}\n"));
    }
    for (k, v) in targets {
        t.push_str(&format!("{k}={v}\n"));
    }
    std::fs::write(s.ws.join("targets.txt"), t).unwrap();
}

/// The build's environment: the real toolchain, the fake home and secrets.
pub fn env(s: &Scene) -> Vec<(String, String)> {
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
pub fn outcomes(ws: &Path) -> BTreeMap<(String, String), (String, String)> {
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
pub fn damage(s: &Scene) -> Vec<String> {
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
    let outside = std::fs::read_to_string(&s.outside).unwrap_or_default();
    for role in ROLES {
        if outside.contains(&format!("fd-file {role}:")) {
            d.push(format!(
                "{role} wrote outside through an inherited descriptor"
            ));
        }
    }
    d
}

/// `program` started through bash with three more descriptors open and inheritable, as a
/// careless caller might hold them: `FD_FILE` appends to `s.outside`, `FD_SOCKET` is a TCP
/// connection to `peer` made here (in the caller's network namespace), `FD_DIR` is the
/// home directory.
pub fn with_inherited_fds(s: &Scene, peer: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let (host, port) = peer.rsplit_once(':').unwrap();
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(format!(
            "exec {FD_FILE}>>\"$1\" {FD_SOCKET}<>\"/dev/tcp/$2/$3\" {FD_DIR}<\"$4\" || exit 97; shift 4; exec \"$@\""
        ))
        .arg("inherited-fds")
        .arg(&s.outside)
        .arg(host)
        .arg(port)
        .arg(&s.home)
        .arg(program);
    c
}

/// A line on the test's standard error that the test harness does not capture: skips and
/// machine facts stay visible.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "note: {text}");
}

/// Whether this process runs as root (the owner of /proc/self is its effective user).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A loop device over a file holding the canary; detached when dropped.
pub struct LoopDevice(pub String);

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.0).status();
    }
}

/// As root, a loop device over `<dir>/block.img` (the canary, then zeros); otherwise why not.
pub fn loop_device(dir: &Path) -> Result<LoopDevice, String> {
    if !is_root() {
        return Err("not root: only root can attach a loop device".into());
    }
    let image = dir.join("block.img");
    let mut data = format!("reflex block device {CANARY}\n").into_bytes();
    data.resize(64 * 1024, 0);
    std::fs::write(&image, data).map_err(|e| e.to_string())?;
    let mut why = String::new();
    // Parallel tests may race for the same free device.
    for _ in 0..5 {
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&image)
            .output()
            .map_err(|e| format!("losetup: {e}"))?;
        let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && dev.starts_with("/dev/") {
            return Ok(LoopDevice(dev));
        }
        why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("losetup -f --show: {why}"))
}

/// Files under `dir` with a set-uid or set-gid bit.
pub fn set_id_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for e in entries.flatten() {
        let Ok(m) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if m.is_dir() {
            found.extend(set_id_files(&e.path()));
        } else if m.permissions().mode() & 0o6000 != 0 {
            found.push(format!(
                "{} {:o}",
                e.path().display(),
                m.permissions().mode()
            ));
        }
    }
    found
}

/// Channels the control run cannot show on this machine, and why: devices and files root
/// alone may read, system calls this kernel lacks.
pub fn not_shown_here(seen: &Observed, role: &str, channel: &str) -> Option<String> {
    let o = probe_outcome(seen, role, channel);
    let unreadable = |path: &str| match std::fs::read(path) {
        Ok(b) if !b.is_empty() => None,
        Ok(_) => Some(format!("{path} is empty here")),
        Err(e) => Some(format!("{path} is not readable here: {e}")),
    };
    match channel {
        "read-proc1-environ" if proc1_hash().is_none() => {
            Some("/proc/1/environ is not readable here".into())
        }
        "read-shadow-backup" => unreadable("/etc/shadow-"),
        "read-gshadow-backup" => unreadable("/etc/gshadow-"),
        "device-block" if o.3.contains("no block device") => Some(o.3.clone()),
        c if (c.starts_with("setuid-") || c.starts_with("setgid-"))
            && o.3.contains("os error 38") =>
        {
            Some(format!("this kernel lacks the system call: {}", o.3))
        }
        _ => None,
    }
}

#[derive(serde::Serialize, serde::Deserialize, Debug)]
pub struct Observed {
    pub outcomes: Vec<(String, String, String, String)>,
    pub hits: Vec<String>,
    pub damage: Vec<String>,
    pub build_ok: bool,
}

pub fn observe(s: &Scene, hits: &Hits, build_ok: bool) -> Observed {
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

/// Runs `cargo-reflex <args>` in the scene's workspace with the scene's environment.
pub fn reflex_in<I, A>(s: &Scene, args: I) -> std::process::Output
where
    I: IntoIterator<Item = A>,
    A: AsRef<std::ffi::OsStr>,
{
    std::process::Command::new(env!("CARGO_BIN_EXE_cargo-reflex"))
        .args(args)
        .current_dir(&s.ws)
        .env_clear()
        .envs(env(s))
        .output()
        .unwrap()
}

/// `reflex_in` with the descriptors of `with_inherited_fds` open (`targets` from `listen`).
pub fn reflex_in_with_fds<I, A>(
    s: &Scene,
    targets: &BTreeMap<&'static str, String>,
    args: I,
) -> std::process::Output
where
    I: IntoIterator<Item = A>,
    A: AsRef<std::ffi::OsStr>,
{
    with_inherited_fds(s, &targets["fdsock"], env!("CARGO_BIN_EXE_cargo-reflex"))
        .args(args)
        .current_dir(&s.ws)
        .env_clear()
        .envs(env(s))
        .output()
        .unwrap()
}

/// A loop device for the `device-block` channel, named in `targets`; when there can be none
/// (not root, no loop support) the channel is skipped and the test says why.
pub fn block_device(
    dir: &Path,
    targets: &mut BTreeMap<&'static str, String>,
) -> Option<LoopDevice> {
    match loop_device(dir) {
        Ok(dev) => {
            targets.insert("block_device", dev.0.clone());
            Some(dev)
        }
        Err(why) => {
            note(&format!("device-block not tried: {why}"));
            None
        }
    }
}

/// The alerts of a monitored build (JSON Lines).
pub fn read_alerts(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
