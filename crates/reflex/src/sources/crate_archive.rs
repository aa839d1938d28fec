//! `.crate` archives read as data: gzip-compressed tarballs decoded in memory, never unpacked
//! to disk, never executed. The checksum is verified against Cargo.lock, and everything hostile
//! about an archive (path traversal, links, absurd sizes or compression ratios, truncation)
//! is recorded as a problem instead of being trusted.

use sha2::{Digest, Sha256};
use std::io::Read;

/// Hard limits while decoding; beyond them the archive is a problem, not a crash.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_unpacked: u64,
    pub max_file: u64,
    pub max_ratio: u64,
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_unpacked: 512 << 20,
            max_file: 128 << 20,
            max_ratio: 200,
            max_entries: 100_000,
        }
    }
}

/// What a file is, from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FileKind {
    Rust,
    Elf,
    Pe,
    MachO,
    StaticLib,
    Shebang,
    Other,
}

impl FileKind {
    pub fn is_native(self) -> bool {
        matches!(
            self,
            FileKind::Elf | FileKind::Pe | FileKind::MachO | FileKind::StaticLib
        )
    }
}

#[derive(Clone, Debug)]
pub struct ArchiveFile {
    /// Path inside the crate (the `<name>-<version>/` top directory removed).
    pub path: String,
    pub size: u64,
    pub kind: FileKind,
    pub executable: bool,
    /// Contents of Rust sources and manifests; other files are not kept.
    pub text: Option<String>,
    /// Unsafe counted lexically while decoding, for Rust files too large to keep and parse.
    pub large_unsafe: Option<crate::knowledge::unsafe_count::UnsafeCounts>,
    /// SHA-256 of the contents (the first 16 hex digits): identical files in two crates.
    pub digest: String,
}

/// Rust files above this are counted lexically and not kept (generated bindings).
const LARGE_RUST_FILE: u64 = 256 << 10;
/// Text kept per archive before every further file is counted lexically.
const MAX_KEPT_TEXT: u64 = 8 << 20;

/// Something wrong with the archive itself.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Problem {
    ChecksumMismatch { expected: String, actual: String },
    NotGzip(String),
    Truncated(String),
    PathTraversal(String),
    Link { path: String, target: String },
    UnexpectedEntry { path: String, kind: String },
    OutsideTopDirectory(String),
    TooLarge { what: String, limit: u64 },
    CompressionRatio { ratio: u64 },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::ChecksumMismatch { expected, actual } => write!(
                f,
                "checksum mismatch: Cargo.lock says {expected}, the archive is {actual}"
            ),
            Problem::NotGzip(e) => write!(f, "not a gzip stream: {e}"),
            Problem::Truncated(e) => write!(f, "truncated or corrupt archive: {e}"),
            Problem::PathTraversal(p) => write!(f, "path escapes the crate directory: {p}"),
            Problem::Link { path, target } => write!(f, "link entry {path} -> {target}"),
            Problem::UnexpectedEntry { path, kind } => write!(f, "unexpected {kind} entry {path}"),
            Problem::OutsideTopDirectory(p) => {
                write!(f, "entry outside the <name>-<version>/ directory: {p}")
            }
            Problem::TooLarge { what, limit } => write!(f, "{what} exceeds {} MiB", limit >> 20),
            Problem::CompressionRatio { ratio } => {
                write!(f, "compression ratio {ratio}:1 (a decompression bomb?)")
            }
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct CrateArchive {
    pub files: Vec<ArchiveFile>,
    pub problems: Vec<Problem>,
    pub compressed: u64,
    pub unpacked: u64,
    pub sha256: String,
}

