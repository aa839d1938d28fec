//! Linux implementation: namespaces, mounts, loopback, Landlock, seccomp, the init process.

use super::*;
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};

mod bpf;
mod filters;
mod monitor;
mod resolvers;
mod unix_gate;

// The new mount API (same numbers on every architecture).
const SYS_OPEN_TREE: libc::c_long = 428;
const SYS_MOVE_MOUNT: libc::c_long = 429;
const SYS_MOUNT_SETATTR: libc::c_long = 442;
const SYS_LANDLOCK_CREATE_RULESET: libc::c_long = 444;
const OPEN_TREE_CLONE: libc::c_uint = 1;
const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

static CHILD: AtomicI32 = AtomicI32::new(0);
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    INTERRUPTED.store(sig, Ordering::SeqCst);
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe; the init's death takes the namespace with it.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

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

pub(super) fn run(
    profile: &Profile,
    init_program: &Path,
    events: Option<std::sync::mpsc::Sender<MonitorEvent>>,
) -> Result<Outcome, SandboxError> {
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
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::File::from(profile_write);
        let _ = f.write_all(&json);
    });
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(std::fs::File::from(events_read));
        let mut line = Vec::new();
        while lines.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            if let (Some(tx), Ok(ev)) = (&events, serde_json::from_slice::<MonitorEvent>(&line)) {
                let _ = tx.send(ev);
            }
            line.clear();
        }
    });
    CHILD.store(child.id() as i32, Ordering::SeqCst);
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
    CHILD.store(0, Ordering::SeqCst);
    for (s, o) in old {
        // SAFETY: restoring the previous disposition.
        let _ = unsafe { sigaction(s, &o) };
    }
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

/// Descriptors the init gets, at fixed numbers: its error pipe, the profile, the events.
const ERR_FD: RawFd = 3;
const PROFILE_FD: RawFd = 4;
const EVENTS_FD: RawFd = 5;

/// In the forked child before exec: the three pipes move to [`ERR_FD`], [`PROFILE_FD`] and
/// [`EVENTS_FD`] (without close-on-exec); everything else stays close-on-exec.
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

fn pipe_cloexec() -> Result<(OwnedFd, OwnedFd), SandboxError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io)
}

/// Standard streams that are a terminal are not handed to the sandbox: input becomes
/// `/dev/null`, output goes through a pipe and reaches the terminal sanitized.
struct Relays {
    out: bool,
    err: bool,
}

struct RunningRelays(Vec<std::thread::JoinHandle<()>>);

fn terminal_relays(cmd: &mut std::process::Command, enabled: bool) -> Relays {
    use std::io::IsTerminal;
    use std::process::Stdio;
    if !enabled {
        return Relays {
            out: false,
            err: false,
        };
    }
    if std::io::stdin().is_terminal() {
        cmd.stdin(Stdio::null());
    }
    let out = std::io::stdout().is_terminal();
    let err = std::io::stderr().is_terminal();
    if out {
        cmd.stdout(Stdio::piped());
    }
    if err {
        cmd.stderr(Stdio::piped());
    }
    Relays { out, err }
}

impl Relays {
    fn start(self, child: &mut std::process::Child) -> RunningRelays {
        let mut threads = Vec::new();
        if let (true, Some(mut from)) = (self.out, child.stdout.take()) {
            threads.push(std::thread::spawn(move || {
                relay(&mut from, &mut std::io::stdout())
            }));
        }
        if let (true, Some(mut from)) = (self.err, child.stderr.take()) {
            threads.push(std::thread::spawn(move || {
                relay(&mut from, &mut std::io::stderr())
            }));
        }
        RunningRelays(threads)
    }
}

impl RunningRelays {
    fn join(self) {
        for t in self.0 {
            let _ = t.join();
        }
    }
}

fn relay(from: &mut dyn Read, to: &mut dyn Write) {
    let mut clean = terminal::Sanitizer::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        let _ = to.write_all(&clean.filter(&buf[..n]));
        let _ = to.flush();
    }
}

