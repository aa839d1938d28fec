//! The build sandbox: the only crate of cargo-reflex with `unsafe` code.
//!
//! A [`Profile`] is deny by default. What runs inside it (cargo, rustc, build scripts,
//! proc-macros, tests) gets:
//!
//! - **session and descriptors**: a new session with no controlling terminal; every
//!   descriptor above 2 the caller held is closed; standard input is `/dev/null` and standard
//!   output and error are pipes relayed through [`terminal::Sanitizer`] when they were a
//!   terminal (text and colours reach it, control sequences do not);
//! - **network**: a new network namespace with only loopback: no route out, no resolver;
//!   connecting or sending to a pathname Unix socket is refused unless the profile allows
//!   that socket (decided by the supervisor on a seccomp notification);
//! - **file system**: a new mount namespace in which everything is read-only, `nosuid` and
//!   `nodev` except the `writable` paths (the target directory, still `nosuid,nodev`) and
//!   fresh, empty tmpfs mounts over `/tmp`, `/var/tmp`, `/run`, `/dev/shm`. `/dev` is new:
//!   null, zero, full, random, urandom and a private `pts`. `$HOME` is an empty read-only
//!   tmpfs; only the `read_only` paths (cargo's registry cache, the toolchain, the project)
//!   are put back, read-only. `hide` files are emptied, `replace` files shown without secrets;
//! - **processes**: a new PID namespace whose init is ours (not dumpable: its memory,
//!   environment and descriptors are out of reach): it reaps every process and, when the
//!   command ends, kills whatever is left; a new `/proc` shows only the sandbox's processes;
//! - **Landlock** as a second layer on the same file-system rules (and signals and abstract
//!   Unix sockets scoped to the sandbox, where the kernel supports it); no new mounts;
//! - **seccomp**: the [`DENIED_SYSCALLS`] table (io_uring, ptrace, namespaces, mounts, kernel
//!   modules, keyrings, `bpf`, TIOCSTI, set-uid modes, `PR_SET_MM`, ...) and [`FOREIGN_ABI`];
//! - **environment**: exactly `env`, built by the caller from an allowlist.
//!
//! The user namespace makes this work unprivileged; as root, capabilities are dropped from
//! the bounding set before the command runs. Anything that cannot be set up fails closed: the
//! command does not run and [`run`] says which feature is missing.
//!
//! Mechanics: [`run`] re-executes the current binary with [`INIT_ARG`], handing it the profile
//! on a pipe (never in the environment); that process (single threaded, so forking is safe)
//! calls [`init_main`], creates the namespaces, forks the init (PID 1), which sets up mounts,
//! loopback, Landlock and seccomp and then runs the command. The monitor's events travel back
//! on another pipe that only the init holds. Every mount lives in the namespace and disappears
//! with it; nothing is written to the host.
#![deny(unsafe_op_in_unsafe_fn)]

pub use reflex_sandbox_contract::*;
use std::fmt;

#[cfg(target_os = "linux")]
mod linux;

/// The argument that makes the binary act as the sandbox's init.
pub const INIT_ARG: &str = "__reflex-sandbox-init";
/// Exit code of the init when the sandbox could not be set up.
pub const SETUP_FAILED: i32 = 125;

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
/// that handles [`INIT_ARG`] (normally the current executable). When the profile monitors,
/// every event goes to `events` as it happens; all of them have been sent when this returns.
pub fn run(
    profile: &Profile,
    init_program: &std::path::Path,
    events: Option<std::sync::mpsc::Sender<MonitorEvent>>,
) -> Result<Outcome, SandboxError> {
    #[cfg(target_os = "linux")]
    {
        linux::run(profile, init_program, events)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (profile, init_program, events);
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
    fn this_machine_can_sandbox() {
        // The escape suite relies on it; a machine that cannot should say why here first.
        assert_eq!(probe().missing(), Vec::<String>::new());
    }
}
