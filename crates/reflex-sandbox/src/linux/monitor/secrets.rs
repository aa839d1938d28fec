//! The sensitive files, known by identity: a read is judged by the file it opens, however it
//! is named.

use super::with_canonical;
use std::collections::{BTreeSet, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The sensitive files as they are when the build starts, by device and inode: the decoys
/// and hidden files of the profile, and whatever the built-in rules call sensitive in the
/// home directories (`/root`, `/home/*`, and those of the decoys) and in `/etc`.
#[derive(Default)]
pub(super) struct Secrets {
    /// By device and inode, with the file's birth time where the file system keeps one (an
    /// inode freed by deleting the file and reused for another is not the secret).
    files: HashMap<(u64, u64), Option<std::time::SystemTime>>,
    /// The device of `/proc`.
    pub(super) proc_dev: u64,
    /// The device number of `/dev/null` (mounted over the files the sandbox hides).
    pub(super) devnull: u64,
    /// The profile's sensitive files, as given and resolved.
    pub(super) extra: Vec<PathBuf>,
}

/// At most this many files are looked at under each hidden entry of a home directory.
const SECRET_SCAN: usize = 500;

impl Secrets {
    /// Whether `m` is one of the sensitive files found at start (the same inode, born then).
    pub(super) fn knows(&self, m: &std::fs::Metadata) -> bool {
        m.is_file()
            && self
                .files
                .get(&(m.dev(), m.ino()))
                .is_some_and(|born| born.is_none() || *born == m.created().ok())
    }

    /// Whether `path` is one of the sensitive files (by name or by identity).
    pub(super) fn is_secret(&self, path: &Path) -> bool {
        crate::is_sensitive(path, &self.extra)
            || std::fs::metadata(path).is_ok_and(|m| self.knows(&m))
    }

    /// Finds the sensitive files: the configured ones, those in the home directories, those
    /// in `/etc`.
    pub(super) fn new(config: &crate::MonitorConfig) -> Secrets {
        let mut s = Secrets {
            extra: with_canonical(&config.sensitive_reads),
            proc_dev: std::fs::metadata("/proc/self").map_or(0, |m| m.dev()),
            devnull: std::fs::metadata("/dev/null").map_or(u64::MAX, |m| m.rdev()),
            ..Secrets::default()
        };
        for p in s.extra.clone() {
            s.add(&p);
        }
        for home in s.homes() {
            s.scan_home(&home);
        }
        s.scan_etc();
        s
    }

    /// Remembers `p` when it is a regular file.
    fn add(&mut self, p: &Path) {
        if let Ok(m) = std::fs::metadata(p)
            && m.is_file()
        {
            self.files.insert((m.dev(), m.ino()), m.created().ok());
        }
    }

    /// The home directories: `/root`, `/home/*`, and the few directories above each of the
    /// profile's sensitive files (never `/`).
    fn homes(&self) -> BTreeSet<PathBuf> {
        let mut homes: BTreeSet<PathBuf> = ["/root"].map(PathBuf::from).into();
        if let Ok(rd) = std::fs::read_dir("/home") {
            homes.extend(rd.flatten().map(|e| e.path()));
        }
        for p in &self.extra {
            homes.extend(p.ancestors().skip(1).take(4).map(Path::to_path_buf));
        }
        homes.remove(Path::new("/"));
        homes
    }

    /// The sensitive files under the hidden entries of `home` (a few levels deep, at most
    /// [`SECRET_SCAN`] looked at under each).
    fn scan_home(&mut self, home: &Path) {
        let Ok(rd) = std::fs::read_dir(home) else {
            return;
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
                    Ok(_) if crate::is_sensitive(&p, &self.extra) => self.add(&p),
                    _ => {}
                }
            }
        }
    }

    /// The sensitive files directly in `/etc` and `/etc/ssh`.
    fn scan_etc(&mut self) {
        for dir in ["/etc", "/etc/ssh"] {
            if let Ok(rd) = std::fs::read_dir(dir) {
                for e in rd.flatten() {
                    if crate::is_sensitive(&e.path(), &self.extra) {
                        self.add(&e.path());
                    }
                }
            }
        }
    }
}
