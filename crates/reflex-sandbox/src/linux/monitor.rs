//! The build monitor: a seccomp user-notification filter on the command reports every
//! `execve`, `connect` and `send*` of every process of the build to the sandbox's init, which
//! records it (with the process's ancestry, read while the caller is stopped) as a JSON line and
//! lets the call continue: the sandbox's other layers decide what succeeds. A DNS sinkhole on the
//! sandbox's loopback answers every query with NXDOMAIN and logs it.

use crate::{CallOutcome, ChainLink, MonitorEvent};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

const WATCHED: &[(i64, &str)] = &[
    (libc::SYS_execve, "execve"),
    (libc::SYS_execveat, "execveat"),
    (libc::SYS_connect, "connect"),
    (libc::SYS_sendto, "sendto"),
    (libc::SYS_sendmsg, "sendmsg"),
    (libc::SYS_sendmmsg, "sendmmsg"),
];

/// Open flags that mean writing.
const WRITE_FLAGS: u32 =
    (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC | libc::O_APPEND) as u32;

/// Calls that reach a Unix socket by path (the sandbox decides these even when not monitoring).
const SENDS: &[i64] = &[
    libc::SYS_connect,
    libc::SYS_sendto,
    libc::SYS_sendmsg,
    libc::SYS_sendmmsg,
];

