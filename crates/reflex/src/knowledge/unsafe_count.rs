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

/// A lexical count for files too large to parse (generated bindings of many megabytes):
/// skips comments, strings and char literals, then reads `unsafe fn|impl|trait|{` and
/// `extern "ABI" {`. Agrees with [`count`] on ordinary code.
pub fn lex_count(text: &str) -> UnsafeCounts {
    use Tok::*;
    let mut c = UnsafeCounts::default();
    if !may_have_unsafe(text) {
        return c;
    }
    let b = text.as_bytes();
    let mut tokens: Vec<Tok> = Vec::new();
    let mut i = 0;
    // The word just read, while no other token followed it (`name!` starts a macro call).
    let mut word_before: Option<&str> = None;
    while i < b.len() {
        let ch = b[i];
        let before = tokens.len();
        // A macro call's tokens are not code to `syn` (nor to `count`): skipped.
        if ch == b'!'
            && word_before.is_some_and(|w| !KEYWORDS.contains(&w))
            && let Some(end) = macro_body_end(b, i + 1)
        {
            i = end;
            word_before = None;
            tokens.push(Other);
            continue;
        }
        if !(ch.is_ascii_whitespace() || ch.is_ascii_alphanumeric() || ch == b'_') {
            word_before = None;
        }
        if ch == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if ch == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
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
        } else if ch == b'r'
            && matches!(b.get(i + 1), Some(b'"') | Some(b'#'))
            && !b
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_ascii_alphanumeric() || *p == b'_')
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = j + close.len();
            tokens.push(Lit);
        } else if ch == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            tokens.push(Lit);
        } else if ch == b'\'' {
            // A char literal ('a', '\n', '\u{..}') or a lifetime ('a).
            if b.get(i + 1) == Some(&b'\\') {
                i += 2;
                while i < b.len() && b[i] != b'\'' {
                    i += 1;
                }
                i += 1;
            } else if b.get(i + 2) == Some(&b'\'') {
                i += 3;
            } else {
                i += 1;
            }
        } else if ch.is_ascii_alphabetic() || ch == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            word_before = Some(word);
            // `fn(` is a function pointer type, not a function.
            let pointer = b[i..].iter().find(|c| !c.is_ascii_whitespace()) == Some(&b'(');
            tokens.push(match word {
                "unsafe" => Unsafe,
                "fn" if !pointer => Fn,
                "impl" => Impl,
                "trait" => Trait,
                "extern" => Extern,
                _ => Other,
            });
        } else if ch == b'{' {
            tokens.push(Brace);
            i += 1;
        } else if !ch.is_ascii_whitespace() {
            tokens.push(Other);
            i += 1;
        } else {
            i += 1;
        }
        // Classify as soon as the pattern is complete, keeping the token list short.
        let n = tokens.len();
        if n == before {
            continue;
        }
        match tokens.as_slice() {
            // `unsafe extern "C" fn` / `unsafe extern "C" {`: the next token decides.
            [.., Unsafe, Extern, Lit] => {
                tokens.pop();
                continue;
            }
            [.., Unsafe, Fn] | [.., Unsafe, Extern, Fn] => c.functions += 1,
            [.., Unsafe, Impl] => c.impls += 1,
            [.., Unsafe, Trait] => c.traits += 1,
            [.., Unsafe, Brace] => c.blocks += 1,
            [.., Extern, Lit, Brace] | [.., Extern, Brace] => c.extern_blocks += 1,
            _ => {}
        }
        if n > 8 {
            tokens.drain(..n - 4);
        }
    }
    c
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
