//! The tokens the lexical pass reads, without allocation, and the array literals among them.

use super::super::patterns;

/// Array literals as `detect_array` reads them: the integer literals among the first eight
/// elements of each `[...]`, checked for an executable's first bytes.
#[derive(Default)]
pub struct Arrays {
    open: Vec<Array>,
}

struct Array {
    /// The bracket depth of its elements.
    depth: usize,
    elements: usize,
    /// Tokens of the current element, and its value when it is one integer literal.
    tokens: usize,
    value: Option<u64>,
    bytes: Vec<u8>,
}

impl Arrays {
    /// Reads one token at bracket depth `depth` (before the token opens or closes a group);
    /// `true` when an array starts like an executable.
    pub fn token(&mut self, tok: &Token<'_>, depth: usize) -> bool {
        let at_top = |a: &Array| a.depth == depth;
        let closes = matches!(tok, Token::Punct(b']')) && self.open.last().is_some_and(at_top);
        let separates = matches!(tok, Token::Punct(b',')) && self.open.last().is_some_and(at_top);
        if closes || separates {
            let Some(a) = self.open.last_mut() else {
                return false;
            };
            if a.tokens == 1
                && a.elements < 8
                && let Some(v) = a.value.and_then(|v| u8::try_from(v).ok())
            {
                a.bytes.push(v);
            }
            a.elements += 1;
            a.tokens = 0;
            a.value = None;
            let magic = patterns::executable_magic(&a.bytes).is_some();
            if closes {
                self.open.pop();
            }
            return magic;
        }
        if let Some(a) = self.open.last_mut() {
            a.tokens += 1;
            a.value = match tok {
                Token::Int(t) => int_value(t),
                _ => None,
            };
        }
        if matches!(tok, Token::Punct(b'[')) {
            self.open.push(Array {
                depth: depth + 1,
                elements: 0,
                tokens: 0,
                value: None,
                bytes: Vec::new(),
            });
        }
        false
    }
}

