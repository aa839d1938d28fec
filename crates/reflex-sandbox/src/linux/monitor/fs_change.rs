//! Calls that change the file system without opening a file for writing: rename, link,
//! symlink, truncate and ftruncate.

use super::Supervisor;
use super::paths::{Target, translate, walk};
use super::processes::Chain;
use super::writes::writable_outcome;
use crate::MonitorEvent;
use std::path::{Path, PathBuf};

/// What a rename, link, symlink or truncate does, as recorded.
struct FsChange {
    /// The event's name: `rename`, `link`, `symlink` or `truncate`.
    syscall: &'static str,
    /// The file renamed or linked, where the link leads, or a truncated file's name that is
    /// not recorded (then `dst` is another name of it that is): the event's first path.
    src: Option<PathBuf>,
    /// The place written: the event's last path.
    dst: PathBuf,
    /// The writer's ancestry when the change is recorded (empty when it was not needed).
    recorded: Option<Chain>,
}

/// A directory descriptor argument.
fn dirfd_arg(fd: u64) -> i32 {
    fd as i32
}

/// The file a target names (existing or not); none for a pipe, a socket, a memfd.
fn file_path(t: Target) -> Option<PathBuf> {
    match t {
        Target::Path(p) | Target::Missing(p) => Some(p),
        Target::Special(_) => None,
    }
}

impl Supervisor {
    /// rename, link, symlink, truncate: recorded when the place written is (see
    /// [`Supervisor::write_verdict`]), when a rename moves a file out of such a place, and
    /// when a link or symlink makes a sensitive file reachable under another name.
    pub(super) fn fs_change_event(
        &mut self,
        req: &libc::seccomp_notif,
        name: &str,
    ) -> Option<MonitorEvent> {
        let tid = req.pid;
        let a = req.data.args;
        let change = match name {
            "rename" | "renameat" | "renameat2" => self.rename(tid, &a, name)?,
            "link" | "linkat" => self.link(tid, &a, name)?,
            "symlink" | "symlinkat" => self.symlink(tid, &a, name)?,
            "truncate" => {
                let raw = self.memory.string(tid, a[0]);
                let p = file_path(self.resolve(tid, libc::AT_FDCWD, &raw, true)?)?;
                self.truncate(tid, p)
            }
            _ => {
                // ftruncate(fd): the file the descriptor holds.
                let p = std::fs::read_link(format!("/proc/{tid}/fd/{}", a[0] as i32)).ok()?;
                if !p.is_absolute() || p.to_string_lossy().ends_with(" (deleted)") {
                    return None;
                }
                self.truncate(tid, p)
            }
        };
        let chain = change.recorded?;
        let (path, path2) = match change.src {
            Some(src) => (src, Some(&change.dst)),
            None => (change.dst.clone(), None),
        };
        Some(MonitorEvent {
            syscall: change.syscall.into(),
            outcome: writable_outcome(&change.dst),
            chain,
            path: Some(path.display().to_string()),
            path2: path2.map(|d| d.display().to_string()),
            ..MonitorEvent::default()
        })
    }

    /// A rename: judged by where it lands, then by where it comes from, then by whether it
    /// moves a sensitive file.
    fn rename(&mut self, tid: u32, a: &[u64; 6], name: &str) -> Option<FsChange> {
        let (od, op, nd, np) = if name == "rename" {
            (libc::AT_FDCWD, a[0], libc::AT_FDCWD, a[1])
        } else {
            (dirfd_arg(a[0]), a[1], dirfd_arg(a[2]), a[3])
        };
        let (old, new) = (self.memory.string(tid, op), self.memory.string(tid, np));
        let src = file_path(self.resolve(tid, od, &old, false)?)?;
        let dst = file_path(self.resolve(tid, nd, &new, false)?)?;
        let judged = match self.write_verdict(tid, &dst) {
            Some(v) => Some(v),
            None => self.write_verdict(tid, &src),
        };
        let judged = judged.or_else(|| self.secrets.is_secret(&src).then(Vec::new));
        Some(FsChange {
            syscall: "rename",
            src: Some(src),
            dst,
            recorded: judged,
        })
    }

    /// A hard link: judged by where it is made, then like a rename's source, then by whether
    /// it gives a sensitive file another name.
    fn link(&mut self, tid: u32, a: &[u64; 6], name: &str) -> Option<FsChange> {
        let (od, op, nd, np, flags) = if name == "link" {
            (libc::AT_FDCWD, a[0], libc::AT_FDCWD, a[1], 0)
        } else {
            (dirfd_arg(a[0]), a[1], dirfd_arg(a[2]), a[3], a[4] as i32)
        };
        let (old, new) = (self.memory.string(tid, op), self.memory.string(tid, np));
        let src = if old.is_empty() && flags & libc::AT_EMPTY_PATH != 0 {
            std::fs::read_link(format!("/proc/{tid}/fd/{od}")).ok()?
        } else {
            file_path(self.resolve(tid, od, &old, flags & libc::AT_SYMLINK_FOLLOW != 0)?)?
        };
        let dst = file_path(self.resolve(tid, nd, &new, false)?)?;
        // Judged like a rename's source too: a second name for another crate's build
        // output or an artifact is a way to write it from a quiet place.
        let judged = self
            .write_verdict(tid, &dst)
            .or_else(|| self.source_verdict(tid, &src))
            .or_else(|| self.secrets.is_secret(&src).then(Vec::new));
        Some(FsChange {
            syscall: "link",
            src: Some(src),
            dst,
            recorded: judged,
        })
    }

    /// A symlink: judged by where it is made, then by whether it leads to a sensitive file
    /// (its source is where it will lead, from where it is made).
    fn symlink(&mut self, tid: u32, a: &[u64; 6], name: &str) -> Option<FsChange> {
        let (tp, nd, np) = if name == "symlink" {
            (a[0], libc::AT_FDCWD, a[1])
        } else {
            (a[0], dirfd_arg(a[1]), a[2])
        };
        let (target, new) = (self.memory.string(tid, tp), self.memory.string(tid, np));
        let dst = file_path(self.resolve(tid, nd, &new, false)?)?;
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
            .or_else(|| self.secrets.is_secret(&src).then(Vec::new));
        Some(FsChange {
            syscall: "symlink",
            src: Some(src),
            dst,
            recorded: judged,
        })
    }

    /// A link's source in a target directory's build outputs or artifacts that the caller
    /// does not make: recorded, with its ancestry.
    fn source_verdict(&mut self, tid: u32, src: &Path) -> Option<Chain> {
        let area = self.guarded_area(src)?;
        let chain = self.processes.chain(tid);
        (!reflex_sandbox_contract::target::makes(&chain, &area, src)).then_some(chain)
    }

    /// A truncate of `p`, judged by where it lands or, failing that, by another name of the
    /// file (a hard link: then the event's second path).
    fn truncate(&mut self, tid: u32, p: PathBuf) -> FsChange {
        let (src, dst, recorded) = match self.write_verdict(tid, &p) {
            Some(chain) => (None, p, Some(chain)),
            None => match self.guarded_other_name(tid, &p) {
                Some((other, chain)) => (Some(p), other, Some(chain)),
                None => (None, p, None),
            },
        };
        FsChange {
            syscall: "truncate",
            src,
            dst,
            recorded,
        }
    }
}
