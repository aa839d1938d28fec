//! The escape suite's network: loopback listeners for every channel, a resolver answering
//! NXDOMAIN, and the descriptors a careless caller hands to the build.

use super::{FD_DIR, FD_FILE, FD_SOCKET, Hits, Scene};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

/// Loopback listeners for every network channel; `dns` answers NXDOMAIN.
pub fn listen(dir: &Path, dns: &str) -> (Hits, BTreeMap<&'static str, String>) {
    let hits: Hits = Arc::default();
    let mut targets = BTreeMap::new();
    for (key, addr) in [("tcp4", "127.0.0.1:0"), ("tcp6", "[::1]:0")] {
        let l = std::net::TcpListener::bind(addr).unwrap();
        let (h, url) = (hits.clone(), l.local_addr().unwrap());
        targets.insert(key, url.to_string());
        if key == "tcp4" {
            targets.insert("http", format!("http://{url}/"));
        }
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let mut line = String::new();
                let mut r = BufReader::new(s.try_clone().unwrap());
                let _ = r.read_line(&mut line);
                h.lock().unwrap().push(format!("{key} {}", line.trim()));
                let mut s = s;
                let _ = s.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
    }
    // The connection the build inherits as a descriptor: every line is a hit.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    targets.insert("fdsock", l.local_addr().unwrap().to_string());
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let h = h.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(s).lines() {
                    let Ok(line) = line else { break };
                    h.lock().unwrap().push(format!("fdsock {}", line.trim()));
                }
            });
        }
    });
    let udp = std::net::UdpSocket::bind(dns).unwrap();
    targets.insert("dns", udp.local_addr().unwrap().to_string());
    let h = hits.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            let name = query_name(&buf[..n]);
            h.lock().unwrap().push(format!("dns {name}"));
            // NXDOMAIN: the question echoed with the response and rcode bits set.
            let mut reply = buf[..n].to_vec();
            if reply.len() > 3 {
                reply[2] |= 0x80;
                reply[3] = (reply[3] & 0xf0) | 3;
            }
            let _ = udp.send_to(&reply, from);
        }
    });
    let sock = dir.join("daemon.sock");
    let unix = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    targets.insert("unix", sock.display().to_string());
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in unix.incoming().flatten() {
            let mut text = String::new();
            let _ = BufReader::new(s).read_line(&mut text);
            h.lock().unwrap().push(format!("unix {}", text.trim()));
        }
    });
    // A daemon's socket inside the project tree (not under /tmp, which the sandbox covers).
    let ws = dir.join("ws");
    if ws.is_dir() {
        let sock = ws.join("project.sock");
        let unix = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        targets.insert("unix_project", sock.display().to_string());
        let h = hits.clone();
        std::thread::spawn(move || {
            for s in unix.incoming().flatten() {
                let mut text = String::new();
                let _ = BufReader::new(s).read_line(&mut text);
                h.lock().unwrap().push(format!("unixp {}", text.trim()));
            }
        });
    }
    (hits, targets)
}

pub fn query_name(packet: &[u8]) -> String {
    let mut i = 12;
    let mut labels = Vec::new();
    while i < packet.len() && packet[i] != 0 {
        let n = packet[i] as usize;
        labels.push(
            String::from_utf8_lossy(&packet[i + 1..(i + 1 + n).min(packet.len())]).into_owned(),
        );
        i += n + 1;
    }
    labels.join(".")
}

/// `program` started through bash with three more descriptors open and inheritable, as a
/// careless caller might hold them: `FD_FILE` appends to `s.outside`, `FD_SOCKET` is a TCP
/// connection to `peer` made here (in the caller's network namespace), `FD_DIR` is the
/// home directory.
pub fn with_inherited_fds(s: &Scene, peer: &str, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let (host, port) = peer.rsplit_once(':').unwrap();
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(format!(
            "exec {FD_FILE}>>\"$1\" {FD_SOCKET}<>\"/dev/tcp/$2/$3\" {FD_DIR}<\"$4\" || exit 97; shift 4; exec \"$@\""
        ))
        .arg("inherited-fds")
        .arg(&s.outside)
        .arg(host)
        .arg(port)
        .arg(&s.home)
        .arg(program);
    c
}
