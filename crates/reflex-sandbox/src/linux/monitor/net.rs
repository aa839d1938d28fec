//! Connects and sends: where they lead (an address read from the caller, or where its socket
//! was connected), what they carry, what became of them; and the DNS sinkhole, which answers
//! every query on the sandbox's loopback and names who sent it.

use super::{Log, SENDS, Supervisor, emit, now_ns};
use crate::linux::resolvers;
use crate::{CallOutcome, MonitorEvent};
use std::os::fd::RawFd;
use std::path::Path;

impl Supervisor {
    /// What became of a connect or send: refused by the sandbox (no route out; the sinkhole
    /// answers DNS), failed (nothing listens on that loopback port, no such socket file), or
    /// let through.
    pub(super) fn network_outcome(&self, tid: u32, dest: &str) -> CallOutcome {
        if self.enforcing() && leaves_the_sandbox(dest) {
            return CallOutcome::Denied;
        }
        if let Some(path) = dest.strip_prefix("unix:") {
            if path.starts_with('@') {
                return CallOutcome::Allowed;
            }
            let p = Path::new(path);
            let full = if p.is_absolute() {
                p.to_path_buf()
            } else {
                Path::new(&format!("/proc/{tid}/cwd")).join(p)
            };
            return if full.exists() {
                CallOutcome::Allowed
            } else {
                CallOutcome::Failed
            };
        }
        match dest
            .parse::<std::net::SocketAddr>()
            .ok()
            .filter(|a| a.ip().is_loopback())
        {
            Some(a) if !listening(a.port()) => CallOutcome::Failed,
            _ => CallOutcome::Allowed,
        }
    }

    /// A `connect` (arguments `a`): where it leads, remembered for the socket's later sends.
    pub(super) fn connect_event(&mut self, tid: u32, a: &[u64; 6], ev: &mut MonitorEvent) {
        let pid = self.tgid_of(tid);
        let dest = sockaddr(&self.memory.read(tid, a[1], (a[2] as usize).min(128)));
        if let Some(d) = &dest {
            self.connected.insert((pid, a[0]), d.clone());
        }
        ev.dest = dest;
    }

    /// A `sendto` (arguments `a`): where it goes and the first bytes it carries.
    pub(super) fn sendto_event(&mut self, tid: u32, a: &[u64; 6], ev: &mut MonitorEvent) {
        let pid = self.tgid_of(tid);
        ev.dest = sockaddr(&self.memory.read(tid, a[4], (a[5] as usize).min(128)))
            .or_else(|| self.connected.get(&(pid, a[0])).cloned());
        ev.payloads
            .push(hex(&self.memory.read(tid, a[1], (a[2] as usize).min(512))));
    }

    /// A `sendmsg` or `sendmmsg` (`name`, arguments `a`): where it goes and the first bytes
    /// of each message (of the first 16).
    pub(super) fn sendmsg_event(
        &mut self,
        tid: u32,
        a: &[u64; 6],
        name: &str,
        ev: &mut MonitorEvent,
    ) {
        let pid = self.tgid_of(tid);
        let (base, count, stride) = if name == "sendmsg" {
            (a[1], 1, 56)
        } else {
            (a[1], a[2].min(16), 64)
        };
        for i in 0..count {
            let h = base + i * stride;
            let name_ptr = self.memory.u64_at(tid, h);
            let name_len = self.memory.u64_at(tid, h + 8) & 0xffff_ffff;
            let iov = self.memory.u64_at(tid, h + 16);
            if ev.dest.is_none() && name_ptr != 0 {
                ev.dest = sockaddr(
                    &self
                        .memory
                        .read(tid, name_ptr, (name_len as usize).min(128)),
                );
            }
            let (ptr, len) = (
                self.memory.u64_at(tid, iov),
                self.memory.u64_at(tid, iov + 8),
            );
            ev.payloads
                .push(hex(&self.memory.read(tid, ptr, (len as usize).min(512))));
        }
        if ev.dest.is_none() {
            ev.dest = self.connected.get(&(pid, a[0])).cloned();
        }
    }

    /// A connect or send to the DNS sinkhole: the caller's socket and ancestry are registered
    /// before the call goes on (so before any query it carries can arrive), for the sinkhole
    /// to name who sent each query it hears (see [`resolvers`]). A send without an
    /// address goes where the socket was connected (registered then).
    pub(super) fn register_resolver(&mut self, req: &libc::seccomp_notif) {
        let (tid, a, nr) = (req.pid, req.data.args, req.data.nr as i64);
        if !SENDS.contains(&nr) {
            return;
        }
        let Some(shared) = self.supervision.resolvers.clone() else {
            return;
        };
        let dest = match nr {
            n if n == libc::SYS_connect => {
                sockaddr(&self.memory.read(tid, a[1], (a[2] as usize).min(128)))
            }
            n if n == libc::SYS_sendto && a[4] != 0 => {
                sockaddr(&self.memory.read(tid, a[4], (a[5] as usize).min(128)))
            }
            n if n == libc::SYS_sendmsg || n == libc::SYS_sendmmsg => {
                let name = self.memory.u64_at(tid, a[1]);
                let len = self.memory.u64_at(tid, a[1] + 8) & 0xffff_ffff;
                (name != 0)
                    .then(|| sockaddr(&self.memory.read(tid, name, (len as usize).min(128))))
                    .flatten()
            }
            _ => None,
        };
        if !dest.as_deref().is_some_and(resolvers::is_sinkhole) {
            return;
        }
        let Some(socket) = resolvers::take_socket(self.tgid_of(tid), a[0] as RawFd) else {
            return;
        };
        let chain = self.processes.chain(tid);
        shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(socket, (tid, chain));
    }
}

