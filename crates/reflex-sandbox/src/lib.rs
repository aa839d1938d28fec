//! The build sandbox: the only crate of cargo-reflex with `unsafe` code.
//!
//! A [`Profile`] is deny by default. What runs inside it (cargo, rustc, build scripts,
//! proc-macros, tests) gets:
//!
//! - **network**: a new network namespace with only loopback: no route out, no resolver;
//! - **file system**: a new mount namespace in which everything is read-only except the
//!   `writable` paths (the target directory) and fresh, empty tmpfs mounts over `/tmp`,
//!   `/var/tmp`, `/run`, `/dev/shm` and the `cover` paths. `$HOME` is an empty read-only tmpfs;
//!   only the `read_only` paths (cargo's registry cache, the toolchain, the project) are put
//!   back, read-only. Credential files in the home directory are simply not there;
//! - **processes**: a new PID namespace whose init is ours: it reaps every process and, when
//!   the command ends, kills whatever is left (no daemon outlives the build); a new `/proc`
//!   shows only the sandbox's own processes (no `/proc/*/environ` of anyone else);
//! - **Landlock** as a second layer on the same file-system rules (and signals and abstract
//!   Unix sockets scoped to the sandbox, where the kernel supports it); no new mounts;
//! - **seccomp**: io_uring, ptrace, new namespaces (`unshare`, `setns`, `clone` with
//!   namespace flags, `clone3`), mounts, kernel modules, keyrings, `bpf`, `kexec`,
//!   `perf_event_open` and the like fail with `EPERM`;
//! - **environment**: exactly `env`, built by the caller from an allowlist.
//!
//! The user namespace makes this work unprivileged; as root, capabilities are dropped from
//! the bounding set before the command runs. Anything that cannot be set up fails closed: the
//! command does not run and [`run`] says which feature is missing.
//!
//! Mechanics: [`run`] re-executes the current binary with [`INIT_ARG`]; that process (single
//! threaded, so forking is safe) calls [`init_main`], creates the namespaces, forks the init
//! (PID 1), which sets up mounts, loopback, Landlock and seccomp and then runs the command.
//! Every mount lives in the namespace and disappears with it; nothing is written to the host.
#![deny(unsafe_op_in_unsafe_fn)]

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

#[cfg(target_os = "linux")]
mod linux;

/// The argument that makes the binary act as the sandbox's init.
pub const INIT_ARG: &str = "__reflex-sandbox-init";
/// Environment variable carrying the profile to the init process.
pub const PROFILE_ENV: &str = "__REFLEX_SANDBOX_PROFILE";
/// Exit code of the init when the sandbox could not be set up.
pub const SETUP_FAILED: i32 = 125;

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
    /// Kept visible and writable at their place.
    pub writable: Vec<PathBuf>,
    /// Replaced by empty, read-only directories: the home directory, `/root`, `/home`.
    pub homes: Vec<PathBuf>,
    /// Replaced by an empty, writable, throw-away tmpfs (cargo's home: its lock files).
    pub scratch: Vec<PathBuf>,
    /// Files made unreadable (an empty file is mounted over them).
    pub hide: Vec<PathBuf>,
    /// How much to isolate: everything (the default), or only the network.
    #[serde(default)]
    pub isolation: Isolation,
    /// Files planted in the (otherwise empty) home directories before they become read-only:
    /// decoy credentials for the monitor's canaries.
    #[serde(default)]
    pub plant: Vec<(PathBuf, String)>,
    /// Record every exec, connect and send of the build (and DNS queries) as JSON lines.
    #[serde(default)]
    pub monitor: Option<MonitorConfig>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MonitorConfig {
    /// Where the events go (inside a writable path: the target directory).
    pub events: PathBuf,
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
];
/// File names that are secrets in some places (checked by [`is_sensitive`]).
const SECRET_NAMES_SOMEWHERE: &[&str] =
    &["credentials", "config.json", "hosts.yml", "environ", "mem"];

/// Whether reading `path` (absolute, lexically normal) touches a secret: credential files of
/// common tools, private keys, and other processes' environments or memory.
pub fn is_sensitive(path: &std::path::Path, extra: &[PathBuf]) -> bool {
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
    SECRET_DIRS.iter().any(|d| under(d))
        || SECRET_NAMES.contains(&name)
        || (name == "credentials" && (under(".cargo") || under(".docker")))
        || (name == "config.json" && under(".docker"))
        || (name == "hosts.yml" && under("gh"))
}

