//! The Unix socket allowlist: `connect` and `send*` to a pathname Unix socket are refused
//! unless the profile names the socket. Read-only mounts and Landlock do not govern
//! `connect()`, so the supervisor decides on a seccomp notification, from the address the
//! caller passed (followed through symlinks and the caller's working directory).
//!
//! A decision on memory the caller can still change is worthless (a second thread flips the
//! address after it was read), so nothing that names an address is let through to the kernel
//! to read again: the supervisor copies the address once, judges the copy, and makes the call
//! itself on the caller's socket (taken with `pidfd_getfd`), answering with its result.
//! `connect` and `sendto` with an address are carried out this way; `sendmsg`/`sendmmsg`
//! naming an address are carried out as plain sends of their data when they carry no control
//! messages, and refused otherwise. An address that cannot be read whole is refused.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// What the supervisor answers.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Gate {
    /// Let the kernel carry out the call (it names no address).
    Continue,
    /// Fail it with this errno.
    Refuse(i32),
    /// Carried out by the supervisor: this result (value, or negative errno).
    Done(i64),
}

/// The largest datagram the supervisor sends for a caller.
const MAX_DATAGRAM: usize = 256 * 1024;

/// Decides (and where needed carries out) a `connect` or `send*` of process `pid`.
pub(super) fn decide(
    pid: u32,
    nr: i64,
    args: &[u64; 6],
    read: &mut dyn FnMut(u64, usize) -> Vec<u8>,
    allow: &[PathBuf],
) -> Gate {
    let u64_at = |read: &mut dyn FnMut(u64, usize) -> Vec<u8>, at: u64| {
        u64::from_ne_bytes(read(at, 8).try_into().unwrap_or([0; 8]))
    };
    // One copy of an address: refused when it cannot be read whole.
    let copy = |read: &mut dyn FnMut(u64, usize) -> Vec<u8>, ptr: u64, len: u64| {
        let len = len as usize;
        if len > 128 {
            return Err(libc::EINVAL);
        }
        let b = read(ptr, len);
        if b.len() != len {
            return Err(libc::EFAULT);
        }
        Ok(b)
    };
    // The address to use instead of the caller's, or why not.
    let judge = |addr: Vec<u8>| -> Result<Vec<u8>, i32> {
        match unix_path(&addr) {
            None => Ok(addr),
            Some(path) => match allowed_path(pid, &path, allow) {
                Some(real) => sockaddr_un(&real).ok_or(libc::ENAMETOOLONG),
                None => Err(libc::EACCES),
            },
        }
    };
    match nr {
        n if n == libc::SYS_connect => {
            let addr = match copy(read, args[1], args[2]).and_then(judge) {
                Ok(a) => a,
                Err(e) => return Gate::Refuse(e),
            };
            on_socket(pid, args[0] as i32, |fd| {
                // SAFETY: connect on our copy of the caller's socket with an owned address.
                let r = unsafe {
                    libc::connect(fd, addr.as_ptr().cast(), addr.len() as libc::socklen_t)
                };
                r as i64
            })
        }
        n if n == libc::SYS_sendto => {
            if args[4] == 0 {
                return Gate::Continue;
            }
            let addr = match copy(read, args[4], args[5]).and_then(judge) {
                Ok(a) => a,
                Err(e) => return Gate::Refuse(e),
            };
            let len = args[2] as usize;
            if len > MAX_DATAGRAM {
                return Gate::Refuse(libc::EMSGSIZE);
            }
            let data = read(args[1], len);
            if data.len() != len {
                return Gate::Refuse(libc::EFAULT);
            }
            send(pid, args[0] as i32, &data, args[3] as i32, &addr)
        }
        n if n == libc::SYS_sendmsg || n == libc::SYS_sendmmsg => {
            let (first, count, stride) = if n == libc::SYS_sendmsg {
                (args[1], 1, 56)
            } else {
                (args[1], args[2].min(1024), 64)
            };
            let named = (0..count).any(|i| u64_at(read, first + i * stride) != 0);
            if !named {
                return Gate::Continue;
            }
            // Named sends: each message's data flattened and sent by the supervisor.
            let mut sent = 0i64;
            for i in 0..count {
                let h = first + i * stride;
                let (name, name_len) = (u64_at(read, h), u64_at(read, h + 8) & 0xffff_ffff);
                let (iov, iov_len) = (u64_at(read, h + 16), u64_at(read, h + 24).min(64));
                let control_len = u64_at(read, h + 40);
                if control_len != 0 {
                    return Gate::Refuse(libc::EACCES);
                }
                let addr = if name == 0 {
                    Vec::new()
                } else {
                    match copy(read, name, name_len).and_then(judge) {
                        Ok(a) => a,
                        Err(e) if sent == 0 => return Gate::Refuse(e),
                        Err(_) => break,
                    }
                };
                let mut data = Vec::new();
                for v in 0..iov_len {
                    let (base, len) = (u64_at(read, iov + v * 16), u64_at(read, iov + v * 16 + 8));
                    if data.len() + len as usize > MAX_DATAGRAM {
                        return Gate::Refuse(libc::EMSGSIZE);
                    }
                    let part = read(base, len as usize);
                    if part.len() != len as usize {
                        return Gate::Refuse(libc::EFAULT);
                    }
                    data.extend(part);
                }
                match send(pid, args[0] as i32, &data, args[3] as i32, &addr) {
                    Gate::Done(r) if r >= 0 => {
                        if n == libc::SYS_sendmsg {
                            return Gate::Done(r);
                        }
                        sent += 1;
                    }
                    other if sent == 0 => return other,
                    _ => break,
                }
            }
            Gate::Done(sent)
        }
        _ => Gate::Continue,
    }
}