impl CrateArchive {
    pub fn file(&self, path: &str) -> Option<&ArchiveFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// The checksum mismatched: nothing in it can be trusted.
    pub fn tampered(&self) -> bool {
        self.problems
            .iter()
            .any(|p| matches!(p, Problem::ChecksumMismatch { .. }))
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Digest of a text with whitespace and case folded: the same README reformatted.
pub fn text_digest(text: &str) -> String {
    let folded: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    sha256_hex(folded.as_bytes())[..16].to_string()
}

/// Counts bytes and refuses to go past a limit.
struct Capped<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read >= self.limit {
            return Err(std::io::Error::other("unpacked size limit reached"));
        }
        let max = buf.len().min((self.limit - self.read) as usize);
        let n = self.inner.read(&mut buf[..max])?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Decodes a `.crate` in memory. `expected` is the checksum from Cargo.lock, when known.
pub fn read(
    bytes: &[u8],
    name: &str,
    version: &str,
    expected: Option<&str>,
    limits: Limits,
) -> CrateArchive {
    read_with_top(bytes, &format!("{name}-{version}"), expected, limits)
}

/// The top directory (`<name>-<version>`) of a `.crate` whose name and version are not known
/// yet: the first component of its first entry. Errors say why the bytes are no archive.
pub fn top_directory(bytes: &[u8]) -> Result<String, String> {
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        return Err("not a gzip stream (missing gzip magic bytes)".into());
    }
    let capped = Capped {
        inner: flate2::read::GzDecoder::new(bytes),
        read: 0,
        limit: 64 << 20,
    };
    let mut tar = tar::Archive::new(capped);
    let mut entries = tar.entries().map_err(|e| e.to_string())?;
    for entry in entries.by_ref().take(16) {
        let entry = entry.map_err(|e| format!("not a tar archive: {e}"))?;
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if let Some((top, _)) = path.split_once('/')
            && !top.is_empty()
            && top != ".."
        {
            return Ok(top.to_string());
        }
    }
    Err("the archive has no <name>-<version>/ directory".into())
}

/// Decodes a `.crate` in memory whose files lie under `top/`.
pub fn read_with_top(
    bytes: &[u8],
    top: &str,
    expected: Option<&str>,
    limits: Limits,
) -> CrateArchive {
    let mut archive = CrateArchive {
        compressed: bytes.len() as u64,
        sha256: sha256_hex(bytes),
        ..Default::default()
    };
    if let Some(expected) = expected
        && !expected.eq_ignore_ascii_case(&archive.sha256)
    {
        archive.problems.push(Problem::ChecksumMismatch {
            expected: expected.to_string(),
            actual: archive.sha256.clone(),
        });
    }
    if bytes.len() < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b {
        archive
            .problems
            .push(Problem::NotGzip("missing gzip magic bytes".into()));
        return archive;
    }
    let capped = Capped {
        inner: flate2::read::GzDecoder::new(bytes),
        read: 0,
        limit: limits.max_unpacked,
    };
    let mut tar = tar::Archive::new(capped);
    let entries = match tar.entries() {
        Ok(e) => e,
        Err(e) => {
            archive.problems.push(Problem::Truncated(e.to_string()));
            return archive;
        }
    };
    read_entries(entries, &format!("{top}/"), limits, &mut archive);
    if archive.compressed > 0 {
        let ratio = archive.unpacked / archive.compressed.max(1);
        if ratio > limits.max_ratio && archive.unpacked > 16 << 20 {
            archive.problems.push(Problem::CompressionRatio { ratio });
        }
    }
    archive
}

/// Reads every entry of the tarball into `archive`, files under `top` (`<name>-<version>/`)
/// as [`ArchiveFile`]s and the rest as problems; stops at the first unreadable entry.
fn read_entries<R: Read>(
    entries: tar::Entries<'_, R>,
    top: &str,
    limits: Limits,
    archive: &mut CrateArchive,
) {
    let mut kept_text = 0u64;
    for (count, entry) in entries.enumerate() {
        if count >= limits.max_entries {
            archive.problems.push(Problem::TooLarge {
                what: format!("more than {} entries", limits.max_entries),
                limit: 0,
            });
            break;
        }
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                archive.problems.push(classify(e));
                break;
            }
        };
        let path = match check_entry(&entry, top) {
            EntryCheck::File(path) => path,
            EntryCheck::Skip => continue,
            EntryCheck::Problem(problem) => {
                archive.problems.push(problem);
                continue;
            }
        };
        let size = entry.header().size().unwrap_or(0);
        if size > limits.max_file {
            archive.problems.push(Problem::TooLarge {
                what: format!("file {path} ({} MiB)", size >> 20),
                limit: limits.max_file,
            });
            continue;
        }
        let executable = entry.header().mode().is_ok_and(|m| m & 0o111 != 0);
        match read_file(&mut entry, path, size, executable, &mut kept_text) {
            Ok(file) => {
                archive.unpacked += size;
                archive.files.push(file);
            }
            Err(problem) => {
                archive.problems.push(problem);
                break;
            }
        }
    }
}