/// Installs the notification filter on the calling process (the command, before it execs)
/// and returns the listener descriptor. Connects and sends always notify (the Unix socket
/// allowlist); when `monitoring`, execs and every open do too (the supervisor reads the path
/// and records writes outside the expected places and reads of sensitive files). Foreign ABIs
/// are killed and TIOCSTI/TIOCLINUX and PR_SET_MM refused here as well, so that observe-only
/// monitoring (which has no other filter) cannot be blinded or its terminal typed into.
pub(super) fn install(monitoring: bool) -> std::io::Result<RawFd> {
    use super::bpf::{Ins::*, *};
    use reflex_sandbox_contract::syscalls::{PR_SET_MM, TIOCLINUX, TIOCSTI};
    let mut code = abi_guard();
    code.extend([
        JumpIfEq(libc::SYS_ioctl as u32, "ioctl"),
        JumpIfEq(libc::SYS_prctl as u32, "prctl"),
    ]);
    for nr in SENDS {
        code.push(JumpIfEq(*nr as u32, "notify"));
    }
    if monitoring {
        for (nr, _) in WATCHED.iter().chain(OPENS) {
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
pub(super) fn take(pid: i32, fd: RawFd) -> std::io::Result<OwnedFd> {
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

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

pub(super) type Log = Arc<Mutex<File>>;

fn emit(log: &Log, ev: &MonitorEvent) {
    if let Ok(mut line) = serde_json::to_vec(ev) {
        line.push(b'\n');
        let mut f = log.lock().unwrap_or_else(|e| e.into_inner());
        let _ = f.write_all(&line);
    }
}

/// How many callers' memory stays open at most.
const MEM_CACHE: usize = 256;

/// Reads the memory of stopped callers. A process's `/proc/<pid>/mem` stays open between
/// its calls (opening it is most of the cost of a notification); a descriptor that no longer
/// reads (the process exited, or exec replaced its memory) is opened again.
#[derive(Default)]
struct Mem {
    files: HashMap<u32, File>,
}

impl Mem {
    fn read(&mut self, pid: u32, addr: u64, len: usize) -> Vec<u8> {
        if addr == 0 || len == 0 {
            return Vec::new();
        }
        let mut buf = vec![0u8; len];
        for fresh in [false, true] {
            if fresh || !self.files.contains_key(&pid) {
                // Descriptors of exited processes are not noticed: a bound keeps the init far
                // from its descriptor limit (running out would lose paths and arguments).
                if self.files.len() >= MEM_CACHE {
                    self.files.clear();
                }
                let path = format!("/proc/{pid}/mem");
                let file = File::open(&path).or_else(|e| {
                    if e.raw_os_error() == Some(libc::EMFILE) {
                        self.files.clear();
                        File::open(&path)
                    } else {
                        Err(e)
                    }
                });
                match file {
                    Ok(f) => self.files.insert(pid, f),
                    Err(_) => return Vec::new(),
                };
            }
            if let Some(Ok(n)) = self.files.get(&pid).map(|f| f.read_at(&mut buf, addr))
                && n > 0
            {
                buf.truncate(n);
                return buf;
            }
        }
        Vec::new()
    }

    /// A NUL-terminated string (most are short: read 256 bytes first).
    fn string(&mut self, pid: u32, addr: u64) -> String {
        let mut b = self.read(pid, addr, 256);
        if !b.contains(&0) && b.len() == 256 {
            b = self.read(pid, addr, 4096);
        }
        let end = b.iter().position(|c| *c == 0).unwrap_or(b.len());
        String::from_utf8_lossy(&b[..end]).into_owned()
    }

    fn u64_at(&mut self, pid: u32, addr: u64) -> u64 {
        let b = self.read(pid, addr, 8);
        u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]))
    }

    /// Forgets a process about to exec (a vforked child still shares its parent's memory).
    fn forget(&mut self, pid: u32) {
        self.files.remove(&pid);
    }
}

/// Answers notifications until the build ends: record, then let the call continue.
/// What the supervisor does: record (when `log` is set) and refuse Unix sockets outside the
/// allowlist (when `unix_sockets` is set: the sandbox, not observe-only monitoring).
pub(super) struct Supervision {
    pub log: Option<Log>,
    pub config: crate::MonitorConfig,
    pub unix_sockets: Option<Vec<std::path::PathBuf>>,
    /// The command's process (until its exec it is a fork of the init: the baseline).
    pub command: u32,
}

/// Answers notifications until the build ends: decide, record, then answer.
pub(super) fn supervise(listener: OwnedFd, sup: Supervision) {
    let mut connected: HashMap<(u32, u64), String> = HashMap::new();
    let mut execs = Execs::default();
    if let Ok(me) = std::fs::canonicalize("/proc/self/exe") {
        let me = me.to_string_lossy().into_owned();
        execs
            .0
            .insert(sup.command, (me, vec![crate::INIT_ARG.to_string()]));
    }
    let mut known: HashMap<(u32, u64), Chain> = HashMap::new();
    let mut mem = Mem::default();
    let enforcing = sup.unix_sockets.is_some();
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
                _ => return,
            }
        }
        let time_ns = now_ns();
        let nr = req.data.nr as i64;
        let mut refuse = None;
        if let Some(allow) = &sup.unix_sockets
            && SENDS.contains(&nr)
        {
            let pid = req.pid;
            let paths =
                super::unix_gate::unix_paths(nr, &req.data.args, &mut |a, n| mem.read(pid, a, n));
            if paths
                .iter()
                .any(|p| !super::unix_gate::allowed(pid, p, allow))
            {
                refuse = Some(libc::EACCES);
            }
        }
        let ev = sup.log.as_ref().and_then(|_| {
            let open = OPENS.iter().any(|(n, _)| *n == nr);
            // Writes where a build writes (target, tmp, devices) and reads of ordinary files
            // are answered without a record.
            let mut ev = if open {
                let (path, name) = opened_path(&req, &mut mem, &sup.config)?;
                let mut ev = MonitorEvent {
                    time_ns,
                    pid: req.pid,
                    syscall: name.to_string(),
                    path: Some(path),
                    ..MonitorEvent::default()
                };
                if name == "open-write" && enforcing {
                    ev.outcome = writable_outcome(ev.path.as_deref().unwrap_or("/"));
                }
                ev.chain = ancestry(req.pid, &execs, &mut known);
                ev
            } else {
                describe(
                    &req,
                    time_ns,
                    &mut mem,
                    &mut connected,
                    &mut execs,
                    &mut known,
                )
            };
            if refuse.is_some() {
                ev.outcome = CallOutcome::Denied;
            } else if enforcing && ev.dest.as_deref().is_some_and(leaves_the_sandbox) {
                // No route out of the sandbox's network namespace; the sinkhole answers DNS.
                ev.outcome = CallOutcome::Denied;
            }
            Some(ev)
        });
        let resp = match refuse {
            Some(errno) => libc::seccomp_notif_resp {
                id: req.id,
                val: 0,
                error: -errno,
                flags: 0,
            },
            None => libc::seccomp_notif_resp {
                id: req.id,
                val: 0,
                error: 0,
                flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
            },
        };
        // SAFETY: NOTIF_SEND with the id we received; ENOENT (caller gone) is fine.
        unsafe {
            libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp);
        }
        if let (Some(log), Some(ev)) = (&sup.log, ev) {
            emit(log, &ev);
        }
    }
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