/// A cheap test on a path as the caller gave it (perhaps relative, not normalised): `false`
/// only when [`is_sensitive`] cannot accept it once it is made absolute (its name and its
/// directories decide), so most opens need no further work.
pub fn may_be_sensitive(path: &std::path::Path, extra: &[PathBuf]) -> bool {
    let name = path.file_name();
    name.and_then(|n| n.to_str())
        .is_some_and(|n| SECRET_NAMES.contains(&n) || SECRET_NAMES_SOMEWHERE.contains(&n))
        || extra.iter().any(|p| p.file_name() == name)
        || path.components().any(
            |c| matches!(c, std::path::Component::Normal(s) if SECRET_DIRS.iter().any(|d| s == *d)),
        )
}

/// One thing a process of the build did, as the monitor saw it (before it happened).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MonitorEvent {
    /// Nanoseconds since the Unix epoch, taken when the call was stopped.
    pub time_ns: u64,
    pub pid: u32,
    /// `execve`, `execveat`, `connect`, `sendto`, `sendmsg`, `sendmmsg`, `open-write` (an open
    /// for writing outside the expected places), `open-read` (an open of a sensitive file, see
    /// [`is_sensitive`]), or `dns-query` (the sinkhole's log).
    pub syscall: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// An exec of a path that does not exist (one step of a PATH lookup).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub missing: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// `ip:port`, `[ip6]:port`, `unix:<path>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dest: Option<String>,
    /// Sent bytes (hex, first 512 of each message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payloads: Vec<String>,
    /// The process and its ancestors: (pid, command line), nearest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<(u32, Vec<String>)>,
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

/// How the sandboxed command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Signaled(i32),
    /// The caller was interrupted (SIGINT or SIGTERM) and the sandbox was torn down.
    Interrupted(i32),
}

#[derive(Debug)]
pub enum SandboxError {
    /// This system cannot sandbox; the message names what is missing.
    Unsupported(String),
    /// The sandbox could not be set up (the init's message).
    Setup(String),
    Io(std::io::Error),
}

impl fmt::Display for SandboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SandboxError::Unsupported(m) => write!(f, "cannot sandbox on this system: {m}"),
            SandboxError::Setup(m) => write!(f, "sandbox setup failed: {m}"),
            SandboxError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SandboxError {}

/// What the kernel offers, for `--dry-run` and error messages.
#[derive(Clone, Debug)]
pub struct Support {
    pub user_namespaces: Result<(), String>,
    pub landlock_abi: Option<i32>,
    pub seccomp: bool,
    pub root: bool,
}

impl Support {
    /// The features a sandbox needs and this system lacks.
    pub fn missing(&self) -> Vec<String> {
        let mut m = Vec::new();
        if let Err(e) = &self.user_namespaces
            && !self.root
        {
            m.push(format!("user namespaces ({e})"));
        }
        if self.landlock_abi.is_none() {
            m.push("Landlock (kernel 5.13+ with `lsm=...,landlock`)".into());
        }
        if !self.seccomp {
            m.push("seccomp filters".into());
        }
        m
    }
}

/// Probes the kernel without changing anything.
pub fn probe() -> Support {
    #[cfg(target_os = "linux")]
    {
        linux::probe()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Support {
            user_namespaces: Err("not Linux".into()),
            landlock_abi: None,
            seccomp: false,
            root: false,
        }
    }
}

/// Runs the profile's command in the sandbox and waits for it. `init_program` is the binary
/// that handles [`INIT_ARG`] (normally the current executable).
pub fn run(profile: &Profile, init_program: &std::path::Path) -> Result<Outcome, SandboxError> {
    #[cfg(target_os = "linux")]
    {
        linux::run(profile, init_program)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (profile, init_program);
        Err(SandboxError::Unsupported(
            "the sandbox needs Linux namespaces, Landlock and seccomp".into(),
        ))
    }
}

/// Entry point of the init process (`<binary> __reflex-sandbox-init`): never returns.
pub fn init_main() -> ! {
    #[cfg(target_os = "linux")]
    {
        linux::init_main()
    }
    #[cfg(not(target_os = "linux"))]
    {
        std::process::exit(SETUP_FAILED)
    }
}

/// Runs a command without a sandbox (`--no-sandbox`), with the same environment handling and
/// the same interrupt behaviour.
pub fn run_unsandboxed(profile: &Profile) -> Result<Outcome, SandboxError> {
    let status = std::process::Command::new(&profile.program)
        .args(&profile.args)
        .current_dir(&profile.cwd)
        .env_clear()
        .envs(profile.env.iter().map(|(k, v)| (k, v)))
        .status()
        .map_err(SandboxError::Io)?;
    use std::os::unix::process::ExitStatusExt;
    Ok(match (status.code(), status.signal()) {
        (Some(c), _) => Outcome::Exited(c),
        (None, Some(s)) => Outcome::Signaled(s),
        _ => Outcome::Exited(1),
    })
}

