//! Counts `unsafe` the way cargo-geiger reports it, without compiling: unsafe functions and
//! methods, unsafe blocks (expressions), unsafe impls, unsafe traits and extern blocks.

use serde::Serialize;
use syn::visit::Visit;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UnsafeCounts {
    pub functions: usize,
    pub blocks: usize,
    pub impls: usize,
    pub traits: usize,
    pub extern_blocks: usize,
}

impl UnsafeCounts {
    pub fn total(&self) -> usize {
        self.functions + self.blocks + self.impls + self.traits + self.extern_blocks
    }

    pub fn add(&mut self, other: &UnsafeCounts) {
        self.functions += other.functions;
        self.blocks += other.blocks;
        self.impls += other.impls;
        self.traits += other.traits;
        self.extern_blocks += other.extern_blocks;
    }
}

struct Counter(UnsafeCounts);

impl<'ast> Visit<'ast> for Counter {
    fn visit_item_fn(&mut self, i: &'ast syn::ItemFn) {
        if i.sig.unsafety.is_some() {
            self.0.functions += 1;
        }
        syn::visit::visit_item_fn(self, i);
    }
    fn visit_impl_item_fn(&mut self, i: &'ast syn::ImplItemFn) {
        if i.sig.unsafety.is_some() {
            self.0.functions += 1;
        }
        syn::visit::visit_impl_item_fn(self, i);
    }
    fn visit_trait_item_fn(&mut self, i: &'ast syn::TraitItemFn) {
        if i.sig.unsafety.is_some() {
            self.0.functions += 1;
        }
        syn::visit::visit_trait_item_fn(self, i);
    }
    fn visit_expr_unsafe(&mut self, i: &'ast syn::ExprUnsafe) {
        self.0.blocks += 1;
        syn::visit::visit_expr_unsafe(self, i);
    }
    fn visit_item_impl(&mut self, i: &'ast syn::ItemImpl) {
        if i.unsafety.is_some() {
            self.0.impls += 1;
        }
        syn::visit::visit_item_impl(self, i);
    }
    fn visit_item_trait(&mut self, i: &'ast syn::ItemTrait) {
        if i.unsafety.is_some() {
            self.0.traits += 1;
        }
        syn::visit::visit_item_trait(self, i);
    }
    fn visit_item_foreign_mod(&mut self, i: &'ast syn::ItemForeignMod) {
        self.0.extern_blocks += 1;
        syn::visit::visit_item_foreign_mod(self, i);
    }
}

/// Whether a file's text can have anything [`count`] or [`lex_count`] counts: every counted
/// item or block is spelt with the keyword `unsafe` or `extern` (macros are not expanded), so
/// a file with neither word has none.
pub fn may_have_unsafe(text: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), b"unsafe").is_some()
        || memchr::memmem::find(text.as_bytes(), b"extern").is_some()
}

/// Counts in one parsed file.
pub fn count(file: &syn::File) -> UnsafeCounts {
    let mut c = Counter(UnsafeCounts::default());
    c.visit_file(file);
    c.0
}

/// Whether the file carries `#![forbid(unsafe_code)]` (or `deny`).
pub fn forbids_unsafe(file: &syn::File) -> bool {
    file.attrs.iter().any(|a| {
        matches!(a.style, syn::AttrStyle::Inner(_))
            && (a.path().is_ident("forbid") || a.path().is_ident("deny"))
            && a.meta.require_list().is_ok_and(|l| {
                l.tokens
                    .to_string()
                    .split(',')
                    .any(|t| t.trim() == "unsafe_code")
            })
    })
}

/// The tokens the lexical count tells apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok {
    Unsafe,
    Fn,
    Impl,
    Trait,
    Extern,
    Lit,
    Brace,
    Other,
}

/// The last four tokens read, the newest last (the patterns are at most three long).
struct Recent([Tok; 4]);

impl Recent {
    fn push(&mut self, t: Tok) {
        self.0.rotate_left(1);
        self.0[3] = t;
    }

