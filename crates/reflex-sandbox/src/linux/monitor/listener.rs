//! The notification filter the command installs on itself before it execs, and the
//! listener the init takes out of it.

use super::{FS_CHANGES, OPENS, SENDS, WATCHED};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Installs the notification filter on the calling process (the command, before it execs)
/// and returns the listener descriptor. Connects and sends always notify (the Unix socket
/// allowlist); when `monitoring`, execs, every open, rename, link, symlink and truncate do too
/// (the supervisor resolves the path and records writes outside the expected places or into
/// another crate's build outputs, and reads of sensitive files). Foreign ABIs
/// are killed and TIOCSTI/TIOCLINUX and PR_SET_MM refused here as well, so that observe-only
/// monitoring (which has no other filter) cannot be blinded or its terminal typed into.
pub(in crate::linux) fn install(monitoring: bool) -> std::io::Result<RawFd> {
    use crate::linux::bpf::{Ins::*, *};
    use reflex_sandbox_contract::syscalls::{PR_SET_MM, TIOCLINUX, TIOCSTI};
    let mut code = abi_guard();
    code.extend([
        JumpIfEq(libc::SYS_ioctl as u32, "ioctl"),
        JumpIfEq(libc::SYS_prctl as u32, "prctl"),
        // Calls whose effects no notification would show (io_uring's own reads, connects and
        // sends; memory the supervisor cannot read): refused even when observing only.
        JumpIfEq(libc::SYS_io_uring_setup as u32, "eperm"),
        JumpIfEq(libc::SYS_memfd_secret as u32, "eperm"),
    ]);
    for nr in SENDS {
        code.push(JumpIfEq(*nr as u32, "notify"));
    }
    if monitoring {
        for (nr, _) in WATCHED.iter().chain(OPENS).chain(FS_CHANGES) {
            code.push(JumpIfEq(*nr as u32, "notify"));
        }
    }
    code.extend([
        Ret(libc::SECCOMP_RET_ALLOW),
        Label("ioctl"),
        Load(arg_low(1)),
        JumpIfEq(TIOCSTI as u32, "eperm"),
        JumpIfEq(TIOCLINUX as u32, "eperm"),
        Ret(libc::SECCOMP_RET_ALLOW),
        Label("prctl"),
        Load(arg_low(0)),
        JumpIfEq(PR_SET_MM as u32, "eperm"),
        Ret(libc::SECCOMP_RET_ALLOW),
        Label("eperm"),
        Ret(libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        Label("notify"),
        Ret(libc::SECCOMP_RET_USER_NOTIF),
    ]);
    code.extend(abi_guard_end());
    // The init takes the listener with pidfd_getfd, which needs this process dumpable: the
    // init is not (so nothing inside reads its memory), and a fork inherits that. Nothing
    // else runs in the sandbox yet, and the command's exec would make it dumpable anyway.
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0);
    }
    let mut prog = assemble(&code).map_err(std::io::Error::other)?;
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: a valid BPF program; no_new_privs is already set.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            &fprog as *const libc::sock_fprog,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd as RawFd)
}

/// Takes the listener `fd` out of process `pid` (which waits for us before it execs).
pub(in crate::linux) fn take(pid: i32, fd: RawFd) -> std::io::Result<OwnedFd> {
    // SAFETY: pidfd_open and pidfd_getfd with integer arguments; results are owned here.
    unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid, 0);
        if pidfd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let pidfd = OwnedFd::from_raw_fd(pidfd as RawFd);
        let got = libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0);
        if got < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(got as RawFd))
    }
}
