//! The command: forked by the init, handed the monitor's notification listener when it is
//! watched, exec'd with exactly the profile's environment, and reaped. The init exits with
//! the command's status.

use super::init::close_from;
use super::{cstring, fail, monitor, resolvers};
use crate::Profile;
use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// What the init watches the command with: the events pipe, the DNS sinkhole, and the
/// allowlist of Unix sockets (`None`: observe only, nothing refused).
pub(super) struct Watch {
    pub(super) log: monitor::Log,
    pub(super) sinkhole: Option<std::net::UdpSocket>,
    pub(super) unix_sockets: Option<Vec<PathBuf>>,
}

/// Forks and runs the command (with the monitor's listener handed over first when watching),
/// reaps it and exits with its status. In a PID namespace (`owns_namespace`) whatever the
/// command left running is killed before the init exits.
pub(super) fn run_command(profile: &Profile, watch: Option<Watch>, owns_namespace: bool) -> ! {
    // The command hands its notification listener over before it execs.
    let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .unwrap_or_else(|e| fail("creating a pipe", e));
    let (ack_r, ack_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .unwrap_or_else(|e| fail("creating a pipe", e));
    // SAFETY: still single-threaded.
    let cmd = match unsafe { fork() } {
        Err(e) => fail("forking the command", e),
        Ok(ForkResult::Child) => {
            if watch.is_some() {
                hand_listener_over(profile.monitor.is_some(), ready_w, ack_r);
            }
            // Every descriptor above 2 closes when the command starts (the pipes, the
            // error and events channels, anything we missed).
            if let Err(e) = close_from(3, true) {
                fail("closing descriptors before the command (close_range)", e);
            }
            exec(profile)
        }
        Ok(ForkResult::Parent { child }) => child,
    };
    // Not dumpable from here on: nothing inside can read the init's memory, environment or
    // descriptors through /proc (the command, forked before, stays dumpable for pidfd_getfd).
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    drop(ready_w);
    drop(ack_r);
    if let Some(watch) = watch {
        let listener = receive_listener(cmd, ready_r, ack_w);
        start_supervision(profile, cmd, watch, listener);
    } else {
        drop(ready_r);
        drop(ack_w);
    }
    std::process::exit(reap(cmd, owns_namespace))
}

/// In the command before it execs: installs the notification filter, sends the listener's
/// number to the init on `ready` and waits on `ack` until the init has taken it.
fn hand_listener_over(monitoring: bool, ready: OwnedFd, ack: OwnedFd) {
    let fd = monitor::install(monitoring)
        .unwrap_or_else(|e| fail("installing the seccomp notification filter", e));
    let mut w = std::fs::File::from(ready);
    let _ = w.write_all(&fd.to_ne_bytes());
    let mut byte = [0u8; 1];
    let _ = std::fs::File::from(ack).read_exact(&mut byte);
    // SAFETY: closing the listener this process no longer needs (the init has it).
    unsafe {
        libc::close(fd);
    }
}

/// In the init: takes the command's listener (its number read from `ready`) and lets the
/// command go on (on `ack`). The command never runs unwatched: it is killed if this fails.
fn receive_listener(cmd: Pid, ready: OwnedFd, ack: OwnedFd) -> OwnedFd {
    let mut num = [0u8; 4];
    if let Err(e) = std::fs::File::from(ready).read_exact(&mut num) {
        let _ = kill(cmd, Signal::SIGKILL);
        fail("receiving the seccomp listener", e);
    }
    let listener = match monitor::take(cmd.as_raw(), RawFd::from_ne_bytes(num)) {
        Ok(l) => l,
        Err(e) => {
            // Never run unwatched when watching was asked for.
            let _ = kill(cmd, Signal::SIGKILL);
            fail("taking the seccomp listener (pidfd_getfd)", e)
        }
    };
    let _ = std::fs::File::from(ack).write_all(b"!");
    listener
}

/// Starts the DNS sinkhole (when there is one) and the supervisor of `listener`.
fn start_supervision(profile: &Profile, cmd: Pid, watch: Watch, listener: OwnedFd) {
    let monitoring = profile.monitor.is_some();
    // The sinkhole names who sent each query from what the supervisor registers.
    let resolvers = watch.sinkhole.is_some().then(resolvers::Shared::default);
    if let (Some(s), Some(r)) = (watch.sinkhole, &resolvers) {
        monitor::sinkhole(s, watch.log.clone(), r.clone());
    }
    let supervision = monitor::Supervision {
        log: monitoring.then(|| watch.log.clone()),
        resolvers,
        config: profile.monitor.clone().unwrap_or_default(),
        unix_sockets: watch.unix_sockets,
        command: cmd.as_raw() as u32,
    };
    std::thread::spawn(move || monitor::supervise(listener, supervision));
}

/// Waits for the command and returns its exit code (128 + the signal that killed it). As
/// PID 1 (`owns_namespace`) it reaps every process meanwhile, and kills what is left after.
fn reap(cmd: Pid, owns_namespace: bool) -> i32 {
    let mut code = 1;
    let wait_for = if owns_namespace {
        Pid::from_raw(-1)
    } else {
        cmd
    };
    loop {
        match waitpid(wait_for, None) {
            Ok(WaitStatus::Exited(pid, c)) if pid == cmd => {
                code = c;
                break;
            }
            Ok(WaitStatus::Signaled(pid, s, _)) if pid == cmd => {
                code = 128 + s as i32;
                break;
            }
            Ok(_) => {}
            Err(Errno::EINTR) => {}
            Err(_) => break,
        }
    }
    if owns_namespace {
        // Whatever the command left running (daemons, stray children) dies with the namespace.
        let _ = kill(Pid::from_raw(-1), Signal::SIGKILL);
        while waitpid(Pid::from_raw(-1), None).is_ok() {}
    }
    code
}

/// Replaces this process with the profile's program, arguments and environment.
pub(super) fn exec(profile: &Profile) -> ! {
    let program = cstring(profile.program.as_os_str().as_bytes());
    let mut argv = vec![program.clone()];
    argv.extend(profile.args.iter().map(|a| cstring(a.as_bytes())));
    let envp: Vec<CString> = profile
        .env
        .iter()
        .map(|(k, v)| cstring(format!("{k}={v}").as_bytes()))
        .collect();
    let e = nix::unistd::execve(&program, &argv, &envp).unwrap_err();
    fail(&format!("running {}", profile.program.display()), e)
}