    /// Counts the pattern the newest token completes, as soon as it is complete.
    fn push_and_count(&mut self, t: Tok, c: &mut UnsafeCounts) {
        use Tok::*;
        self.push(t);
        if t == Other {
            return;
        }
        match (self.0[1], self.0[2], self.0[3]) {
            // `unsafe extern "C" fn` / `unsafe extern "C" {`: the next token decides.
            (Unsafe, Extern, Lit) => {
                self.0.rotate_right(1);
                self.0[0] = Other;
            }
            (_, Unsafe, Fn) | (Unsafe, Extern, Fn) => c.functions += 1,
            (_, Unsafe, Impl) => c.impls += 1,
            (_, Unsafe, Trait) => c.traits += 1,
            (_, Unsafe, Brace) => c.blocks += 1,
            (Extern, Lit, Brace) | (_, Extern, Brace) => c.extern_blocks += 1,
            _ => {}
        }
    }
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// A lexical count for files too large to parse (generated bindings of many megabytes) and
/// for files or items the behaviour analysis does not parse: skips comments, strings, char
/// literals and macro calls, then reads `unsafe fn|impl|trait|{` and `extern "ABI" {`.
/// Agrees with [`count`] on ordinary code. Bytes that are not UTF-8 are punctuation.
pub fn lex_count(text: &str) -> UnsafeCounts {
    lex_count_bytes(text.as_bytes())
}

/// [`lex_count`] of bytes (a file that may not be UTF-8).
pub fn lex_count_bytes(b: &[u8]) -> UnsafeCounts {
    use Tok::*;
    let mut c = UnsafeCounts::default();
    if memchr::memmem::find(b, b"unsafe").is_none() && memchr::memmem::find(b, b"extern").is_none()
    {
        return c;
    }
    let mut recent = Recent([Other; 4]);
    let mut i = 0;
    // The word just read, while no other token followed it (`name!` starts a macro call).
    let mut word_before: Option<&[u8]> = None;
    while i < b.len() {
        let ch = b[i];
        if ch.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if ch.is_ascii_alphabetic() || ch == b'_' {
            if ch == b'r'
                && matches!(b.get(i + 1), Some(b'"' | b'#'))
                && !(i > 0 && is_ident_byte(b[i - 1]))
            {
                match raw_string_end(b, i + 1) {
                    Some(end) => {
                        i = end;
                        recent.push_and_count(Lit, &mut c);
                    }
                    // `r#ident`: the `r` is skipped, the rest read as it comes.
                    None => i += 1,
                }
                continue;
            }
            let start = i;
            while i < b.len() && is_ident_byte(b[i]) {
                i += 1;
            }
            let word = &b[start..i];
            word_before = Some(word);
            let tok = match word {
                b"unsafe" => Unsafe,
                // `fn(` is a function pointer type, not a function.
                b"fn" if b[i..].iter().find(|c| !c.is_ascii_whitespace()) != Some(&b'(') => Fn,
                b"impl" => Impl,
                b"trait" => Trait,
                b"extern" => Extern,
                _ => Other,
            };
            recent.push_and_count(tok, &mut c);
            continue;
        }
        if ch.is_ascii_digit() {
            i += 1;
            recent.push(Other);
            continue;
        }
        // A macro call's tokens are not code to `syn` (nor to `count`): skipped.
        if ch == b'!'
            && word_before.is_some_and(|w| !KEYWORDS.iter().any(|k| k.as_bytes() == w))
            && let Some(end) = macro_body_end(b, i + 1)
        {
            i = end;
            word_before = None;
            recent.push(Other);
            continue;
        }
        word_before = None;
        match ch {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => i = block_comment_end(b, i),
            b'"' => {
                i = string_end(b, i + 1);
                recent.push_and_count(Lit, &mut c);
            }
            // A char literal ('a', '\n', '\u{..}') or a lifetime ('a).
            b'\'' => {
                if b.get(i + 1) == Some(&b'\\') {
                    i = memchr::memchr(b'\'', &b[i + 2..]).map_or(b.len(), |n| i + 2 + n) + 1;
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            b'{' => {
                i += 1;
                recent.push_and_count(Brace, &mut c);
            }
            _ => {
                i += 1;
                recent.push(Other);
            }
        }
    }
    c
}

/// After the `"` at `i - 1`: where the string ends (after its closing quote).
fn string_end(b: &[u8], mut i: usize) -> usize {
    while let Some(n) = memchr::memchr2(b'"', b'\\', &b[i.min(b.len())..]) {
        i += n;
        if b[i] == b'"' {
            return i + 1;
        }
        i += 2;
    }
    b.len() + 1
}

/// The end of the nested block comment starting at `i` (the lexers of the behaviour analysis
/// use it too).
pub fn block_comment_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                break;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// After the `r` of a raw string (at `i`: its `#`s or `"`): where it ends, or `None` when no
/// `"` follows the `#`s (a raw identifier).
fn raw_string_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut hashes = 0;
    while b.get(i) == Some(&b'#') {
        hashes += 1;
        i += 1;
    }
    if b.get(i) != Some(&b'"') {
        return None;
    }
    i += 1;
    while let Some(n) = memchr::memchr(b'"', &b[i.min(b.len())..]) {
        let close = i + n;
        let after = &b[close + 1..];
        if after.len() >= hashes && after[..hashes].iter().all(|&h| h == b'#') {
            return Some(close + 1 + hashes);
        }
        i = close + 1;
    }
    Some(b.len() + 1 + hashes)
}

/// Keywords after which `!` is a negation, not a macro call.
const KEYWORDS: &[&str] = &[
    "return", "if", "while", "match", "in", "else", "break", "let", "mut", "move", "as", "for",
    "loop", "yield", "await",
];

/// After the `!` of a macro call (at `i`): the end of its body, `macro_rules! name { .. }`
/// included; `None` when no group follows.
fn macro_body_end(b: &[u8], mut i: usize) -> Option<usize> {
    let skip_ws = |b: &[u8], mut i: usize| {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    i = skip_ws(b, i);
    if b.get(i)
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        i = skip_ws(b, i);
    }
    if !matches!(b.get(i), Some(b'(' | b'[' | b'{')) {
        return None;
    }
    let mut depth = 0usize;
    while i < b.len() {
        match b[i] {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'\'' if b.get(i + 2) == Some(&b'\'') => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\\') => {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Some(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_count_agrees_with_the_parser() {
        let src = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/analysis/unsafe_lexer.rs.txt"
        ));
        let parsed = count(&syn::parse_str(src).unwrap());
        assert_eq!(lex_count(src), parsed);
    }

    #[test]
    fn lexical_count_skips_what_is_not_code() {
        let src = b"unsafe fn a() {} \xff\xfe r#\"unsafe {\"# \"unsafe fn\" /* unsafe impl */\n\
            m! { unsafe fn x() {} } let f: /* a pointer type */ unsafe extern \"C\" fn() = b; 'x'; '\\'';\n\
            unsafe extern \"C\" { } unsafe { } // unsafe trait\n";
        assert_eq!(
            lex_count_bytes(src),
            UnsafeCounts {
                functions: 1,
                blocks: 1,
                impls: 0,
                traits: 0,
                extern_blocks: 1
            }
        );
    }

    #[test]
    fn counts_every_kind() {
        let f: syn::File = syn::parse_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/analysis/unsafe_kinds.rs.txt"
        )))
        .unwrap();
        let c = count(&f);
        assert_eq!(
            c,
            UnsafeCounts {
                functions: 3,
                blocks: 2,
                impls: 1,
                traits: 1,
                extern_blocks: 1
            }
        );
        assert!(forbids_unsafe(&f));
        assert!(!forbids_unsafe(
            &syn::parse_str::<syn::File>("#![deny(missing_docs)] fn x() {}").unwrap()
        ));
    }
}
