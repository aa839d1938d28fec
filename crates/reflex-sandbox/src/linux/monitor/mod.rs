//! The build monitor: a seccomp user-notification filter on the command reports every
//! `execve`, `connect`, `send*`, open, rename, link, symlink and truncate of every process of
//! the build to the sandbox's init, which decides what is worth recording (with the process's
//! ancestry from its own exec records, read while the caller is stopped), records it on the
//! events pipe and lets the call continue: the sandbox's other layers decide what succeeds. A
//! DNS sinkhole on the sandbox's loopback answers every query with NXDOMAIN and logs it.
//!
//! Paths are judged as the kernel resolves them for the caller: `/proc/self` and `/dev/fd`
//! are the caller's, relative paths start at its working directory or `dirfd`, symlinks and
//! `/proc/<pid>/{fd,cwd,root}` links are followed. Writes into a target directory are
//! recorded only when the writer does not make that file itself (cargo, rustc and its linker
//! their own outputs, a build script its own `OUT_DIR`), so the thousands of legitimate writes
//! of a build cost one look at the path and a cached ancestry.
//!
//! - [`listener`]: the notification filter and its listener;
//! - [`memory`]: reading the stopped caller's memory;
//! - [`paths`]: resolving a path as the kernel does for the caller;
//! - [`processes`]: each caller's ancestry, from the exec records;
//! - [`exec`]: exec events (the program that runs, dangerous loader variables);
//! - [`net`]: connects, sends, where they lead, and the DNS sinkhole;
//! - [`open`], [`fs_change`]: opens, renames, links, symlinks and truncates;
//! - [`writes`]: which writes are recorded (target directories, hard-linked outputs);
//! - [`secrets`]: the sensitive files, known by identity.

use crate::linux::unix_gate::{Gate, decide};
use crate::{CallOutcome, MonitorEvent};
use memory::CallerMemory;
use processes::{Processes, parent_and_start};
use secrets::Secrets;
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

mod exec;
mod fs_change;
mod listener;
mod memory;
mod net;
mod open;
mod paths;
mod processes;
mod secrets;
mod writes;

pub(super) use listener::{install, take};
pub(super) use net::{sinkhole, sinkhole_socket};

/// Execs, connects and sends (described by [`Supervisor::watched_event`]).
const WATCHED: &[(i64, &str)] = &[
    (libc::SYS_execve, "execve"),
    (libc::SYS_execveat, "execveat"),
    (libc::SYS_connect, "connect"),
    (libc::SYS_sendto, "sendto"),
    (libc::SYS_sendmsg, "sendmsg"),
    (libc::SYS_sendmmsg, "sendmmsg"),
];

/// Calls that reach a Unix socket by path (the sandbox decides these even when not monitoring).
const SENDS: &[i64] = &[
    libc::SYS_connect,
    libc::SYS_sendto,
    libc::SYS_sendmsg,
    libc::SYS_sendmmsg,
];

/// Open calls (all of them notify; the supervisor decides what to record).
const OPENS: &[(i64, &str)] = &[
    (libc::SYS_openat, "openat"),
    (libc::SYS_openat2, "openat2"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_open, "open"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_creat, "creat"),
];

/// Calls that change the file system without opening a file for writing.
const FS_CHANGES: &[(i64, &str)] = &[
    (libc::SYS_renameat, "renameat"),
    (libc::SYS_renameat2, "renameat2"),
    (libc::SYS_linkat, "linkat"),
    (libc::SYS_symlinkat, "symlinkat"),
    (libc::SYS_truncate, "truncate"),
    (libc::SYS_ftruncate, "ftruncate"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_rename, "rename"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_link, "link"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_symlink, "symlink"),
];

/// The time now, in nanoseconds since the epoch.
fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Where events are recorded: the events pipe, shared by the supervisor and the sinkhole.
pub(super) type Log = Arc<Mutex<File>>;

/// Records one event (a line of JSON).
fn emit(log: &Log, ev: &MonitorEvent) {
    if let Ok(mut line) = serde_json::to_vec(ev) {
        line.push(b'\n');
        let mut f = log.lock().unwrap_or_else(|e| e.into_inner());
        let _ = f.write_all(&line);
    }
}

