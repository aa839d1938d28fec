//! The typed contract between cargo-reflex and its build sandbox: what the sandbox is asked to
//! do ([`Profile`], [`MonitorConfig`]), what the monitor reports back ([`MonitorEvent`]), and the
//! one table of system calls the sandbox denies ([`DENIED_SYSCALLS`]) that the seccomp filter
//! is built from and that `--dry-run` and the README show.
//!
//! No unsafe code and no Linux specifics live here: the library (which plans a build and
//! judges its events) and the sandbox crate (which enforces and records) both depend on it.
#![forbid(unsafe_code)]

pub mod syscalls;
pub mod target;
pub mod terminal;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

pub use syscalls::{DENIED_SYSCALLS, Denial, FOREIGN_ABI, Rule};

/// What the sandboxed command may see and do. Everything not listed is denied.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Profile {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    /// The complete environment of the command.
    pub env: Vec<(String, String)>,
    /// Kept visible, read-only, at their place (even under a covered directory).
    pub read_only: Vec<PathBuf>,
    /// Kept visible and writable at their place (mounted `nosuid,nodev`).
    pub writable: Vec<PathBuf>,
    /// Replaced by empty, read-only directories: the home directory, `/root`, `/home`.
    pub homes: Vec<PathBuf>,
    /// Replaced by an empty, writable, throw-away tmpfs (cargo's home: its lock files).
    pub scratch: Vec<PathBuf>,
    /// Files made unreadable (an empty file is mounted over them).
    pub hide: Vec<PathBuf>,
    /// Files shown with other content (a copy without its secrets is mounted over them):
    /// cargo's `config.toml` without registry tokens, `.git/config` without credentials.
    #[serde(default)]
    pub replace: Vec<(PathBuf, String)>,
    /// Pathname Unix sockets the command may connect or send to; every other is refused.
    #[serde(default)]
    pub unix_sockets: Vec<PathBuf>,
    /// How much to isolate: everything (the default), or only the network.
    #[serde(default)]
    pub isolation: Isolation,
    /// Files planted in the (otherwise empty) home directories before they become read-only:
    /// decoy credentials for the monitor's canaries.
    #[serde(default)]
    pub plant: Vec<(PathBuf, String)>,
    /// Record every exec, connect, send, sensitive open and DNS query of the build.
    #[serde(default)]
    pub monitor: Option<MonitorConfig>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MonitorConfig {
    /// Point the resolver at a sinkhole on the sandbox's loopback that answers NXDOMAIN.
    pub dns_sinkhole: bool,
    /// Writes under these are expected (the target directory, temporary directories,
    /// devices) and not recorded; every other write-open is.
    #[serde(default)]
    pub quiet_writes: Vec<PathBuf>,
    /// Writes under these are always recorded, even inside a quiet directory (the project
    /// and the homes may live under /tmp).
    #[serde(default)]
    pub watched_writes: Vec<PathBuf>,
    /// Reads of these files are recorded (decoy and real credential files), besides the
    /// built-in sensitive places (see [`is_sensitive`]).
    #[serde(default)]
    pub sensitive_reads: Vec<PathBuf>,
    /// Target directories: writes into their build outputs and final artifacts are recorded
    /// (so that one crate's build code replacing another's output is seen).
    #[serde(default)]
    pub guarded_writes: Vec<PathBuf>,
}

/// Directories whose every file is a secret.
const SECRET_DIRS: &[&str] = &[".ssh", ".aws", ".gnupg", ".azure", "gcloud", ".kube"];
/// File names that are secrets wherever they are.
const SECRET_NAMES: &[&str] = &[
    ".netrc",
    ".git-credentials",
    ".pypirc",
    ".npmrc",
    ".vault-token",
    "credentials.toml",
    "id_rsa",
    "id_ecdsa",
    "id_ed25519",
    "id_dsa",
    "shadow",
    "gshadow",
    "shadow-",
    "gshadow-",
];
/// File names that are secrets in some places (checked by [`is_sensitive`]).
const SECRET_NAMES_SOMEWHERE: &[&str] =
    &["credentials", "config.json", "hosts.yml", "environ", "mem"];

