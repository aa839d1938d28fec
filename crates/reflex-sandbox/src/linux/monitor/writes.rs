//! Which writes are recorded: those outside the quiet places (the most specific configured
//! prefix decides), and those into a target directory's build outputs and artifacts by a
//! process that does not make them, under any of the file's names (hard links included).

use super::Supervisor;
use super::processes::Chain;
use crate::CallOutcome;
use std::path::{Path, PathBuf};

impl Supervisor {
    /// Where in a target directory `path` lies when that is a build output or an artifact,
    /// or a directory holding them (a unit's `build/<crate>-<hash>` directory, a profile
    /// directory, the target directory itself: renaming one replaces all it holds).
    pub(super) fn guarded_area(
        &self,
        path: &Path,
    ) -> Option<reflex_sandbox_contract::target::Area> {
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
    pub(super) fn guarded_other_name(&mut self, tid: u32, path: &Path) -> Option<(PathBuf, Chain)> {
        use std::os::unix::fs::MetadataExt;
        if self.guarded.is_empty() {
            return None;
        }
        let m = std::fs::symlink_metadata(path).ok()?;
        if !m.is_file() || m.nlink() < 2 {
            return None;
        }
        let chain = self.processes.chain(tid);
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
    pub(super) fn write_verdict(&mut self, tid: u32, path: &Path) -> Option<Chain> {
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
            let chain = self.processes.chain(tid);
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

/// A write succeeds only where the mounts are writable: refused (`Denied`) on a read-only
/// mount or without permission, `Failed` when the directory does not exist.
pub(super) fn writable_outcome(path: &Path) -> CallOutcome {
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

#[cfg(test)]
mod tests {
    use super::*;

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
