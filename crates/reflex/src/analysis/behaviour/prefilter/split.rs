//! The lexical pass proper: a file's tokens split into items, each with what may make it worth
//! parsing. The members of an `impl`, a `trait` or an inline `mod` are items of their own (a
//! large `impl` whose one method runs a program keeps that method, not the others); test-only
//! items (`#[test]`, `#[cfg(test)]`, see `patterns::test_attribute`) are marked, never kept.

use super::lex::{Arrays, Lexer, Token};
use super::{Idents, Item, Literals, SEED_MACROS, Scan, seed_ident, seed_value, string_seed};

/// Items being read at one nesting level: the file's, or a container's members.
struct Frame<'a> {
    /// The bracket depth of this level's items.
    depth: usize,
    current: Item<'a>,
    /// The next token starts a new item.
    fresh: bool,
    /// A `}` closed an item at this offset, unless a `;` follows.
    closed: Option<usize>,
    /// The first keyword of the current item (after visibility and qualifiers).
    kind: &'a str,
    /// The index in the scan's items of the container these are members of.
    parent: Option<usize>,
}

impl<'a> Frame<'a> {
    fn new(depth: usize, start: usize, parent: Option<usize>) -> Self {
        let mut current = Item::at(start);
        current.parent = parent;
        Frame {
            depth,
            current,
            fresh: true,
            closed: None,
            kind: "",
            parent,
        }
    }

    /// Ends the current item at `end` and starts the next one there.
    fn finish(&mut self, end: usize, items: &mut Vec<Item<'a>>) {
        let mut next = Item::at(end);
        next.parent = self.parent;
        let mut item = std::mem::replace(&mut self.current, next);
        item.end = end;
        // Large items (generated code) keep each name once; small ones as read.
        if item.idents.len() > 64 {
            item.idents.sort_unstable();
            item.idents.dedup();
        }
        items.push(item);
        self.fresh = true;
        self.kind = "";
    }
}

/// Keywords that may precede what an item is (`pub(crate) unsafe impl`).
const QUALIFIERS: &[&str] = &["pub", "unsafe", "default", "auto", "crate", "in", "super"];

/// Items whose members are split: `impl`, `trait`, inline `mod`.
const CONTAINERS: &[&str] = &["impl", "trait", "mod"];

/// An attribute's tokens without spaces (`cfg(all(test,unix))`), at most this long.
const ATTRIBUTE_TEXT: usize = 96;