/// The path of a pathname Unix socket address (not abstract, not unnamed).
fn unix_path(addr: &[u8]) -> Option<Vec<u8>> {
    let family = u16::from_ne_bytes([*addr.first()?, *addr.get(1)?]);
    let path = addr.get(2..)?;
    let end = path.iter().position(|c| *c == 0).unwrap_or(path.len());
    (family == libc::AF_UNIX as u16 && end > 0).then(|| path[..end].to_vec())
}

/// A `sockaddr_un` for an absolute path, if it fits.
fn sockaddr_un(path: &Path) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let p = path.as_os_str().as_bytes();
    if p.len() >= 108 {
        return None;
    }
    let mut b = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    b.extend_from_slice(p);
    b.push(0);
    Some(b)
}

/// Runs `call` on a duplicate of the caller's descriptor `fd`; its result, or the errno.
fn on_socket(pid: u32, fd: i32, call: impl FnOnce(i32) -> i64) -> Gate {
    // The caller may be a thread (a proc-macro's worker in rustc): its process holds the
    // descriptor table.
    let leader = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Tgid:"))
                .and_then(|v| v.trim().parse::<u32>().ok())
        })
        .unwrap_or(pid);
    // SAFETY: pidfd_open and pidfd_getfd with integer arguments; results are owned here.
    let dup = unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, leader, 0);
        if pidfd < 0 {
            return Gate::Refuse(libc::EACCES);
        }
        let pidfd = OwnedFd::from_raw_fd(pidfd as i32);
        let got = libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0);
        if got < 0 {
            let e = std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EBADF);
            return Gate::Refuse(if e == libc::EBADF {
                libc::EBADF
            } else {
                libc::EACCES
            });
        }
        OwnedFd::from_raw_fd(got as i32)
    };
    let r = call(dup.as_raw_fd());
    if r < 0 {
        Gate::Done(
            -(std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO) as i64),
        )
    } else {
        Gate::Done(r)
    }
}

fn send(pid: u32, fd: i32, data: &[u8], flags: i32, addr: &[u8]) -> Gate {
    on_socket(pid, fd, |s| {
        let (ptr, len) = if addr.is_empty() {
            (std::ptr::null(), 0)
        } else {
            (addr.as_ptr().cast(), addr.len() as libc::socklen_t)
        };
        // SAFETY: sendto on our copy of the caller's socket with owned buffers.
        unsafe {
            libc::sendto(
                s,
                data.as_ptr().cast(),
                data.len(),
                flags | libc::MSG_NOSIGNAL,
                ptr,
                len,
            ) as i64
        }
    })
}

