//! What is worth parsing: a lexical pass over a file's text, item by item (a function, an
//! `impl`, a module, a constant, with its attributes), that tells apart the items in which the
//! analysis cannot find anything, so that `syn` does not build (and drop) syntax trees for
//! them. Parsing and walking are most of the analysis' time, and most items of most crates name
//! no process, environment, network, file-writing, decoding or TLS API and no telling literal.
//!
//! An item is worth parsing when any of these holds (each mirrors a detector of `detect`,
//! `detect_literals`, `values` or `lexer`, and errs towards parsing):
//! - an identifier the detectors match (`Command`, `TcpStream`, a network crate, gate calls
//!   such as `hostname`, `get_envs`, TLS switches), or a macro they read (`env!`,
//!   `include_bytes!`, `cmd!`);
//! - a name that counts beside a partner elsewhere in the file ([`paired`]): `*Command` in a
//!   file naming `process`, `var` in a file naming `env`, `libc` exec and socket calls beside
//!   `libc`, a file write beside `fs` or `File`, decoders beside what they decode; `map` with
//!   `^` or `char` in the same item;
//! - a string literal or doc comment that is a fact by itself (`literal_facts`), or a value a
//!   detector reads, whole or in pieces ([`seed_value`]);
//! - an array or byte string that starts like an executable;
//! - a name a telling `use` brings in (at any depth), `OpenOptions` in its text;
//! - across the crate, a constant or static that a kept item passing values on names, spelt
//!   out or captured by a format string ([`keep_named_constants`], again after each pull:
//!   [`named_constants`]).
//!
//! Items left out are blanked in place ([`Scan::masked`]); they are parsed after all when they
//! name a function or constant the analysis of the kept items found doing something
//! ([`Scan::pull`], see `analysis::parsing`): a gate in a plain item around a helper that runs a
//! program.

use super::patterns::{self, NET_CRATES, NET_NAMES, RAW_EXEC, RAW_NET};
pub use split::scan;
use std::borrow::Cow;
use std::collections::HashSet;

mod lex;
mod split;
mod unescape;
use unescape::unescape;

/// Identifier sets: foldhash, as every identifier of most files goes in one.
pub type Idents<'a> = std::collections::HashSet<&'a str, foldhash::fast::RandomState>;

/// One top-level item of a file (with its attributes and doc comments): a byte range.
pub struct Item<'a> {
    pub start: usize,
    pub end: usize,
    /// It may hold a fact: give it to `syn`.
    pub seeded: bool,
    /// Kept whenever the file is parsed: `use`, `extern crate`, inner attributes.
    pub always: bool,
    /// Its identifiers (each once when there are many).
    pub idents: Vec<&'a str>,
    /// The constants and statics it defines.
    pub consts: Vec<&'a str>,
    /// The names in its `use` declarations (at any depth: the walk reads them as aliases for
    /// the whole file).
    pub uses: Vec<&'a str>,
    /// The names its format strings capture (`format!("{STEP}")`).
    pub captured: Vec<Cow<'a, str>>,
    /// It became a sink or was pulled since [`named_constants`] last read the kept items.
    pub fresh: bool,
    /// It was kept for a call the detectors read (a process, the environment, the network,
    /// a file write...), not only for a literal: the constants it names are values there.
    pub sink: bool,
    /// Test-only (`#[test]`, `#[cfg(test)]`): never kept, nor what it holds.
    pub test: bool,
    /// An `impl`, `trait` or inline `mod` whose members are items of their own (its range
    /// covers them); kept when one of them is, whole when its head is seeded.
    pub container: bool,
    /// The container this is a member of (an index into the scan's items, always lower).
    pub parent: Option<usize>,
    /// It has the `^` operator.
    pub caret: bool,
    /// It calls `<something>Command::new` (see [`seed_by_file`]).
    pub command_new: bool,
}

impl Item<'_> {
    /// It names one of `names`, spelt out or captured by a format string.
    fn names_one_of(&self, names: &HashSet<String>) -> bool {
        self.idents.iter().any(|i| names.contains(*i))
            || self.captured.iter().any(|c| names.contains(c.as_ref()))
    }

    /// An empty item starting at `start`.
    fn at(start: usize) -> Self {
        Item {
            start,
            end: start,
            seeded: false,
            always: false,
            idents: Vec::new(),
            consts: Vec::new(),
            uses: Vec::new(),
            captured: Vec::new(),
            fresh: false,
            sink: false,
            test: false,
            container: false,
            parent: None,
            caret: false,
            command_new: false,
        }
    }
}