/// The events channel: the pipe to cargo-reflex that only the init holds.
pub(super) fn event_log(fd: RawFd) -> Log {
    // SAFETY: the descriptor was handed to the init by its parent and is owned from here on.
    Arc::new(Mutex::new(unsafe { File::from_raw_fd(fd) }))
}

/// What the supervisor does: record (when `log` is set) and refuse Unix sockets outside the
/// allowlist (when `unix_sockets` is set: the sandbox, not observe-only monitoring).
pub(super) struct Supervision {
    pub log: Option<Log>,
    pub config: crate::MonitorConfig,
    pub unix_sockets: Option<Vec<PathBuf>>,
    /// The command's process (until its exec it is a fork of the init: the baseline).
    pub command: u32,
    /// Where the DNS sinkhole learns who sent each query (when there is a sinkhole).
    pub resolvers: Option<super::resolvers::Shared>,
}

/// Answers notifications until the build ends: decide, record, then answer.
pub(super) fn supervise(listener: OwnedFd, supervision: Supervision) {
    let mut supervisor = Supervisor::new(supervision);
    while let Some(req) = next_notification(&listener) {
        let time_ns = now_ns();
        // A socket that reaches the DNS sinkhole is registered before anything is sent on it
        // (the gate may send it itself).
        supervisor.register_resolver(&req);
        // The event is read before the gate acts (the same memory the gate copies).
        let gate = supervisor.gate(&req);
        let refused = matches!(gate, Gate::Refuse(_));
        let ev = if supervisor.supervision.log.is_some() {
            supervisor.event(&req, time_ns, refused)
        } else {
            None
        };
        let resp = response(req.id, gate);
        // SAFETY: NOTIF_SEND with the id we received; ENOENT (caller gone) is fine.
        unsafe {
            libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp);
        }
        if let (Some(log), Some(ev)) = (&supervisor.supervision.log, ev) {
            emit(log, &ev);
        }
    }
}

/// The next notification; `None` once the listener fails (the build has ended).
fn next_notification(listener: &OwnedFd) -> Option<libc::seccomp_notif> {
    loop {
        // SAFETY: zeroed plain-old-data structs filled by the kernel.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: NOTIF_RECV on our listener with a correctly sized struct.
        let r = unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &mut req,
            )
        };
        if r < 0 {
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) | Some(libc::ENOENT) => continue,
                _ => return None,
            }
        }
        return Some(req);
    }
}

/// The answer to notification `id`: the gate's decision.
fn response(id: u64, gate: Gate) -> libc::seccomp_notif_resp {
    match gate {
        Gate::Refuse(errno) => libc::seccomp_notif_resp {
            id,
            val: 0,
            error: -errno,
            flags: 0,
        },
        Gate::Done(r) if r < 0 => libc::seccomp_notif_resp {
            id,
            val: 0,
            error: r as i32,
            flags: 0,
        },
        Gate::Done(r) => libc::seccomp_notif_resp {
            id,
            val: r,
            error: 0,
            flags: 0,
        },
        Gate::Continue => libc::seccomp_notif_resp {
            id,
            val: 0,
            error: 0,
            flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        },
    }
}

/// The supervisor's state: what it was asked to do, and what it learnt of the build so far.
struct Supervisor {
    supervision: Supervision,
    memory: CallerMemory,
    /// `(process, fd)` -> where the socket was connected.
    connected: HashMap<(u32, u64), String>,
    processes: Processes,
    secrets: Secrets,
    /// The configured directories, also as the kernel names them (symlinks resolved).
    quiet: Vec<PathBuf>,
    watched: Vec<PathBuf>,
    guarded: Vec<PathBuf>,
}

