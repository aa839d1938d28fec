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

use crate::{CallOutcome, ChainLink, MonitorEvent};
use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileExt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

const WATCHED: &[(i64, &str)] = &[
    (libc::SYS_execve, "execve"),
    (libc::SYS_execveat, "execveat"),
    (libc::SYS_connect, "connect"),
    (libc::SYS_sendto, "sendto"),
    (libc::SYS_sendmsg, "sendmsg"),
    (libc::SYS_sendmmsg, "sendmmsg"),
];

/// Environment variables that make a program load code it was not built with (the dynamic
/// loader's preload, audit and library path; glibc's iconv modules; where gcc looks for the
/// programs it runs). `COMPILER_PATH` is not one: gcc sets it for collect2 itself.
const LOADER_VARS: &[&str] = &[
    "LD_PRELOAD",
    "LD_AUDIT",
    "LD_LIBRARY_PATH",
    "LD_ORIGIN_PATH",
    "GCONV_PATH",
    "GCC_EXEC_PREFIX",
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
/// allowlist); when `monitoring`, execs, every open, rename, link, symlink and truncate do too
/// (the supervisor resolves the path and records writes outside the expected places or into
/// another crate's build outputs, and reads of sensitive files). Foreign ABIs
/// are killed and TIOCSTI/TIOCLINUX and PR_SET_MM refused here as well, so that observe-only
/// monitoring (which has no other filter) cannot be blinded or its terminal typed into.
pub(super) fn install(monitoring: bool) -> std::io::Result<RawFd> {
    use super::bpf::{Ins::*, *};
    use reflex_sandbox_contract::syscalls::{PR_SET_MM, TIOCLINUX, TIOCSTI};
    let mut code = abi_guard();
    code.extend([
        JumpIfEq(libc::SYS_ioctl as u32, "ioctl"),
        JumpIfEq(libc::SYS_prctl as u32, "prctl"),
        // Calls whose effects no notification would show (io_uring's own reads, connects and
        // sends; memory the supervisor cannot read): refused even when observing only.
        JumpIfEq(libc::SYS_io_uring_setup as u32, "eperm"),
        JumpIfEq(libc::SYS_memfd_secret as u32, "eperm"),
    ]);
    for nr in SENDS {
        code.push(JumpIfEq(*nr as u32, "notify"));
    }
    if monitoring {
        for (nr, _) in WATCHED.iter().chain(OPENS).chain(FS_CHANGES) {
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

    /// The first `len` bytes at each of `addrs`: one `process_vm_readv` for many strings (an
    /// exec's environment), each read on its own only where that call stopped short.
    fn gather(&mut self, pid: u32, addrs: &[u64], len: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(addrs.len());
        for chunk in addrs.chunks(512) {
            let mut bufs = vec![vec![0u8; len]; chunk.len()];
            let local: Vec<libc::iovec> = bufs
                .iter_mut()
                .map(|b| libc::iovec {
                    iov_base: b.as_mut_ptr().cast(),
                    iov_len: len,
                })
                .collect();
            let remote: Vec<libc::iovec> = chunk
                .iter()
                .map(|a| libc::iovec {
                    iov_base: *a as *mut libc::c_void,
                    iov_len: len,
                })
                .collect();
            // SAFETY: every local iovec points into a buffer of `len` bytes we own; the remote
            // ones are only read by the kernel, in the stopped caller.
            let n = unsafe {
                libc::process_vm_readv(
                    pid as libc::pid_t,
                    local.as_ptr(),
                    local.len() as libc::c_ulong,
                    remote.as_ptr(),
                    remote.len() as libc::c_ulong,
                    0,
                )
            };
            let whole = if n < 0 { 0 } else { n as usize / len.max(1) };
            for (i, b) in bufs.iter_mut().enumerate().skip(whole) {
                *b = self.read(pid, chunk[i], len);
            }
            out.extend(bufs);
        }
        out
    }

    /// Forgets a process about to exec (a vforked child still shares its parent's memory).
    fn forget(&mut self, pid: u32) {
        self.files.remove(&pid);
    }
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
pub(super) fn supervise(listener: OwnedFd, sup: Supervision) {
    let mut s = Supervisor::new(sup);
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
        // A socket that reaches the DNS sinkhole is registered before anything is sent on it
        // (the gate may send it itself).
        s.register_resolver(&req);
        // The event is read before the gate acts (the same memory the gate copies).
        let gate = s.gate(&req);
        let refused = matches!(gate, super::unix_gate::Gate::Refuse(_));
        let ev = if s.sup.log.is_some() {
            s.event(&req, time_ns, refused)
        } else {
            None
        };
        let resp = match gate {
            super::unix_gate::Gate::Refuse(errno) => libc::seccomp_notif_resp {
                id: req.id,
                val: 0,
                error: -errno,
                flags: 0,
            },
            super::unix_gate::Gate::Done(r) if r < 0 => libc::seccomp_notif_resp {
                id: req.id,
                val: 0,
                error: r as i32,
                flags: 0,
            },
            super::unix_gate::Gate::Done(r) => libc::seccomp_notif_resp {
                id: req.id,
                val: r,
                error: 0,
                flags: 0,
            },
            super::unix_gate::Gate::Continue => libc::seccomp_notif_resp {
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
        if let (Some(log), Some(ev)) = (&s.sup.log, ev) {
            emit(log, &ev);
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

/// The sentinel that ends an ancestry the supervisor lost (a process adopted by the init
/// before its first call was seen): never the command, so never cargo.
const LOST: ChainLink = ChainLink {
    pid: 0,
    exe: None,
    argv: Vec::new(),
};

struct Supervisor {
    sup: Supervision,
    mem: Mem,
    /// `(process, fd)` -> where the socket was connected.
    connected: HashMap<(u32, u64), String>,
    procs: Procs,
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
    fn new(sup: Supervision) -> Supervisor {
        let mut procs = Procs::default();
        if let Some((_, start)) = stat(sup.command) {
            procs.command = (sup.command, start);
            // Before its exec the command is the init's fork (the baseline).
            if let Ok(me) = std::fs::canonicalize("/proc/self/exe") {
                procs.execs.insert(
                    (sup.command, start),
                    (
                        me.to_string_lossy().into_owned(),
                        vec![crate::INIT_ARG.to_string()],
                    ),
                );
            }
        }
        let monitoring = sup.log.is_some();
        Supervisor {
            secrets: if monitoring {
                Secrets::new(&sup.config)
            } else {
                Secrets::default()
            },
            quiet: with_canonical(&sup.config.quiet_writes),
            watched: with_canonical(&sup.config.watched_writes),
            guarded: with_canonical(&sup.config.guarded_writes),
            sup,
            mem: Mem::default(),
            connected: HashMap::new(),
            procs,
        }
    }

    fn enforcing(&self) -> bool {
        self.sup.unix_sockets.is_some()
    }

    /// The sandbox's decision: connect or send to a pathname Unix socket off the allowlist.
    /// What the sandbox answers a connect or send: carried out by the supervisor on a copy of
    /// the address it judged, refused, or left to the kernel (see [`super::unix_gate`]).
    fn gate(&mut self, req: &libc::seccomp_notif) -> super::unix_gate::Gate {
        use super::unix_gate::{Gate, decide};
        let nr = req.data.nr as i64;
        let Some(allow) = self.sup.unix_sockets.as_ref() else {
            return Gate::Continue;
        };
        if !SENDS.contains(&nr) {
            return Gate::Continue;
        }
        let pid = req.pid;
        let mem = &mut self.mem;
        decide(
            pid,
            nr,
            &req.data.args,
            &mut |a, n| mem.read(pid, a, n),
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
            self.open(req)?
        } else if let Some((_, name)) = FS_CHANGES.iter().find(|(n, _)| *n == nr) {
            self.fs_change(req, name)?
        } else {
            self.describe(req)
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
            ev.chain = self.procs.chain(req.pid);
        }
        if refused {
            ev.outcome = CallOutcome::Denied;
        } else if let Some(dest) = ev.dest.clone() {
            ev.outcome = self.network_outcome(req.pid, &dest);
        }
        Some(ev)
    }

    /// What became of a connect or send: refused by the sandbox (no route out; the sinkhole
    /// answers DNS), failed (nothing listens on that loopback port, no such socket file), or
    /// let through.
    fn network_outcome(&self, tid: u32, dest: &str) -> CallOutcome {
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

    /// The process `tid` belongs to.
    fn tgid_of(&mut self, tid: u32) -> u32 {
        self.procs.identity(tid).map_or(tid, |i| i.0)
    }

    /// `path` as the kernel reads it for the caller: `/proc/self` and `/dev/fd` made the
    /// caller's, relative paths joined to its working directory or `dirfd`.
    fn absolute(&self, tid: u32, dirfd: i32, path: &str) -> Option<PathBuf> {
        let t = translate(path, tid);
        let p = Path::new(t.as_ref());
        if p.is_absolute() {
            return Some(p.to_path_buf());
        }
        let base = if dirfd == libc::AT_FDCWD {
            std::fs::read_link(format!("/proc/{tid}/cwd")).ok()?
        } else {
            std::fs::read_link(format!("/proc/{tid}/fd/{dirfd}")).ok()?
        };
        Some(base.join(p))
    }

    /// Where a path the caller names leads (symlinks and `/proc` links followed in its view).
    fn resolve(&self, tid: u32, dirfd: i32, path: &str, follow: bool) -> Option<Target> {
        let start = self.absolute(tid, dirfd, path)?;
        Some(walk(&start, follow, tid))
    }

    fn open(&mut self, req: &libc::seccomp_notif) -> Option<MonitorEvent> {
        let tid = req.pid;
        let a = req.data.args;
        let nr = req.data.nr as i64;
        let (dirfd, path_ptr, flags) = match nr {
            n if n == libc::SYS_openat => (a[0] as i32, a[1], a[2] as u32),
            n if n == libc::SYS_openat2 => {
                // struct open_how { u64 flags; ... }
                (a[0] as i32, a[1], self.mem.u64_at(tid, a[2]) as u32)
            }
            #[cfg(target_arch = "x86_64")]
            n if n == libc::SYS_creat => (libc::AT_FDCWD, a[0], libc::O_CREAT as u32),
            _ => (libc::AT_FDCWD, a[0], a[1] as u32),
        };
        let write = flags & WRITE_FLAGS != 0;
        if !write && flags & libc::O_PATH as u32 != 0 {
            // Reads nothing; a reopen through /proc/self/fd/N is judged when it comes.
            return None;
        }
        let raw = self.mem.string(tid, path_ptr);
        let nofollow = flags & libc::O_NOFOLLOW as u32 != 0
            || (flags & libc::O_CREAT as u32 != 0 && flags & libc::O_EXCL as u32 != 0);
        if write {
            self.write_open(tid, dirfd, &raw, nofollow)
        } else {
            self.read_open(tid, dirfd, &raw, nofollow)
        }
    }

    /// A read is recorded when it opens a sensitive file, however it is named. Most opens
    /// are answered after one `stat` in the caller's view (through `/proc/<tid>/cwd` or the
    /// `dirfd` for relative paths): a regular file that is not one of the sensitive files
    /// found at start (by device and inode, so a symlink or another name changes nothing),
    /// outside `/proc`, is not recorded. Names that look sensitive, `/proc` paths and
    /// devices (a hidden file is `/dev/null` mounted over it) are resolved component by
    /// component and judged by the path actually opened.
    fn read_open(
        &mut self,
        tid: u32,
        dirfd: i32,
        raw: &str,
        nofollow: bool,
    ) -> Option<MonitorEvent> {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let named = crate::may_be_sensitive(Path::new(raw), &self.secrets.extra)
            || raw.starts_with("/proc/");
        let t = translate(raw, tid);
        let via = if t.starts_with('/') {
            PathBuf::from(t.as_ref())
        } else if dirfd == libc::AT_FDCWD {
            Path::new(&format!("/proc/{tid}/cwd")).join(t.as_ref())
        } else {
            Path::new(&format!("/proc/{tid}/fd/{dirfd}")).join(t.as_ref())
        };
        let md = if nofollow {
            std::fs::symlink_metadata(&via)
        } else {
            std::fs::metadata(&via)
        };
        let (path, outcome) = match md {
            Err(_) => {
                // Nothing there: an attempt on a sensitive name still says something.
                if !named {
                    return None;
                }
                let p = normal(&self.absolute(tid, dirfd, raw)?);
                (p, CallOutcome::Failed)
            }
            Ok(md) => {
                if md.is_dir() {
                    return None;
                }
                let known = self.secrets.knows(&md);
                let odd = md.dev() == self.secrets.proc_dev || !md.is_file();
                if !(known || odd || named) {
                    return None;
                }
                let p = match self.resolve(tid, dirfd, raw, !nofollow)? {
                    Target::Path(p) | Target::Missing(p) => p,
                    Target::Special(_) => return None,
                };
                if !known && !crate::is_sensitive(&p, &self.secrets.extra) {
                    return None;
                }
                // A hidden file is /dev/null mounted over it: the sandbox kept it. The init
                // (the supervisor's process) is not dumpable: its environment cannot be read.
                let hidden = md.file_type().is_char_device() && md.rdev() == self.secrets.devnull;
                let init = p.starts_with(format!("/proc/{}", std::process::id()));
                let outcome = if hidden || init {
                    CallOutcome::Denied
                } else {
                    CallOutcome::Allowed
                };
                (p, outcome)
            }
        };
        Some(MonitorEvent {
            syscall: "open-read".into(),
            path: Some(path.display().to_string()),
            outcome,
            ..MonitorEvent::default()
        })
    }

    fn write_open(
        &mut self,
        tid: u32,
        dirfd: i32,
        raw: &str,
        nofollow: bool,
    ) -> Option<MonitorEvent> {
        let path = match self.resolve(tid, dirfd, raw, !nofollow)? {
            Target::Path(p) | Target::Missing(p) => p,
            // A pipe, a socket, a memfd: no file.
            Target::Special(_) => return None,
        };
        let (chain, alias) = match self.write_verdict(tid, &path) {
            Some(chain) => (chain, None),
            None => {
                let (other, chain) = self.alias(tid, &path)?;
                (chain, Some(other))
            }
        };
        Some(MonitorEvent {
            syscall: "open-write".into(),
            outcome: writable_outcome(&path),
            path: Some(path.display().to_string()),
            path2: alias.map(|a| a.display().to_string()),
            chain,
            ..MonitorEvent::default()
        })
    }

    /// Where in a target directory `path` lies when that is a build output or an artifact,
    /// or a directory holding them (a unit's `build/<crate>-<hash>` directory, a profile
    /// directory, the target directory itself: renaming one replaces all it holds).
    fn guarded_area(&self, path: &Path) -> Option<reflex_sandbox_contract::target::Area> {
        use reflex_sandbox_contract::target::{Area, area};
        self.guarded.iter().find_map(|t| {
            let found = area(t, path)?;
            if found.is_guarded() {
                return Some(found);
            }
            if path == t {
                return Some(Area::Final);
            }
            if path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n == "build")
                && let Some(Area::BuildOutput { krate, dir }) = area(t, &path.join("output"))
                && dir == path
            {
                return Some(Area::BuildOutput { krate, dir });
            }
            let depth = path.strip_prefix(t).map_or(0, |r| r.components().count());
            (depth <= 2 && area(t, &path.join("deps/x.rlib")) == Some(Area::Deps))
                .then_some(Area::Final)
        })
    }

    /// A write that would not be recorded by where it lands, to a file with more than one
    /// name (a hard link): another name of it among a target directory's build outputs and
    /// artifacts that the writer does not make, with the writer's ancestry. A link made into
    /// the writer's own `OUT_DIR` (or a temporary directory) writes the other crate's file.
    fn alias(&mut self, tid: u32, path: &Path) -> Option<(PathBuf, Chain)> {
        use std::os::unix::fs::MetadataExt;
        if self.guarded.is_empty() {
            return None;
        }
        let m = std::fs::symlink_metadata(path).ok()?;
        if !m.is_file() || m.nlink() < 2 {
            return None;
        }
        let chain = self.procs.chain(tid);
        for t in &self.guarded {
            if std::fs::metadata(t).map(|tm| tm.dev()).ok() != Some(m.dev()) {
                continue;
            }
            for other in other_names(t, (m.dev(), m.ino()), path) {
                if let Some(area) = reflex_sandbox_contract::target::area(t, &other)
                    .filter(reflex_sandbox_contract::target::Area::is_guarded)
                    && !reflex_sandbox_contract::target::makes(&chain, &area, &other)
                {
                    return Some((other, chain));
                }
            }
        }
        None
    }

    /// Whether a write to `path` (resolved) is recorded (with the writer's ancestry when it
    /// was needed to decide): outside the quiet places
    /// (the most specific configured prefix decides), or into a target directory's build
    /// outputs and artifacts by a process that does not make them
    /// ([`makes`](reflex_sandbox_contract::target::makes)). Writes to
    /// the caller's own `/proc` entries (thread names) are quiet, except its memory.
    fn write_verdict(&mut self, tid: u32, path: &Path) -> Option<Chain> {
        if let Ok(rest) = path.strip_prefix("/proc") {
            let mut parts = rest.components();
            let own = parts
                .next()
                .and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok())
                .is_some_and(|p| p == tid || p == self.tgid_of(tid));
            if own && path.file_name().is_some_and(|n| n != "mem") {
                return None;
            }
            return Some(Vec::new());
        }
        if let Some(area) = self.guarded_area(path) {
            let chain = self.procs.chain(tid);
            if !reflex_sandbox_contract::target::makes(&chain, &area, path) {
                return Some(chain);
            }
        }
        let depth = |set: &[PathBuf]| {
            set.iter()
                .filter(|p| path.starts_with(p))
                .map(|p| p.components().count())
                .max()
        };
        match (depth(&self.quiet), depth(&self.watched)) {
            (Some(q), Some(w)) if q >= w => None,
            (Some(_), None) => None,
            _ => Some(Vec::new()),
        }
    }

    /// Whether `path` is one of the sensitive files (by name or by identity).
    fn secret(&self, path: &Path) -> bool {
        crate::is_sensitive(path, &self.secrets.extra)
            || std::fs::metadata(path).is_ok_and(|m| self.secrets.knows(&m))
    }

    /// rename, link, symlink, truncate: recorded when the place written is (see
    /// [`Supervisor::write_verdict`]), when a rename moves a file out of such a place, and
    /// when a link or symlink makes a sensitive file reachable under another name.
    fn fs_change(&mut self, req: &libc::seccomp_notif, name: &str) -> Option<MonitorEvent> {
        let tid = req.pid;
        let a = req.data.args;
        let at = |fd: u64| fd as i32;
        let path_of = |t: Target| match t {
            Target::Path(p) | Target::Missing(p) => Some(p),
            Target::Special(_) => None,
        };
        let mut ev = MonitorEvent::default();
        let (syscall, src, dst, judged) = match name {
            "rename" | "renameat" | "renameat2" => {
                let (od, op, nd, np) = if name == "rename" {
                    (libc::AT_FDCWD, a[0], libc::AT_FDCWD, a[1])
                } else {
                    (at(a[0]), a[1], at(a[2]), a[3])
                };
                let (old, new) = (self.mem.string(tid, op), self.mem.string(tid, np));
                let src = path_of(self.resolve(tid, od, &old, false)?)?;
                let dst = path_of(self.resolve(tid, nd, &new, false)?)?;
                let judged = match self.write_verdict(tid, &dst) {
                    Some(v) => Some(v),
                    None => self.write_verdict(tid, &src),
                };
                let judged = judged.or_else(|| self.secret(&src).then(Vec::new));
                ("rename", Some(src), dst, judged)
            }
            "link" | "linkat" => {
                let (od, op, nd, np, flags) = if name == "link" {
                    (libc::AT_FDCWD, a[0], libc::AT_FDCWD, a[1], 0)
                } else {
                    (at(a[0]), a[1], at(a[2]), a[3], a[4] as i32)
                };
                let (old, new) = (self.mem.string(tid, op), self.mem.string(tid, np));
                let src = if old.is_empty() && flags & libc::AT_EMPTY_PATH != 0 {
                    std::fs::read_link(format!("/proc/{tid}/fd/{od}")).ok()?
                } else {
                    path_of(self.resolve(tid, od, &old, flags & libc::AT_SYMLINK_FOLLOW != 0)?)?
                };
                let dst = path_of(self.resolve(tid, nd, &new, false)?)?;
                // Judged like a rename's source too: a second name for another crate's build
                // output or an artifact is a way to write it from a quiet place.
                let judged = self
                    .write_verdict(tid, &dst)
                    .or_else(|| self.source_verdict(tid, &src))
                    .or_else(|| self.secret(&src).then(Vec::new));
                ("link", Some(src), dst, judged)
            }
            "symlink" | "symlinkat" => {
                let (tp, nd, np) = if name == "symlink" {
                    (a[0], libc::AT_FDCWD, a[1])
                } else {
                    (a[0], at(a[1]), a[2])
                };
                let (target, new) = (self.mem.string(tid, tp), self.mem.string(tid, np));
                let dst = path_of(self.resolve(tid, nd, &new, false)?)?;
                // Where the link will lead, from where it is made.
                let t = translate(&target, tid);
                let start = if t.starts_with('/') {
                    PathBuf::from(t.as_ref())
                } else {
                    dst.parent().unwrap_or(Path::new("/")).join(t.as_ref())
                };
                let src = match walk(&start, true, tid) {
                    Target::Path(p) | Target::Missing(p) => p,
                    Target::Special(s) => PathBuf::from(s),
                };
                let judged = self
                    .write_verdict(tid, &dst)
                    .or_else(|| self.secret(&src).then(Vec::new));
                ("symlink", Some(src), dst, judged)
            }
            "truncate" => {
                let raw = self.mem.string(tid, a[0]);
                let p = path_of(self.resolve(tid, libc::AT_FDCWD, &raw, true)?)?;
                self.truncated(tid, p)
            }
            _ => {
                // ftruncate(fd): the file the descriptor holds.
                let p = std::fs::read_link(format!("/proc/{tid}/fd/{}", a[0] as i32)).ok()?;
                if !p.is_absolute() || p.to_string_lossy().ends_with(" (deleted)") {
                    return None;
                }
                self.truncated(tid, p)
            }
        };
        let chain = judged?;
        ev.syscall = syscall.into();
        ev.outcome = writable_outcome(&dst);
        ev.chain = chain;
        match src {
            Some(src) => {
                ev.path = Some(src.display().to_string());
                ev.path2 = Some(dst.display().to_string());
            }
            None => ev.path = Some(dst.display().to_string()),
        }
        Some(ev)
    }

    /// A link's source in a target directory's build outputs or artifacts that the caller
    /// does not make: recorded, with its ancestry.
    fn source_verdict(&mut self, tid: u32, src: &Path) -> Option<Chain> {
        let area = self.guarded_area(src)?;
        let chain = self.procs.chain(tid);
        (!reflex_sandbox_contract::target::makes(&chain, &area, src)).then_some(chain)
    }

    /// A truncate of `p`, judged by where it lands or, failing that, by another name of the
    /// file (a hard link: then the event's second path).
    #[allow(clippy::type_complexity)]
    fn truncated(
        &mut self,
        tid: u32,
        p: PathBuf,
    ) -> (&'static str, Option<PathBuf>, PathBuf, Option<Chain>) {
        match self.write_verdict(tid, &p) {
            Some(chain) => ("truncate", None, p, Some(chain)),
            None => match self.alias(tid, &p) {
                Some((other, chain)) => ("truncate", Some(p), other, Some(chain)),
                None => ("truncate", None, p, None),
            },
        }
    }

    fn describe(&mut self, req: &libc::seccomp_notif) -> MonitorEvent {
        let tid = req.pid;
        let a = req.data.args;
        let name = WATCHED
            .iter()
            .find(|(nr, _)| *nr == req.data.nr as i64)
            .map_or("unknown", |(_, n)| n);
        let mut ev = MonitorEvent {
            syscall: name.to_string(),
            ..MonitorEvent::default()
        };
        match name {
            "execve" | "execveat" => {
                let (path, argv, envp) = if name == "execve" {
                    (a[0], a[1], a[2])
                } else {
                    (a[1], a[2], a[3])
                };
                let file = self.mem.string(tid, path);
                let dirfd = if name == "execve" {
                    libc::AT_FDCWD
                } else {
                    a[0] as i32
                };
                let empty_path =
                    name == "execveat" && a[4] & libc::AT_EMPTY_PATH as u64 != 0 && file.is_empty();
                let resolved = self.exec_target(tid, dirfd, &file, empty_path);
                let mut args = Vec::new();
                for i in 0..256u64 {
                    let p = self.mem.u64_at(tid, argv + i * 8);
                    if p == 0 {
                        break;
                    }
                    args.push(self.mem.string(tid, p));
                }
                // Seen before the exec: the chain is the caller's as it is now.
                ev.chain = self.procs.chain(tid);
                // PATH lookups try several directories; only the one that exists runs.
                ev.missing = resolved.is_none();
                match resolved {
                    Some(r) => {
                        ev.fileless = r.fileless;
                        ev.outcome = r.outcome;
                        ev.path = Some(r.path);
                        self.procs.exec(tid, r.runs, args.clone());
                    }
                    None => ev.path = Some(file),
                }
                ev.argv = args;
                ev.env = self.loader_env(tid, envp);
                self.mem.forget(tid);
            }
            "connect" => {
                let pid = self.tgid_of(tid);
                let dest = sockaddr(&self.mem.read(tid, a[1], (a[2] as usize).min(128)));
                if let Some(d) = &dest {
                    self.connected.insert((pid, a[0]), d.clone());
                }
                ev.dest = dest;
            }
            "sendto" => {
                let pid = self.tgid_of(tid);
                ev.dest = sockaddr(&self.mem.read(tid, a[4], (a[5] as usize).min(128)))
                    .or_else(|| self.connected.get(&(pid, a[0])).cloned());
                ev.payloads
                    .push(hex(&self.mem.read(tid, a[1], (a[2] as usize).min(512))));
            }
            "sendmsg" | "sendmmsg" => {
                let pid = self.tgid_of(tid);
                let (base, count, stride) = if name == "sendmsg" {
                    (a[1], 1, 56)
                } else {
                    (a[1], a[2].min(16), 64)
                };
                for i in 0..count {
                    let h = base + i * stride;
                    let name_ptr = self.mem.u64_at(tid, h);
                    let name_len = self.mem.u64_at(tid, h + 8) & 0xffff_ffff;
                    let iov = self.mem.u64_at(tid, h + 16);
                    if ev.dest.is_none() && name_ptr != 0 {
                        ev.dest =
                            sockaddr(&self.mem.read(tid, name_ptr, (name_len as usize).min(128)));
                    }
                    let (ptr, len) = (self.mem.u64_at(tid, iov), self.mem.u64_at(tid, iov + 8));
                    ev.payloads
                        .push(hex(&self.mem.read(tid, ptr, (len as usize).min(512))));
                }
                if ev.dest.is_none() {
                    ev.dest = self.connected.get(&(pid, a[0])).cloned();
                }
            }
            _ => {}
        }
        ev
    }

    /// A connect or send to the DNS sinkhole: the caller's socket and ancestry are registered
    /// before the call goes on (so before any query it carries can arrive), for the sinkhole
    /// to name who sent each query it hears (see [`super::resolvers`]). A send without an
    /// address goes where the socket was connected (registered then).
    fn register_resolver(&mut self, req: &libc::seccomp_notif) {
        let (tid, a, nr) = (req.pid, req.data.args, req.data.nr as i64);
        if !SENDS.contains(&nr) {
            return;
        }
        let Some(shared) = self.sup.resolvers.clone() else {
            return;
        };
        let dest = match nr {
            n if n == libc::SYS_connect => {
                sockaddr(&self.mem.read(tid, a[1], (a[2] as usize).min(128)))
            }
            n if n == libc::SYS_sendto && a[4] != 0 => {
                sockaddr(&self.mem.read(tid, a[4], (a[5] as usize).min(128)))
            }
            n if n == libc::SYS_sendmsg || n == libc::SYS_sendmmsg => {
                let name = self.mem.u64_at(tid, a[1]);
                let len = self.mem.u64_at(tid, a[1] + 8) & 0xffff_ffff;
                (name != 0)
                    .then(|| sockaddr(&self.mem.read(tid, name, (len as usize).min(128))))
                    .flatten()
            }
            _ => None,
        };
        if !dest.as_deref().is_some_and(super::resolvers::is_sinkhole) {
            return;
        }
        let Some(socket) = super::resolvers::take_socket(self.tgid_of(tid), a[0] as RawFd) else {
            return;
        };
        let chain = self.procs.chain(tid);
        shared
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .add(socket, (tid, chain));
    }

    /// The dangerous loader variables an exec hands the new program (see [`LOADER_VARS`]),
    /// from its `envp` in the stopped caller: the first bytes of every variable in one read,
    /// the whole of the few that matter. `LD_LIBRARY_PATH` only when a directory in it lies in
    /// a target directory outside `deps/` (cargo puts `deps/` there for every rustc; writes
    /// there are guarded): anything else in a target directory is the build's to fill.
    fn loader_env(&mut self, tid: u32, envp: u64) -> Vec<String> {
        let mut ptrs = Vec::new();
        if envp != 0 {
            'read: for chunk in 0..64u64 {
                let b = self.mem.read(tid, envp + chunk * 512, 512);
                for w in b.chunks_exact(8) {
                    let p = u64::from_ne_bytes(w.try_into().unwrap_or([0; 8]));
                    if p == 0 {
                        break 'read;
                    }
                    ptrs.push(p);
                }
                if b.len() < 512 {
                    break;
                }
            }
        }
        let longest = LOADER_VARS.iter().map(|v| v.len() + 1).max().unwrap_or(1);
        let heads = self.mem.gather(tid, &ptrs, longest);
        let mut out = Vec::new();
        for (p, head) in ptrs.iter().zip(heads) {
            let Some(var) = LOADER_VARS
                .iter()
                .find(|v| head.starts_with(v.as_bytes()) && head.get(v.len()) == Some(&b'='))
            else {
                continue;
            };
            let full = self.mem.string(tid, *p);
            if *var == "LD_LIBRARY_PATH" && !self.reaches_target(tid, &full[var.len() + 1..]) {
                continue;
            }
            out.push(full);
        }
        out
    }

    /// Whether a library path (`:` or `;` separated, relative entries from the caller's
    /// working directory) names a directory in a target directory other than a `deps/`.
    fn reaches_target(&self, tid: u32, list: &str) -> bool {
        list.split([':', ';']).any(|entry| {
            let entry = if entry.is_empty() { "." } else { entry };
            let Some(abs) = self.absolute(tid, libc::AT_FDCWD, entry) else {
                return false;
            };
            let dir = match walk(&normal(&abs), true, tid) {
                Target::Path(p) | Target::Missing(p) => p,
                Target::Special(_) => return false,
            };
            self.guarded.iter().any(|t| {
                dir.starts_with(t)
                    && !matches!(
                        reflex_sandbox_contract::target::area(t, &dir.join("lib.so")),
                        Some(reflex_sandbox_contract::target::Area::Deps)
                    )
            })
        })
    }

    /// Resolves an exec's path as the kernel will: against the caller's working directory or
    /// `dirfd`, through `/proc/self` and symlinks; `AT_EMPTY_PATH` runs `dirfd` itself. A
    /// memfd, a deleted file, or `/proc/<pid>/fd/N` leading to one, is fileless.
    fn exec_target(
        &self,
        tid: u32,
        dirfd: i32,
        file: &str,
        empty_path: bool,
    ) -> Option<ExecTarget> {
        let target = if empty_path {
            let link = std::fs::read_link(format!("/proc/{tid}/fd/{dirfd}")).ok()?;
            let text = link.to_string_lossy().into_owned();
            if text.starts_with('/') && !fileless(&text) {
                Target::Path(link)
            } else {
                Target::Special(text)
            }
        } else {
            self.resolve(tid, dirfd, file, true)?
        };
        match target {
            Target::Path(p) => {
                let text = p.to_string_lossy().into_owned();
                Some(ExecTarget {
                    runs: interpreter(&p).unwrap_or_else(|| text.clone()),
                    outcome: exec_outcome(&p),
                    path: text,
                    fileless: false,
                })
            }
            Target::Special(s) if fileless(&s) => Some(ExecTarget {
                runs: s.clone(),
                path: s,
                fileless: true,
                outcome: CallOutcome::Allowed,
            }),
            _ => None,
        }
    }
}

/// At most this many directory entries are looked at to find a file's other names.
const ALIAS_SCAN: usize = 50_000;

/// The other names of the file `(dev, ino)` among the build outputs and artifacts of target
/// directory `t`: the files of each profile directory, its `deps/` and `examples/`, and its
/// `build/<unit>/` directories (with their `out/`, a few levels deep). Nothing is opened.
fn other_names(t: &Path, id: (u64, u64), except: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::{DirEntryExt, MetadataExt};
    let mut budget = ALIAS_SCAN;
    let mut found = Vec::new();
    let mut dirs: Vec<(PathBuf, usize)> = Vec::new();
    let mut profiles = Vec::new();
    for e in std::fs::read_dir(t).into_iter().flatten().flatten() {
        let p = e.path();
        if !e.file_type().is_ok_and(|f| f.is_dir()) {
            continue;
        }
        profiles.push(p.clone());
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            if e.file_type().is_ok_and(|f| f.is_dir()) && e.path().join("deps").is_dir() {
                profiles.push(e.path());
            }
        }
    }
    for p in profiles {
        dirs.push((p.clone(), 0));
        dirs.push((p.join("deps"), 0));
        dirs.push((p.join("examples"), 0));
        for e in std::fs::read_dir(p.join("build"))
            .into_iter()
            .flatten()
            .flatten()
        {
            dirs.push((e.path(), 4));
        }
    }
    while let Some((d, depth)) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if budget == 0 {
                return found;
            }
            budget -= 1;
            let Ok(ft) = e.file_type() else { continue };
            if ft.is_dir() {
                if depth > 0 {
                    dirs.push((e.path(), depth - 1));
                }
            } else if ft.is_file()
                && e.ino() == id.1
                && e.path() != except
                && e.metadata().is_ok_and(|m| (m.dev(), m.ino()) == id)
            {
                found.push(e.path());
            }
        }
    }
    found
}

/// A link target with no file behind it that can still be run: a memfd, a deleted file.
fn fileless(text: &str) -> bool {
    text.starts_with("/memfd:") || text.ends_with(" (deleted)")
}

/// The file an exec runs.
struct ExecTarget {
    /// The resolved executable (the script, for a script).
    path: String,
    /// What `/proc/<pid>/exe` will name once it runs (a script's interpreter).
    runs: String,
    /// A memfd or a deleted file: nothing on disk.
    fileless: bool,
    outcome: CallOutcome,
}

/// The interpreter of a script (`#!/bin/sh`), resolved: what the kernel really runs. The
/// path is the caller's to choose: only a regular file is opened, without following a final
/// symlink and without blocking (a FIFO swapped in after the check opens at once and reads
/// nothing), so no caller can stall the supervisor and with it the whole build.
fn interpreter(p: &Path) -> Option<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    if !std::fs::symlink_metadata(p).ok()?.is_file() {
        return None;
    }
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY)
        .open(p)
        .ok()?;
    if !f.metadata().ok()?.is_file() {
        return None;
    }
    let mut head = [0u8; 256];
    let n = f.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let end = line.iter().position(|c| *c == b'\n').unwrap_or(line.len());
    let text = std::str::from_utf8(&line[..end]).ok()?;
    let interp = text.split_whitespace().next()?;
    Some(
        std::fs::canonicalize(interp)
            .ok()?
            .to_string_lossy()
            .into_owned(),
    )
}

/// An exec from a `noexec` mount is refused by the sandbox; one of a file without the
/// execute permission fails.
fn exec_outcome(p: &Path) -> CallOutcome {
    use nix::sys::statvfs::{FsFlags, statvfs};
    if statvfs(p).is_ok_and(|s| s.flags().contains(FsFlags::ST_NOEXEC)) {
        return CallOutcome::Denied;
    }
    match nix::unistd::access(p, nix::unistd::AccessFlags::X_OK) {
        Ok(()) => CallOutcome::Allowed,
        Err(_) => CallOutcome::Failed,
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

/// A write succeeds only where the mounts are writable: refused (`Denied`) on a read-only
/// mount or without permission, `Failed` when the directory does not exist.
fn writable_outcome(path: &Path) -> CallOutcome {
    let probe = if path.exists() {
        path
    } else {
        match path.parent() {
            Some(p) if p.exists() => p,
            _ => return CallOutcome::Failed,
        }
    };
    match nix::unistd::access(probe, nix::unistd::AccessFlags::W_OK) {
        Ok(()) => CallOutcome::Allowed,
        Err(_) => CallOutcome::Denied,
    }
}

/// `/proc/self`, `/proc/thread-self`, `/dev/fd/N` and `/dev/std*` as the caller `tid` means
/// them (the supervisor's own would be something else). `/proc/<tid>` works for a thread.
fn translate(path: &str, tid: u32) -> std::borrow::Cow<'_, str> {
    // Most paths are neither: answered without an allocation.
    if !(path.starts_with("/proc/") || path.starts_with("/dev/")) {
        return path.into();
    }
    let own = format!("/proc/{tid}");
    let fd = format!("/proc/{tid}/fd");
    let rules: [(&str, &str); 6] = [
        ("/proc/self", &own),
        ("/proc/thread-self", &own),
        ("/dev/fd", &fd),
        ("/dev/stdin", "0"),
        ("/dev/stdout", "1"),
        ("/dev/stderr", "2"),
    ];
    for (prefix, to) in rules {
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            continue;
        }
        return if prefix.starts_with("/dev/std") {
            format!("{fd}/{to}{rest}").into()
        } else {
            format!("{to}{rest}").into()
        };
    }
    path.into()
}

/// Lexically normal: `a/../b` is `b`, `.` dropped.
fn normal(p: &Path) -> PathBuf {
    let mut norm = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                norm.pop();
            }
            Component::CurDir => {}
            c => norm.push(c),
        }
    }
    norm
}

