//! The fallback reader: a lexer over text `syn` could not parse (or nested too deep for a
//! recursive parser), and over `macro_rules!` bodies. It finds paths, calls with a literal
//! first argument, and literals, without following values: what it cannot follow is
//! recorded as computed.

use super::detect_literals::literal_facts;
use super::patterns::{self, NET_CRATES, NET_NAMES, RAW_EXEC, RAW_NET};
use super::{Fact, Kind, Source};

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    PathSep,
    Punct(char),
}

/// Reads a whole file lexically.
pub fn file(src: &Source<'_>, text: &str, facts: &mut Vec<Fact>) {
    scan(text, 0, src, text, facts);
}

/// Reads `body` (whose first line is line `base + 1` of `full`) lexically.
pub fn scan(body: &str, base: u32, src: &Source<'_>, full: &str, facts: &mut Vec<Fact>) {
    let toks = lex(body);
    let mut push = |kind: Kind, line: u32, subject: String, class: &str, computed: bool| {
        let line = base + line;
        facts.push(Fact {
            kind,
            role: src.role,
            file: src.path.to_string(),
            line,
            snippet: super::snippet(full, line),
            subject,
            class: class.to_string(),
            func: String::new(),
            computed,
            decoded: None,
            gated: None,
        });
    };
    let mut i = 0;
    while i < toks.len() {
        let (line, tok) = &toks[i];
        match tok {
            Tok::Str(s) => {
                for (k, subject, class) in literal_facts(s) {
                    push(k, *line, subject, class, false);
                }
                i += 1;
            }
            Tok::Ident(_) => {
                let (path, next) = read_path(&toks, i);
                let call = matches!(toks.get(next), Some((_, Tok::Punct('('))));
                let bang_call = matches!(toks.get(next), Some((_, Tok::Punct('!'))));
                let lit = match toks.get(next + 1 + usize::from(bang_call)) {
                    Some((_, Tok::Str(s))) => Some(s.clone()),
                    _ => None,
                };
                classify(&path, call, bang_call, lit, *line, &toks, next, &mut push);
                i = next.max(i + 1);
            }
            _ => i += 1,
        }
    }
}

type Push<'a> = dyn FnMut(Kind, u32, String, &str, bool) + 'a;

#[allow(clippy::too_many_arguments)]
fn classify(
    path: &str,
    call: bool,
    bang: bool,
    lit: Option<String>,
    line: u32,
    toks: &[(u32, Tok)],
    next: usize,
    push: &mut Push<'_>,
) {
    let first = path.split("::").next().unwrap_or("");
    let last = path.rsplit("::").next().unwrap_or("");
    if call && path.ends_with("Command::new") {
        let computed = lit.is_none();
        let program = lit.unwrap_or_default();
        let class = if computed {
            "computed"
        } else {
            patterns::program_class(&program)
        };
        push(Kind::Exec, line, program, class, computed);
    } else if call && (path.ends_with("env::var") || path.ends_with("env::var_os")) {
        let computed = lit.is_none();
        push(Kind::EnvRead, line, lit.unwrap_or_default(), "", computed);
    } else if path.ends_with("env::vars") || path.ends_with("env::vars_os") {
        push(Kind::EnvDump, line, "env::vars()".into(), "", false);
    } else if let Some((_, class)) = NET_CRATES
        .iter()
        .find(|(c, _)| *c == first)
        .filter(|_| path.contains("::"))
    {
        push(Kind::Network, line, path.to_string(), class, false);
    } else if NET_NAMES.contains(&last)
        && (path.contains("net") || !path.contains("::"))
        && first != "use"
    {
        push(Kind::Network, line, path.to_string(), "socket", false);
    } else if call && matches!(first, "libc" | "nix" | "winapi" | "windows_sys") {
        if RAW_NET.contains(&last) {
            push(Kind::Network, line, path.to_string(), "raw", false);
        } else if RAW_EXEC.contains(&last) {
            let class = lit.as_deref().map_or("computed", patterns::program_class);
            push(
                Kind::Exec,
                line,
                lit.clone().unwrap_or_default(),
                class,
                lit.is_none(),
            );
        }
    } else if bang && last == "include_bytes" {
        if let Some(p) = lit.filter(|p| {
            [".exe", ".dll", ".so", ".dylib", ".bin"]
                .iter()
                .any(|e| p.ends_with(e))
        }) {
            push(Kind::EmbeddedExe, line, p, "include_bytes", false);
        }
    } else if call
        && last.starts_with("danger_accept_invalid")
        && matches!(toks.get(next + 1), Some((_, Tok::Ident(t))) if t == "true")
    {
        push(Kind::TlsOff, line, format!("{last}(true)"), "", false);
    }
}

