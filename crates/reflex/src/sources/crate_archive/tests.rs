//! Archives built in memory: kinds, checksums, hostile entries, the manifest alone, VCS info.

use super::*;

/// Builds a `.crate` in memory: (path, contents, mode); a path of "link:<p>:<target>"
/// makes a symlink.
pub fn build(entries: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data, mode) in entries {
        let mut h = tar::Header::new_gnu();
        if let Some(rest) = path.strip_prefix("link:") {
            let (p, target) = rest.split_once(':').unwrap();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            h.set_mode(0o777);
            tar.append_link(&mut h, p, target).unwrap();
            continue;
        }
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_entry_type(tar::EntryType::Regular);
        // set_path refuses `..`: write the raw name for hostile fixtures.
        let bytes = path.as_bytes();
        h.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        h.set_cksum();
        tar.append(&h, *data).unwrap();
    }
    let raw = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    gz.finish().unwrap()
}

#[test]
fn reads_files_kinds_and_checksum() {
    let bytes = build(&[
        (
            "demo-0.1.0/Cargo.toml",
            b"[package]\nname = \"demo\"\n",
            0o644,
        ),
        ("demo-0.1.0/build.rs", b"fn main() {}", 0o644),
        ("demo-0.1.0/bin/tool", b"\x7fELF\x02\x01", 0o755),
        ("demo-0.1.0/run.sh", b"#!/bin/sh\n", 0o755),
    ]);
    let sum = sha256_hex(&bytes);
    let a = read(&bytes, "demo", "0.1.0", Some(&sum), Limits::default());
    assert!(a.problems.is_empty(), "{:?}", a.problems);
    assert_eq!(
        a.file("build.rs").unwrap().text.as_deref(),
        Some("fn main() {}")
    );
    assert_eq!(a.file("bin/tool").unwrap().kind, FileKind::Elf);
    assert!(a.file("bin/tool").unwrap().executable);
    assert_eq!(a.file("run.sh").unwrap().kind, FileKind::Shebang);
    let wrong = read(
        &bytes,
        "demo",
        "0.1.0",
        Some(&"0".repeat(64)),
        Limits::default(),
    );
    assert!(wrong.tampered());
}

#[test]
fn hostile_archives_are_problems_not_crashes() {
    let traversal = build(&[("demo-0.1.0/../../etc/passwd", b"x", 0o644)]);
    assert!(matches!(
        read(&traversal, "demo", "0.1.0", None, Limits::default()).problems[0],
        Problem::PathTraversal(_)
    ));
    let link = build(&[("link:demo-0.1.0/key:/home/user/.ssh/id_rsa", b"", 0)]);
    assert!(matches!(
        read(&link, "demo", "0.1.0", None, Limits::default()).problems[0],
        Problem::Link { .. }
    ));
    let outside = build(&[("other-1.0.0/src/lib.rs", b"", 0o644)]);
    assert!(matches!(
        read(&outside, "demo", "0.1.0", None, Limits::default()).problems[0],
        Problem::OutsideTopDirectory(_)
    ));
    let good = build(&[("demo-0.1.0/src/lib.rs", &[b'a'; 4096], 0o644)]);
    let truncated = read(
        &good[..good.len() / 2],
        "demo",
        "0.1.0",
        None,
        Limits::default(),
    );
    assert!(
        matches!(truncated.problems[0], Problem::Truncated(_)),
        "{:?}",
        truncated.problems
    );
    assert!(matches!(
        read(b"PK\x03\x04", "demo", "0.1.0", None, Limits::default()).problems[0],
        Problem::NotGzip(_)
    ));
    let bomb = build(&[("demo-0.1.0/zeros.bin", &vec![0u8; 40 << 20], 0o644)]);
    let limits = Limits {
        max_unpacked: 64 << 20,
        ..Limits::default()
    };
    let a = read(&bomb, "demo", "0.1.0", None, limits);
    assert!(
        a.problems
            .iter()
            .any(|p| matches!(p, Problem::CompressionRatio { .. })),
        "{:?}",
        a.problems
    );
    let small = Limits {
        max_unpacked: 1 << 20,
        ..Limits::default()
    };
    assert!(
        read(&bomb, "demo", "0.1.0", None, small)
            .problems
            .iter()
            .any(|p| matches!(p, Problem::TooLarge { .. }))
    );
}

#[test]
fn manifest_is_read_alone_and_only_from_a_matching_archive() {
    let bytes = build(&[
        ("demo-0.1.0/.cargo_vcs_info.json", b"{}", 0o644),
        (
            "demo-0.1.0/../Cargo.toml",
            b"[package]\nname = \"evil\"\n",
            0o644,
        ),
        (
            "demo-0.1.0/Cargo.toml",
            b"[package]\nname = \"demo\"\nlicense = \"MIT\"\n",
            0o644,
        ),
    ]);
    let sum = sha256_hex(&bytes);
    let text = manifest(&bytes, "demo", "0.1.0", &sum).unwrap();
    assert!(text.contains("license = \"MIT\""), "{text}");
    let err = manifest(&bytes, "demo", "0.1.0", &"0".repeat(64)).unwrap_err();
    assert!(err.contains("checksum mismatch"), "{err}");
    let err = manifest(&bytes, "other", "0.1.0", &sum).unwrap_err();
    assert!(err.contains("no other-0.1.0/Cargo.toml"), "{err}");
    let garbage = b"not gzip at all".to_vec();
    assert!(manifest(&garbage, "demo", "0.1.0", &sha256_hex(&garbage)).is_err());
}

#[test]
fn vcs_info_and_the_top_directory_of_an_unnamed_archive() {
    let bytes = build(&[
        (
            "x-1.2.3/.cargo_vcs_info.json",
            b"{\"git\":{\"sha1\":\"abc\",\"dirty\":true},\"path_in_vcs\":\"crates/x\"}",
            0o644,
        ),
        ("x-1.2.3/Cargo.toml", b"[package]\nname = \"x\"\n", 0o644),
    ]);
    assert_eq!(top_directory(&bytes).as_deref(), Ok("x-1.2.3"));
    let a = read_with_top(&bytes, "x-1.2.3", None, Limits::default());
    assert_eq!(
        a.vcs_info(),
        Some(VcsInfo {
            path_in_vcs: Some("crates/x".into()),
            sha1: Some("abc".into()),
            dirty: true
        })
    );
    let old = build(&[(
        "x-1.0.0/.cargo_vcs_info.json",
        b"{\"git\":{\"sha1\":\"abc\"}}",
        0o644,
    )]);
    let a = read(&old, "x", "1.0.0", None, Limits::default());
    assert_eq!(
        a.vcs_info().unwrap().path_in_vcs,
        None,
        "cargo < 1.58 did not record it"
    );
    assert!(top_directory(b"not gzip").unwrap_err().contains("gzip"));
    assert_eq!(text_digest("A  b\nC"), text_digest("a b c"));
}
