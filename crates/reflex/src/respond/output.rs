//! `respond`'s answer for people and for programs, written as it is made. An answer from the
//! inventory can name 10,000 projects (6 MB of JSON): each line is written with a few
//! `write_all`s, without formatting machinery, and strings that need no escape (nearly all)
//! are copied as they are.

use super::{Match, Project, Response};
use std::io::{Result, Write};

/// Human output.
pub fn write_human(out: &mut impl Write, r: &Response) -> Result<()> {
    let hits: usize = r.projects.iter().map(|p| p.matches.len()).sum();
    writeln!(
        out,
        "{}: {} of {} lockfiles affected ({} matches) in {} ms",
        r.query,
        r.projects.len(),
        r.lockfiles_scanned,
        hits,
        r.elapsed_ms
    )?;
    for p in &r.projects {
        write_all(out, &["\n", &p.lockfile, "\n"])?;
        for m in &p.matches {
            write_all(out, &["  ", &m.name, " ", &m.version])?;
            if !m.advisories.is_empty() {
                write_all(out, &[" (", &m.advisories.join(", "), ")"])?;
            }
            if m.build_time_only == Some(true) {
                out.write_all(b", build time only")?;
            }
            out.write_all(b"\n    via: ")?;
            for (i, v) in m.via.iter().enumerate() {
                write_all(out, &[if i == 0 { "" } else { " -> " }, v])?;
            }
            write_all(out, &["\n    fix: ", &m.remedy, "\n"])?;
        }
    }
    for u in &r.lockfiles_unreadable {
        write_all(out, &["\nunreadable: ", u, "\n"])?;
    }
    Ok(())
}

fn write_all(out: &mut impl Write, parts: &[&str]) -> Result<()> {
    parts.iter().try_for_each(|p| out.write_all(p.as_bytes()))
}

/// The answer as JSON, byte for byte what serde_json's pretty printer writes for
/// [`Response`] (two spaces a level; `advisories` left out when empty), and a newline. The
/// tests compare the two.
pub fn write_json(out: &mut impl Write, r: &Response) -> Result<()> {
    let mut json = Json { out };
    json.raw("{\n  \"query\": ")?;
    json.string(&r.query)?;
    json.raw(",\n  \"roots\": ")?;
    json.array(1, &r.roots, |j, root| j.string(root))?;
    json.raw(",\n  \"lockfiles_scanned\": ")?;
    json.raw(&r.lockfiles_scanned.to_string())?;
    json.raw(",\n  \"lockfiles_unreadable\": ")?;
    json.array(1, &r.lockfiles_unreadable, |j, u| j.string(u))?;
    json.raw(",\n  \"projects\": ")?;
    json.array(1, &r.projects, project)?;
    json.raw(",\n  \"elapsed_ms\": ")?;
    json.raw(&r.elapsed_ms.to_string())?;
    json.raw("\n}\n")
}

fn project<W: Write>(j: &mut Json<'_, W>, p: &Project) -> Result<()> {
    j.raw("{\n      \"lockfile\": ")?;
    j.string(&p.lockfile)?;
    j.raw(",\n      \"matches\": ")?;
    j.array(3, &p.matches, matched)?;
    j.raw("\n    }")
}

fn matched<W: Write>(j: &mut Json<'_, W>, m: &Match) -> Result<()> {
    const FIELD: &str = ",\n          \"";
    j.raw("{\n          \"name\": ")?;
    j.string(&m.name)?;
    j.raw(FIELD)?;
    j.raw("version\": ")?;
    j.string(&m.version)?;
    j.raw(FIELD)?;
    j.raw("source\": ")?;
    j.string(&m.source)?;
    j.raw(FIELD)?;
    j.raw("via\": ")?;
    j.array(5, &m.via, |j, v| j.string(v))?;
    j.raw(FIELD)?;
    j.raw("direct\": ")?;
    match &m.direct {
        Some(d) => j.string(d)?,
        None => j.raw("null")?,
    }
    j.raw(FIELD)?;
    j.raw("build_time_only\": ")?;
    j.raw(match m.build_time_only {
        Some(true) => "true",
        Some(false) => "false",
        None => "null",
    })?;
    if !m.advisories.is_empty() {
        j.raw(FIELD)?;
        j.raw("advisories\": ")?;
        j.array(5, &m.advisories, |j, a| j.string(a))?;
    }
    j.raw(FIELD)?;
    j.raw("remedy\": ")?;
    j.string(&m.remedy)?;
    j.raw("\n        }")
}

struct Json<'a, W> {
    out: &'a mut W,
}

