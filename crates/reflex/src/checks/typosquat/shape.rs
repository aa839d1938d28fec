//! Name shapes: how a look-alike name is made from the name it imitates, and the names a
//! look-alike could have been made from. Pure string work on canonical names (lowercase, `_`
//! for `-`); popularity is judged elsewhere.

use std::fmt;

/// Suffixes squatters add to a crate's name (`lasso-rs`, `finch-rst`, `lfest-main`,
/// `polymarket-client-sdks`); version suffixes (`-v2`, `2`) are [`Shape::Version`].
/// Companion suffixes (`-derive`, `-macros`, `-core`, `-sys`, `-cli`) are not here: crates
/// name their own companions that way.
pub const SUFFIXES: &[&str] = &[
    "rs", "rust", "rst", "main", "lib", "sdk", "sdks", "client", "clients",
];

/// Prefixes squatters add (`rust-decimal`, `rs-tracing`, `libfoo`).
pub const PREFIXES: &[&str] = &["rust", "rs", "lib"];

/// Single characters that look alike in most fonts.
const HOMOGLYPHS: &[(char, char)] = &[
    ('0', 'o'),
    ('1', 'l'),
    ('1', 'i'),
    ('l', 'i'),
    ('3', 'e'),
    ('5', 's'),
    ('4', 'a'),
    ('7', 't'),
    ('8', 'b'),
];

/// Character pairs that look like one character.
const WIDE_HOMOGLYPHS: &[(&str, &str)] = &[("rn", "m"), ("vv", "w"), ("cl", "d"), ("nn", "m")];

/// QWERTY neighbours, the keyboard-typo table crates.io uses.
const KEYBOARD: &[(char, &str)] = &[
    ('1', "2q"),
    ('2', "13wq"),
    ('3', "24ew"),
    ('4', "35re"),
    ('5', "46tr"),
    ('6', "57yt"),
    ('7', "68uy"),
    ('8', "79iu"),
    ('9', "80oi"),
    ('0', "9po"),
    ('q', "12wa"),
    ('w', "3esaq2"),
    ('e', "4rdsw3"),
    ('r', "5tfde4"),
    ('t', "6ygfr5"),
    ('y', "7uhgt6"),
    ('u', "8ijhy7"),
    ('i', "9okju8"),
    ('o', "0plki9"),
    ('p', "lo0"),
    ('a', "qwsz"),
    ('s', "edxzaw"),
    ('d', "rfcxse"),
    ('f', "tgvcdr"),
    ('g', "yhbvft"),
    ('h', "ujnbgy"),
    ('j', "ikmnhu"),
    ('k', "olmji"),
    ('l', "kop"),
    ('z', "asx"),
    ('x', "zsdc"),
    ('c', "xdfv"),
    ('v', "cfgb"),
    ('b', "vghn"),
    ('n', "bhjm"),
    ('m', "njk"),
];

/// The longest name crates.io accepts.
pub const MAX_NAME: usize = 64;

/// The characters of canonical crate names.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";

/// One wrong keystroke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Typo {
    /// `serd` for `serde`.
    Omitted(char),
    /// `squote` for `quote`.
    Added(char),
    /// `postgress` for `postgres`.
    Repeated(char),
    /// `reqwesr` for `reqwest` (`keyboard`: the two keys are neighbours).
    Substituted {
        from: char,
        to: char,
        keyboard: bool,
    },
    /// `sedre` for `serde`.
    Swapped(char, char),
}

/// How a name was made from the name it imitates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Separators added, dropped or changed: `lazystatic`, `bit-flags`, `url-parse`.
    Separators,
    /// The same words in another order: `if-cfg` for `cfg-if`.
    WordsSwapped,
    /// A look-alike prefix or suffix: `lasso-rs`, `lfest-main`, `rust-tracing`.
    Affix(String),
    /// A version number appended: `get-size2`, `serde-v2`.
    Version(String),
    /// One word made plural: `rands`, `polymarket-clients-sdk`.
    Plural,
    /// One word made singular: `tokio-util` for `tokio-utils`.
    Singular,
    /// One digit changed: `proc-macro1` for `proc-macro2`.
    Digit { from: char, to: char },
    /// Characters that look alike: `5erde`, `rnio` for `mio`.
    Homoglyph { from: String, to: String },
    /// One wrong keystroke: `serd`, `postgress`.
    Typo(Typo),
    /// A look-alike affix and one wrong keystroke: `rust-regx`.
    AffixTypo(String, Typo),
}

