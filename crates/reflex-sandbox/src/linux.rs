//! Linux implementation: namespaces, mounts, loopback, Landlock, seccomp, the init process.
//!
//! - [`launch`]: the caller's side: starts the init, hands it the profile, forwards
//!   interrupts, collects the events and the outcome;
//! - [`relay`]: the caller's terminal, reached only through the sanitizing relays;
//! - [`init`]: the init process: namespaces, identities, then PID 1 of the sandbox;
//! - [`mounts`]: the file-system view built in the new mount namespace;
//! - [`command`]: forks, watches and reaps the command;
//! - [`filters`], [`bpf`]: Landlock and the seccomp deny list;
//! - [`monitor`], [`resolvers`], [`unix_gate`]: the seccomp notification supervisor.

use super::*;
use std::ffi::CString;
use std::io::Write;
use std::os::fd::{FromRawFd, RawFd};

mod bpf;
mod command;
mod filters;
mod init;
mod launch;
mod monitor;
mod mounts;
mod relay;
mod resolvers;
mod unix_gate;

pub(super) use init::init_main;
pub(super) use launch::run;

const SYS_LANDLOCK_CREATE_RULESET: libc::c_long = 444;

/// What this kernel offers: see [`crate::probe`].
pub(super) fn probe() -> Support {
    let read = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
    };
    let user_namespaces = match (
        read("/proc/sys/user/max_user_namespaces").as_deref(),
        read("/proc/sys/kernel/unprivileged_userns_clone").as_deref(),
        read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref(),
    ) {
        (Some("0"), _, _) => Err("user.max_user_namespaces is 0".to_string()),
        (_, Some("0"), _) => Err("kernel.unprivileged_userns_clone is 0".to_string()),
        (_, _, Some("1")) => Err("AppArmor restricts unprivileged user namespaces".to_string()),
        (None, _, _) => Err("the kernel has no user namespaces".to_string()),
        _ => Ok(()),
    };
    // SAFETY: querying the ABI version with a null attribute is the documented probe.
    let abi = unsafe {
        libc::syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    // SAFETY: PR_GET_SECCOMP has no pointer arguments.
    let seccomp = unsafe { libc::prctl(libc::PR_GET_SECCOMP) } >= 0;
    Support {
        user_namespaces,
        landlock_abi: (abi > 0).then_some(abi as i32),
        seccomp,
        root: nix::unistd::geteuid().is_root(),
    }
}

/// Descriptors the init gets, at fixed numbers: its error pipe, the profile, the events.
const ERR_FD: RawFd = 3;
const PROFILE_FD: RawFd = 4;
const EVENTS_FD: RawFd = 5;

/// Reports a setup failure to the parent and exits: the command never runs.
fn fail(what: &str, err: impl fmt::Display) -> ! {
    let msg = format!("{what}: {err}\n");
    // SAFETY: ERR_FD was handed to us by the parent; the File is forgotten, never closed here.
    let mut f = unsafe { std::fs::File::from_raw_fd(ERR_FD) };
    if f.write_all(msg.as_bytes()).is_err() {
        let _ = std::io::stderr().write_all(msg.as_bytes());
    }
    std::mem::forget(f);
    std::process::exit(SETUP_FAILED)
}

/// `b` as a C string; a NUL byte in it fails the setup.
fn cstring(b: &[u8]) -> CString {
    CString::new(b.to_vec()).unwrap_or_else(|_| fail("argument with a NUL byte", "rejected"))
}

/// A setup step that failed: what was being done, and why it failed.
type SetupError = (String, std::io::Error);

/// Names the setup step of an I/O result.
fn context<T>(what: impl Into<String>, r: std::io::Result<T>) -> Result<T, SetupError> {
    r.map_err(|e| (what.into(), e))
}

/// Names the setup step of a `nix` result.
fn nix_context<T>(what: &str, r: nix::Result<T>) -> Result<T, SetupError> {
    r.map_err(|e| (what.to_string(), e.into()))
}