/// A write outside the expected places succeeds only where the mounts are writable.
fn writable_outcome(path: &str) -> CallOutcome {
    let p = std::path::Path::new(path);
    let probe = if p.exists() {
        p
    } else {
        p.parent().unwrap_or(p)
    };
    match nix::unistd::access(probe, nix::unistd::AccessFlags::W_OK) {
        Ok(()) => CallOutcome::Allowed,
        Err(_) => CallOutcome::Denied,
    }
}

/// Open calls (all of them notify; the supervisor decides what to record).
const OPENS: &[(i64, &str)] = &[
    (libc::SYS_openat, "openat"),
    (libc::SYS_openat2, "openat2"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_open, "open"),
    #[cfg(target_arch = "x86_64")]
    (libc::SYS_creat, "creat"),
];

/// What an open is worth recording: a write outside the `quiet` prefixes (`open-write`) or a
/// read of a sensitive file (`open-read`), with the absolute path.
fn opened_path(
    req: &libc::seccomp_notif,
    mem: &mut Mem,
    config: &crate::MonitorConfig,
) -> Option<(String, &'static str)> {
    let pid = req.pid;
    let a = req.data.args;
    let nr = req.data.nr as i64;
    let (dirfd, path_ptr, flags) = match nr {
        n if n == libc::SYS_openat => (a[0] as i32, a[1], a[2] as u32),
        n if n == libc::SYS_openat2 => {
            // struct open_how { u64 flags; ... }
            (a[0] as i32, a[1], mem.u64_at(pid, a[2]) as u32)
        }
        #[cfg(target_arch = "x86_64")]
        n if n == libc::SYS_creat => (libc::AT_FDCWD, a[0], libc::O_CREAT as u32),
        _ => (libc::AT_FDCWD, a[0], a[1] as u32),
    };
    let write = flags & WRITE_FLAGS != 0;
    if !write && flags & libc::O_PATH as u32 != 0 {
        return None;
    }
    let path = std::path::PathBuf::from(mem.string(pid, path_ptr));
    if !write && !crate::may_be_sensitive(&path, &config.sensitive_reads) {
        return None;
    }
    let full = if path.is_absolute() {
        path
    } else {
        let base = if dirfd == libc::AT_FDCWD {
            std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?
        } else {
            std::fs::read_link(format!("/proc/{pid}/fd/{dirfd}")).ok()?
        };
        base.join(path)
    };
    // Lexically normal: `a/../b` is `b` (the kernel resolves the same way for plain paths).
    let mut norm = std::path::PathBuf::new();
    for c in full.components() {
        match c {
            std::path::Component::ParentDir => {
                norm.pop();
            }
            std::path::Component::CurDir => {}
            c => norm.push(c),
        }
    }
    if !write {
        return crate::is_sensitive(&norm, &config.sensitive_reads)
            .then(|| (norm.display().to_string(), "open-read"));
    }
    // The most specific prefix decides: a quiet target directory inside a watched project is
    // quiet, a watched project inside a quiet /tmp is watched.
    let depth = |set: &[std::path::PathBuf]| {
        set.iter()
            .filter(|p| norm.starts_with(p))
            .map(|p| p.components().count())
            .max()
    };
    match (depth(&config.quiet_writes), depth(&config.watched_writes)) {
        (Some(q), Some(w)) if q >= w => return None,
        (Some(_), None) => return None,
        _ => {}
    }
    Some((norm.display().to_string(), "open-write"))
}

