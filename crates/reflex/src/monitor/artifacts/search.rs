//! Reading what a build left in its target directory, safely and fast: its profile
//! directories, files opened only when regular (never through a link, never blocking), and
//! every form of every canary searched for in cache-sized chunks, on a few threads.

use crate::monitor::canary::Canary;
use memchr::memmem::Finder;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The profile directories of a target directory: `debug`, `release`, `<triple>/<profile>`
/// (directories, never through a symlink: the build wrote the target directory).
pub(super) fn profiles(target: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    let is_profile = |p: &Path| dir(&p.join("deps")) || dir(&p.join("build"));
    for e in std::fs::read_dir(target).into_iter().flatten().flatten() {
        let p = e.path();
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if is_profile(&p) {
            out.push(p.clone());
        }
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            let q = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) && is_profile(&q) && e.file_name() != "build"
            {
                out.push(q);
            }
        }
    }
    out
}

/// At most this much of one file is searched (artifacts are rarely larger; a build can make
/// a file of any size).
const MAX_READ: u64 = 1 << 30;
/// At most this much of a build script's `output` is read as text.
const MAX_OUTPUT: u64 = 16 << 20;

/// Opens `path` for reading only when it is a regular file: never through a symlink, and
/// without blocking (a FIFO or a device the build left in the target directory, or swapped in
/// after a look, is refused instead of hanging the scan after the build).
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    if !std::fs::symlink_metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY);
    }
    let f = options.open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(f)
}

/// A build script's `output`, at most [`MAX_OUTPUT`] bytes of it, as text.
pub(super) fn read_output(path: &Path) -> String {
    let mut text = Vec::new();
    if let Ok(f) = open_regular(path) {
        let _ = f.take(MAX_OUTPUT).read_to_end(&mut text);
    }
    String::from_utf8_lossy(&text).into_owned()
}

/// Searches one file for every form; the forms found (indices into `finders`).
fn search(path: &Path, finders: &[Finder<'_>]) -> std::io::Result<HashSet<usize>> {
    // Small enough that every form's search runs over data still in the cache.
    const CHUNK: usize = 256 << 10;
    let overlap = finders.iter().map(|f| f.needle().len()).max().unwrap_or(1) - 1;
    let mut found = HashSet::new();
    let mut f = open_regular(path)?.take(MAX_READ);
    let mut buf = vec![0u8; CHUNK + overlap];
    let mut kept = 0;
    loop {
        let n = f.read(&mut buf[kept..])?;
        if n == 0 {
            break;
        }
        let end = kept + n;
        for (i, finder) in finders.iter().enumerate() {
            if !found.contains(&i) && finder.find(&buf[..end]).is_some() {
                found.insert(i);
            }
        }
        if found.len() == finders.len() {
            break;
        }
        kept = overlap.min(end);
        buf.copy_within(end - kept..end, 0);
    }
    Ok(found)
}

/// One canary found in a file.
pub(super) struct Find<'a> {
    pub canary: &'a Canary,
    pub encoding: &'static str,
}

/// The canaries (each once, with the first form found) in the file at `path`.
pub(super) fn finds<'a>(path: &Path, forms: &[(&'a Canary, &'static str, &[u8])]) -> Vec<Find<'a>> {
    let finders: Vec<Finder<'_>> = forms.iter().map(|(_, _, f)| Finder::new(f)).collect();
    let found = search(path, &finders).unwrap_or_default();
    let mut out: Vec<Find<'a>> = Vec::new();
    let mut hits: Vec<usize> = found.into_iter().collect();
    hits.sort();
    for i in hits {
        let (c, enc, _) = forms[i];
        if !out.iter().any(|f| f.canary.name == c.name) {
            out.push(Find {
                canary: c,
                encoding: enc,
            });
        }
    }
    out
}

/// The canaries in each of `files`, searched on a few threads at once (reading is most of
/// the work): `(index into files, finds)` for the files holding one, in file order.
pub(super) fn search_files<'a>(
    files: &[PathBuf],
    forms: &[(&'a Canary, &'static str, &[u8])],
) -> Vec<(usize, Vec<Find<'a>>)> {
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let next = AtomicUsize::new(0);
    let mut results: Vec<(usize, Vec<Find<'a>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(path) = files.get(i) else {
                            break;
                        };
                        let f = finds(path, forms);
                        if !f.is_empty() {
                            mine.push((i, f));
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results
}
