//! The caller's side of a sandboxed run: re-executes the binary as the init with the profile
//! on a pipe, relays the terminal, forwards interrupts as the init's death, collects the
//! monitor's events and turns the init's exit into an [`Outcome`].

use super::relay::terminal_relays;
use super::{ERR_FD, probe};
use crate::{INIT_ARG, Isolation, MonitorEvent, Outcome, Profile, SETUP_FAILED, SandboxError};
use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread::JoinHandle;

/// The init process while the caller waits for it (0 otherwise): what an interrupt kills.
static INIT_PID: AtomicI32 = AtomicI32::new(0);
/// The signal that interrupted the caller (0 when none did).
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    INTERRUPTED.store(sig, Ordering::SeqCst);
    let pid = INIT_PID.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe; the init's death takes the namespace with it.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// Runs the profile in the sandbox: see [`crate::run`].
pub(crate) fn run(
    profile: &Profile,
    init_program: &Path,
    events: Option<std::sync::mpsc::Sender<MonitorEvent>>,
) -> Result<Outcome, SandboxError> {
    check_support(profile)?;
    let json = serde_json::to_vec(profile).map_err(|e| SandboxError::Io(e.into()))?;
    let (err_read, err_write) = pipe_cloexec()?;
    let (profile_read, profile_write) = pipe_cloexec()?;
    let (events_read, events_write) = pipe_cloexec()?;
    let handed = [
        err_write.as_raw_fd(),
        profile_read.as_raw_fd(),
        events_write.as_raw_fd(),
    ];
    let mut cmd = std::process::Command::new(init_program);
    cmd.arg(INIT_ARG).env_clear();
    // SAFETY: only async-signal-safe calls (fcntl, dup2) between fork and exec.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || hand_over(&handed));
    }
    // Control experiments (network only) keep the caller's streams as they are.
    let terminal = !matches!(profile.isolation, Isolation::NetworkOnly { .. });
    let relays = terminal_relays(&mut cmd, terminal);
    let mut child = cmd.spawn().map_err(SandboxError::Io)?;
    drop((err_write, profile_read, events_write));
    let relays = relays.start(&mut child);
    let writer = send_profile(profile_write, json);
    let reader = receive_events(events_read, events);
    let status = wait_killing_on_interrupt(&mut child);
    let _ = writer.join();
    let _ = reader.join();
    relays.join();
    let status = status.map_err(SandboxError::Io)?;
    let mut errors = String::new();
    let _ = std::fs::File::from(err_read).read_to_string(&mut errors);
    let interrupted = INTERRUPTED.load(Ordering::SeqCst);
    if interrupted != 0 {
        return Ok(Outcome::Interrupted(interrupted));
    }
    outcome(status, &errors)
}

/// Fails with what this system lacks for the profile (observing needs only seccomp).
fn check_support(profile: &Profile) -> Result<(), SandboxError> {
    let support = probe();
    let missing = if profile.isolation == Isolation::ObserveOnly {
        if support.seccomp {
            Vec::new()
        } else {
            vec!["seccomp filters".to_string()]
        }
    } else {
        support.missing()
    };
    if !missing.is_empty() {
        return Err(SandboxError::Unsupported(format!(
            "missing {}",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Writes the profile to the init's pipe (on a thread: the pipe may be smaller than it).
fn send_profile(profile_write: OwnedFd, json: Vec<u8>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut f = std::fs::File::from(profile_write);
        let _ = f.write_all(&json);
    })
}

/// Passes every event line of the init's events pipe on to `events` until the pipe closes.
fn receive_events(
    events_read: OwnedFd,
    events: Option<std::sync::mpsc::Sender<MonitorEvent>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(std::fs::File::from(events_read));
        let mut line = Vec::new();
        while lines.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            if let (Some(tx), Ok(ev)) = (&events, serde_json::from_slice::<MonitorEvent>(&line)) {
                let _ = tx.send(ev);
            }
            line.clear();
        }
    })
}

/// Waits for the init; SIGINT, SIGTERM and SIGHUP meanwhile kill it (and so the sandbox).
fn wait_killing_on_interrupt(
    child: &mut std::process::Child,
) -> std::io::Result<std::process::ExitStatus> {
    INIT_PID.store(child.id() as i32, Ordering::SeqCst);
    INTERRUPTED.store(0, Ordering::SeqCst);
    let handler = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores atomics and calls kill.
    let old: Vec<(Signal, SigAction)> = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP]
        .into_iter()
        .filter_map(|s| unsafe { sigaction(s, &handler) }.ok().map(|o| (s, o)))
        .collect();
    let status = child.wait();
    INIT_PID.store(0, Ordering::SeqCst);
    for (s, o) in old {
        // SAFETY: restoring the previous disposition.
        let _ = unsafe { sigaction(s, &o) };
    }
    status
}

/// The init's exit status as an outcome; a setup failure carries the init's message.
fn outcome(status: std::process::ExitStatus, errors: &str) -> Result<Outcome, SandboxError> {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(SETUP_FAILED), _) if !errors.trim().is_empty() => {
            Err(SandboxError::Setup(errors.trim().to_string()))
        }
        (Some(c), _) => Ok(Outcome::Exited(c)),
        (None, Some(s)) => Ok(Outcome::Signaled(s)),
        _ => Ok(Outcome::Exited(1)),
    }
}

/// In the forked child before exec: the three pipes move to [`ERR_FD`],
/// [`PROFILE_FD`](super::PROFILE_FD) and [`EVENTS_FD`](super::EVENTS_FD) (without
/// close-on-exec); everything else stays close-on-exec.
fn hand_over(fds: &[RawFd; 3]) -> std::io::Result<()> {
    let mut high = [0; 3];
    for (i, fd) in fds.iter().enumerate() {
        // SAFETY: fcntl(F_DUPFD_CLOEXEC) on descriptors this process holds.
        high[i] = unsafe { libc::fcntl(*fd, libc::F_DUPFD_CLOEXEC, 64) };
        if high[i] < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    for (i, fd) in high.iter().enumerate() {
        // SAFETY: dup2 onto a fixed low number; the copy has no close-on-exec flag.
        if unsafe { libc::dup2(*fd, ERR_FD + i as RawFd) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A pipe whose ends close on exec.
fn pipe_cloexec() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(nix_io_error)
}

fn nix_io_error(e: Errno) -> SandboxError {
    SandboxError::Io(std::io::Error::from(e))
}