/// The path starting at `i` (`a::b::c`) and the index after it.
fn read_path(toks: &[(u32, Tok)], mut i: usize) -> (String, usize) {
    let mut path = String::new();
    while let Some((_, Tok::Ident(id))) = toks.get(i) {
        if !path.is_empty() {
            path.push_str("::");
        }
        path.push_str(id);
        i += 1;
        // Turbofish and generics are skipped only in their simplest form.
        if matches!(toks.get(i), Some((_, Tok::PathSep))) {
            i += 1;
        } else {
            break;
        }
    }
    (path, i)
}

/// Tokens with their 1-based line relative to the start of `text`.
fn lex(text: &str) -> Vec<(u32, Tok)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0usize, 1u32);
    while i < b.len() {
        let c = b[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let end = crate::knowledge::unsafe_count::block_comment_end(b, i);
                let newlines = memchr::memchr_iter(b'\n', &b[i..end.min(b.len())]).count();
                line += u32::try_from(newlines).unwrap_or(0);
                i = end;
            }
            b'"' => {
                let (s, end, lines) = string(b, i + 1);
                out.push((line, Tok::Str(s)));
                line += lines;
                i = end;
            }
            b'r' | b'b' if raw_start(b, i).is_some() => {
                let (hashes, start) = raw_start(b, i).unwrap_or((0, i + 1));
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let end = memchr::memmem::find(&b[start..], &close).map_or(b.len(), |e| start + e);
                let s = String::from_utf8_lossy(&b[start..end]).into_owned();
                line += u32::try_from(s.matches('\n').count()).unwrap_or(0);
                out.push((line, Tok::Str(s)));
                i = (end + close.len()).min(b.len());
            }
            b'\'' => {
                // A char literal ('a', '\n') or a lifetime ('a): skip either.
                let close = b[i + 1..b.len().min(i + 12)]
                    .iter()
                    .position(|&x| x == b'\'');
                i = match close {
                    Some(p) if p > 0 => i + p + 2,
                    _ => i + 1,
                };
            }
            b':' if b.get(i + 1) == Some(&b':') => {
                out.push((line, Tok::PathSep));
                i += 2;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                out.push((
                    line,
                    Tok::Ident(String::from_utf8_lossy(&b[start..i]).into_owned()),
                ));
            }
            c if c.is_ascii_punctuation() => {
                out.push((line, Tok::Punct(char::from(c))));
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// `r"`, `r#"`, `br"`, `b"`: the number of hashes and where the text starts.
fn raw_start(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if b[j] == b'b' {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
    (b.get(j + hashes) == Some(&b'"')).then_some((hashes, j + hashes + 1))
}

/// The value the lexer reads for the body of a `"..."` string (without its quotes).
pub fn cook(body: &str) -> String {
    let mut quoted = body.as_bytes().to_vec();
    quoted.push(b'"');
    string(&quoted, 0).0
}

/// A `"..."` string from `start` (after the quote): its value, the index after it, and the
/// newlines it spans.
fn string(b: &[u8], start: usize) -> (String, usize, u32) {
    let mut out = Vec::new();
    let (mut i, mut lines) = (start, 0u32);
    while i < b.len() && b[i] != b'"' {
        if b[i] == b'\\' && i + 1 < b.len() {
            let e = b[i + 1];
            match e {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'x' if i + 3 < b.len() => {
                    let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap_or("");
                    out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                    i += 2;
                }
                b'\n' => lines += 1,
                other => out.push(other),
            }
            i += 2;
            continue;
        }
        lines += u32::from(b[i] == b'\n');
        out.push(b[i]);
        i += 1;
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        (i + 1).min(b.len()),
        lines,
    )
}
