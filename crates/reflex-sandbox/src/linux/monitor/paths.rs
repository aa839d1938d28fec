//! Paths as the kernel resolves them for the caller: `/proc/self` and `/dev/fd` are the
//! caller's, relative paths start at its working directory or `dirfd`, symlinks and
//! `/proc/<pid>/{fd,cwd,root}` links are followed in its view.

use super::Supervisor;
use std::path::{Component, Path, PathBuf};

impl Supervisor {
    /// `path` as the kernel reads it for the caller: `/proc/self` and `/dev/fd` made the
    /// caller's, relative paths joined to its working directory or `dirfd`.
    pub(super) fn absolute(&self, tid: u32, dirfd: i32, path: &str) -> Option<PathBuf> {
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
    pub(super) fn resolve(&self, tid: u32, dirfd: i32, path: &str, follow: bool) -> Option<Target> {
        let start = self.absolute(tid, dirfd, path)?;
        Some(walk(&start, follow, tid))
    }
}

/// `/proc/self`, `/proc/thread-self`, `/dev/fd/N` and `/dev/std*` as the caller `tid` means
/// them (the supervisor's own would be something else). `/proc/<tid>` works for a thread.
pub(super) fn translate(path: &str, tid: u32) -> std::borrow::Cow<'_, str> {
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
pub(super) fn lexically_normal(p: &Path) -> PathBuf {
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
pub(super) enum Target {
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
pub(super) fn walk(start: &Path, follow: bool, tid: u32) -> Target {
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
                return Target::Missing(lexically_normal(&rest));
            }
        }
    }
    Target::Path(cur)
}

/// A link target with no file behind it that can still be run: a memfd, a deleted file.
pub(super) fn fileless(text: &str) -> bool {
    text.starts_with("/memfd:") || text.ends_with(" (deleted)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;
    use std::os::fd::AsRawFd;

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
        assert_eq!(
            lexically_normal(Path::new("/a/./b/../c")),
            PathBuf::from("/a/c")
        );
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
}