/// The value of an integer literal's text (`0x7f`, `127u8`, `0b1_0`), when it has one.
pub fn int_value(text: &str) -> Option<u64> {
    let t: String = text.chars().filter(|&c| c != '_').collect();
    let (radix, digits) = match t.get(..2) {
        Some("0x") => (16, &t[2..]),
        Some("0o") => (8, &t[2..]),
        Some("0b") => (2, &t[2..]),
        _ => (10, t.as_str()),
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    u64::from_str_radix(&digits[..end], radix).ok()
}

#[derive(Clone, Copy, PartialEq)]
pub enum Token<'a> {
    Ident(&'a str),
    /// A string, byte string or C string literal's body; raw ones are not cooked.
    Str {
        body: &'a str,
        raw: bool,
    },
    /// The text of a doc comment (what `#[doc = ...]` holds).
    Doc(&'a str),
    Int(&'a str),
    /// A character literal's value, when it is written plainly.
    Char(char),
    Punct(u8),
}

/// Tokens of Rust source without allocation. Unknown bytes are skipped; anything it reads
/// differently from rustc only makes it see more identifiers or literals, never fewer: a
/// string that does not close runs to the end of the file and is read as a literal.
pub struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    /// Where the token last returned starts.
    pub start: usize,
}

impl<'a> Lexer<'a> {
    /// The length of the character at `at` when it is whitespace to rustc (a character that
    /// starts there, beyond ASCII).
    fn space_at(&self, at: usize) -> Option<usize> {
        let lead = *self.b.get(at)?;
        if lead < 0xc0 {
            return None;
        }
        let len = match lead {
            x if x >= 0xf0 => 4,
            x if x >= 0xe0 => 3,
            _ => 2,
        };
        let c = std::str::from_utf8(self.b.get(at..at + len)?)
            .ok()?
            .chars()
            .next()?;
        (c.is_whitespace() || matches!(c, '\u{200e}' | '\u{200f}')).then_some(len)
    }

    /// A lexer of `text` from where `syn` starts reading it: after a byte-order mark and a
    /// shebang line (`#!` not followed by `[`).
    pub fn rust(text: &'a str) -> Lexer<'a> {
        let mut lex = Lexer::new(text);
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        lex.i = text.len() - body.len();
        if let Some(rest) = body.strip_prefix("#!") {
            // An inner attribute is `#!` then `[` (whitespace and comments between).
            let mut probe = Lexer::new(rest);
            let attribute = loop {
                match probe.next() {
                    Some(Token::Doc(_)) => continue,
                    Some(Token::Punct(b'[')) => break true,
                    _ => break false,
                }
            };
            if !attribute {
                lex.i += memchr::memchr(b'\n', body.as_bytes()).unwrap_or(body.len());
            }
        }
        lex
    }

    /// Where the next token is looked for (the end of the last one).
    pub fn position(&self) -> usize {
        self.i
    }

    pub fn new(text: &'a str) -> Lexer<'a> {
        Lexer {
            b: text.as_bytes(),
            i: 0,
            start: 0,
        }
    }

    fn text(&self, from: usize, to: usize) -> &'a str {
        let to = to.min(self.b.len());
        std::str::from_utf8(&self.b[from.min(to)..to]).unwrap_or("")
    }

    pub fn next(&mut self) -> Option<Token<'a>> {
        let b = self.b;
        loop {
            let c = *b.get(self.i)?;
            let at = self.i;
            self.start = at;
            match c {
                b'/' if b.get(at + 1) == Some(&b'/') => {
                    let end = memchr::memchr(b'\n', &b[at..]).map_or(b.len(), |e| at + e);
                    self.i = end;
                    let doc = (b.get(at + 2) == Some(&b'/') && b.get(at + 3) != Some(&b'/'))
                        || b.get(at + 2) == Some(&b'!');
                    if doc {
                        // As proc-macro2 reads it: without the carriage return.
                        let doc = self.text(at + 3, end);
                        return Some(Token::Doc(doc.strip_suffix('\r').unwrap_or(doc)));
                    }
                }
                b'/' if b.get(at + 1) == Some(&b'*') => {
                    let j = crate::knowledge::unsafe_count::block_comment_end(b, at);
                    self.i = j;
                    // `/**/` is an empty comment, not an empty doc comment.
                    let doc = (b.get(at + 2) == Some(&b'*')
                        && !matches!(b.get(at + 3), Some(b'*' | b'/')))
                        || b.get(at + 2) == Some(&b'!');
                    if doc {
                        return Some(Token::Doc(self.text(at + 3, j.saturating_sub(2))));
                    }
                }
                b'"' => return Some(self.string(at + 1)),
                b'r' | b'b' | b'c' if self.raw_or_prefixed(at).is_some() => {
                    let (hashes, start) = self.raw_or_prefixed(at).unwrap_or((None, at + 1));
                    return Some(match hashes {
                        None => self.string(start),
                        Some(n) => {
                            let mut close = vec![b'"'];
                            close.extend(std::iter::repeat_n(b'#', n));
                            let end = memchr::memmem::find(&b[start..], &close)
                                .map_or(b.len(), |e| start + e);
                            self.i = (end + close.len()).min(b.len());
                            Token::Str {
                                body: self.text(start, end),
                                raw: true,
                            }
                        }
                    });
                }
                b'\'' => {
                    // A char or byte literal ('a', '\n', '\u{..}') or a lifetime ('a).
                    if b.get(at + 1) == Some(&b'\\') {
                        // The escaped character itself may be a quote (`'\''`).
                        let close = b
                            .get(at + 3..)
                            .and_then(|r| r.iter().take(11).position(|&x| x == b'\''));
                        self.i = close.map_or(at + 1, |p| at + 3 + p + 1);
                        // Escaped characters are read as `syn` reads them.
                        let lit = self.text(at, self.i);
                        if let Ok(c) = syn::parse_str::<syn::LitChar>(lit) {
                            return Some(Token::Char(c.value()));
                        }
                    } else {
                        let len = match b.get(at + 1) {
                            Some(&x) if x >= 0xf0 => 4,
                            Some(&x) if x >= 0xe0 => 3,
                            Some(&x) if x >= 0xc0 => 2,
                            _ => 1,
                        };
                        if b.get(at + 1 + len) == Some(&b'\'') {
                            self.i = at + 2 + len;
                            let c = self.text(at + 1, at + 1 + len).chars().next();
                            return Some(Token::Char(c.unwrap_or('?')));
                        }
                        self.i = at + 1;
                    }
                }
                b'0'..=b'9' => {
                    let mut j = at;
                    while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                        j += 1;
                    }
                    self.i = j;
                    return Some(Token::Int(self.text(at, j)));
                }
                // Whitespace beyond ASCII (what rustc skips: U+200E, U+2028, ...).
                c if c >= 0x80 && self.space_at(at).is_some() => {
                    self.i = at + self.space_at(at).unwrap_or(1);
                }
                c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                    let mut j = at;
                    if c == b'r' && b.get(at + 1) == Some(&b'#') {
                        j += 2;
                    }
                    while j < b.len()
                        && (b[j].is_ascii_alphanumeric()
                            || b[j] == b'_'
                            || (b[j] >= 0x80 && self.space_at(j).is_none()))
                    {
                        j += 1;
                    }
                    self.i = j.max(at + 1);
                    return Some(Token::Ident(self.text(at, self.i)));
                }
                c if c.is_ascii_punctuation() => {
                    self.i = at + 1;
                    return Some(Token::Punct(c));
                }
                _ => self.i = at + 1,
            }
        }
    }

    /// `r"`, `r#"`, `br"`, `b"`, `c"`, `cr#"` at `at`: `(Some(hashes), body start)` for raw
    /// strings, `(None, body start)` for prefixed cooked ones.
    fn raw_or_prefixed(&self, at: usize) -> Option<(Option<usize>, usize)> {
        let b = self.b;
        // Only at the start of a word: `attr"` is not a prefix.
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            return None;
        }
        let mut j = at;
        if matches!(b[j], b'b' | b'c') {
            j += 1;
        }
        if b.get(j) == Some(&b'r') {
            let hashes = b[j + 1..].iter().take_while(|&&c| c == b'#').count();
            return (b.get(j + 1 + hashes) == Some(&b'"'))
                .then_some((Some(hashes), j + 2 + hashes));
        }
        (j > at && b.get(j) == Some(&b'"')).then_some((None, j + 1))
    }

    /// A cooked string whose body starts at `start`.
    fn string(&mut self, start: usize) -> Token<'a> {
        let b = self.b;
        let mut j = start;
        while j < b.len() && b[j] != b'"' {
            j += if b[j] == b'\\' { 2 } else { 1 };
        }
        self.i = (j + 1).min(b.len());
        Token::Str {
            body: self.text(start, j),
            raw: false,
        }
    }
}