/// A list of directories and their canonical forms.
fn with_canonical(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = dirs.to_vec();
    for d in dirs {
        if let Ok(c) = std::fs::canonicalize(d)
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    out
}

impl Supervisor {
    /// Starts from what the supervision says, with the command known as the init's fork.
    fn new(supervision: Supervision) -> Supervisor {
        let mut processes = Processes::default();
        if let Some((_, start)) = parent_and_start(supervision.command) {
            processes.command = (supervision.command, start);
            // Before its exec the command is the init's fork (the baseline).
            if let Ok(me) = std::fs::canonicalize("/proc/self/exe") {
                processes.execs.insert(
                    (supervision.command, start),
                    (
                        me.to_string_lossy().into_owned(),
                        vec![crate::INIT_ARG.to_string()],
                    ),
                );
            }
        }
        let monitoring = supervision.log.is_some();
        Supervisor {
            secrets: if monitoring {
                Secrets::new(&supervision.config)
            } else {
                Secrets::default()
            },
            quiet: with_canonical(&supervision.config.quiet_writes),
            watched: with_canonical(&supervision.config.watched_writes),
            guarded: with_canonical(&supervision.config.guarded_writes),
            supervision,
            memory: CallerMemory::default(),
            connected: HashMap::new(),
            processes,
        }
    }

    /// Whether the supervisor enforces the Unix socket allowlist (the sandbox, not observe-only).
    fn enforcing(&self) -> bool {
        self.supervision.unix_sockets.is_some()
    }

    /// What the sandbox answers a connect or send (refused to a pathname Unix socket off the
    /// allowlist): carried out by the supervisor on a copy of the address it judged, refused,
    /// or left to the kernel (see [`crate::linux::unix_gate`]).
    fn gate(&mut self, req: &libc::seccomp_notif) -> Gate {
        let nr = req.data.nr as i64;
        let Some(allow) = self.supervision.unix_sockets.as_ref() else {
            return Gate::Continue;
        };
        if !SENDS.contains(&nr) {
            return Gate::Continue;
        }
        let pid = req.pid;
        let memory = &mut self.memory;
        decide(
            pid,
            nr,
            &req.data.args,
            &mut |a, n| memory.read(pid, a, n),
            allow,
        )
    }

    /// The event worth recording for a call, if any.
    fn event(
        &mut self,
        req: &libc::seccomp_notif,
        time_ns: u64,
        refused: bool,
    ) -> Option<MonitorEvent> {
        let nr = req.data.nr as i64;
        let mut ev = if OPENS.iter().any(|(n, _)| *n == nr) {
            self.open_event(req)?
        } else if let Some((_, name)) = FS_CHANGES.iter().find(|(n, _)| *n == nr) {
            self.fs_change_event(req, name)?
        } else {
            self.watched_event(req)
        };
        if ev
            .dest
            .as_deref()
            .is_some_and(|d| d.starts_with("netlink:"))
        {
            return None;
        }
        ev.time_ns = time_ns;
        ev.pid = req.pid;
        if ev.chain.is_empty() {
            ev.chain = self.processes.chain(req.pid);
        }
        if refused {
            ev.outcome = CallOutcome::Denied;
        } else if let Some(dest) = ev.dest.clone() {
            ev.outcome = self.network_outcome(req.pid, &dest);
        }
        Some(ev)
    }

    /// The event of an exec, connect or send (the [`WATCHED`] calls).
    fn watched_event(&mut self, req: &libc::seccomp_notif) -> MonitorEvent {
        let (tid, a) = (req.pid, req.data.args);
        let name = WATCHED
            .iter()
            .find(|(nr, _)| *nr == req.data.nr as i64)
            .map_or("unknown", |(_, n)| n);
        let mut ev = MonitorEvent {
            syscall: name.to_string(),
            ..MonitorEvent::default()
        };
        match name {
            "execve" | "execveat" => self.exec_event(tid, &a, name, &mut ev),
            "connect" => self.connect_event(tid, &a, &mut ev),
            "sendto" => self.sendto_event(tid, &a, &mut ev),
            "sendmsg" | "sendmmsg" => self.sendmsg_event(tid, &a, name, &mut ev),
            _ => {}
        }
        ev
    }

    /// The process `tid` belongs to.
    fn tgid_of(&mut self, tid: u32) -> u32 {
        self.processes.identity(tid).map_or(tid, |i| i.0)
    }
}