fn describe(
    req: &libc::seccomp_notif,
    time_ns: u64,
    mem: &mut Mem,
    connected: &mut HashMap<(u32, u64), String>,
    execs: &mut Execs,
    known: &mut HashMap<(u32, u64), Chain>,
) -> MonitorEvent {
    let pid = req.pid;
    let a = req.data.args;
    let name = WATCHED
        .iter()
        .find(|(nr, _)| *nr == req.data.nr as i64)
        .map_or("unknown", |(_, n)| n);
    let mut ev = MonitorEvent {
        time_ns,
        pid,
        syscall: name.to_string(),
        ..MonitorEvent::default()
    };
    match name {
        "execve" | "execveat" => {
            let (path, argv) = if name == "execve" {
                (a[0], a[1])
            } else {
                (a[1], a[2])
            };
            let file = mem.string(pid, path);
            let dirfd = if name == "execve" {
                libc::AT_FDCWD
            } else {
                a[0] as i32
            };
            let empty_path = name == "execveat" && a[4] & libc::AT_EMPTY_PATH as u64 != 0;
            let resolved = exec_target(pid, dirfd, &file, empty_path);
            // PATH lookups try several directories; only the one that exists runs.
            ev.missing = resolved.is_none() && !empty_path;
            ev.fileless = resolved.as_ref().is_some_and(|r| r.fileless);
            ev.path = Some(resolved.as_ref().map_or(file, |r| r.path.clone()));
            let mut args = Vec::new();
            for i in 0..256u64 {
                let p = mem.u64_at(pid, argv + i * 8);
                if p == 0 {
                    break;
                }
                args.push(mem.string(pid, p));
            }
            if let Some(r) = resolved {
                execs.0.insert(pid, (r.path, args.clone()));
            }
            ev.argv = args;
        }
        "connect" => {
            let dest = sockaddr(&mem.read(pid, a[1], (a[2] as usize).min(128)));
            if let Some(d) = &dest {
                connected.insert((pid, a[0]), d.clone());
            }
            ev.dest = dest;
        }
        "sendto" => {
            ev.dest = sockaddr(&mem.read(pid, a[4], (a[5] as usize).min(128)))
                .or_else(|| connected.get(&(pid, a[0])).cloned());
            ev.payloads
                .push(hex(&mem.read(pid, a[1], (a[2] as usize).min(512))));
        }
        "sendmsg" | "sendmmsg" => {
            let (base, count, stride) = if name == "sendmsg" {
                (a[1], 1, 56)
            } else {
                (a[1], a[2].min(16), 64)
            };
            for i in 0..count {
                let h = base + i * stride;
                let name_ptr = mem.u64_at(pid, h);
                let name_len = mem.u64_at(pid, h + 8) & 0xffff_ffff;
                let iov = mem.u64_at(pid, h + 16);
                if ev.dest.is_none() && name_ptr != 0 {
                    ev.dest = sockaddr(&mem.read(pid, name_ptr, (name_len as usize).min(128)));
                }
                let (ptr, len) = (mem.u64_at(pid, iov), mem.u64_at(pid, iov + 8));
                ev.payloads
                    .push(hex(&mem.read(pid, ptr, (len as usize).min(512))));
            }
            if ev.dest.is_none() {
                ev.dest = connected.get(&(pid, a[0])).cloned();
            }
        }
        _ => {}
    }
    ev.chain = ancestry(pid, execs, known);
    if name.starts_with("exec") {
        // Seen before the exec: after it, the process has a new command line.
        known.retain(|k, _| k.0 != pid);
        mem.forget(pid);
    }
    ev
}

type Chain = Vec<ChainLink>;

/// What the supervisor saw each process exec: the executable (resolved) and its arguments.
/// A record counts only while the kernel's `/proc/<pid>/exe` still names that executable
/// (an exec that failed, or a later one, does not leave a false identity behind).
#[derive(Default)]
struct Execs(HashMap<u32, (String, Vec<String>)>);

/// The file an exec runs.
struct ExecTarget {
    path: String,
    /// A memfd or a deleted file: nothing on disk.
    fileless: bool,
}

