//! Set-user-ID and set-group-ID programs build code left in the target directory: whoever
//! runs one on the host would make it its owner, so the bits are cleared after every build.

use std::path::{Path, PathBuf};

/// Clears the set-user-ID and set-group-ID bits of every file under `dir` (symlinks are not
/// followed) and returns the files that had one: build code may have left a set-uid program
/// in `target/` for someone to run on the host.
pub fn clear_set_id_bits(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = e.metadata() else { continue };
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.is_file() && meta.permissions().mode() & 0o6000 != 0 {
                let mode = meta.permissions().mode() & !0o6000;
                let _ = std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(mode));
                found.push(e.path());
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn set_id_bits_are_found_and_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("debug/build/x-1/out/su");
        std::fs::create_dir_all(bad.parent().unwrap()).unwrap();
        std::fs::write(&bad, "x").unwrap();
        std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o4755)).unwrap();
        let fine = dir.path().join("debug/app");
        std::fs::write(&fine, "x").unwrap();
        std::fs::set_permissions(&fine, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(clear_set_id_bits(dir.path()), vec![bad.clone()]);
        let mode = std::fs::metadata(&bad).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o755);
        assert!(clear_set_id_bits(dir.path()).is_empty());
    }
}