impl<W: Write> Json<'_, W> {
    fn raw(&mut self, text: &str) -> Result<()> {
        self.out.write_all(text.as_bytes())
    }

    /// A JSON string: as it is when nothing in it needs an escape (a quote, a backslash, a
    /// control character), else escaped by serde_json.
    fn string(&mut self, s: &str) -> Result<()> {
        if plain(s.as_bytes()) {
            self.out.write_all(b"\"")?;
            self.out.write_all(s.as_bytes())?;
            self.out.write_all(b"\"")
        } else {
            serde_json::to_writer(&mut *self.out, s).map_err(std::io::Error::from)
        }
    }

    /// `items` as an array whose elements are indented `depth + 1` levels (`[]` when empty).
    fn array<T>(
        &mut self,
        depth: usize,
        items: &[T],
        mut item: impl FnMut(&mut Self, &T) -> Result<()>,
    ) -> Result<()> {
        if items.is_empty() {
            return self.raw("[]");
        }
        const SPACES: &str = "                                ";
        let inner = &SPACES[..(2 * depth + 2).min(SPACES.len())];
        for (i, x) in items.iter().enumerate() {
            self.raw(if i == 0 { "[\n" } else { ",\n" })?;
            self.raw(inner)?;
            item(self, x)?;
        }
        self.raw("\n")?;
        self.raw(&inner[2..])?;
        self.raw("]")
    }
}

/// Whether no byte of `bytes` needs an escape in JSON: a quote, a backslash or a control
/// character (below 0x20). Eight bytes at a time: `(w - n * ONES) & !w & TOPS` is not zero
/// exactly when a byte of the word `w` is below `n` (for `n` up to 0x80).
fn plain(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let below = |w: u64, n: u64| w.wrapping_sub(n * ONES) & !w & TOPS;
    let mut words = bytes.chunks_exact(8);
    for chunk in &mut words {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if below(w, 0x20)
            | below(w ^ (u64::from(b'"') * ONES), 1)
            | below(w ^ (u64::from(b'\\') * ONES), 1)
            != 0
        {
            return false;
        }
    }
    words
        .remainder()
        .iter()
        .all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(direct: Option<&str>, build: Option<bool>, advisories: &[&str]) -> Match {
        Match {
            name: "ev\"il".into(),
            version: "1.0.0-rc.1+build\u{1}".into(),
            source: "registry+https://github.com/rust-lang/crates.io-index".into(),
            via: vec![
                "app 0.1.0".into(),
                "a\\b 2.0.0".into(),
                "ünï\u{7f}cödé \t".into(),
            ],
            direct: direct.map(str::to_string),
            build_time_only: build,
            advisories: advisories.iter().map(|a| a.to_string()).collect(),
            remedy: "cargo update -p x@1.0.0 --precise 0.9.9 (`cargo tree`)\n".into(),
        }
    }

    /// Every byte at every place of a word, against the plain definition.
    #[test]
    fn plain_finds_each_byte_that_needs_an_escape() {
        for b in 0..=255u8 {
            let needs = b < 0x20 || b == b'"' || b == b'\\';
            for len in [1, 7, 8, 9, 16, 17] {
                for at in 0..len {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = b;
                    assert_eq!(plain(&bytes), !needs, "byte {b:#x} at {at} of {len}");
                }
            }
        }
        assert!(plain(b""));
        assert!(plain("ünïcödé 1.0.0 -> x".as_bytes()));
    }

    /// The hand-written JSON is serde_json's pretty output, byte for byte, for every shape of
    /// answer (empty and full lists, absent and present values, strings that need escapes).
    #[test]
    fn json_is_serde_jsons_pretty_output() {
        let full = Response {
            query: "itoa@<1 \"q\"".into(),
            roots: vec!["postgres://u@h/db".into(), "/tmp/a\u{0}".into()],
            lockfiles_scanned: 10_060,
            lockfiles_unreadable: vec!["x: y has version `z`, which is not semver".into()],
            projects: vec![
                Project {
                    lockfile: "fleet-1 (main @ 0123456789ab, recorded 2026 by audit)".into(),
                    matches: vec![
                        matched(Some("serde_json 1.0.0"), None, &[]),
                        matched(None, Some(true), &["RUSTSEC-2020-0001", "CVE-1"]),
                    ],
                },
                Project {
                    lockfile: String::new(),
                    matches: vec![matched(Some(""), Some(false), &[""])],
                },
                Project {
                    lockfile: "no matches".into(),
                    matches: Vec::new(),
                },
            ],
            elapsed_ms: u128::MAX,
        };
        let empty = Response {
            query: String::new(),
            roots: Vec::new(),
            lockfiles_scanned: 0,
            lockfiles_unreadable: Vec::new(),
            projects: Vec::new(),
            elapsed_ms: 0,
        };
        for r in [full, empty] {
            let mut ours = Vec::new();
            write_json(&mut ours, &r).unwrap();
            let serde = serde_json::to_string_pretty(&r).unwrap() + "\n";
            assert_eq!(String::from_utf8(ours).unwrap(), serde);
        }
    }
}
