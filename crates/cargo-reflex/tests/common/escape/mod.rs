//! The escape suite's scene: the hostile workspace copied with its targets, a home full of
//! fake credentials, secret files in the project and cargo's configuration, loopback
//! listeners, descriptors and devices handed to the build, and what the probes and the
//! listeners observed. The listeners are in `net.rs`, the devices in `devices.rs`.

mod devices;
mod net;

// Each test binary uses a part of the scene (as of `common`, see its `allow(dead_code)`).
#[allow(unused_imports)]
pub use devices::*;
#[allow(unused_imports)]
pub use net::*;

use super::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
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

/// FNV-1a, as the probe computes it, of this machine's init environment.
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

/// Writes each `(path, text)` under `root`, making the directories.
pub fn plant(root: &Path, files: &[(&str, String)]) {
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// The decoys every scene's home holds: an ssh key and AWS credentials holding the canary,
/// and a `.bashrc` to poison.
pub fn home_decoys() -> [(&'static str, String); 3] {
    [
        (
            ".ssh/id_ed25519",
            format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{CANARY}\n"),
        ),
        (
            ".aws/credentials",
            format!("[default]\naws_secret_access_key = {CANARY}\n"),
        ),
        (".bashrc", "# original\n".to_string()),
    ]
}

/// Runs this test binary's ignored test `test` (the control run's inside) in `dir`, in a
/// network namespace of its own: loopback only, with `<dir>/resolv.conf` naming a resolver
/// on 127.0.0.1:53 as the system's. It must exit 0.
pub fn run_inside_namespace(dir: &Path, test: &str, env: Vec<(String, String)>) {
    let resolv = dir.join("resolv.conf");
    std::fs::write(&resolv, "nameserver 127.0.0.1\n").unwrap();
    let profile = reflex_sandbox::Profile {
        program: std::env::current_exe().unwrap(),
        args: [test, "--exact", "--ignored", "--nocapture"]
            .map(String::from)
            .to_vec(),
        cwd: dir.to_path_buf(),
        env,
        isolation: reflex_sandbox::Isolation::NetworkOnly {
            resolv_conf: Some(resolv),
        },
        ..Default::default()
    };
    let outcome = reflex_sandbox::run(
        &profile,
        Path::new(env!("CARGO_BIN_EXE_cargo-reflex")),
        None,
    )
    .unwrap();
    assert_eq!(outcome, reflex_sandbox::Outcome::Exited(0));
}

/// A copy of the hostile workspace (a git repository), a home directory full of fake
/// credentials, a cargo home with a registry source to poison, secrets in the project
/// (`.env`, a CI cloud credential file, the CI token in `.git/config`) and registry tokens in
/// cargo's configuration files.
pub fn scene(dir: &Path) -> Scene {
    let ws = dir.join("ws");
    copy_dir(&fixture("escape"), &ws);
    std::fs::create_dir_all(ws.join(".git/hooks")).unwrap();
    plant(
        &ws,
        &[
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
        ],
    );
    let home = dir.join("home");
    plant(&home, &home_decoys());
    plant(
        &home,
        &[
            (
                ".docker/config.json",
                format!("{{\"auths\":{{\"x\":{{\"auth\":\"{CANARY}\"}}}}}}"),
            ),
            (
                ".netrc",
                format!("machine example.invalid login u password {CANARY}\n"),
            ),
        ],
    );
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

/// A line on the test's standard error that the test harness does not capture: skips and
/// machine facts stay visible.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "note: {text}");
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

/// The alerts of a monitored build (JSON Lines).
pub fn read_alerts(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