/// The real path of an allowlisted socket (what the supervisor connects to), or `None`.
/// Relative paths are resolved against the caller's working directory; symlinks are followed.
fn allowed_path(pid: u32, path: &[u8], allow: &[PathBuf]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let path = Path::new(std::ffi::OsStr::from_bytes(path));
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::fs::read_link(format!("/proc/{pid}/cwd"))
            .ok()?
            .join(path)
    };
    let real = std::fs::canonicalize(&full).ok()?;
    allow
        .iter()
        .any(|a| std::fs::canonicalize(a).is_ok_and(|a| a == real))
        .then_some(real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn connect_args(fd: i32, len: usize) -> [u64; 6] {
        [fd as u64, 0x1000, len as u64, 0, 0, 0]
    }

    #[test]
    fn connects_are_carried_out_on_the_judged_copy() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.sock");
        let _l = std::os::unix::net::UnixListener::bind(&ok).unwrap();
        let other = dir.path().join("other.sock");
        let _m = std::os::unix::net::UnixListener::bind(&other).unwrap();
        let link = dir.path().join("link.sock");
        std::os::unix::fs::symlink(&other, &link).unwrap();
        let me = std::process::id();
        let allow = vec![ok.clone()];
        let try_connect = |path: &Path, short: bool| {
            let s = socket2_unix();
            let addr = sockaddr_un(path).unwrap();
            let mut read = |_: u64, len: usize| {
                let n = if short { len / 2 } else { len };
                addr[..n.min(addr.len())].to_vec()
            };
            let g = decide(
                me,
                libc::SYS_connect,
                &connect_args(s.as_raw_fd(), addr.len()),
                &mut read,
                &allow,
            );
            (g, s)
        };
        let (g, s) = try_connect(&ok, false);
        assert_eq!(g, Gate::Done(0));
        // The caller's own socket is the one connected.
        // SAFETY: getpeername on our socket with a correctly sized buffer.
        let peer = unsafe {
            let mut a: libc::sockaddr_un = std::mem::zeroed();
            let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
            libc::getpeername(
                s.as_raw_fd(),
                (&mut a as *mut libc::sockaddr_un).cast(),
                &mut len,
            )
        };
        assert_eq!(peer, 0);
        assert_eq!(try_connect(&other, false).0, Gate::Refuse(libc::EACCES));
        assert_eq!(
            try_connect(&link, false).0,
            Gate::Refuse(libc::EACCES),
            "a symlink to another socket"
        );
        assert_eq!(
            try_connect(&ok, true).0,
            Gate::Refuse(libc::EFAULT),
            "an address read only in part"
        );
        assert_eq!(
            try_connect(Path::new("/nonexistent.sock"), false).0,
            Gate::Refuse(libc::EACCES)
        );
    }

    #[test]
    fn sends_naming_an_address_are_sent_by_the_supervisor() {
        let dir = tempfile::tempdir().unwrap();
        let sink = dir.path().join("sink.sock");
        let rx = std::os::unix::net::UnixDatagram::bind(&sink).unwrap();
        let tx = std::os::unix::net::UnixDatagram::unbound().unwrap();
        let me = std::process::id();
        let addr = sockaddr_un(&sink).unwrap();
        let data = b"hello".to_vec();
        let mut read = |ptr: u64, len: usize| {
            if ptr == 0x2000 {
                addr[..len.min(addr.len())].to_vec()
            } else {
                data[..len.min(data.len())].to_vec()
            }
        };
        let args = [
            tx.as_raw_fd() as u64,
            0x1000,
            5,
            0,
            0x2000,
            addr.len() as u64,
        ];
        assert_eq!(
            decide(me, libc::SYS_sendto, &args, &mut read, &[]),
            Gate::Refuse(libc::EACCES)
        );
        assert_eq!(
            decide(
                me,
                libc::SYS_sendto,
                &args,
                &mut read,
                std::slice::from_ref(&sink)
            ),
            Gate::Done(5)
        );
        let mut buf = [0u8; 8];
        assert_eq!(rx.recv(&mut buf).unwrap(), 5);
        // No address: the kernel sends on the connected socket.
        let unnamed = [tx.as_raw_fd() as u64, 0x1000, 5, 0, 0, 0];
        assert_eq!(
            decide(me, libc::SYS_sendto, &unnamed, &mut read, &[]),
            Gate::Continue
        );
        let abs = {
            let mut b = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
            b.extend_from_slice(b"\0abstract");
            b
        };
        assert_eq!(unix_path(&abs), None, "abstract names are Landlock's");
        assert_eq!(unix_path(&addr).unwrap(), sink.as_os_str().as_bytes());
    }

    fn socket2_unix() -> OwnedFd {
        // SAFETY: socket with integer arguments; the descriptor is owned.
        unsafe {
            OwnedFd::from_raw_fd(libc::socket(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
            ))
        }
    }
}