/// What the lexical pass learnt of one file: its items.
pub struct Scan<'a> {
    pub items: Vec<Item<'a>>,
}

impl Scan<'_> {
    /// Some item may hold a fact: the file is parsed.
    pub fn worth_parsing(&self) -> bool {
        self.keep_seeded().0.iter().any(|&k| k)
    }

    /// Whether item `i` is given to `syn`.
    pub fn kept(&self, i: usize) -> bool {
        self.keep().get(i).copied().unwrap_or(false)
    }

    /// Which items are given to `syn`: the seeded ones outside test code, every member of a
    /// container whose head is seeded, a container when one of its members is kept, and then
    /// the always-kept items (`use`) at the top or in a kept container. Parents come before
    /// their members.
    pub fn keep(&self) -> Vec<bool> {
        let (mut keep, dead) = self.keep_seeded();
        for (i, item) in self.items.iter().enumerate() {
            if !keep[i] && !dead[i] && item.always {
                keep[i] = item.parent.is_none_or(|p| keep[p]);
            }
        }
        keep
    }

    /// [`Scan::keep`] before the always-kept items, and which items are test code.
    fn keep_seeded(&self) -> (Vec<bool>, Vec<bool>) {
        let n = self.items.len();
        // Test code (an item or what holds it) and members of a seeded head.
        let mut dead = vec![false; n];
        let mut forced = vec![false; n];
        for (i, item) in self.items.iter().enumerate() {
            dead[i] = item.test || item.parent.is_some_and(|p| dead[p]);
            forced[i] = item
                .parent
                .is_some_and(|p| forced[p] || (self.items[p].container && self.items[p].seeded));
        }
        let mut keep: Vec<bool> = (0..n)
            .map(|i| !dead[i] && (self.items[i].seeded || forced[i]))
            .collect();
        for i in (0..n).rev() {
            if keep[i]
                && let Some(p) = self.items[i].parent
            {
                keep[p] = !dead[p];
            }
        }
        (keep, dead)
    }

    /// Marks the items that name one of `active` as passing values on (see [`Item::sink`]),
    /// before [`named_constants`] reads which constants such items name.
    pub fn mark_sinks(&mut self, active: &HashSet<String>) {
        for item in &mut self.items {
            let names = item.names_one_of(active);
            item.fresh |= names && !item.sink;
            item.sink |= names;
        }
    }

    /// Marks as seeded the items that name one of `active` (what the analysis found doing
    /// something or holding a value) and those that define one of `constants` (named by kept
    /// items, see [`named_constants`]); whether any was.
    pub fn pull(&mut self, active: &HashSet<String>, constants: &HashSet<String>) -> bool {
        let before = self.keep();
        for (item, kept) in self.items.iter_mut().zip(&before) {
            // A container's head calls nothing (`impl fmt::Display for X`): its members are
            // pulled one by one. (A function's own name still pulls it: the first summary of
            // a name is what its callers see, as without the lexical pass.)
            let names_active = item.names_one_of(active);
            let defines_named = item.consts.iter().any(|c| constants.contains(*c));
            // What calls an active function or holds a named value passes values on: the
            // constants it names are values there.
            item.sink |= names_active || defines_named;
            // What named_constants read is read; what is pulled now is read next time.
            item.fresh = false;
            if !kept && !item.test && !item.container && (names_active || defines_named) {
                item.seeded = true;
                item.fresh = true;
            }
        }
        self.keep() != before
    }

    /// `text` with the items not kept blanked out (spaces, newlines kept, so that every
    /// position stays where it was); `None` when every item is kept.
    pub fn masked(&self, text: &str) -> Option<String> {
        let keep = self.keep();
        if keep.iter().all(|&k| k) {
            return None;
        }
        Some(self.blank(text, &keep))
    }

    /// `text` with only what became kept since `before` (an earlier [`Scan::keep`]): the
    /// items added and the heads of the containers they are members of. The rest, kept
    /// before or not, is blanked: it was parsed already, or is not to be.
    pub fn added_since(&self, text: &str, before: &[bool]) -> String {
        let now = self.keep();
        let mut show: Vec<bool> = (0..self.items.len())
            .map(|i| now[i] && !before.get(i).copied().unwrap_or(false))
            .collect();
        for (i, item) in self.items.iter().enumerate() {
            // A container shows (its head) only for the members added in it.
            if item.container {
                show[i] = false;
            }
        }
        for i in (0..self.items.len()).rev() {
            if show[i]
                && let Some(p) = self.items[i].parent
            {
                show[p] = true;
            }
        }
        self.blank(text, &show)
    }

    /// `text` with the items not in `keep` blanked (their members with them).
    fn blank(&self, text: &str, keep: &[bool]) -> String {
        let mut out = text.as_bytes().to_vec();
        for (item, _) in self.items.iter().zip(keep).filter(|(_, k)| !**k) {
            for b in &mut out[item.start.min(text.len())..item.end.min(text.len())] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        }
        // Whole items are blanked, each of them ASCII now: the rest is the text as it was.
        String::from_utf8(out)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }
}