/// Whether something on this network namespace's loopback listens on `port` (a TCP listener
/// or a bound UDP socket), from `/proc/net/{tcp,tcp6,udp,udp6}`.
fn listening(port: u16) -> bool {
    ["tcp", "tcp6", "udp", "udp6"].iter().any(|t| {
        std::fs::read_to_string(format!("/proc/net/{t}")).is_ok_and(|text| {
            text.lines()
                .skip(1)
                .any(|l| bound(l, port, t.starts_with("tcp")))
        })
    })
}

/// One line of `/proc/net/tcp`-like tables: the local port is `port` and, for TCP, the
/// socket listens (state `0A`).
fn bound(line: &str, port: u16, tcp: bool) -> bool {
    let f: Vec<&str> = line.split_whitespace().collect();
    let local_port = f
        .get(1)
        .and_then(|l| l.rsplit_once(':'))
        .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
    local_port == Some(port) && (!tcp || f.get(3) == Some(&"0A"))
}

/// Whether a destination is outside the sandbox's loopback (or is the DNS sinkhole).
fn leaves_the_sandbox(dest: &str) -> bool {
    if dest.starts_with("unix:") {
        return false;
    }
    match dest.parse::<std::net::SocketAddr>() {
        Ok(a) => !a.ip().is_loopback() || a.port() == 53,
        Err(_) => false,
    }
}

/// Lowercase hexadecimal, two digits a byte.
fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `ip:port`, `[ip6]:port` or `unix:<path>` (`unix:@name` for abstract sockets), `netlink:`.
fn sockaddr(b: &[u8]) -> Option<String> {
    if b.len() < 2 {
        return None;
    }
    match u16::from_ne_bytes([b[0], b[1]]) as i32 {
        libc::AF_INET if b.len() >= 8 => Some(format!(
            "{}.{}.{}.{}:{}",
            b[4],
            b[5],
            b[6],
            b[7],
            u16::from_be_bytes([b[2], b[3]])
        )),
        libc::AF_INET6 if b.len() >= 24 => {
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&b[8..24]);
            Some(format!(
                "[{}]:{}",
                std::net::Ipv6Addr::from(ip),
                u16::from_be_bytes([b[2], b[3]])
            ))
        }
        // The kernel's own sockets (routing queries of getaddrinfo): nothing leaves.
        libc::AF_NETLINK => Some("netlink:".to_string()),
        libc::AF_UNIX => {
            let path = &b[2..];
            if path.first() == Some(&0) {
                Some(format!("unix:@{}", String::from_utf8_lossy(&path[1..])))
            } else {
                let end = path.iter().position(|c| *c == 0).unwrap_or(path.len());
                Some(format!("unix:{}", String::from_utf8_lossy(&path[..end])))
            }
        }
        _ => None,
    }
}

/// The DNS sinkhole's socket (bound while the init still may bind port 53).
pub(in crate::linux) fn sinkhole_socket() -> std::io::Result<std::net::UdpSocket> {
    std::net::UdpSocket::bind("127.0.0.1:53")
}

/// Answers every query on the sandbox's loopback with NXDOMAIN and logs it, with the process
/// that sent it when the supervisor registered its socket (see [`resolvers`]).
pub(in crate::linux) fn sinkhole(
    socket: std::net::UdpSocket,
    log: Log,
    resolvers: resolvers::Shared,
) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let time_ns = now_ns();
            let (pid, chain) = resolvers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .owner(from.port())
                .unwrap_or_default();
            let mut reply = buf[..n].to_vec();
            if reply.len() > 3 {
                reply[2] |= 0x80;
                reply[3] = (reply[3] & 0xf0) | 3;
            }
            let _ = socket.send_to(&reply, from);
            emit(
                &log,
                &MonitorEvent {
                    time_ns,
                    pid,
                    syscall: "dns-query".into(),
                    dest: Some(from.to_string()),
                    payloads: vec![hex(&buf[..n])],
                    // The sinkhole answered: nothing left the sandbox.
                    outcome: CallOutcome::Denied,
                    chain,
                    ..MonitorEvent::default()
                },
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_from_proc_net() {
        let l = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1";
        assert!(bound(l, 8080, true));
        assert!(!bound(l, 8081, true));
        let est = l.replace(" 0A ", " 01 ");
        assert!(!bound(&est, 8080, true) && bound(&est, 8080, false));
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(listening(t.local_addr().unwrap().port()));
    }
}