/// Whether reading `path` (absolute, lexically normal) touches a secret: credential files of
/// common tools, private keys, password hashes, and other processes' environments or memory.
pub fn is_sensitive(path: &Path, extra: &[PathBuf]) -> bool {
    if extra.iter().any(|p| p == path) {
        return true;
    }
    let parts: Vec<&str> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    let Some(name) = parts.last().copied() else {
        return false;
    };
    if parts.first() == Some(&"proc") {
        // /proc/<pid|self|thread-self>/environ, /proc/<pid>/task/<tid>/environ, and mem.
        return matches!(name, "environ" | "mem") && parts.len() >= 3;
    }
    let under = |dir: &str| parts[..parts.len() - 1].contains(&dir);
    let system_secret = matches!(name, "shadow" | "gshadow" | "shadow-" | "gshadow-");
    SECRET_DIRS.iter().any(|d| under(d))
        || (SECRET_NAMES.contains(&name) && (!system_secret || parts.len() == 2))
        || (name == "credentials" && (under(".cargo") || under(".docker")))
        || (name == "config.json" && under(".docker"))
        || (name == "hosts.yml" && under("gh"))
        || (name.starts_with("gha-creds-") && name.ends_with(".json"))
        || (name.starts_with("ssh_host_") && name.ends_with("_key") && under("ssh"))
}

/// A cheap test on a path as the caller gave it (perhaps relative, not normalised): `false`
/// only when [`is_sensitive`] cannot accept it once it is made absolute (its name and its
/// directories decide), so most opens need no further work.
pub fn may_be_sensitive(path: &Path, extra: &[PathBuf]) -> bool {
    let name = path.file_name();
    name.and_then(|n| n.to_str()).is_some_and(|n| {
        SECRET_NAMES.contains(&n)
            || SECRET_NAMES_SOMEWHERE.contains(&n)
            || n.starts_with("gha-creds-")
            || n.starts_with("ssh_host_")
    }) || extra.iter().any(|p| p.file_name() == name)
        || path.components().any(
            |c| matches!(c, std::path::Component::Normal(s) if SECRET_DIRS.iter().any(|d| s == *d)),
        )
}

/// What became of a call the monitor saw.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CallOutcome {
    /// The sandbox let the call go ahead (it may still have failed on its own).
    #[default]
    Allowed,
    /// The sandbox refused it (seccomp, the Unix socket allowlist, a read-only mount, no route
    /// out of the network namespace, the DNS sinkhole).
    Denied,
    /// The call was let through and failed (a missing program, a refused connection).
    Failed,
}

impl CallOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Allowed => "allowed",
            CallOutcome::Denied => "denied",
            CallOutcome::Failed => "failed",
        }
    }
}

/// One process in an event's ancestry, as the supervisor recorded it: the executable the
/// kernel ran and the arguments it was started with (never what the process says later).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ChainLink {
    pub pid: u32,
    /// The executable actually run (resolved, symlinks followed); `None` when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// The arguments at exec time, as recorded by the supervisor.
    #[serde(default)]
    pub argv: Vec<String>,
}