/// Identifiers that make a file worth parsing wherever they appear.
const SEED_IDENTS: &[&str] = &[
    "get_envs",
    "set_permissions",
    "set_verify",
    "accept_invalid_certs",
    "SslVerifyMode",
    "NoCertificateVerification",
];

/// Macros the detectors read (`name!`).
pub(super) const SEED_MACROS: &[&str] = &["env", "option_env", "include_bytes", "cmd"];

/// Paths whose first segment makes raw calls (`libc::connect`, `nix::...::execv`).
const RAW_ROOTS: &[&str] = &["libc", "nix", "winapi", "windows_sys", "ws2_32"];

/// Paths whose `::net::` is network use (`detect::network_path`).
const NET_ROOTS: &[&str] = &["std", "tokio", "async_std", "smol", "async_net"];

/// The last names of file-writing calls (`detect::write_target`), which count beside `fs` or
/// `File`.
const WRITE_NAMES: &[&str] = &[
    "write",
    "create",
    "create_new",
    "set_permissions",
    "copy",
    "rename",
    "hard_link",
    "symlink",
    "create_dir_all",
];

/// Whether an identifier alone makes a file worth parsing.
pub(super) fn seed_ident(id: &str) -> bool {
    SEED_IDENTS.contains(&id)
        || NET_NAMES.contains(&id)
        || NET_CRATES.iter().any(|(c, _)| *c == id)
        || patterns::is_gate_call(id)
        || id.starts_with("danger_accept_invalid")
        || id == "Command"
}

/// Names detected only beside another (`var` in a path naming `env`, `write` beside `fs`):
/// those of `idents` (a whole file's) whose partner is there too. An item naming one of them
/// may hold a fact.
fn paired<'a>(text: &str, idents: &Idents<'a>, lit: &Literals) -> Vec<&'a str> {
    let has = |n: &str| idents.contains(n);
    let any_has = |names: &[&str]| names.iter().any(|n| idents.contains(n));
    let part = |p: &str| idents.iter().any(|i| i.contains(p));
    let mut out: Vec<&str> = Vec::new();
    if part("env") {
        out.extend(["var", "var_os", "vars", "vars_os"]);
    }
    if any_has(RAW_ROOTS) {
        out.extend(RAW_NET);
        let exec = idents.iter().copied();
        out.extend(exec.filter(|i| RAW_EXEC.iter().any(|r| i.starts_with(r))));
    }
    if any_has(NET_ROOTS) {
        out.push("net");
    }
    if has("fs") || has("File") {
        out.extend(WRITE_NAMES);
    }
    if part("str") || part("String") || part("char") {
        out.extend([
            "from_utf8",
            "from_utf8_lossy",
            "from_utf8_unchecked",
            "from_u32",
        ]);
    }
    if any_has(&["decode", "decode_to_vec"]) && {
        let lower = text.to_ascii_lowercase();
        super::values::DECODER_PARTS
            .iter()
            .any(|d| memchr::memmem::find(lower.as_bytes(), d.as_bytes()).is_some())
    } {
        out.extend(["decode", "decode_to_vec"]);
    }
    if any_has(&["chars", "bytes", "char_indices"]) || lit.string {
        out.push("rev");
    }
    out
}

/// `map`, `filter_map`, `flat_map`: decoding when the closure they are given XORs or makes
/// characters (`values::eval_map` reads the closure's text), which is in the same item.
fn decodes_in_map(item: &Item<'_>) -> bool {
    item.idents
        .iter()
        .any(|i| matches!(*i, "map" | "filter_map" | "flat_map"))
        && (item.caret
            || item
                .idents
                .iter()
                .any(|i| matches!(*i, "char" | "from_u32")))
}

/// What the literals of a file were, for [`paired`].
#[derive(Default)]
pub(super) struct Literals {
    /// A string or byte string literal outside attributes.
    pub string: bool,
}

