//! Exec events: the program that really runs (a script's interpreter, a memfd), whether the
//! exec can succeed, and the loader variables that would make it run code it was not built
//! with.

use super::Supervisor;
use super::paths::{Target, fileless, lexically_normal, walk};
use crate::{CallOutcome, MonitorEvent};
use std::path::Path;

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

impl Supervisor {
    /// An `execve` or `execveat` (`name`, arguments `a`) of thread `tid`: the program that
    /// runs, its arguments and dangerous loader variables, the caller's ancestry. The exec is
    /// recorded for the ancestry of the processes it starts.
    pub(super) fn exec_event(&mut self, tid: u32, a: &[u64; 6], name: &str, ev: &mut MonitorEvent) {
        let (path, argv, envp) = if name == "execve" {
            (a[0], a[1], a[2])
        } else {
            (a[1], a[2], a[3])
        };
        let file = self.memory.string(tid, path);
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
            let p = self.memory.u64_at(tid, argv + i * 8);
            if p == 0 {
                break;
            }
            args.push(self.memory.string(tid, p));
        }
        // Seen before the exec: the chain is the caller's as it is now.
        ev.chain = self.processes.chain(tid);
        // PATH lookups try several directories; only the one that exists runs.
        ev.missing = resolved.is_none();
        match resolved {
            Some(r) => {
                ev.fileless = r.fileless;
                ev.outcome = r.outcome;
                ev.path = Some(r.path);
                self.processes.exec(tid, r.runs, args.clone());
            }
            None => ev.path = Some(file),
        }
        ev.argv = args;
        ev.env = self.loader_env(tid, envp);
        self.memory.forget(tid);
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
                let b = self.memory.read(tid, envp + chunk * 512, 512);
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
        let heads = self.memory.gather(tid, &ptrs, longest);
        let mut out = Vec::new();
        for (p, head) in ptrs.iter().zip(heads) {
            let Some(var) = LOADER_VARS
                .iter()
                .find(|v| head.starts_with(v.as_bytes()) && head.get(v.len()) == Some(&b'='))
            else {
                continue;
            };
            let full = self.memory.string(tid, *p);
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
            let dir = match walk(&lexically_normal(&abs), true, tid) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