fn io(e: Errno) -> SandboxError {
    SandboxError::Io(std::io::Error::from(e))
}

fn set_cloexec(fd: RawFd, on: bool) {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        let flags = if on {
            flags | libc::FD_CLOEXEC
        } else {
            flags & !libc::FD_CLOEXEC
        };
        libc::fcntl(fd, libc::F_SETFD, flags);
    }
}

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

/// Closes every descriptor from `from` up (or marks them close-on-exec).
fn close_from(from: RawFd, cloexec: bool) -> std::io::Result<()> {
    let flags: libc::c_uint = if cloexec {
        libc::CLOSE_RANGE_CLOEXEC
    } else {
        0
    };
    // SAFETY: close_range with integer arguments; nothing else here holds these descriptors.
    let r = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            from as libc::c_uint,
            libc::c_uint::MAX,
            flags,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The profile, read from [`PROFILE_FD`] (then closed).
fn read_profile() -> Result<Profile, String> {
    // SAFETY: PROFILE_FD was handed to us by the parent and is owned (and closed) here.
    let mut f = unsafe { std::fs::File::from_raw_fd(PROFILE_FD) };
    let mut json = Vec::new();
    f.read_to_end(&mut json).map_err(|e| e.to_string())?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}

pub(super) fn init_main() -> ! {
    // If cargo-reflex dies, so does the sandbox.
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    // Nothing the caller held reaches the sandbox: only our three pipes stay open.
    if let Err(e) = close_from(EVENTS_FD + 1, false) {
        fail("closing inherited descriptors (close_range)", e);
    }
    let profile = read_profile().unwrap_or_else(|e| fail("reading the sandbox profile", e));
    set_cloexec(ERR_FD, true);
    set_cloexec(EVENTS_FD, true);
    if !matches!(profile.isolation, Isolation::NetworkOnly { .. }) {
        // A new session: no controlling terminal for anything in the sandbox.
        if let Err(e) = nix::unistd::setsid() {
            fail("starting a new session (setsid)", e);
        }
    }
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    match unshare(CloneFlags::CLONE_NEWUSER) {
        Ok(()) => map_ids(uid, gid),
        // Root in a container that forbids user namespaces still holds real capabilities.
        Err(e) if uid != 0 => fail("creating a user namespace (unshare CLONE_NEWUSER)", e),
        Err(_) => {}
    }
    if let Isolation::NetworkOnly { resolv_conf } = &profile.isolation {
        network_only(&profile, resolv_conf.as_deref());
    }
    if profile.isolation == Isolation::ObserveOnly {
        observe_only(&profile);
    }
    let flags = CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWUTS;
    if let Err(e) = unshare(flags) {
        fail("creating mount, PID, network, IPC and UTS namespaces", e);
    }
    // SAFETY: this process is single-threaded (a fresh exec), so fork is safe.
    match unsafe { fork() } {
        Err(e) => fail("forking the sandbox init", e),
        Ok(ForkResult::Parent { child }) => {
            let code = match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, c)) => c,
                Ok(WaitStatus::Signaled(_, s, _)) => 128 + s as i32,
                _ => 1,
            };
            std::process::exit(code)
        }
        Ok(ForkResult::Child) => pid1(&profile),
    }
}

/// A private network (loopback only) and resolver; the command replaces this process.
fn network_only(profile: &Profile, resolv_conf: Option<&Path>) -> ! {
    if let Err(e) = unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWNET) {
        fail("creating mount and network namespaces", e);
    }
    if let Err((what, e)) = make_private() {
        fail(&what, e);
    }
    if let Some(conf) = resolv_conf
        && let Err(e) = mount(
            Some(conf),
            "/etc/resolv.conf",
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    {
        fail("binding resolv.conf", e);
    }
    if let Err(e) = loopback_up() {
        fail("bringing up loopback in the new network namespace", e);
    }
    if let Err(e) = nix::unistd::chdir(&profile.cwd) {
        fail(&format!("entering {}", profile.cwd.display()), e);
    }
    exec(profile)
}

