//! The Unix socket allowlist: `connect` and `send*` to a pathname Unix socket are refused
//! unless the profile names the socket. Read-only mounts and Landlock do not govern
//! `connect()`, so the supervisor decides on a seccomp notification, from the address the
//! caller passed (followed through symlinks and the caller's working directory).

use std::path::{Path, PathBuf};

/// The pathname Unix socket addresses a call names (abstract and unnamed sockets are scoped
/// by Landlock or reach nothing outside). `read` reads the stopped caller's memory.
pub(super) fn unix_paths(
    nr: i64,
    args: &[u64; 6],
    read: &mut dyn FnMut(u64, usize) -> Vec<u8>,
) -> Vec<Vec<u8>> {
    let u64_at = |read: &mut dyn FnMut(u64, usize) -> Vec<u8>, at: u64| {
        u64::from_ne_bytes(read(at, 8).try_into().unwrap_or([0; 8]))
    };
    // (pointer, length) of each address the call names.
    let mut names = Vec::new();
    match nr {
        n if n == libc::SYS_connect => names.push((args[1], args[2])),
        n if n == libc::SYS_sendto => names.push((args[4], args[5])),
        n if n == libc::SYS_sendmsg => {
            names.push((
                u64_at(read, args[1]),
                u64_at(read, args[1] + 8) & 0xffff_ffff,
            ));
        }
        n if n == libc::SYS_sendmmsg => {
            // struct mmsghdr is a msghdr (56 bytes) and a length, 64 bytes in all.
            for i in 0..args[2].min(1024) {
                let h = args[1] + i * 64;
                names.push((u64_at(read, h), u64_at(read, h + 8) & 0xffff_ffff));
            }
        }
        _ => {}
    }
    names
        .into_iter()
        .filter(|(ptr, len)| *ptr != 0 && *len > 2)
        .map(|(ptr, len)| read(ptr, (len as usize).min(110)))
        .filter_map(|b| {
            let family = u16::from_ne_bytes([*b.first()?, *b.get(1)?]);
            let path = b.get(2..)?;
            let end = path.iter().position(|c| *c == 0).unwrap_or(path.len());
            (family == libc::AF_UNIX as u16 && end > 0).then(|| path[..end].to_vec())
        })
        .collect()
}

/// Whether the socket at `path` (as the caller `pid` named it) is on the allowlist. Relative
/// paths are resolved against the caller's working directory; symlinks are followed.
pub(super) fn allowed(pid: u32, path: &[u8], allow: &[PathBuf]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let path = Path::new(std::ffi::OsStr::from_bytes(path));
    let full = if path.is_absolute() {
        path.to_path_buf()
    } else {
        match std::fs::read_link(format!("/proc/{pid}/cwd")) {
            Ok(cwd) => cwd.join(path),
            Err(_) => return false,
        }
    };
    let Ok(real) = std::fs::canonicalize(&full) else {
        return false;
    };
    allow
        .iter()
        .any(|a| std::fs::canonicalize(a).is_ok_and(|a| a == real))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sockaddr_un(path: &[u8]) -> Vec<u8> {
        let mut b = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
        b.extend_from_slice(path);
        b.push(0);
        b
    }

    #[test]
    fn connect_and_sendto_addresses_are_read() {
        let addr = sockaddr_un(b"/var/run/docker.sock");
        let mut read = |_: u64, len: usize| addr[..len.min(addr.len())].to_vec();
        let got = unix_paths(
            libc::SYS_connect,
            &[3, 0x1000, addr.len() as u64, 0, 0, 0],
            &mut read,
        );
        assert_eq!(got, vec![b"/var/run/docker.sock".to_vec()]);
        let got = unix_paths(
            libc::SYS_sendto,
            &[3, 0x2000, 5, 0, 0x1000, addr.len() as u64],
            &mut read,
        );
        assert_eq!(got.len(), 1);
        // Abstract names (a leading NUL) and unconnected sends name no path.
        let abs = sockaddr_un(b"\0abstract");
        let mut read = |_: u64, len: usize| abs[..len.min(abs.len())].to_vec();
        assert!(
            unix_paths(
                libc::SYS_connect,
                &[3, 1, abs.len() as u64, 0, 0, 0],
                &mut read
            )
            .is_empty()
        );
        assert!(unix_paths(libc::SYS_sendto, &[3, 1, 5, 0, 0, 0], &mut read).is_empty());
    }

    #[test]
    fn only_listed_sockets_pass_even_through_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("ok.sock");
        let _l = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let other = dir.path().join("other.sock");
        let _m = std::os::unix::net::UnixListener::bind(&other).unwrap();
        let link = dir.path().join("link.sock");
        std::os::unix::fs::symlink(&other, &link).unwrap();
        let me = std::process::id();
        use std::os::unix::ffi::OsStrExt;
        let allow = vec![sock.clone()];
        assert!(allowed(me, sock.as_os_str().as_bytes(), &allow));
        assert!(!allowed(me, other.as_os_str().as_bytes(), &allow));
        assert!(!allowed(me, link.as_os_str().as_bytes(), &allow));
        assert!(!allowed(me, b"/nonexistent.sock", &allow));
    }
}
