//! The drill's sinkhole on loopback: what a payload reaches when no layer stops it. A TCP
//! listener records every connection (and serves the "second stage", a script that only
//! touches the marker it is given) and a UDP listener answers DNS queries with NXDOMAIN and
//! records the names (and any other datagram).

use crate::error::{Error, Result};
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};

/// One thing that reached the sinkhole.
#[derive(Clone, Debug, serde::Serialize, PartialEq)]
pub struct Hit {
    /// `tcp`, `dns` or `udp` (a datagram that is not a DNS query).
    pub kind: &'static str,
    /// The first line of the request, or the queried name.
    pub what: String,
}

pub struct Sinkhole {
    pub tcp: String,
    pub dns: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

/// What the sinkhole serves for `GET /stage2`: a script that only touches its first argument.
pub const STAGE2: &str = "#!/bin/sh\n# cargo-reflex drill: second stage (benign)\ntouch \"$1\"\n";

impl Sinkhole {
    pub fn start() -> Result<Sinkhole> {
        let err = |e| Error::io("127.0.0.1 (drill sinkhole)", e);
        let tcp = TcpListener::bind("127.0.0.1:0").map_err(err)?;
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(err)?;
        let hits: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let sink = Sinkhole {
            tcp: tcp.local_addr().map_err(err)?.to_string(),
            dns: udp.local_addr().map_err(err)?.to_string(),
            hits: hits.clone(),
        };
        let h = hits.clone();
        std::thread::spawn(move || {
            for stream in tcp.incoming().flatten() {
                let h = h.clone();
                std::thread::spawn(move || {
                    let mut stream = stream;
                    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
                    let mut buf = [0u8; 4096];
                    let n = stream.read(&mut buf).unwrap_or(0);
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let first = text.lines().next().unwrap_or("").to_string();
                    let reply = if first.starts_with("GET /stage2") {
                        format!(
                            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{STAGE2}",
                            STAGE2.len()
                        )
                    } else {
                        "HTTP/1.0 204 No Content\r\n\r\n".to_string()
                    };
                    let _ = stream.write_all(reply.as_bytes());
                    push(&h, "tcp", first);
                });
            }
        });
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = udp.recv_from(&mut buf) {
                match crate::monitor::dns::query_name(&buf[..n]) {
                    Some(name) => {
                        let mut reply = buf[..n].to_vec();
                        reply[2] |= 0x80;
                        reply[3] = (reply[3] & 0xf0) | 3;
                        let _ = udp.send_to(&reply, from);
                        push(&hits, "dns", name);
                    }
                    None => push(
                        &hits,
                        "udp",
                        String::from_utf8_lossy(&buf[..n]).into_owned(),
                    ),
                }
            }
        });
        Ok(sink)
    }

    /// Everything that arrived since `from` (an earlier [`Sinkhole::count`]).
    pub fn since(&self, from: usize) -> Vec<Hit> {
        let hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        hits.get(from..).map(<[Hit]>::to_vec).unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.hits.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

fn push(hits: &Mutex<Vec<Hit>>, kind: &'static str, what: String) {
    hits.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Hit { kind, what });
}