/// What one tar entry is, judged from its header before anything is read.
enum EntryCheck {
    /// A regular file inside the crate directory, by its path there.
    File(String),
    /// A directory or an extended header: nothing to read.
    Skip,
    /// A hostile or unexpected entry: not read.
    Problem(Problem),
}

/// Judges one entry: path traversal, links, and entries that are not regular files or lie
/// outside `top`.
fn check_entry<R: Read>(entry: &tar::Entry<'_, R>, top: &str) -> EntryCheck {
    let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
    let kind = entry.header().entry_type();
    if raw_path.starts_with('/')
        || raw_path.split(['/', '\\']).any(|c| c == "..")
        || raw_path.contains(':')
    {
        return EntryCheck::Problem(Problem::PathTraversal(raw_path));
    }
    if kind.is_symlink() || kind.is_hard_link() {
        let target = entry
            .link_name_bytes()
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .unwrap_or_default();
        return EntryCheck::Problem(Problem::Link {
            path: raw_path,
            target,
        });
    }
    if kind.is_dir() {
        return EntryCheck::Skip;
    }
    if !kind.is_file() {
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader | tar::EntryType::GNULongName
        ) {
            return EntryCheck::Skip;
        }
        return EntryCheck::Problem(Problem::UnexpectedEntry {
            path: raw_path,
            kind: format!("{kind:?}"),
        });
    }
    match raw_path.strip_prefix(top) {
        Some(path) => EntryCheck::File(path.to_string()),
        None => EntryCheck::Problem(Problem::OutsideTopDirectory(raw_path)),
    }
}

/// Reads one regular file of `size` bytes at `path`: Rust sources, the manifest, the VCS
/// info and top-level READMEs are kept as text (large Rust files counted lexically instead,
/// `kept_text` tracks the budget), other files only sniffed for their kind; every file is
/// hashed.
pub(super) fn read_file(
    entry: &mut impl Read,
    path: String,
    size: u64,
    executable: bool,
    kept_text: &mut u64,
) -> Result<ArchiveFile, Problem> {
    let is_rust = path.ends_with(".rs");
    let large = is_rust && (size > LARGE_RUST_FILE || *kept_text + size > MAX_KEPT_TEXT);
    let keep = is_rust || kept_as_text(&path, size);
    let mut head = [0u8; 4];
    // Sized once from the header (capped: the header may lie), not grown by doubling.
    let mut data = Vec::with_capacity(if keep {
        size.min(LARGE_RUST_FILE) as usize
    } else {
        0
    });
    let mut hasher = Sha256::new();
    let read = if keep {
        entry.read_to_end(&mut data).map(|_| hasher.update(&data))
    } else {
        let n = read_up_to(entry, &mut head);
        let filled = head.len().min(size as usize);
        hasher.update(&head[..filled]);
        let drained = std::io::copy(entry, &mut HashWriter(&mut hasher));
        n.and(drained.map(|_| ()))
    };
    read.map_err(classify)?;
    let digest: String = hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let magic: &[u8] = if keep {
        &data[..data.len().min(4)]
    } else {
        &head
    };
    let kind = if path.ends_with(".rs") {
        FileKind::Rust
    } else {
        file_kind(magic)
    };
    let (text, large_unsafe) = if large {
        (
            None,
            Some(crate::knowledge::unsafe_count::lex_count_bytes(&data)),
        )
    } else {
        if keep {
            *kept_text += size;
        }
        // Valid UTF-8 (nearly every file) becomes the text without a copy.
        let text = keep.then(|| {
            String::from_utf8(data)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        });
        (text, None)
    };
    Ok(ArchiveFile {
        path,
        size,
        kind,
        executable,
        text,
        large_unsafe,
        digest,
    })
}