impl Shape {
    /// Shapes that also arise innocently: one keystroke lies between many unrelated names,
    /// and forks and successors append a number (`adler2`, `get-size2`). These count only
    /// against crates at the top, whose traffic squatters live off (`serd`, `serde-v2`); the
    /// rest (affixes, separators, plurals, swapped words, a changed digit, homoglyphs) are a
    /// copy of the name, whatever the popular crate's rank.
    pub fn often_innocent(&self) -> bool {
        matches!(
            self,
            Shape::Typo(_) | Shape::AffixTypo(..) | Shape::Version(_)
        )
    }
}

impl fmt::Display for Typo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Typo::Omitted(c) => write!(f, "`{c}` omitted"),
            Typo::Added(c) => write!(f, "`{c}` added"),
            Typo::Repeated(c) => write!(f, "`{c}` repeated"),
            Typo::Substituted {
                from,
                to,
                keyboard: true,
            } => write!(f, "`{to}` typed for its keyboard neighbour `{from}`"),
            Typo::Substituted { from, to, .. } => write!(f, "`{to}` for `{from}`"),
            Typo::Swapped(a, b) => write!(f, "`{a}{b}` swapped"),
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Separators => f.write_str("separators added, dropped or changed"),
            Shape::WordsSwapped => f.write_str("words swapped"),
            Shape::Affix(a) => write!(f, "affix `{a}` added"),
            Shape::Version(v) => write!(f, "version suffix `{v}` added"),
            Shape::Plural => f.write_str("a word made plural"),
            Shape::Singular => f.write_str("a word made singular"),
            Shape::Digit { from, to } => write!(f, "digit `{from}` changed to `{to}`"),
            Shape::Homoglyph { from, to } => write!(f, "homoglyph `{to}` for `{from}`"),
            Shape::Typo(t) => write!(f, "one character off ({t})"),
            Shape::AffixTypo(a, t) => write!(f, "affix `{a}` added and one character off ({t})"),
        }
    }
}

/// The name without separators.
pub fn squash(name: &str) -> String {
    name.chars().filter(|c| *c != '_' && *c != '-').collect()
}

/// Letters and digits, separators not counted.
pub fn letters(name: &str) -> usize {
    name.chars().filter(|c| *c != '_' && *c != '-').count()
}