/// Reads `text` lexically, item by item (see the module documentation).
pub fn scan(text: &str) -> Scan<'_> {
    let mut items: Vec<Item<'_>> = Vec::new();
    let mut file_idents = Idents::default();
    let mut lex = Lexer::rust(text);
    let mut lit = Literals::default();
    let mut depth = 0usize;
    // The bracket depth an attribute (`#[...]`, `#![...]`) opened at, while inside one.
    let mut attribute: Option<usize> = None;
    let mut attribute_text = String::new();
    // The attribute is one of the item's own (before its first keyword), not on a generic
    // parameter (`fn f<#[cfg(test)] 'a>()`, which rustc drops while keeping `f`).
    let mut attribute_leading = false;
    let mut after_hash = false;
    let mut last_ident = "";
    let mut arrays = Arrays::default();
    // Inside a `use` declaration (until its `;`).
    let mut in_use = false;
    let mut frames = vec![Frame::new(0, 0, None)];
    let mut inner_attribute = false;
    // How far `<x>Command :: new` has been read (0: not at all).
    let mut command_path = 0u8;
    let mut definitions = Definitions::default();
    while let Some(tok) = lex.next() {
        let at = lex.start;
        let frame = frames.last_mut().expect("the file's frame is never popped");
        if let Some(end) = frame.closed.take()
            && !matches!(tok, Token::Punct(b';'))
        {
            frame.finish(end, &mut items);
        }
        if frame.fresh {
            frame.current.start = at;
            frame.fresh = false;
        }
        let at_item_level = depth == frame.depth && attribute.is_none();
        // `use` declarations are the walk's aliases: always kept.
        if at_item_level && tok == Token::Ident("use") {
            frame.current.always = true;
        }
        let in_attribute = attribute.is_some();
        if let (true, Token::Ident(id)) = (at_item_level, tok)
            && frame.kind.is_empty()
            && !QUALIFIERS.contains(&id)
        {
            frame.kind = id;
        }
        let current = &mut frame.current;
        if in_attribute {
            push_attribute_text(&mut attribute_text, tok);
        }
        if let Token::Ident(id) = tok {
            let id = id.strip_prefix("r#").unwrap_or(id);
            current.command_new |= command_path == 3 && id == "new";
            command_path = u8::from(id.ends_with("Command"));
            file_idents.insert(id);
            record_ident(current, id, in_attribute, &mut in_use);
        }
        if !in_attribute && !matches!(tok, Token::Doc(_)) {
            definitions.read(tok, text, at, &mut current.consts);
            if let Token::Str { body, raw, .. } = tok {
                current.captured.extend(captured_names(body, raw));
            }
        }
        let hit = token_seed(tok, in_attribute, last_ident, &mut lit);
        if let Token::Punct(p) = tok {
            in_use &= p != b';';
            if p == b'[' && after_hash && attribute.is_none() {
                attribute = Some(depth);
                attribute_text.clear();
                attribute_leading = depth == frame.depth && frame.kind.is_empty();
                inner_attribute = depth == frame.depth && last_punct_bang(text, at);
            }
            current.caret |= p == b'^';
            command_path = if p == b':' && (command_path == 1 || command_path == 2) {
                command_path + 1
            } else {
                0
            };
            after_hash = p == b'#' || (after_hash && p == b'!');
        } else {
            after_hash = false;
        }
        // A comment between a name and its `!` is no token to rustc.
        last_ident = match tok {
            Token::Ident(id) => id,
            Token::Doc(_) => last_ident,
            _ => "",
        };
        let magic = arrays.token(&tok, depth);
        current.seeded |= hit || magic;
        current.sink |= hit && matches!(tok, Token::Ident(_) | Token::Punct(_));
        let end = at + lex.position().saturating_sub(at);
        match tok {
            Token::Punct(b'{')
                if depth == frame.depth
                    && attribute.is_none()
                    && CONTAINERS.contains(&frame.kind) =>
            {
                // The container is an item of its own (its head); its members follow.
                depth += 1;
                let parent = items.len();
                let mut head = std::mem::replace(&mut frame.current, Item::at(end));
                head.container = true;
                items.push(head);
                frames.push(Frame::new(depth, end, Some(parent)));
            }
            Token::Punct(b'(' | b'[' | b'{') => depth += 1,
            Token::Punct(b')' | b']' | b'}') => {
                depth = depth.saturating_sub(1);
                if attribute == Some(depth) {
                    attribute = None;
                    attribute_text.pop();
                    if attribute_leading && super::patterns::test_attribute(&attribute_text) {
                        frame.current.test = true;
                    }
                    // An inner attribute is an item of its own, always kept.
                    if std::mem::take(&mut inner_attribute) {
                        frame.current.always = true;
                        frame.finish(end, &mut items);
                        continue;
                    }
                }
                if tok == Token::Punct(b'}') && depth + 1 == frame.depth && frame.parent.is_some() {
                    close_container(&mut frames, &mut items, at, end);
                    continue;
                }
                if depth == frame.depth && tok == Token::Punct(b'}') && attribute.is_none() {
                    frame.closed = Some(end);
                }
            }
            Token::Punct(b';') if depth == frame.depth => frame.finish(end, &mut items),
            _ => {}
        }
    }
    // Containers left open (a file cut short): their heads end with the text.
    while let Some(mut frame) = frames.pop() {
        if !frame.fresh || frame.closed.is_some() {
            frame.finish(frame.closed.unwrap_or(text.len()), &mut items);
        }
        if let Some(parent) = frame.parent {
            items[parent].end = text.len();
        }
    }
    let mut scan = Scan { items };
    super::seed_by_file(&mut scan, text, &file_idents, &lit);
    scan
}

/// What an identifier adds to the item it is in: its name, the names of its `use` (`in_use`
/// is set at `use`).
fn record_ident<'a>(current: &mut Item<'a>, id: &'a str, in_attribute: bool, in_use: &mut bool) {
    current.idents.push(id);
    // A type alias of what the detectors read (`type Job = std::process::Command;`) makes its
    // name telling as a `use` does.
    if matches!(id, "use" | "type") && !in_attribute {
        *in_use = true;
    } else if *in_use {
        current.uses.push(id);
    }
}

/// The names a format string captures (`{name}`, `{name:?}`, `{ÉTAPE}`): the item names them
/// as if it spelt them out (`format!("{A}{B}")` reads the constants `A` and `B`). The string
/// is read as the compiler reads it (`"{\x53TEP}"` captures `STEP`).
fn captured_names(body: &str, raw: bool) -> Vec<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    if !body.contains('{') {
        return Vec::new();
    }
    if !raw && body.contains('\\') {
        let cooked = super::unescape(body).map(|b| String::from_utf8_lossy(&b).into_owned());
        return match cooked {
            Some(text) => names_in(&text).map(|n| Cow::Owned(n.to_string())).collect(),
            None => names_in(body).map(Cow::Borrowed).collect(),
        };
    }
    names_in(body).map(Cow::Borrowed).collect()
}

/// The `{name` captures of a format string's text.
fn names_in(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices('{').filter_map(|(open, _)| {
        let rest = &text[open + 1..];
        // `{{name}}` is no capture; naming it anyway only keeps more.
        if !rest.starts_with(|c: char| c.is_alphabetic() || c == '_') {
            return None;
        }
        let len = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        rest[len..].starts_with(['}', ':']).then(|| &rest[..len])
    })
}