/// One thing a process of the build did, as the monitor saw it (before it happened).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MonitorEvent {
    /// Nanoseconds since the Unix epoch, taken when the call was stopped.
    pub time_ns: u64,
    pub pid: u32,
    /// `execve`, `execveat`, `connect`, `sendto`, `sendmsg`, `sendmmsg`, `open-write` (an open
    /// for writing outside the expected places), `open-read` (an open of a sensitive file, see
    /// [`is_sensitive`]), `rename`, `link`, `symlink`, `truncate`, or `dns-query` (the
    /// sinkhole's log).
    pub syscall: String,
    /// The file acted on (for exec: the resolved executable; for rename and link: the source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The second path of a rename, link or symlink (where it goes); for `open-write` and
    /// `truncate` through a hard link, the file's other name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path2: Option<String>,
    /// An exec of a path that does not exist (one step of a PATH lookup).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    /// An exec of something with no file behind it (a memfd, a deleted file).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fileless: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// `ip:port`, `[ip6]:port`, `unix:<path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest: Option<String>,
    /// Sent bytes (hex, first 512 of each message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payloads: Vec<String>,
    /// What became of the call.
    #[serde(default)]
    pub outcome: CallOutcome,
    /// The process and its ancestors, nearest first, from the supervisor's own exec records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<ChainLink>,
    /// For an exec: the dangerous loader variables the new program starts with
    /// (`LD_PRELOAD=...`, `LD_AUDIT=...`, `GCONV_PATH=...`, `LD_LIBRARY_PATH=...` into a
    /// target directory), read from the call's environment while the caller was stopped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
}

/// `Full` is the build sandbox. `NetworkOnly` is for control experiments: a private network
/// namespace with loopback and a chosen `resolv.conf`, nothing else restricted (tests use it
/// to show that without the sandbox every escape attempt succeeds, while their DNS and
/// traffic still cannot leave the machine).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub enum Isolation {
    #[default]
    Full,
    NetworkOnly {
        resolv_conf: Option<PathBuf>,
    },
    /// No isolation at all: only the monitor (`build --monitor --no-sandbox`).
    ObserveOnly,
}

