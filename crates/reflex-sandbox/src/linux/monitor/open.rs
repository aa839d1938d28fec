//! Opens: a write is recorded where [`Supervisor::write_verdict`] says so (or when the file
//! has another name among the guarded outputs), a read when it opens a sensitive file.

use super::Supervisor;
use super::paths::{Target, lexically_normal, translate};
use super::writes::writable_outcome;
use crate::{CallOutcome, MonitorEvent};
use std::path::{Path, PathBuf};

/// Open flags that mean writing.
const WRITE_FLAGS: u32 =
    (libc::O_WRONLY | libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC | libc::O_APPEND) as u32;

impl Supervisor {
    /// An `openat`, `openat2`, `open` or `creat`: judged as a write or as a read.
    pub(super) fn open_event(&mut self, req: &libc::seccomp_notif) -> Option<MonitorEvent> {
        let tid = req.pid;
        let a = req.data.args;
        let nr = req.data.nr as i64;
        let (dirfd, path_ptr, flags) = match nr {
            n if n == libc::SYS_openat => (a[0] as i32, a[1], a[2] as u32),
            n if n == libc::SYS_openat2 => {
                // struct open_how { u64 flags; ... }
                (a[0] as i32, a[1], self.memory.u64_at(tid, a[2]) as u32)
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
        let raw = self.memory.string(tid, path_ptr);
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
                let p = lexically_normal(&self.absolute(tid, dirfd, raw)?);
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
                let (other, chain) = self.guarded_other_name(tid, &path)?;
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
}