/// Monitoring without the sandbox: nothing is blocked, everything is recorded.
fn observe_only(profile: &Profile) -> ! {
    // Unprivileged processes may install seccomp filters only with no_new_privs.
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    }
    if let Err(e) = nix::unistd::chdir(&profile.cwd) {
        fail(&format!("entering {}", profile.cwd.display()), e);
    }
    // Nothing is refused here: only recorded.
    let watch = profile.monitor.as_ref().map(|_| Watch {
        log: monitor::event_log(EVENTS_FD),
        sinkhole: None,
        unix_sockets: None,
    });
    run_command(profile, watch, false)
}

fn exec(profile: &Profile) -> ! {
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

fn map_ids(uid: u32, gid: u32) {
    let write = |path: &str, text: &str| {
        if let Err(e) = std::fs::write(path, text) {
            fail(&format!("writing {path}"), e);
        }
    };
    write("/proc/self/setgroups", "deny");
    // Root keeps its identity; a user stays itself (files in target/ stay theirs).
    if uid == 0 {
        write("/proc/self/uid_map", "0 0 1");
        write("/proc/self/gid_map", "0 0 1");
    } else {
        write("/proc/self/uid_map", &format!("{uid} {uid} 1"));
        write("/proc/self/gid_map", &format!("{gid} {gid} 1"));
    }
}

/// PID 1 of the sandbox: set up, run the command, reap everything, kill what is left.
fn pid1(profile: &Profile) -> ! {
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let resolv = std::fs::canonicalize("/etc/resolv.conf").ok();
    if let Err((what, e)) = setup_mounts(profile) {
        fail(&what, e);
    }
    let _ = nix::unistd::sethostname("reflex-sandbox");
    if let Err(e) = loopback_up() {
        fail("bringing up loopback in the new network namespace", e);
    }
    if let Err(e) = nix::unistd::chdir(&profile.cwd) {
        fail(&format!("entering {}", profile.cwd.display()), e);
    }
    // The monitor's sinkhole is set up while mounts and port 53 are still allowed. The
    // supervisor always runs: it decides which Unix sockets may be reached.
    let mut watch = Watch {
        log: monitor::event_log(EVENTS_FD),
        sinkhole: None,
        unix_sockets: Some(profile.unix_sockets.clone()),
    };
    if let Some(m) = &profile.monitor {
        let sink = if m.dns_sinkhole {
            if let Err(e) = point_resolver(resolv.as_deref()) {
                fail("pointing the resolver at the sinkhole", e);
            }
            Some(monitor::sinkhole_socket().unwrap_or_else(|e| fail("binding the DNS sinkhole", e)))
        } else {
            None
        };
        watch.sinkhole = sink;
    }
    if let Err(e) = filters::landlock(profile) {
        fail("enforcing Landlock", e);
    }
    if let Err(e) = drop_capabilities() {
        fail("dropping capabilities", e);
    }
    if let Err(e) = filters::seccomp() {
        fail("installing the seccomp filter", e);
    }
    run_command(profile, Some(watch), true)
}

/// What the init watches the command with: the events pipe, the DNS sinkhole, and the
/// allowlist of Unix sockets (`None`: observe only, nothing refused).
struct Watch {
    log: monitor::Log,
    sinkhole: Option<std::net::UdpSocket>,
    unix_sockets: Option<Vec<PathBuf>>,
}

/// Forks and runs the command (with the monitor's listener handed over first when watching),
/// reaps it and exits with its status. In a PID namespace (`owns_namespace`) whatever the
/// command left running is killed before the init exits.
fn run_command(profile: &Profile, watch: Option<Watch>, owns_namespace: bool) -> ! {
    // The command hands its notification listener over before it execs.
    let (ready_r, ready_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .unwrap_or_else(|e| fail("creating a pipe", e));
    let (ack_r, ack_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .unwrap_or_else(|e| fail("creating a pipe", e));
    let monitoring = profile.monitor.is_some();
    // SAFETY: still single-threaded.
    let cmd = match unsafe { fork() } {
        Err(e) => fail("forking the command", e),
        Ok(ForkResult::Child) => {
            if watch.is_some() {
                let fd = monitor::install(monitoring)
                    .unwrap_or_else(|e| fail("installing the seccomp notification filter", e));
                let mut w = std::fs::File::from(ready_w);
                let _ = w.write_all(&fd.to_ne_bytes());
                let mut byte = [0u8; 1];
                let _ = std::fs::File::from(ack_r).read_exact(&mut byte);
                // SAFETY: closing the listener this process no longer needs (the init has it).
                unsafe {
                    libc::close(fd);
                }
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
        let mut num = [0u8; 4];
        if let Err(e) = std::fs::File::from(ready_r).read_exact(&mut num) {
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
        let _ = std::fs::File::from(ack_w).write_all(b"!");
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
    } else {
        drop(ready_r);
        drop(ack_w);
    }
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
    std::process::exit(code)
}

/// Makes the resolver the sinkhole on the sandbox's loopback. `resolv` is where
/// `/etc/resolv.conf` pointed before `/run` was covered.
fn point_resolver(resolv: Option<&Path>) -> std::io::Result<()> {
    let text = "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n";
    match resolv {
        // Under a covered directory (systemd-resolved's stub in /run): write it there.
        Some(target) if target.starts_with("/run") || target.starts_with("/tmp") => {
            if let Some(d) = target.parent() {
                std::fs::create_dir_all(d)?;
            }
            std::fs::write(target, text)
        }
        Some(target) => {
            let ours = Path::new("/run/reflex-resolv.conf");
            std::fs::write(ours, text)?;
            mount(
                Some(ours),
                target,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(std::io::Error::from)
        }
        None => Err(std::io::Error::other("no /etc/resolv.conf to replace")),
    }
}

fn cstring(b: &[u8]) -> CString {
    CString::new(b.to_vec()).unwrap_or_else(|_| fail("argument with a NUL byte", "rejected"))
}

type SetupError = (String, std::io::Error);

fn ctx<T>(what: impl Into<String>, r: std::io::Result<T>) -> Result<T, SetupError> {
    r.map_err(|e| (what.into(), e))
}

fn errno<T>(what: &str, r: nix::Result<T>) -> Result<T, SetupError> {
    r.map_err(|e| (what.to_string(), e.into()))
}

fn path_c(p: &Path) -> CString {
    cstring(p.as_os_str().as_bytes())
}

/// A detached copy of the mount tree at `path` (taken before anything is changed).
fn clone_tree(path: &Path) -> std::io::Result<OwnedFd> {
    let c = path_c(path);
    // SAFETY: open_tree with a valid path; the returned descriptor is owned.
    let fd = unsafe {
        libc::syscall(
            SYS_OPEN_TREE,
            libc::AT_FDCWD,
            c.as_ptr(),
            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor from the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

fn move_tree(fd: &OwnedFd, to: &Path) -> std::io::Result<()> {
    let empty = CString::default();
    let c = path_c(to);
    // SAFETY: move_mount of a detached tree onto an existing path.
    let r = unsafe {
        libc::syscall(
            SYS_MOVE_MOUNT,
            fd.as_raw_fd(),
            empty.as_ptr(),
            libc::AT_FDCWD,
            c.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn set_attr(path: &Path, set: u64, recursive: bool) -> std::io::Result<()> {
    let c = path_c(path);
    let attr = MountAttr {
        attr_set: set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr with a correctly sized attribute struct.
    let r = unsafe {
        libc::syscall(
            SYS_MOUNT_SETATTR,
            libc::AT_FDCWD,
            c.as_ptr(),
            if recursive { AT_RECURSIVE } else { 0 },
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn tmpfs(at: &Path) -> Result<(), SetupError> {
    errno(
        &format!("mounting a tmpfs on {}", at.display()),
        mount(
            Some("tmpfs"),
            at,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some("mode=0755"),
        ),
    )
}

/// Nothing done in this mount namespace propagates back to the host.
fn make_private() -> Result<(), SetupError> {
    errno(
        "making mounts private",
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        ),
    )
}

/// The file-system view: read-only everywhere, fresh tmpfs over the private and covered
/// directories, the kept paths put back (read-only or writable), the home made read-only.
fn setup_mounts(p: &Profile) -> Result<(), SetupError> {
    make_private()?;
    // What gets covered by a fresh tmpfs; symlinks resolved so mount points are real.
    let canon = |x: &Path| std::fs::canonicalize(x).unwrap_or_else(|_| x.to_path_buf());
    let mut covered: Vec<PathBuf> = COVERED.iter().map(|d| canon(Path::new(d))).collect();
    covered.push(PathBuf::from("/dev"));
    covered.extend(p.homes.iter().map(|h| canon(h)));
    covered.extend(p.scratch.iter().map(|h| canon(h)));
    // Kept paths are cloned before the view changes; parents before children. A read-only
    // path outside every covered directory stays visible as it is and needs nothing.
    let mut kept: Vec<(PathBuf, bool)> = p
        .read_only
        .iter()
        .map(|x| (x, false))
        .chain(p.writable.iter().map(|x| (x, true)))
        .filter(|(x, _)| x.exists())
        .map(|(x, rw)| (canon(x), rw))
        .filter(|(x, rw)| *rw || covered.iter().any(|c| x.starts_with(c)))
        .collect();
    kept.sort_by_key(|(x, _)| x.components().count());
    kept.dedup_by(|a, b| a.0 == b.0);
    let mut clones = Vec::new();
    for (path, rw) in &kept {
        let fd = ctx(format!("keeping {}", path.display()), clone_tree(path))?;
        clones.push((path.as_path(), *rw, path.is_dir(), fd));
    }
    // The few devices a build uses, cloned before everything becomes nodev.
    let mut devices = Vec::new();
    for d in DEVICES {
        let path = Path::new("/dev").join(d);
        if path.exists() {
            let fd = ctx(format!("keeping {}", path.display()), clone_tree(&path))?;
            devices.push((path, fd));
        }
    }
    ctx(
        "making the file system read-only, nosuid and nodev (mount_setattr)",
        set_attr(
            Path::new("/"),
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
            true,
        ),
    )?;
    for dir in ["/tmp", "/var/tmp", "/run"] {
        if Path::new(dir).is_dir() {
            tmpfs(Path::new(dir))?;
        }
    }
    minimal_dev(devices)?;
    let mut homes: Vec<&Path> = p.homes.iter().map(|h| h.as_path()).collect();
    homes.sort_by_key(|h| h.components().count());
    for home in &homes {
        ctx(
            format!("creating {}", home.display()),
            std::fs::create_dir_all(home),
        )?;
        tmpfs(home)?;
    }
    for s in &p.scratch {
        ctx(
            format!("creating {}", s.display()),
            std::fs::create_dir_all(s),
        )?;
        tmpfs(s)?;
    }
    for (path, rw, dir, fd) in &clones {
        let made = if *dir {
            std::fs::create_dir_all(path)
        } else {
            path.parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|_| {
                    if path.exists() {
                        Ok(())
                    } else {
                        std::fs::write(path, b"")
                    }
                })
        };
        ctx(format!("creating the mount point {}", path.display()), made)?;
        ctx(
            format!("putting back {}", path.display()),
            move_tree(fd, path),
        )?;
        // Writable trees stay nosuid and nodev: a set-uid program or a device node left
        // in target/ means nothing inside (and set-id modes are refused by seccomp).
        let attrs = if *rw {
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
        } else {
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
        };
        ctx(
            format!("restricting {}", path.display()),
            set_attr(path, attrs, true),
        )?;
    }
    for (path, text) in &p.plant {
        let made = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(path, text));
        ctx(format!("planting {}", path.display()), made)?;
    }
    for h in &p.hide {
        if h.is_file() {
            errno(
                &format!("hiding {}", h.display()),
                mount(
                    Some("/dev/null"),
                    h,
                    None::<&str>,
                    MsFlags::MS_BIND,
                    None::<&str>,
                ),
            )?;
        }
    }
    for (i, (path, text)) in p.replace.iter().enumerate() {
        if !path.is_file() {
            continue;
        }
        let copy = Path::new("/run/reflex-cleaned").join(i.to_string());
        let made = std::fs::create_dir_all("/run/reflex-cleaned")
            .and_then(|_| std::fs::write(&copy, text));
        ctx(format!("cleaning {}", path.display()), made)?;
        errno(
            &format!("showing {} without its secrets", path.display()),
            mount(
                Some(&copy),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            ),
        )?;
        ctx(
            format!("making {} read-only", path.display()),
            set_attr(
                path,
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                false,
            ),
        )?;
    }
    for home in &homes {
        ctx(
            format!("making {} read-only", home.display()),
            set_attr(
                home,
                MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                false,
            ),
        )?;
    }
    errno(
        "mounting /proc for the new PID namespace",
        mount(
            Some("proc"),
            "/proc",
            Some("proc"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            None::<&str>,
        ),
    )
}

/// A new `/dev`: the cloned `devices` (null, zero, full, random, urandom), a private devpts
/// instance (no host terminal is reachable), `shm`, and the usual links. Then read-only.
fn minimal_dev(devices: Vec<(PathBuf, OwnedFd)>) -> Result<(), SetupError> {
    let dev = Path::new("/dev");
    errno(
        "mounting a new /dev",
        mount(
            Some("tmpfs"),
            dev,
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
            Some("mode=0755"),
        ),
    )?;
    for (path, fd) in &devices {
        ctx(
            format!("creating {}", path.display()),
            std::fs::write(path, b""),
        )?;
        ctx(
            format!("putting back {}", path.display()),
            move_tree(fd, path),
        )?;
    }
    for d in ["pts", "shm"] {
        ctx(
            format!("creating /dev/{d}"),
            std::fs::create_dir(dev.join(d)),
        )?;
    }
    tmpfs(&dev.join("shm"))?;
    // A private terminal instance: ptys made inside are the sandbox's own. Where the kernel
    // refuses it, there are simply no terminals.
    let pts = mount(
        Some("devpts"),
        &dev.join("pts"),
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    );
    let links: &[(&str, &str)] = &[
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    for (name, to) in links {
        ctx(
            format!("linking /dev/{name}"),
            std::os::unix::fs::symlink(to, dev.join(name)),
        )?;
    }
    if pts.is_ok() {
        ctx(
            "linking /dev/ptmx",
            std::os::unix::fs::symlink("pts/ptmx", dev.join("ptmx")),
        )?;
    }
    ctx(
        "making /dev read-only",
        set_attr(dev, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, false),
    )
}

fn loopback_up() -> std::io::Result<()> {
    // SAFETY: a plain datagram socket used only for two interface ioctls.
    unsafe {
        let s = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if s < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let s = OwnedFd::from_raw_fd(s);
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        if libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Empties the capability bounding set: the command (even as uid 0) gets no capabilities.
fn drop_capabilities() -> std::io::Result<()> {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40);
    for cap in 0..=last {
        // SAFETY: prctl with integer arguments.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINVAL) {
                return Err(e);
            }
        }
    }
    Ok(())
}