/// The directories the sandbox covers with fresh, private tmpfs mounts.
pub const COVERED: &[&str] = &["/tmp", "/var/tmp", "/run", "/dev/shm"];
/// The only devices the sandbox's `/dev` holds (besides a private `pts` and `shm`).
pub const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom"];

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "sandbox profile (deny by default)")?;
        writeln!(
            f,
            "  command:     {} {}",
            self.program.display(),
            self.args.join(" ")
        )?;
        writeln!(f, "  directory:   {}", self.cwd.display())?;
        writeln!(
            f,
            "  session:     new session, no controlling terminal; standard input /dev/null when it is a terminal, output relayed through pipes with terminal control sequences removed"
        )?;
        writeln!(
            f,
            "  descriptors: every inherited descriptor above 2 closed"
        )?;
        writeln!(
            f,
            "  network:     new network namespace, loopback only (no route, no DNS)"
        )?;
        if self.unix_sockets.is_empty() {
            writeln!(
                f,
                "  unix sockets: connect/send to every pathname socket refused"
            )?;
        } else {
            writeln!(f, "  unix sockets: refused except")?;
            for s in &self.unix_sockets {
                writeln!(f, "    allowed    {}", s.display())?;
            }
        }
        writeln!(
            f,
            "  processes:   new PID namespace; everything left is killed when the command ends"
        )?;
        writeln!(f, "  file system: read-only, nosuid, nodev, except:")?;
        for w in &self.writable {
            writeln!(f, "    writable   {} (nosuid, nodev)", w.display())?;
        }
        for t in COVERED {
            writeln!(f, "    empty tmpfs {t} (private, discarded)")?;
        }
        for s in &self.scratch {
            writeln!(f, "    empty tmpfs {} (private, discarded)", s.display())?;
        }
        for h in &self.homes {
            writeln!(
                f,
                "    empty, read-only {} (credentials, ssh keys, cloud configs unreachable)",
                h.display()
            )?;
        }
        for r in &self.read_only {
            writeln!(f, "    read-only  {}", r.display())?;
        }
        for h in &self.hide {
            writeln!(f, "    hidden     {}", h.display())?;
        }
        for (r, _) in &self.replace {
            writeln!(f, "    secrets removed {}", r.display())?;
        }
        writeln!(
            f,
            "  /dev:        new: {} and a private pts; no host devices or terminals",
            DEVICES.join(", ")
        )?;
        writeln!(f, "  /proc:       new, shows only the sandbox's processes")?;
        writeln!(
            f,
            "  landlock:    same file-system rules again; no mounts; signals and abstract sockets scoped"
        )?;
        writeln!(f, "  seccomp:     denied")?;
        for d in DENIED_SYSCALLS {
            writeln!(f, "    {} ({})", d.describe(), d.why)?;
        }
        writeln!(f, "    {FOREIGN_ABI}")?;
        writeln!(f, "  environment: {} variables", self.env.len())?;
        for (k, _) in &self.env {
            writeln!(f, "    {k}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_reads_are_credentials_keys_and_other_environments() {
        let planted = [PathBuf::from("/h/decoy/token.txt")];
        for p in [
            "/home/u/.ssh/id_ed25519",
            "/home/u/.ssh/config",
            "/root/.aws/credentials",
            "/home/u/.cargo/credentials.toml",
            "/home/u/.cargo/credentials",
            "/home/u/.docker/config.json",
            "/home/u/.config/gh/hosts.yml",
            "/home/u/.netrc",
            "/proc/1/environ",
            "/proc/self/environ",
            "/proc/42/task/43/environ",
            "/proc/42/mem",
            "/h/decoy/token.txt",
            "/etc/shadow",
            "/etc/gshadow-",
            "/etc/ssh/ssh_host_ed25519_key",
            "/w/project/gha-creds-3f2a.json",
        ] {
            assert!(is_sensitive(Path::new(p), &planted), "{p}");
            assert!(may_be_sensitive(Path::new(p), &planted), "{p}");
        }
        // Relative, as callers give them: the quick test lets them through to be resolved.
        for p in ["id_ed25519", "../.aws/config", "environ", "token.txt"] {
            assert!(may_be_sensitive(Path::new(p), &planted), "{p}");
        }
        assert!(!may_be_sensitive(Path::new("src/lib.rs"), &planted));
        for p in [
            "/home/u/project/src/credentials.rs",
            "/home/u/.cargo/registry/src/x/serde-1.0.0/src/lib.rs",
            "/proc/self/maps",
            "/proc/environ",
            "/etc/hosts.yml",
            "/home/u/config.json",
            "/home/u/src/shadow",
            "/etc/ssh/ssh_host_ed25519_key.pub",
            "/",
        ] {
            assert!(!is_sensitive(Path::new(p), &planted), "{p}");
        }
    }

    #[test]
    fn dry_run_lists_every_layer() {
        let p = Profile {
            program: "/usr/bin/cargo".into(),
            args: vec!["build".into()],
            writable: vec!["/w/target".into()],
            homes: vec!["/root".into()],
            env: vec![("PATH".into(), "/usr/bin".into())],
            hide: vec!["/w/.env".into()],
            replace: vec![("/root/.cargo/config.toml".into(), String::new())],
            ..Profile::default()
        };
        let text = p.to_string();
        for part in [
            "loopback only",
            "PID namespace",
            "no controlling terminal",
            "descriptor",
            "pathname socket refused",
            "writable   /w/target (nosuid, nodev)",
            "empty, read-only /root",
            "hidden     /w/.env",
            "secrets removed /root/.cargo/config.toml",
            "no host devices",
            "io_uring",
            "TIOCSTI",
            "set-uid",
            "x32",
            "PATH",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }

    #[test]
    fn events_read_back_as_written() {
        let ev = MonitorEvent {
            time_ns: 1,
            pid: 7,
            syscall: "connect".into(),
            dest: Some("unix:/var/run/x.sock".into()),
            outcome: CallOutcome::Denied,
            chain: vec![ChainLink {
                pid: 7,
                exe: Some("/bin/sh".into()),
                argv: vec!["sh".into()],
            }],
            ..MonitorEvent::default()
        };
        let line = serde_json::to_string(&ev).unwrap();
        assert!(line.contains("\"outcome\":\"denied\""), "{line}");
        assert_eq!(serde_json::from_str::<MonitorEvent>(&line).unwrap(), ev);
    }
}
