//! The init process (`<binary> __reflex-sandbox-init`): it reads the profile, leaves the
//! caller's session, creates the user namespace and the others, and forks PID 1 of the
//! sandbox, which sets up the file-system view, loopback, Landlock, capabilities and seccomp
//! before it runs the command. Network-only and observe-only runs take shorter paths.

use super::command::{Watch, exec, run_command};
use super::mounts::{make_private, setup_mounts};
use super::{ERR_FD, EVENTS_FD, PROFILE_FD, fail, filters, monitor};
use crate::{Isolation, Profile};
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::Path;

/// Sets or clears the close-on-exec flag of `fd`.
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

/// Closes every descriptor from `from` up (or marks them close-on-exec).
pub(super) fn close_from(from: RawFd, cloexec: bool) -> std::io::Result<()> {
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

/// The init's entry point: see [`crate::init_main`].
pub(crate) fn init_main() -> ! {
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

/// Maps the caller's user and group to themselves in the new user namespace.
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

/// Brings up the loopback interface of the new network namespace.
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