/// An attribute's tokens without spaces, up to [`ATTRIBUTE_TEXT`].
fn push_attribute_text(attribute_text: &mut String, tok: Token<'_>) {
    if attribute_text.len() < ATTRIBUTE_TEXT {
        match tok {
            Token::Ident(id) => attribute_text.push_str(id),
            Token::Punct(p) => attribute_text.push(char::from(p)),
            _ => attribute_text.push('_'),
        }
    }
}

/// How far a constant's definition has been read: `const NAME:`, `static [mut] NAME:`.
#[derive(Clone, Copy, Default)]
enum Defining<'a> {
    #[default]
    No,
    Keyword,
    Name(&'a str),
}

/// The constants and statics an item defines (see [`define`]).
#[derive(Default)]
struct Definitions<'a> {
    state: Defining<'a>,
    /// The token before was `*` (`*const T` is a pointer type).
    after_star: bool,
}

impl<'a> Definitions<'a> {
    fn read(&mut self, tok: Token<'a>, text: &str, at: usize, consts: &mut Vec<&'a str>) {
        self.state = define(self.state, tok, self.after_star, text, at, consts);
        self.after_star = tok == Token::Punct(b'*');
    }
}

/// Reads the constants and statics an item defines, at any depth (the walk reads those in
/// function bodies too) into `consts`: a name between the keyword and a `:`. A raw pointer
/// type (`*const T`), a lifetime (`&'static str`), `const fn` and `static mut` in a pattern
/// define nothing; taken for definitions, `self`, `core` and `str` made every item with a
/// literal a "constant" that kept items name (40% of the text the pass kept).
fn define<'a>(
    state: Defining<'a>,
    tok: Token<'a>,
    after_star: bool,
    text: &str,
    at: usize,
    consts: &mut Vec<&'a str>,
) -> Defining<'a> {
    match (state, tok) {
        (_, Token::Ident("const" | "static")) => {
            // The lexer reads `'static` as `static` right after the quote.
            let lifetime = at > 0 && text.as_bytes()[at - 1] == b'\'';
            if lifetime || after_star {
                Defining::No
            } else {
                Defining::Keyword
            }
        }
        // `static ref NAME:` in `lazy_static!`.
        (Defining::Keyword, Token::Ident("mut" | "ref")) => Defining::Keyword,
        (Defining::Keyword, Token::Ident("fn" | "unsafe" | "async" | "extern")) => Defining::No,
        (Defining::Keyword, Token::Ident(id)) => {
            Defining::Name(id.strip_prefix("r#").unwrap_or(id))
        }
        (Defining::Name(name), Token::Punct(b':')) => {
            if text.as_bytes().get(at + 1) != Some(&b':') {
                consts.push(name);
            }
            Defining::No
        }
        _ => Defining::No,
    }
}

/// Whether a token makes its item worth parsing by itself (see the module documentation).
fn token_seed(tok: Token<'_>, in_attribute: bool, last_ident: &str, lit: &mut Literals) -> bool {
    let facts = |v: &str| !super::super::detect_literals::literal_facts(v).is_empty();
    match tok {
        Token::Ident(id) => seed_ident(id.strip_prefix("r#").unwrap_or(id)),
        // Attribute strings are facts by themselves (`#[doc = ...]`), never values.
        Token::Str { body, raw, .. } if in_attribute => string_seed(body, raw, &facts),
        Token::Str { body, raw, .. } => {
            lit.string = true;
            string_seed(body, raw, &seed_value)
        }
        Token::Doc(body) => facts(body),
        Token::Char(v) => !in_attribute && matches!(v, ':' | '/' | '\\' | '$' | '~'),
        Token::Punct(b'!') => SEED_MACROS.contains(&last_ident),
        Token::Int(_) | Token::Punct(_) => false,
    }
}

/// The `}` at `at` (ending at `end`) closes a container's members: the last member ends, the
/// container's item (pushed at its `{`) ends with the `}`, and the level around it goes on.
fn close_container<'a>(
    frames: &mut Vec<Frame<'a>>,
    items: &mut Vec<Item<'a>>,
    at: usize,
    end: usize,
) {
    let mut members = frames.pop().expect("more than one frame");
    if !members.fresh || members.closed.is_some() {
        let last = members.closed.unwrap_or(at);
        members.finish(last, items);
    }
    let parent = members.parent.expect("a member frame has a parent");
    items[parent].end = end;
    let outer = frames.last_mut().expect("the file's frame");
    outer.current = Item::at(end);
    outer.current.parent = outer.parent;
    outer.fresh = true;
    outer.kind = "";
}

/// Whether the `[` at `at` follows `#!` (an inner attribute).
fn last_punct_bang(text: &str, at: usize) -> bool {
    text[..at].trim_end().ends_with('!')
}