/// Whether a string literal's value makes its item worth parsing: a fact by itself, or a value
/// a detector reads, whole or in pieces: an address (`https:`, `host:443`), a path, a program
/// of a known class, a secret's or a gate variable's name or a part of one, a download
/// command. Values are followed from such items into the calls that use them; an item with
/// none (prose, format strings, attribute arguments) gives a call nothing it could judge.
pub fn seed_value(v: &str) -> bool {
    if v.is_empty() {
        return false;
    }
    let env_like = v.bytes().any(|b| b.is_ascii_uppercase())
        && v.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    let secret_part = || {
        patterns::sensitive_read(super::Kind::EnvRead, v)
            || [
                "TOKEN", "SECRET", "KEY", "PASS", "AUTH", "CRED", "SESSION", "PRIVATE", "AWS",
                "GITHUB", "GITLAB", "NPM", "CARGO", "SSH", "WALLET", "MNEMONIC", "SEED", "CI",
            ]
            .iter()
            .any(|p| v.contains(p))
    };
    let lower = v.to_ascii_lowercase();
    (env_like && secret_part())
        || patterns::looks_like_address(v)
        // Pieces of an address or a path (`https:`, `~/.ssh/`); prose is not one.
        || (!v.contains(char::is_whitespace)
            && without_placeholders(v).contains([':', '/', '\\', '$', '~']))
        || v
            .split_whitespace()
            .next()
            .is_some_and(|w| patterns::program_class(w) != "other")
        || ["curl", "wget", "invoke-webrequest", "iwr", "certutil", "bitsadmin"]
            .iter()
            .any(|w| lower.contains(w))
        || !super::detect_literals::literal_facts(v).is_empty()
}

/// `v` without `{...}` format placeholders (`{:?}`, `{name:>8}`): their colons are not text.
fn without_placeholders(v: &str) -> Cow<'_, str> {
    if !v.contains('{') {
        return Cow::Borrowed(v);
    }
    let mut out = String::with_capacity(v.len());
    let mut depth = 0usize;
    for c in v.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    Cow::Owned(out)
}

/// Keeps, across the files of a crate, the constants and statics that kept items name (spelt
/// out or captured by a format string): their values are what the walk of those items reads (a
/// program or an address assembled from pieces none of which says anything alone, an array of
/// its bytes, another constant). Repeated until no more are kept.
pub fn keep_named_constants<'a>(scans: &mut [&mut Scan<'a>]) {
    // Names borrowed from the text (an unescaped capture is the rare owned one).
    let names_of = |item: &Item<'a>| -> Vec<Cow<'a, str>> {
        let spelt = item.idents.iter().map(|i| Cow::Borrowed(*i));
        spelt.chain(item.captured.iter().cloned()).collect()
    };
    let mut named: HashSet<Cow<'a, str>, foldhash::fast::RandomState> = HashSet::default();
    for scan in scans.iter() {
        for item in scan.items.iter().filter(|i| i.sink) {
            named.extend(names_of(item));
        }
    }
    loop {
        let mut added: Vec<Cow<'a, str>> = Vec::new();
        for scan in scans.iter_mut() {
            for item in &mut scan.items {
                if !item.seeded && !item.test && item.consts.iter().any(|c| named.contains(*c)) {
                    // A constant's own value may name another.
                    item.seeded = true;
                    item.sink = true;
                    added.extend(names_of(item));
                }
            }
        }
        if added.is_empty() {
            return;
        }
        named.extend(added);
    }
}

/// The constants that items not kept define and kept items that pass values on (sinks) name,
/// across the files of a crate: what [`Scan::pull`] keeps besides the names the analysis
/// found active. Only the items that became sinks or were pulled since the last call are
/// read ([`Item::fresh`]): the others named what they name before ([`keep_named_constants`]
/// read them all).
pub fn named_constants<'s>(scans: impl Iterator<Item = &'s Scan<'s>>) -> HashSet<String> {
    let scans: Vec<&Scan<'_>> = scans.collect();
    if !scans.iter().any(|s| s.items.iter().any(|i| i.fresh)) {
        return HashSet::new();
    }
    let keeps: Vec<(&Scan<'_>, Vec<bool>)> = scans.into_iter().map(|s| (s, s.keep())).collect();
    let mut defined: HashSet<&str> = HashSet::new();
    for (scan, keep) in &keeps {
        for (item, _) in scan.items.iter().zip(keep).filter(|(i, k)| !**k && !i.test) {
            defined.extend(item.consts.iter().copied());
        }
    }
    let mut named = HashSet::new();
    if defined.is_empty() {
        return named;
    }
    for (scan, keep) in &keeps {
        for (item, _) in scan
            .items
            .iter()
            .zip(keep)
            .filter(|(i, k)| **k && i.sink && i.fresh)
        {
            let spelt = item.idents.iter().copied();
            for n in spelt.chain(item.captured.iter().map(|c| c.as_ref())) {
                if defined.contains(n) {
                    named.insert(n.to_string());
                }
            }
        }
    }
    named
}