/// Resolves an exec's path as the kernel will: against the caller's working directory or
/// `dirfd`, through `/proc/self` and symlinks; `AT_EMPTY_PATH` runs `dirfd` itself.
fn exec_target(pid: u32, dirfd: i32, file: &str, empty_path: bool) -> Option<ExecTarget> {
    let fd_link = |fd: i32| std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok();
    let raw = if empty_path && file.is_empty() {
        fd_link(dirfd)?
    } else {
        let file = file
            .strip_prefix("/proc/self/")
            .or_else(|| file.strip_prefix("/proc/thread-self/"))
            .map_or_else(|| file.to_string(), |rest| format!("/proc/{pid}/{rest}"));
        let p = std::path::PathBuf::from(&file);
        if p.is_absolute() {
            p
        } else if dirfd == libc::AT_FDCWD {
            std::fs::read_link(format!("/proc/{pid}/cwd")).ok()?.join(p)
        } else {
            fd_link(dirfd)?.join(p)
        }
    };
    let text = raw.to_string_lossy();
    if text.starts_with("/memfd:") || text.ends_with(" (deleted)") {
        return Some(ExecTarget {
            path: text.into_owned(),
            fileless: true,
        });
    }
    let real = std::fs::canonicalize(&raw).ok()?;
    let fileless = std::fs::read_link(&raw)
        .map(|l| l.to_string_lossy().starts_with("/memfd:"))
        .unwrap_or(false);
    Some(ExecTarget {
        path: real.to_string_lossy().into_owned(),
        fileless,
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `ip:port`, `[ip6]:port` or `unix:<path>` (`unix:@name` for abstract sockets).
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

/// The process a thread belongs to, from `/proc/<tid>/status`.
fn tgid(tid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .and_then(|v| v.trim().parse().ok())
}

/// `(ppid, start time)` of a process, from `/proc/<pid>/stat`.
fn stat(p: u32) -> Option<(u32, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{p}/stat")).ok()?;
    let rest = s.rsplit(')').next()?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state(0) ppid(1) ... starttime is field 22 of stat, index 19 here.
    Some((fields.get(1)?.parse().ok()?, fields.get(19)?.parse().ok()?))
}

/// The process and its ancestors up to the sandbox's init: (pid, command line), read while the
/// caller is stopped. Exec records fill in for processes that already exited; a process whose
/// parents are gone (a double-forked daemon, now a child of init) keeps the ancestry it had
/// when first seen. Ancestries are cached per process (pid and start time) until it execs.
fn ancestry(pid: u32, execs: &Execs, known: &mut HashMap<(u32, u64), Chain>) -> Chain {
    let me = stat(pid);
    if let Some(c) = me.and_then(|(_, start)| known.get(&(pid, start))) {
        return c.clone();
    }
    let mut chain: Chain = Vec::new();
    let mut keys = Vec::new();
    let mut p = pid;
    let mut st = me;
    for _ in 0..32 {
        if p <= 1 {
            break;
        }
        // The kernel's executable link, not the command line the process may have rewritten.
        let exe = std::fs::read_link(format!("/proc/{p}/exe"))
            .ok()
            .map(|e| e.to_string_lossy().into_owned());
        // A thread (a proc-macro's worker in rustc) has the exec record of its process.
        let argv = match (&exe, execs.0.get(&p).or_else(|| execs.0.get(&tgid(p)?))) {
            (Some(e), Some((recorded, argv))) if e == recorded => argv.clone(),
            _ => Vec::new(),
        };
        chain.push(ChainLink { pid: p, exe, argv });
        keys.push(st.map(|(_, start)| (p, start)));
        let ppid = st.map_or(0, |(pp, _)| pp);
        if ppid <= 1 {
            // Orphaned (or init's own child): continue with what was known before.
            let before = st
                .and_then(|(_, start)| known.get(&(p, start)))
                .filter(|k| k.len() > 1)
                .cloned();
            if let Some(before) = before {
                chain.extend(before[1..].iter().cloned());
            }
            break;
        }
        p = ppid;
        st = stat(p);
    }
    // A fork that has not exec'd runs its parent's program with its parent's arguments.
    for i in (0..chain.len().saturating_sub(1)).rev() {
        if chain[i].argv.is_empty() && chain[i].exe.is_some() && chain[i].exe == chain[i + 1].exe {
            chain[i].argv = chain[i + 1].argv.clone();
        }
    }
    for (i, key) in keys.into_iter().enumerate() {
        if let Some(k) = key {
            known.entry(k).or_insert_with(|| chain[i..].to_vec());
        }
    }
    chain
}

/// The DNS sinkhole's socket (bound while the init still may bind port 53).
pub(super) fn sinkhole_socket() -> std::io::Result<std::net::UdpSocket> {
    std::net::UdpSocket::bind("127.0.0.1:53")
}

/// Answers every query on the sandbox's loopback with NXDOMAIN and logs it.
pub(super) fn sinkhole(socket: std::net::UdpSocket, log: Log) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            let time_ns = now_ns();
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
                    pid: 0,
                    syscall: "dns-query".into(),
                    dest: Some(from.to_string()),
                    payloads: vec![hex(&buf[..n])],
                    ..MonitorEvent::default()
                },
            );
        }
    });
}

/// The events channel: the pipe to cargo-reflex that only the init holds.
pub(super) fn event_log(fd: RawFd) -> Log {
    // SAFETY: the descriptor was handed to the init by its parent and is owned from here on.
    Arc::new(Mutex::new(unsafe { File::from_raw_fd(fd) }))
}