/// The one edit that turns `target` into `name`, if there is exactly one.
fn one_edit(name: &str, target: &str) -> Option<Typo> {
    let (n, t) = (name.as_bytes(), target.as_bytes());
    let prefix = n.iter().zip(t).take_while(|(a, b)| a == b).count();
    let suffix = n[prefix..]
        .iter()
        .rev()
        .zip(t[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (dn, dt) = (n.len() - prefix - suffix, t.len() - prefix - suffix);
    match (dn, dt) {
        (1, 0) => {
            let c = n[prefix] as char;
            let repeated = (prefix > 0 && n[prefix - 1] == n[prefix])
                || n.get(prefix + 1).is_some_and(|&x| x == n[prefix]);
            Some(if repeated {
                Typo::Repeated(c)
            } else {
                Typo::Added(c)
            })
        }
        (0, 1) => Some(Typo::Omitted(t[prefix] as char)),
        (1, 1) => {
            let (from, to) = (t[prefix] as char, n[prefix] as char);
            let keyboard = KEYBOARD.iter().any(|(k, near)| {
                (*k == from && near.contains(to)) || (*k == to && near.contains(from))
            });
            Some(Typo::Substituted { from, to, keyboard })
        }
        (2, 2) if n[prefix] == t[prefix + 1] && n[prefix + 1] == t[prefix] => {
            Some(Typo::Swapped(n[prefix] as char, n[prefix + 1] as char))
        }
        _ => None,
    }
}

/// `name` with one look-alike affix removed: (what remains, the affix as written).
pub fn strip_affixes(name: &str) -> Vec<(&str, String)> {
    let mut out = Vec::new();
    for s in SUFFIXES {
        if let Some(rest) = name.strip_suffix(s) {
            let (rest, affix) = match rest.strip_suffix('_') {
                Some(r) => (r, format!("-{s}")),
                None => (rest, s.to_string()),
            };
            if letters(rest) >= 3 && !rest.ends_with('_') {
                out.push((rest, affix));
            }
        }
    }
    for p in PREFIXES {
        if let Some(rest) = name.strip_prefix(p) {
            let (rest, affix) = match rest.strip_prefix('_') {
                Some(r) => (r, format!("{p}-")),
                None => (rest, p.to_string()),
            };
            if letters(rest) >= 3 && !rest.starts_with('_') {
                out.push((rest, affix));
            }
        }
    }
    out
}

/// `name` split into what it versions and the version suffix (`get_size2` -> `get_size`, `2`;
/// `serde_v2` -> `serde`, `-v2`).
pub fn strip_version(name: &str) -> Option<(&str, String)> {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() == name.len() {
        return None;
    }
    let digits = &name[stem.len()..];
    let (stem, v) = match stem.strip_suffix('v') {
        Some(s) if s.ends_with('_') || s.is_empty() => (s, "v"),
        _ => (stem, ""),
    };
    let (stem, sep) = match stem.strip_suffix('_') {
        Some(s) => (s, "-"),
        None => (stem, ""),
    };
    (letters(stem) >= 3 && !stem.ends_with('_')).then(|| (stem, format!("{sep}{v}{digits}")))
}

/// The one word of `name` that is `target`'s word made plural (or singular).
fn plural(name: &str, target: &str) -> Option<Shape> {
    let (nw, tw): (Vec<&str>, Vec<&str>) = (name.split('_').collect(), target.split('_').collect());
    if nw.len() != tw.len() {
        return None;
    }
    let mut differing = nw.iter().zip(&tw).filter(|(a, b)| a != b);
    let (a, b) = differing.next()?;
    if differing.next().is_some() {
        return None;
    }
    // `postgress` repeats a letter rather than making a plural.
    let pluralizes = |p: &str, s: &str| {
        (p.strip_suffix('s').is_some_and(|x| x == s) && !s.ends_with('s'))
            || p.strip_suffix("es").is_some_and(|x| x == s)
            || (p
                .strip_suffix("ies")
                .is_some_and(|x| s.strip_suffix('y') == Some(x)))
    };
    if pluralizes(a, b) && letters(b) >= 3 {
        Some(Shape::Plural)
    } else if pluralizes(b, a) && letters(a) >= 3 {
        Some(Shape::Singular)
    } else {
        None
    }
}

fn words_swapped(name: &str, target: &str) -> bool {
    let mut nw: Vec<&str> = name.split('_').filter(|w| !w.is_empty()).collect();
    let mut tw: Vec<&str> = target.split('_').filter(|w| !w.is_empty()).collect();
    if nw.len() < 2 || nw == tw {
        return false;
    }
    nw.sort_unstable();
    tw.sort_unstable();
    nw == tw
}

fn wide_homoglyph(name: &str, target: &str) -> Option<Shape> {
    for (a, b) in WIDE_HOMOGLYPHS {
        for (from, to) in [(a, b), (b, a)] {
            for (i, _) in name.match_indices(to) {
                let variant = format!("{}{from}{}", &name[..i], &name[i + to.len()..]);
                if variant == target {
                    return Some(Shape::Homoglyph {
                        from: from.to_string(),
                        to: to.to_string(),
                    });
                }
            }
        }
    }
    None
}

/// How `name` was made from `target` (both canonical), if it is a look-alike shape at all.
pub fn classify(name: &str, target: &str) -> Option<Shape> {
    if name == target {
        return None;
    }
    if squash(name) == squash(target) {
        return (letters(target) >= 4).then_some(Shape::Separators);
    }
    if words_swapped(name, target) {
        return Some(Shape::WordsSwapped);
    }
    if let Some((stem, v)) = strip_version(name)
        && (stem == target || squash(stem) == squash(target))
    {
        return Some(Shape::Version(v));
    }
    for (stem, affix) in strip_affixes(name) {
        if stem == target || squash(stem) == squash(target) {
            return Some(Shape::Affix(affix));
        }
    }
    if let Some(p) = plural(name, target) {
        return Some(p);
    }
    if let Some(h) = wide_homoglyph(name, target).filter(|_| letters(target) >= 3) {
        return Some(h);
    }
    if let Some(typo) = one_edit(name, target) {
        if let Typo::Substituted { from, to, .. } = typo {
            if from.is_ascii_digit() && to.is_ascii_digit() {
                return (letters(target) >= 3).then_some(Shape::Digit { from, to });
            }
            if HOMOGLYPHS
                .iter()
                .any(|&(a, b)| (a, b) == (from, to) || (b, a) == (from, to))
            {
                return (letters(target) >= 4).then(|| Shape::Homoglyph {
                    from: from.to_string(),
                    to: to.to_string(),
                });
            }
        }
        // One keystroke off: common between unrelated short names.
        return (letters(target) >= 5 && letters(name) >= 4).then_some(Shape::Typo(typo));
    }
    for (stem, affix) in strip_affixes(name) {
        if let Some(typo) = one_edit(stem, target)
            && !matches!(typo, Typo::Substituted { .. })
            && letters(target) >= 5
        {
            return Some(Shape::AffixTypo(affix, typo));
        }
    }
    None
}

/// Every single-keystroke variant of `name` (characters omitted, added, swapped and, with
/// `substitutions`, changed), handed to `f` one by one without allocating.
fn edits(name: &str, substitutions: bool, f: &mut dyn FnMut(&str)) {
    let b = name.as_bytes();
    let mut buf = Vec::with_capacity(b.len() + 1);
    let mut emit = |buf: &[u8]| {
        if let Ok(s) = std::str::from_utf8(buf)
            && !s.is_empty()
            && !s.starts_with('_')
            && !s.ends_with('_')
        {
            f(s);
        }
    };
    for i in 0..b.len() {
        buf.clear();
        buf.extend_from_slice(&b[..i]);
        buf.extend_from_slice(&b[i + 1..]);
        emit(&buf);
        if i + 1 < b.len() && b[i] != b[i + 1] {
            buf.clear();
            buf.extend_from_slice(b);
            buf.swap(i, i + 1);
            emit(&buf);
        }
        if substitutions {
            buf.clear();
            buf.extend_from_slice(b);
            for &c in ALPHABET {
                if c != b[i] {
                    buf[i] = c;
                    emit(&buf);
                }
            }
        }
    }
    for i in 0..=b.len() {
        buf.clear();
        buf.extend_from_slice(&b[..i]);
        buf.push(b'_');
        buf.extend_from_slice(&b[i..]);
        for &c in ALPHABET {
            buf[i] = c;
            emit(&buf);
        }
    }
}

/// Names `name` (canonical, ASCII) could have been made from by one [`Shape`], handed to `f`
/// (some more than once): the popular crates it may imitate are among these. Separator
/// changes beyond one are found through [`squash`] instead.
pub fn sources(name: &str, f: &mut dyn FnMut(&str)) {
    // crates.io names are ASCII and at most 64 characters; a hostile lockfile's 100,000
    // character name must not cost 100,000 squared.
    if !name.is_ascii() || name.len() > MAX_NAME {
        return;
    }
    edits(name, true, f);
    let words: Vec<&str> = name.split('_').collect();
    if (2..=4).contains(&words.len()) {
        permutations(&words, &mut Vec::new(), &mut vec![false; words.len()], f);
    }
    if let Some((stem, _)) = strip_version(name) {
        f(stem);
    }
    for (stem, _) in strip_affixes(name) {
        f(stem);
        if letters(stem) >= 4 {
            edits(stem, false, f);
        }
    }
    for (i, w) in words.iter().enumerate() {
        let mut with = |s: String| {
            let mut v = words.clone();
            v[i] = &s;
            f(&v.join("_"));
        };
        if let Some(s) = w.strip_suffix("es") {
            with(s.to_string());
        }
        if let Some(s) = w.strip_suffix("ies") {
            with(format!("{s}y"));
        }
        if let Some(s) = w.strip_suffix('y') {
            with(format!("{s}ies"));
        }
        with(format!("{w}es"));
    }
    for (a, b) in WIDE_HOMOGLYPHS {
        for (from, to) in [(a, b), (b, a)] {
            for (i, _) in name.match_indices(to) {
                f(&format!("{}{from}{}", &name[..i], &name[i + to.len()..]));
            }
        }
    }
}

fn permutations(words: &[&str], cur: &mut Vec<usize>, used: &mut [bool], f: &mut dyn FnMut(&str)) {
    if cur.len() == words.len() {
        f(&cur.iter().map(|&i| words[i]).collect::<Vec<_>>().join("_"));
        return;
    }
    for i in 0..words.len() {
        if !used[i] {
            used[i] = true;
            cur.push(i);
            permutations(words, cur, used, f);
            cur.pop();
            used[i] = false;
        }
    }
}

#[cfg(test)]
mod tests;