/// The syscalls seccomp denies, with why (shown by `--dry-run`).
pub const DENIED_SYSCALLS: &[(&str, &str)] = &[
    (
        "io_uring_setup, io_uring_enter, io_uring_register",
        "io_uring bypasses seccomp and Landlock checks",
    ),
    (
        "ptrace, process_vm_readv, process_vm_writev",
        "reading or steering other processes",
    ),
    (
        "unshare, setns, clone/clone3 with namespace flags",
        "new namespaces (escaping the rules)",
    ),
    (
        "mount, umount2, mount_setattr, move_mount, open_tree, fsopen, fsmount, fsconfig, fspick, pivot_root, chroot",
        "changing the file-system view",
    ),
    (
        "init_module, finit_module, delete_module, kexec_load, kexec_file_load, reboot, swapon, swapoff",
        "the kernel itself",
    ),
    (
        "add_key, request_key, keyctl",
        "kernel keyrings (credentials of other processes)",
    ),
    (
        "bpf, perf_event_open, userfaultfd",
        "kernel attack surface a build never needs",
    ),
];

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
            "  network:     new network namespace, loopback only (no route, no DNS)"
        )?;
        writeln!(
            f,
            "  processes:   new PID namespace; everything left is killed when the command ends"
        )?;
        writeln!(f, "  file system: read-only, except:")?;
        for w in &self.writable {
            writeln!(f, "    writable   {}", w.display())?;
        }
        for t in ["/tmp", "/var/tmp", "/run", "/dev/shm"] {
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
        writeln!(f, "  /proc:       new, shows only the sandbox's processes")?;
        writeln!(
            f,
            "  landlock:    same file-system rules again; no mounts; signals and abstract sockets scoped"
        )?;
        writeln!(f, "  seccomp:     EPERM for")?;
        for (calls, why) in DENIED_SYSCALLS {
            writeln!(f, "    {calls} ({why})")?;
        }
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
    fn missing_features_are_named_and_root_needs_no_user_namespace() {
        let mut s = Support {
            user_namespaces: Err("user.max_user_namespaces is 0".into()),
            landlock_abi: None,
            seccomp: false,
            root: false,
        };
        assert_eq!(
            s.missing(),
            vec![
                "user namespaces (user.max_user_namespaces is 0)".to_string(),
                "Landlock (kernel 5.13+ with `lsm=...,landlock`)".to_string(),
                "seccomp filters".to_string(),
            ]
        );
        s.root = true;
        s.landlock_abi = Some(7);
        s.seccomp = true;
        assert!(
            s.missing().is_empty(),
            "root sets up namespaces with its own capabilities"
        );
    }

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
        ] {
            assert!(is_sensitive(std::path::Path::new(p), &planted), "{p}");
            assert!(may_be_sensitive(std::path::Path::new(p), &planted), "{p}");
        }
        // Relative, as callers give them: the quick test lets them through to be resolved.
        for p in ["id_ed25519", "../.aws/config", "environ", "token.txt"] {
            assert!(may_be_sensitive(std::path::Path::new(p), &planted), "{p}");
        }
        assert!(!may_be_sensitive(
            std::path::Path::new("src/lib.rs"),
            &planted
        ));
        for p in [
            "/home/u/project/src/credentials.rs",
            "/home/u/.cargo/registry/src/x/serde-1.0.0/src/lib.rs",
            "/proc/self/maps",
            "/proc/environ",
            "/etc/hosts.yml",
            "/home/u/config.json",
            "/",
        ] {
            assert!(!is_sensitive(std::path::Path::new(p), &planted), "{p}");
        }
    }

    #[test]
    fn this_machine_can_sandbox() {
        // The escape suite relies on it; a machine that cannot should say why here first.
        assert_eq!(probe().missing(), Vec::<String>::new());
    }

    #[test]
    fn dry_run_lists_every_layer() {
        let p = Profile {
            program: "/usr/bin/cargo".into(),
            args: vec!["build".into()],
            writable: vec!["/w/target".into()],
            homes: vec!["/root".into()],
            env: vec![("PATH".into(), "/usr/bin".into())],
            ..Profile::default()
        };
        let text = p.to_string();
        for part in [
            "loopback only",
            "PID namespace",
            "writable   /w/target",
            "empty, read-only /root",
            "io_uring",
            "PATH",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
    }
}
