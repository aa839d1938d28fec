//! Who sent each query the DNS sinkhole hears. A query can reach the sinkhole with no call the
//! monitor reads a payload from (`connect` to port 53, then `write`), so the sinkhole's own
//! record must name the process: when a build process connects or sends to port 53 on the
//! sandbox's loopback, the supervisor takes a duplicate of its socket (`pidfd_getfd`, while the
//! caller is stopped) together with the caller's ancestry. Once the socket has a local port (a
//! UDP socket gets one at its first connect or send) that port names the caller; the sinkhole
//! looks up the port a query came from. A query from a port nobody registered stays
//! unattributed (and is still reported).

use crate::ChainLink;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex};

/// Sockets held until their port is known (oldest dropped first).
const PENDING: usize = 64;
/// Ports remembered (all forgotten at once past this: a build makes few queries).
const PORTS: usize = 4096;

/// The process behind a port: its pid and its ancestry, nearest first.
pub(super) type Owner = (u32, Vec<ChainLink>);

#[derive(Default)]
pub(super) struct Resolvers {
    /// Duplicates of callers' sockets whose local port was not known yet.
    pending: Vec<(OwnedFd, Owner)>,
    /// Local port -> the process that last connected or sent to the resolver from it.
    ports: HashMap<u16, Owner>,
}

pub(super) type Shared = Arc<Mutex<Resolvers>>;

impl Resolvers {
    /// Moves the sockets that have a port by now to the port map (and lets go of them).
    fn settle(&mut self) {
        let mut keep = Vec::new();
        for (fd, owner) in self.pending.drain(..) {
            match local_port(fd.as_raw_fd()) {
                Some(0) => keep.push((fd, owner)),
                Some(port) => {
                    if self.ports.len() >= PORTS {
                        self.ports.clear();
                    }
                    self.ports.insert(port, owner);
                }
                None => {}
            }
        }
        self.pending = keep;
    }

    /// Registers the socket `fd` of process `pid` (taken from it while it is stopped).
    pub(super) fn add(&mut self, socket: OwnedFd, owner: Owner) {
        self.settle();
        match local_port(socket.as_raw_fd()) {
            Some(0) => {
                if self.pending.len() >= PENDING {
                    self.pending.remove(0);
                }
                self.pending.push((socket, owner));
            }
            Some(port) => {
                self.ports.insert(port, owner);
            }
            None => {}
        }
    }

    /// Who sends from `port` (the source port of a query the sinkhole heard).
    pub(super) fn owner(&mut self, port: u16) -> Option<Owner> {
        self.settle();
        self.ports.get(&port).cloned()
    }
}

/// A duplicate of process `pid`'s descriptor `fd` when it is an IPv4 UDP socket (the only kind
/// the sinkhole answers).
pub(super) fn take_socket(pid: u32, fd: RawFd) -> Option<OwnedFd> {
    // SAFETY: pidfd_open and pidfd_getfd with integer arguments; results are owned here.
    let socket = unsafe {
        let pidfd = libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0);
        if pidfd < 0 {
            return None;
        }
        let pidfd = OwnedFd::from_raw_fd(pidfd as RawFd);
        let got = libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0);
        if got < 0 {
            return None;
        }
        OwnedFd::from_raw_fd(got as RawFd)
    };
    let mut kind: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt into a correctly sized integer.
    let r = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut kind as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (r == 0 && kind == libc::SOCK_DGRAM && local_port(socket.as_raw_fd()).is_some())
        .then_some(socket)
}

/// The local port of an IPv4 socket (0 before it has one); `None` for anything else.
fn local_port(fd: RawFd) -> Option<u16> {
    // SAFETY: zeroed plain-old-data filled by getsockname, with its size.
    let mut addr: libc::sockaddr_in = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: getsockname into a sockaddr_in of the size given.
    let r =
        unsafe { libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_in).cast(), &mut len) };
    (r == 0 && addr.sin_family as i32 == libc::AF_INET).then(|| u16::from_be(addr.sin_port))
}

/// Whether a destination (`ip:port`) is where the sinkhole listens: port 53 on the loopback
/// (or the unspecified address, which reaches it too).
pub(super) fn is_sinkhole(dest: &str) -> bool {
    dest.parse::<std::net::SocketAddrV4>()
        .is_ok_and(|a| a.port() == 53 && (a.ip().is_loopback() || a.ip().is_unspecified()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_name_the_sender_once_bound() {
        let me = std::process::id();
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let owner = |pid: u32| {
            (
                pid,
                vec![ChainLink {
                    pid,
                    ..ChainLink::default()
                }],
            )
        };
        let mut r = Resolvers::default();
        r.add(take_socket(me, sock.as_raw_fd()).unwrap(), owner(7));
        assert_eq!(r.owner(port).map(|o| o.0), Some(7));
        // Not bound yet: known once it sends.
        // SAFETY: a plain socket call.
        let raw = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0) };
        assert!(raw >= 0);
        // SAFETY: we own the new descriptor.
        let fresh = std::net::UdpSocket::from(unsafe { OwnedFd::from_raw_fd(raw) });
        r.add(take_socket(me, fresh.as_raw_fd()).unwrap(), owner(8));
        fresh.send_to(b"x", "127.0.0.1:9").unwrap();
        let p2 = fresh.local_addr().unwrap().port();
        assert_eq!(r.owner(p2).map(|o| o.0), Some(8));
        assert_eq!(r.owner(1), None);
        // Not a UDP socket: nothing to register.
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(take_socket(me, tcp.as_raw_fd()).is_none());
        assert!(is_sinkhole("127.0.0.1:53") && is_sinkhole("0.0.0.0:53"));
        assert!(!is_sinkhole("10.0.0.1:53") && !is_sinkhole("127.0.0.1:5353"));
    }
}