/// Where a path leads.
#[derive(Debug, PartialEq)]
enum Target {
    /// An existing file (every symlink followed).
    Path(PathBuf),
    /// A path that does not exist (yet): from the first missing component on, as named.
    Missing(PathBuf),
    /// No file: a pipe, a socket, an anonymous inode, a memfd or a deleted file.
    Special(String),
}

/// Follows `start` (absolute) component by component as the kernel would for process `tid`:
/// every symlink (the last one only when `follow`), with `/proc/self` in link targets made
/// the caller's, `/proc/<pid>/fd/N`, `cwd` and `root` through their targets. One `readlink`
/// per component; nothing is opened.
fn walk(start: &Path, follow: bool, tid: u32) -> Target {
    use std::ffi::OsString;
    let mut pending: std::collections::VecDeque<OsString> = std::collections::VecDeque::new();
    let push_front = |pending: &mut std::collections::VecDeque<OsString>, p: &Path| {
        let parts: Vec<OsString> = p
            .components()
            .filter_map(|c| match c {
                Component::Normal(s) => Some(s.to_os_string()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect();
        for part in parts.into_iter().rev() {
            pending.push_front(part);
        }
    };
    push_front(&mut pending, start);
    let mut cur = PathBuf::from("/");
    let mut hops = 0;
    while let Some(name) = pending.pop_front() {
        if name == ".." {
            cur.pop();
            continue;
        }
        let cand = cur.join(&name);
        let last = pending.is_empty();
        if last && !follow {
            return Target::Path(cand);
        }
        match std::fs::read_link(&cand) {
            Ok(link) => {
                hops += 1;
                let text = link.to_string_lossy().into_owned();
                if hops > 40 {
                    return Target::Missing(cand);
                }
                if fileless(&text) || text.contains(":[") || text.starts_with("anon_inode:") {
                    return if last {
                        Target::Special(text)
                    } else {
                        Target::Missing(cand)
                    };
                }
                let t = translate(&text, tid);
                if t.starts_with('/') {
                    cur = PathBuf::from("/");
                }
                push_front(&mut pending, Path::new(t.as_ref()));
            }
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => cur = cand,
            Err(_) => {
                // This component does not exist (or cannot be looked at): the rest as named.
                let mut rest = cand;
                for p in pending {
                    rest.push(p);
                }
                return Target::Missing(normal(&rest));
            }
        }
    }
    Target::Path(cur)
}

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

/// The sensitive files as they are when the build starts, by device and inode: the decoys
/// and hidden files of the profile, and whatever the built-in rules call sensitive in the
/// home directories (`/root`, `/home/*`, and those of the decoys) and in `/etc`.
#[derive(Default)]
struct Secrets {
    /// By device and inode, with the file's birth time where the file system keeps one (an
    /// inode freed by deleting the file and reused for another is not the secret).
    files: HashMap<(u64, u64), Option<std::time::SystemTime>>,
    /// The device of `/proc`.
    proc_dev: u64,
    /// The device number of `/dev/null` (mounted over the files the sandbox hides).
    devnull: u64,
    /// The profile's sensitive files, as given and resolved.
    extra: Vec<PathBuf>,
}

/// At most this many files are looked at under each hidden entry of a home directory.
const SECRET_SCAN: usize = 500;

impl Secrets {
    /// Whether `m` is one of the sensitive files found at start (the same inode, born then).
    fn knows(&self, m: &std::fs::Metadata) -> bool {
        use std::os::unix::fs::MetadataExt;
        m.is_file()
            && self
                .files
                .get(&(m.dev(), m.ino()))
                .is_some_and(|born| born.is_none() || *born == m.created().ok())
    }

    fn new(config: &crate::MonitorConfig) -> Secrets {
        use std::os::unix::fs::MetadataExt;
        let extra = with_canonical(&config.sensitive_reads);
        let mut s = Secrets {
            proc_dev: std::fs::metadata("/proc/self").map_or(0, |m| m.dev()),
            devnull: std::fs::metadata("/dev/null").map_or(u64::MAX, |m| m.rdev()),
            ..Secrets::default()
        };
        let add = |s: &mut Secrets, p: &Path| {
            if let Ok(m) = std::fs::metadata(p)
                && m.is_file()
            {
                s.files.insert((m.dev(), m.ino()), m.created().ok());
            }
        };
        for p in &extra {
            add(&mut s, p);
        }
        let mut homes: std::collections::BTreeSet<PathBuf> = ["/root"].map(PathBuf::from).into();
        if let Ok(rd) = std::fs::read_dir("/home") {
            homes.extend(rd.flatten().map(|e| e.path()));
        }
        for p in &extra {
            homes.extend(p.ancestors().skip(1).take(4).map(Path::to_path_buf));
        }
        homes.remove(Path::new("/"));
        for home in &homes {
            let Ok(rd) = std::fs::read_dir(home) else {
                continue;
            };
            for e in rd.flatten() {
                if !e.file_name().to_string_lossy().starts_with('.') {
                    continue;
                }
                let mut budget = SECRET_SCAN;
                let mut stack = vec![(e.path(), 0)];
                while let Some((p, depth)) = stack.pop() {
                    if budget == 0 {
                        break;
                    }
                    budget -= 1;
                    match std::fs::symlink_metadata(&p) {
                        Ok(m) if m.is_dir() && depth < 3 => {
                            if let Ok(rd) = std::fs::read_dir(&p) {
                                stack.extend(rd.flatten().map(|e| (e.path(), depth + 1)));
                            }
                        }
                        Ok(_) if crate::is_sensitive(&p, &extra) => add(&mut s, &p),
                        _ => {}
                    }
                }
            }
        }
        for dir in ["/etc", "/etc/ssh"] {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    if crate::is_sensitive(&e.path(), &extra) {
                        add(&mut s, &e.path());
                    }
                }
            }
        }
        s.extra = extra;
        s
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

type Chain = Vec<ChainLink>;

/// What the supervisor knows of the build's processes. Keys are `(pid, start time)`: a
/// reused pid is another process.
#[derive(Default)]
struct Procs {
    /// The command the sandbox started: the top of every complete ancestry.
    command: (u32, u64),
    /// What each process exec'd: the executable it runs (`/proc/<pid>/exe` once it does)
    /// and its arguments. A record counts only while `/proc/<pid>/exe` names that
    /// executable (an exec that failed leaves no false identity behind).
    execs: HashMap<(u32, u64), (String, Vec<String>)>,
    /// Each process's ancestors, nearest first, as first seen (kept when it execs, and when
    /// its parents are gone: a double-forked daemon keeps the ancestry it had).
    above: HashMap<(u32, u64), Chain>,
    /// Threads: `(tid, start)` -> `(pid, start)` of their process.
    threads: HashMap<(u32, u64), (u32, u64)>,
}

impl Procs {
    /// `(pid, start, ppid)` of the process thread `tid` belongs to.
    fn identity(&mut self, tid: u32) -> Option<(u32, u64, u32)> {
        let (ppid, start) = stat(tid)?;
        let (pid, pstart) = match self.threads.get(&(tid, start)) {
            Some(k) => *k,
            None => {
                let pid = tgid(tid).unwrap_or(tid);
                let pstart = if pid == tid { start } else { stat(pid)?.1 };
                self.threads.insert((tid, start), (pid, pstart));
                (pid, pstart)
            }
        };
        // A thread's parent is its process's parent.
        Some((pid, pstart, ppid))
    }

    /// The kernel's executable link and, when it still matches, the recorded arguments.
    fn link(&self, pid: u32, start: u64) -> ChainLink {
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .map(|e| e.to_string_lossy().into_owned());
        let argv = match (&exe, self.execs.get(&(pid, start))) {
            (Some(e), Some((recorded, argv))) if e == recorded => argv.clone(),
            _ => Vec::new(),
        };
        ChainLink { pid, exe, argv }
    }

    /// Records an exec by thread `tid` (its process keeps its pid and start time).
    fn exec(&mut self, tid: u32, runs: String, argv: Vec<String>) {
        if let Some((pid, start, _)) = self.identity(tid) {
            self.execs.insert((pid, start), (runs, argv));
        }
    }

    /// The caller's process and its ancestors up to the command, nearest first, read while
    /// the caller is stopped; [`LOST`] ends an ancestry that never reached the command.
    fn chain(&mut self, tid: u32) -> Chain {
        let Some((pid, start, ppid)) = self.identity(tid) else {
            return vec![
                ChainLink {
                    pid: tid,
                    ..ChainLink::default()
                },
                LOST,
            ];
        };
        let mut me = self.link(pid, start);
        if (pid, start) == self.command {
            return vec![me];
        }
        let mut above = self.above(pid, start, ppid);
        if above.last().is_some_and(|l| l.pid == 0)
            && let Some(found) = self.adopted(&me)
        {
            self.above.insert((pid, start), found.clone());
            above = found;
        }
        inherit(&mut me, above.first());
        std::iter::once(me).chain(above).collect()
    }

    /// The ancestry of a process the init adopted before its first reported call, when its
    /// executable tells: a fork keeps its executable (nothing in the process can change
    /// `/proc/<pid>/exe`: `PR_SET_MM` is refused), and a compiled build script's path names
    /// one run, whose ancestry was recorded at its exec. Used only when exactly one recorded
    /// exec ran that file (a second run, by whoever, makes it ambiguous: lost).
    fn adopted(&self, me: &ChainLink) -> Option<Chain> {
        let exe = me.exe.as_deref()?;
        reflex_sandbox_contract::target::build_script_crate(exe)?;
        let mut runs = self.execs.iter().filter(|(_, (runs, _))| runs == exe);
        let (key, (_, argv)) = runs.next()?;
        if runs.next().is_some() {
            return None;
        }
        let above = self.above.get(key)?;
        if above.last().is_none_or(|l| l.pid == 0) {
            return None;
        }
        let script = ChainLink {
            pid: key.0,
            exe: Some(exe.to_string()),
            argv: argv.clone(),
        };
        Some(
            std::iter::once(script)
                .chain(above.iter().cloned())
                .collect(),
        )
    }

    fn above(&mut self, pid: u32, start: u64, ppid: u32) -> Chain {
        if let Some(c) = self.above.get(&(pid, start)) {
            return c.clone();
        }
        let mut walked: Vec<(ChainLink, (u32, u64))> = Vec::new();
        let mut tail = vec![LOST];
        let mut p = ppid;
        for _ in 0..32 {
            // The init adopts orphans: their ancestry is lost unless it was seen before.
            if p <= 1 && p != self.command.0 {
                break;
            }
            let Some((pp, ps)) = stat(p) else {
                break;
            };
            let key = (p, ps);
            walked.push((self.link(p, ps), key));
            if key == self.command {
                tail = Vec::new();
                break;
            }
            if let Some(c) = self.above.get(&key) {
                tail = c.clone();
                break;
            }
            p = pp;
        }
        let keys: Vec<(u32, u64)> = walked.iter().map(|(_, k)| *k).collect();
        let mut chain: Chain = walked.into_iter().map(|(l, _)| l).chain(tail).collect();
        // A fork that has not exec'd runs its parent's program with its parent's arguments.
        for i in (0..chain.len().saturating_sub(1)).rev() {
            let (a, b) = chain.split_at_mut(i + 1);
            inherit(&mut a[i], b.first());
        }
        self.above.insert((pid, start), chain.clone());
        for (k, key) in keys.into_iter().enumerate() {
            self.above
                .entry(key)
                .or_insert_with(|| chain[k + 1..].to_vec());
        }
        chain
    }
}

/// A fork that has not exec'd: its parent's program, and so its parent's arguments.
fn inherit(me: &mut ChainLink, parent: Option<&ChainLink>) {
    if let Some(p) = parent
        && me.argv.is_empty()
        && me.exe.is_some()
        && me.exe == p.exe
    {
        me.argv = p.argv.clone();
    }
}

/// The DNS sinkhole's socket (bound while the init still may bind port 53).
pub(super) fn sinkhole_socket() -> std::io::Result<std::net::UdpSocket> {
    std::net::UdpSocket::bind("127.0.0.1:53")
}

/// Answers every query on the sandbox's loopback with NXDOMAIN and logs it, with the process
/// that sent it when the supervisor registered its socket (see [`super::resolvers`]).
pub(super) fn sinkhole(socket: std::net::UdpSocket, log: Log, resolvers: super::resolvers::Shared) {
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

/// The events channel: the pipe to cargo-reflex that only the init holds.
pub(super) fn event_log(fd: RawFd) -> Log {
    // SAFETY: the descriptor was handed to the init by its parent and is owned from here on.
    Arc::new(Mutex::new(unsafe { File::from_raw_fd(fd) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_references_become_the_callers() {
        assert_eq!(translate("/proc/self/fd/3", 42), "/proc/42/fd/3");
        assert_eq!(translate("/proc/self", 42), "/proc/42");
        assert_eq!(
            translate("/proc/thread-self/environ", 42),
            "/proc/42/environ"
        );
        assert_eq!(translate("/dev/fd/7", 42), "/proc/42/fd/7");
        assert_eq!(translate("/dev/stdout", 42), "/proc/42/fd/1");
        assert_eq!(translate("/proc/selfish", 42), "/proc/selfish");
        assert_eq!(translate("/dev/null", 42), "/dev/null");
        assert_eq!(translate("src/lib.rs", 42), "src/lib.rs");
        assert_eq!(normal(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }

    #[test]
    fn walks_follow_links_as_the_caller_would() {
        let dir = tempfile::tempdir().unwrap();
        let d = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir_all(d.join("home/.ssh")).unwrap();
        std::fs::write(d.join("home/.ssh/id_ed25519"), "key").unwrap();
        std::fs::create_dir_all(d.join("out")).unwrap();
        std::os::unix::fs::symlink(d.join("home/.ssh/id_ed25519"), d.join("out/notes.txt"))
            .unwrap();
        std::os::unix::fs::symlink("../home", d.join("out/h")).unwrap();
        let me = std::process::id();
        let key = Target::Path(d.join("home/.ssh/id_ed25519"));
        assert_eq!(walk(&d.join("out/notes.txt"), true, me), key);
        assert_eq!(
            walk(&d.join("out/notes.txt"), false, me),
            Target::Path(d.join("out/notes.txt")),
            "O_NOFOLLOW and rename judge the link itself"
        );
        assert_eq!(walk(&d.join("out/h/.ssh/id_ed25519"), true, me), key);
        assert_eq!(
            walk(&d.join("out/h/.ssh/new"), true, me),
            Target::Missing(d.join("home/.ssh/new"))
        );
        // Through /proc: the root link, and a descriptor reopened by its number.
        let via_root = PathBuf::from(format!("/proc/{me}/root")).join(d.strip_prefix("/").unwrap());
        assert_eq!(walk(&via_root.join("out/notes.txt"), true, me), key);
        let f = File::open(d.join("home/.ssh/id_ed25519")).unwrap();
        let by_fd = PathBuf::from(translate(&format!("/dev/fd/{}", f.as_raw_fd()), me).as_ref());
        assert_eq!(walk(&by_fd, true, me), key);
        // A link to /proc/self/... means the caller's own.
        std::os::unix::fs::symlink(format!("/proc/self/fd/{}", f.as_raw_fd()), d.join("out/fd"))
            .unwrap();
        assert_eq!(walk(&d.join("out/fd"), true, me), key);
        let (r, _w) = nix::unistd::pipe().unwrap();
        assert!(matches!(
            walk(Path::new(&format!("/proc/{me}/fd/{}", r.as_raw_fd())), true, me),
            Target::Special(s) if s.starts_with("pipe:")
        ));
    }

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

    #[test]
    fn scripts_run_their_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let s = dir.path().join("cargo");
        std::fs::write(&s, "#!/bin/sh -e\nexit 0\n").unwrap();
        assert_eq!(
            interpreter(&s),
            std::fs::canonicalize("/bin/sh")
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        );
        std::fs::write(&s, "\x7fELF").unwrap();
        assert_eq!(interpreter(&s), None);
        assert!(fileless("/memfd:x (deleted)") && fileless("/tmp/a (deleted)"));
        assert!(!fileless("/usr/bin/sh"));
        // A FIFO is never opened (an open of it blocks until a writer comes), nor a link.
        let fifo = dir.path().join("stall");
        let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o755) }, 0);
        let (tx, rx) = std::sync::mpsc::channel();
        let f = fifo.clone();
        std::thread::spawn(move || {
            let _ = tx.send(interpreter(&f));
        });
        assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(5)), Ok(None));
        std::os::unix::fs::symlink(&s, dir.path().join("link")).unwrap();
        std::fs::write(&s, "#!/bin/sh\n").unwrap();
        assert_eq!(interpreter(&dir.path().join("link")), None);
    }

    #[test]
    fn other_names_of_a_file_in_the_build_outputs() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("target");
        let victim = t.join("debug/build/victim-1111111111111111/build-script-build");
        let own = t.join("debug/build/evil-2222222222222222/out");
        std::fs::create_dir_all(victim.parent().unwrap()).unwrap();
        std::fs::create_dir_all(&own).unwrap();
        std::fs::create_dir_all(t.join("debug/deps")).unwrap();
        std::fs::write(&victim, "elf").unwrap();
        std::fs::hard_link(&victim, own.join("alias")).unwrap();
        std::fs::write(t.join("debug/deps/app-3333333333333333"), "app").unwrap();
        std::fs::hard_link(
            t.join("debug/deps/app-3333333333333333"),
            t.join("debug/app"),
        )
        .unwrap();
        let id = |p: &Path| {
            let m = std::fs::metadata(p).unwrap();
            (m.dev(), m.ino())
        };
        assert_eq!(
            other_names(&t, id(&own.join("alias")), &own.join("alias")),
            vec![victim.clone()]
        );
        assert_eq!(
            other_names(&t, id(&t.join("debug/app")), &t.join("debug/app")),
            vec![t.join("debug/deps/app-3333333333333333")]
        );
    }
}