/// Files kept as text besides Rust sources: the manifest, cargo's VCS info, and README files
/// at the top of the crate (what impersonation copies).
fn kept_as_text(path: &str, size: u64) -> bool {
    const MAX_README: u64 = 256 << 10;
    path == "Cargo.toml"
        || path == ".cargo_vcs_info.json"
        || (!path.contains('/')
            && path.to_ascii_lowercase().starts_with("readme")
            && size <= MAX_README)
}

/// Feeds what is written to a hasher (contents not kept are still hashed).
struct HashWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What cargo recorded about the commit a crate was packaged from (`.cargo_vcs_info.json`).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VcsInfo {
    /// The crate's directory inside the repository (`""` at the root); `None` when cargo did
    /// not record it (before cargo 1.58).
    pub path_in_vcs: Option<String>,
    pub sha1: Option<String>,
    pub dirty: bool,
}

impl CrateArchive {
    /// `.cargo_vcs_info.json`, when the archive has a readable one.
    pub fn vcs_info(&self) -> Option<VcsInfo> {
        let text = self.file(".cargo_vcs_info.json")?.text.as_deref()?;
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        let git = v.get("git");
        Some(VcsInfo {
            path_in_vcs: v
                .get("path_in_vcs")
                .and_then(|p| p.as_str())
                .map(|p| p.trim_matches('/').to_string()),
            sha1: git
                .and_then(|g| g.get("sha1"))
                .and_then(|s| s.as_str())
                .map(str::to_string),
            dirty: git
                .and_then(|g| g.get("dirty"))
                .and_then(|d| d.as_bool())
                .unwrap_or(false),
        })
    }
}

/// The packaged `Cargo.toml` of a `.crate`, read without decoding the rest of the archive.
/// The checksum from Cargo.lock is required: an archive that does not match it says nothing.
pub fn manifest(bytes: &[u8], name: &str, version: &str, expected: &str) -> Result<String, String> {
    const MAX_MANIFEST: u64 = 1 << 20;
    let actual = sha256_hex(bytes);
    if !expected.eq_ignore_ascii_case(&actual) {
        return Err(Problem::ChecksumMismatch {
            expected: expected.to_string(),
            actual,
        }
        .to_string());
    }
    // cargo packs files sorted by path, so the manifest comes early: a bomb stops here.
    const MAX_SEARCHED: u64 = 64 << 20;
    let limits = Limits::default();
    let capped = Capped {
        inner: flate2::read::GzDecoder::new(bytes),
        read: 0,
        limit: MAX_SEARCHED,
    };
    let mut tar = tar::Archive::new(capped);
    let wanted = format!("{name}-{version}/Cargo.toml");
    let entries = tar.entries().map_err(|e| classify(e).to_string())?;
    for entry in entries.take(limits.max_entries) {
        let entry = entry.map_err(|e| classify(e).to_string())?;
        if !entry.header().entry_type().is_file() || *entry.path_bytes() != *wanted.as_bytes() {
            continue;
        }
        let mut text = String::new();
        entry
            .take(MAX_MANIFEST)
            .read_to_string(&mut text)
            .map_err(|e| classify(e).to_string())?;
        return Ok(text);
    }
    Err(format!("the archive has no {wanted}"))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(())
}

pub(super) fn classify(e: std::io::Error) -> Problem {
    let msg = e.to_string();
    if msg.contains("limit reached") {
        Problem::TooLarge {
            what: "unpacked archive".into(),
            limit: Limits::default().max_unpacked,
        }
    } else {
        Problem::Truncated(msg)
    }
}

fn file_kind(magic: &[u8]) -> FileKind {
    match magic {
        [0x7f, b'E', b'L', b'F', ..] => FileKind::Elf,
        [b'M', b'Z', ..] => FileKind::Pe,
        [0xfe, 0xed, 0xfa, 0xce | 0xcf, ..]
        | [0xce | 0xcf, 0xfa, 0xed, 0xfe, ..]
        | [0xca, 0xfe, 0xba, 0xbe, ..] => FileKind::MachO,
        [b'!', b'<', b'a', b'r', ..] => FileKind::StaticLib,
        [b'#', b'!', ..] => FileKind::Shebang,
        _ => FileKind::Other,
    }
}

#[cfg(test)]
pub(crate) mod tests;
