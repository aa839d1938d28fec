//! A crate's source directory read as data, with the limits of a `.crate` archive: what
//! `inspect <directory>` looks at. Nothing is executed, links are not followed.

use super::crate_archive::{CrateArchive, Limits, Problem, classify, read_file};
use std::io::Read;

/// Reads a crate's source directory as data, with the limits of an archive: nothing is
/// executed, links are problems and are not followed, `target/` and VCS directories are
/// skipped. Paths are relative to `dir`.
pub fn read_dir(dir: &std::path::Path, limits: Limits) -> CrateArchive {
    let mut archive = CrateArchive::default();
    let mut kept_text = 0u64;
    let mut count = 0usize;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<std::fs::DirEntry> = match std::fs::read_dir(&d) {
            Ok(rd) => rd.flatten().collect(),
            Err(e) => {
                archive
                    .problems
                    .push(Problem::Truncated(format!("{}: {e}", d.display())));
                continue;
            }
        };
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            count += 1;
            if count > limits.max_entries {
                archive.problems.push(Problem::TooLarge {
                    what: format!("more than {} entries", limits.max_entries),
                    limit: 0,
                });
                return archive;
            }
            let path = entry.path();
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let kind = meta.file_type();
            if kind.is_symlink() {
                let target = std::fs::read_link(&path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                archive.problems.push(Problem::Link { path: rel, target });
                continue;
            }
            if kind.is_dir() {
                let name = entry.file_name();
                let skip = [".git", ".hg", ".svn", ".jj", "target"]
                    .iter()
                    .any(|s| name == *s);
                if !skip {
                    stack.push(path);
                }
                continue;
            }
            if !kind.is_file() {
                archive.problems.push(Problem::UnexpectedEntry {
                    path: rel,
                    kind: "special file".into(),
                });
                continue;
            }
            let size = meta.len();
            if size > limits.max_file {
                archive.problems.push(Problem::TooLarge {
                    what: format!("file {rel} ({} MiB)", size >> 20),
                    limit: limits.max_file,
                });
                continue;
            }
            if archive.unpacked + size > limits.max_unpacked {
                archive.problems.push(Problem::TooLarge {
                    what: "the directory".into(),
                    limit: limits.max_unpacked,
                });
                return archive;
            }
            #[cfg(unix)]
            let executable = {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode() & 0o111 != 0
            };
            #[cfg(not(unix))]
            let executable = false;
            let file = std::fs::File::open(&path).map(|f| f.take(size));
            match file
                .map_err(classify)
                .and_then(|mut f| read_file(&mut f, rel, size, executable, &mut kept_text))
            {
                Ok(file) => {
                    archive.unpacked += size;
                    archive.files.push(file);
                }
                Err(problem) => archive.problems.push(problem),
            }
        }
    }
    archive.files.sort_by(|a, b| a.path.cmp(&b.path));
    archive
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::crate_archive::tests::build;
    use crate::sources::crate_archive::{FileKind, read};

    #[test]
    fn directories_are_read_like_archives_and_links_are_problems() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"d\"\n").unwrap();
        std::fs::write(root.join("src/lib.rs"), "pub fn f() {}").unwrap();
        std::fs::write(root.join("README.md"), "# d\n").unwrap();
        std::fs::write(root.join("target/debug/junk"), "x").unwrap();
        std::fs::write(root.join("blob.bin"), b"\x7fELF\x02").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", root.join("key")).unwrap();
        let a = read_dir(root, Limits::default());
        let paths: Vec<&str> = a.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["Cargo.toml", "README.md", "blob.bin", "src/lib.rs"]);
        assert_eq!(a.file("blob.bin").unwrap().kind, FileKind::Elf);
        assert_eq!(a.file("README.md").unwrap().text.as_deref(), Some("# d\n"));
        #[cfg(unix)]
        assert!(
            matches!(&a.problems[..], [Problem::Link { path, .. }] if path == "key"),
            "{:?}",
            a.problems
        );
        // The same limits as an archive.
        let small = Limits {
            max_file: 4,
            ..Limits::default()
        };
        assert!(
            read_dir(root, small)
                .problems
                .iter()
                .any(|p| matches!(p, Problem::TooLarge { .. }))
        );
        // The same digest as the same file in an archive.
        let bytes = build(&[("d-0.1.0/src/lib.rs", b"pub fn f() {}", 0o644)]);
        let packed = read(&bytes, "d", "0.1.0", None, Limits::default());
        assert_eq!(packed.files[0].digest, a.file("src/lib.rs").unwrap().digest);
    }
}
