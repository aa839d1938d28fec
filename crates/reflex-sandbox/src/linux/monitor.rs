//! The build monitor: a seccomp user-notification filter on the command reports every
//! `execve`, `connect` and `send*` of every process of the build to the sandbox's init, which
//! records it (with the process's ancestry, read while the caller is stopped) as a JSON line and
//! lets the call continue: the sandbox's other layers decide what succeeds. A DNS sinkhole on the
//! sandbox's loopback answers every query with NXDOMAIN and logs it.

use crate::MonitorEvent;
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

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// Open flags that mean writing.
const WRITE_FLAGS: u32 =
    (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC | libc::O_APPEND) as u32;

/// A BPF instruction whose jumps name their targets (resolved by [`assemble`]).
enum Ins {
    Load(u32),
    /// Jump to the label if the accumulator equals the value.
    JumpIfEq(u32, &'static str),
    Ret(u32),
    Label(&'static str),
}

fn assemble(code: &[Ins]) -> Vec<libc::sock_filter> {
    let mut at = std::collections::HashMap::new();
    let mut n = 0usize;
    for i in code {
        match i {
            Ins::Label(l) => {
                at.insert(*l, n);
            }
            _ => n += 1,
        }
    }
    let mut out = Vec::new();
    for i in code {
        let here = out.len();
        let off = |l: &str| (at[l] - here - 1) as u8;
        let f = |code: u32, jt: u8, k: u32| libc::sock_filter {
            code: code as u16,
            jt,
            jf: 0,
            k,
        };
        match i {
            Ins::Label(_) => continue,
            Ins::Load(k) => out.push(f(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, *k)),
            Ins::JumpIfEq(k, l) => {
                out.push(f(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, off(l), *k))
            }
            Ins::Ret(k) => out.push(f(libc::BPF_RET | libc::BPF_K, 0, *k)),
        }
    }
    out
}

/// Installs the notification filter on the calling process (the command, before it execs)
/// and returns the listener descriptor. Every open notifies: the supervisor reads the path and
/// records writes outside the expected places and reads of sensitive files.
pub(super) fn install() -> std::io::Result<RawFd> {
    use Ins::*;
    let mut code = vec![
        Load(4),
        JumpIfEq(AUDIT_ARCH, "native"),
        Ret(libc::SECCOMP_RET_ALLOW),
        Label("native"),
        Load(0),
    ];
    for (nr, _) in WATCHED.iter().chain(OPENS) {
        code.push(JumpIfEq(*nr as u32, "notify"));
    }
    code.extend([
        Ret(libc::SECCOMP_RET_ALLOW),
        Label("notify"),
        Ret(libc::SECCOMP_RET_USER_NOTIF),
    ]);
    let mut prog = assemble(&code);
    let fprog = libc::sock_fprog {
        len: prog.len() as u16,
        filter: prog.as_mut_ptr(),
    };
    // SAFETY: a valid BPF program; no_new_privs is already set by Landlock.
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
pub(super) fn supervise(listener: OwnedFd, log: Log, config: crate::MonitorConfig) {
    let mut connected: HashMap<(u32, u64), String> = HashMap::new();
    let mut execs: HashMap<u32, Vec<String>> = HashMap::new();
    let mut known: HashMap<(u32, u64), Chain> = HashMap::new();
    let mut mem = Mem::default();
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
        let open = OPENS.iter().any(|(nr, _)| *nr == req.data.nr as i64);
        // Writes where a build writes (target, tmp, devices) and reads of ordinary files are
        // answered without a record.
        let ev = if open {
            opened_path(&req, &mut mem, &config).map(|(path, name)| {
                let mut ev = MonitorEvent {
                    time_ns,
                    pid: req.pid,
                    syscall: name.to_string(),
                    path: Some(path),
                    ..MonitorEvent::default()
                };
                ev.chain = ancestry(req.pid, &execs, &mut known);
                ev
            })
        } else {
            Some(describe(
                &req,
                time_ns,
                &mut mem,
                &mut connected,
                &mut execs,
                &mut known,
            ))
        };
        let resp = libc::seccomp_notif_resp {
            id: req.id,
            val: 0,
            error: 0,
            flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
        };
        // SAFETY: NOTIF_SEND with the id we received; ENOENT (caller gone) is fine.
        unsafe {
            libc::ioctl(listener.as_raw_fd(), libc::SECCOMP_IOCTL_NOTIF_SEND, &resp);
        }
        if let Some(ev) = ev {
            emit(&log, &ev);
        }
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
    execs: &mut HashMap<u32, Vec<String>>,
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
            // PATH lookups try several directories; only the one that exists runs.
            ev.missing = !std::path::Path::new(&file).exists();
            ev.path = Some(file);
            let mut args = Vec::new();
            for i in 0..256u64 {
                let p = mem.u64_at(pid, argv + i * 8);
                if p == 0 {
                    break;
                }
                args.push(mem.string(pid, p));
            }
            execs.insert(pid, args.clone());
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

type Chain = Vec<(u32, Vec<String>)>;

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
fn ancestry(
    pid: u32,
    execs: &HashMap<u32, Vec<String>>,
    known: &mut HashMap<(u32, u64), Chain>,
) -> Chain {
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
        let argv: Vec<String> = std::fs::read(format!("/proc/{p}/cmdline"))
            .ok()
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .filter(|v: &Vec<String>| !v.is_empty())
            .or_else(|| execs.get(&p).cloned())
            .unwrap_or_default();
        chain.push((p, argv));
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

pub(super) fn open_log(path: &std::path::Path) -> std::io::Result<Log> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    Ok(Arc::new(Mutex::new(f)))
}
