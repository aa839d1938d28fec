//! The caller's terminal: a sandboxed command never holds it. Input becomes `/dev/null`;
//! output that was a terminal goes through a pipe and reaches it sanitized (text and colours
//! pass, control sequences do not).

use crate::terminal;
use std::io::{Read, Write};

/// Standard streams that are a terminal are not handed to the sandbox: input becomes
/// `/dev/null`, output goes through a pipe and reaches the terminal sanitized.
pub(super) struct Relays {
    out: bool,
    err: bool,
}

/// The relay threads while the command runs; joined once the init has exited.
pub(super) struct RunningRelays(Vec<std::thread::JoinHandle<()>>);

/// Gives the init `/dev/null` and pipes in place of the standard streams that are a
/// terminal (none when not `enabled`).
pub(super) fn terminal_relays(cmd: &mut std::process::Command, enabled: bool) -> Relays {
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
    pub(super) fn start(self, child: &mut std::process::Child) -> RunningRelays {
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
    pub(super) fn join(self) {
        for t in self.0 {
            let _ = t.join();
        }
    }
}

/// Copies `from` to `to` through a [`terminal::Sanitizer`] until `from` ends.
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