/// What makes items worth parsing only read with the whole file: `OpenOptions` in an item's
/// text, names whose partner is elsewhere in the file ([`paired`]), names a telling `use`
/// brings in.
pub(super) fn seed_by_file<'a>(
    scan: &mut Scan<'a>,
    text: &str,
    file_idents: &Idents<'a>,
    lit: &Literals,
) {
    // `detect_method` reads `OpenOptions` in the receiver's text, comments included.
    for item in &mut scan.items {
        let body = text
            .as_bytes()
            .get(item.start..item.end)
            .unwrap_or_default();
        let open = memchr::memmem::find(body, b"OpenOptions").is_some();
        item.seeded |= open;
        item.sink |= open;
    }
    let pairs = paired(text, file_idents, lit);
    // `detect::is_process_command`: another `*Command::new` is a process only on a path
    // through something named `process` (`tokio::process`, an alias of it).
    let process = file_idents.iter().any(|i| i.contains("process"));
    for item in scan.items.iter_mut().filter(|i| !i.seeded) {
        item.seeded = pairs.iter().any(|p| item.idents.contains(p))
            || decodes_in_map(item)
            || (process && item.command_new);
        item.sink = item.seeded;
    }
    // A `use` that names what the detectors read (`use hyper::Client`, `use std::net::{self,
    // Ipv4Addr}`, one inside a module) makes the names of its item telling too: the walk
    // resolves them through it, for the whole file.
    let imported: Idents<'_> = scan
        .items
        .iter()
        .filter(|i| {
            i.uses
                .iter()
                .any(|u| seed_ident(u) || pairs.contains(u) || (process && u.ends_with("Command")))
        })
        .flat_map(|i| i.uses.iter().copied())
        .filter(|u| {
            !matches!(
                *u,
                "std" | "core" | "alloc" | "crate" | "self" | "super" | "as"
            )
        })
        .collect();
    if !imported.is_empty() {
        for item in scan.items.iter_mut().filter(|i| !i.seeded) {
            item.seeded = item.idents.iter().any(|i| imported.contains(i));
            item.sink = item.seeded;
        }
    }
}

/// Whether a string literal's body (between its quotes) makes its file worth parsing, read
/// the way `syn` reads it and the way the fallback lexer reads it.
pub(super) fn string_seed(body: &str, is_raw: bool, seed: &dyn Fn(&str) -> bool) -> bool {
    if is_raw || !body.contains(['\\', '\r']) {
        return seed(body) || exe_bytes(body.as_bytes());
    }
    // Escapes: the value as the compiler reads it, and as the lexer of macro bodies does.
    let lexed = super::lexer::cook(body);
    match unescape(body) {
        Some(bytes) if exe_bytes(&bytes) => true,
        // Data, not text (certificates, tables): no program, path or address is written with
        // control bytes or invalid UTF-8 (a C string's final NUL apart), so it is no value a
        // detector reads; what it says by itself is still looked for.
        Some(bytes) if binary(&bytes) => {
            let facts = |v: &str| !super::detect_literals::literal_facts(v).is_empty();
            facts(&String::from_utf8_lossy(&bytes)) || facts(&lexed)
        }
        Some(bytes) => seed(&String::from_utf8_lossy(&bytes)) || seed(&lexed),
        // What the compiler would not read is parsed: it is not ordinary code.
        None => true,
    }
}

/// Bytes that are not text: invalid UTF-8, or control bytes other than whitespace before a
/// final NUL.
fn binary(bytes: &[u8]) -> bool {
    let text = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    std::str::from_utf8(text).is_err()
        || text
            .iter()
            .any(|&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f)
}

/// A byte string long enough to be an executable, starting like one.
fn exe_bytes(b: &[u8]) -> bool {
    b.len() >= 256 && patterns::executable_magic(b).is_some()
}

#[cfg(test)]
mod tests;
