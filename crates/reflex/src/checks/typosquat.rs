//! Typosquats: crate names that imitate a popular crate. The checks crates.io itself runs
//! (typomania: omitted, repeated, swapped and substituted characters, bitflips, keyboard
//! neighbours, swapped words, version suffixes) plus separator tricks, affixes, homoglyphs and
//! one affix combined with one typo. Each suspicion names the crate it imitates and how.

use super::{Check, Context, Sink};
use crate::graph::{Graph, Origin};
use crate::report::{CheckStatus, CodeSpec, Finding, Severity};
use crate::sources::popularity::{Popularity, canonical};
use typomania::checks::{
    Bitflips, Omitted, Repeated, SwappedCharacters, SwappedWords, Typos, Version,
};
use typomania::{AuthorSet, Corpus, Harness, Package};

pub struct Typosquat;

const NAME: &str = "typosquat";

pub const SUSPECT: CodeSpec = CodeSpec {
    code: "typosquat-suspect",
    severity: Severity::Medium,
    summary: "the crate's name imitates a popular crate (typosquatting): check that it is the crate you meant",
};

static CODES: [CodeSpec; 1] = [SUSPECT];

/// Popular crates ranked above this are typosquat targets; the whole list still counts as
/// "known good names".
pub const DEFAULT_TARGET_RANK: u32 = 5_000;

const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz0123456789-_";

/// Added or removed around a popular name to make a plausible copy.
const PREFIXES: &[&str] = &["rust-", "rust_", "rust", "rs-", "rs_", "lib"];
const SUFFIXES: &[&str] = &[
    "-rs", "_rs", "rs", "-rust", "_rust", "-sys", "_sys", "-cli", "_cli", "-utils", "_utils",
    "-util", "_util", "-lib", "_lib", "-v2", "_v2", "v2", "-v3", "_v3", "2", "-2", "_2", "3", "-3",
];

/// Suffixes popular crates use for their own companion crates (`serde` and `serde_derive`).
const FAMILY: &[&str] = &[
    "derive",
    "derive2",
    "macros",
    "macro",
    "impl",
    "internal",
    "internals",
    "shared",
    "codegen",
    "proc-macro",
    "proc_macro",
    "attr",
    "attributes",
    "types",
    "core",
    "common",
    "build",
    "test",
    "tests",
    "support",
    "traits",
];

/// Characters that look alike in most fonts.
const HOMOGLYPHS: &[(&str, &str)] = &[
    ("0", "o"),
    ("1", "l"),
    ("1", "i"),
    ("l", "i"),
    ("3", "e"),
    ("5", "s"),
    ("4", "a"),
    ("7", "t"),
    ("8", "b"),
    ("rn", "m"),
    ("vv", "w"),
    ("cl", "d"),
    ("nn", "m"),
];

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

/// One suspicion: `name` may be imitating `imitates`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suspicion {
    pub name: String,
    pub imitates: String,
    pub technique: String,
    pub target_rank: u32,
    /// Whether the rank is an actual position (unranked lists only say "top N").
    pub target_ranked: bool,
}

/// The popularity corpus as typomania sees it: every listed name is a known name; those
/// ranked within `target_rank` are targets.
struct TargetCorpus {
    popularity: std::sync::Arc<Popularity>,
    target_rank: u32,
}

struct NoAuthors;

impl AuthorSet for NoAuthors {
    fn contains(&self, _author: &str) -> bool {
        false
    }
}

/// Without crates.io owner data, no two crates are known to share an author.
struct Unknown;

impl Package for Unknown {
    fn authors(&self) -> &dyn AuthorSet {
        &NoAuthors
    }
    fn description(&self) -> Option<&str> {
        None
    }
    fn shared_authors(&self, _other: &dyn AuthorSet) -> bool {
        false
    }
}

impl Corpus for TargetCorpus {
    fn contains_name(&self, name: &str) -> typomania::Result<bool> {
        Ok(self.popularity.get_exact(name).is_some())
    }

    fn get(&self, name: &str) -> typomania::Result<Option<&dyn Package>> {
        Ok(self
            .popularity
            .get(name)
            .filter(|p| p.rank <= self.target_rank)
            .map(|_| &Unknown as &dyn Package))
    }

    fn possible_squat(
        &self,
        corpus_name: &str,
        package_name: &str,
        _package: &dyn Package,
    ) -> typomania::Result<bool> {
        Ok(canonical(corpus_name) != canonical(package_name) && self.get(corpus_name)?.is_some())
    }
}

pub struct Detector {
    popularity: std::sync::Arc<Popularity>,
    target_rank: u32,
    harness: Harness<TargetCorpus>,
    /// Target names with separators removed, for separator tricks.
    squashed: std::collections::HashMap<String, Vec<String>>,
}

/// Bitflip squats aim at the very top: building their table for every target costs more
/// than it finds.
const BITFLIP_TARGET_RANK: u32 = 1_000;

impl Detector {
    /// Shares the corpus instead of copying it: it holds some 22,000 entries.
    pub fn new(popularity: std::sync::Arc<Popularity>, target_rank: u32) -> Detector {
        let bitflip_targets: Vec<&str> = popularity
            .iter()
            .filter(|p| p.ranked && p.rank <= target_rank.min(BITFLIP_TARGET_RANK))
            .map(|p| p.name.as_str())
            .collect();
        let mut squashed: std::collections::HashMap<String, Vec<String>> = Default::default();
        for p in popularity.iter().filter(|p| p.rank <= target_rank) {
            let key = p.name.to_ascii_lowercase().replace(['-', '_'], "");
            squashed.entry(key).or_default().push(p.name.clone());
        }
        let harness = Harness::empty_builder()
            .with_check(Omitted::new(ALPHABET))
            .with_check(Repeated)
            .with_check(SwappedCharacters)
            .with_check(SwappedWords::new("-_"))
            .with_check(Typos::new(
                KEYBOARD
                    .iter()
                    .map(|(c, n)| (*c, n.chars().map(String::from).collect())),
            ))
            .with_check(Bitflips::new(ALPHABET, bitflip_targets.iter().copied()))
            .with_check(Version)
            .build(TargetCorpus {
                popularity: popularity.clone(),
                target_rank,
            });
        Detector {
            popularity,
            target_rank,
            harness,
            squashed,
        }
    }

    fn target(&self, name: &str) -> Option<&crate::sources::popularity::Popular> {
        self.popularity
            .get(name)
            .filter(|p| p.rank <= self.target_rank)
    }

    /// Every popular crate `name` may imitate, with the technique.
    pub fn check(&self, name: &str) -> Vec<Suspicion> {
        let mut out = Vec::new();
        if self.popularity.get_exact(name).is_some() {
            return out; // a popular name is itself known
        }
        let mut push = |imitates: &str, technique: String| {
            if let Some(t) = self.target(imitates)
                && !out.iter().any(|s: &Suspicion| s.imitates == t.name)
                && !is_family(name, &t.name)
            {
                out.push(Suspicion {
                    name: name.to_string(),
                    imitates: t.name.clone(),
                    technique,
                    target_rank: t.rank,
                    target_ranked: t.ranked,
                });
            }
        };
        // Separators: `url-parse` for `url_parse`, `rustdecimal` for `rust_decimal`.
        let key = name.to_ascii_lowercase().replace(['-', '_'], "");
        for target in self.squashed.get(&key).into_iter().flatten() {
            if canonical(target) == canonical(name) {
                if target != name {
                    push(
                        target,
                        format!("separator swapped (`{name}` for `{target}`)"),
                    );
                }
            } else {
                push(
                    target,
                    format!("separators added or dropped (`{name}` for `{target}`)"),
                );
            }
        }
        for squat in self
            .harness
            .check_package(name, Box::new(Unknown))
            .unwrap_or_default()
        {
            push(squat.package(), technique(&squat));
        }
        // Affixes, alone or with one typo in what remains.
        for (stripped, affix) in strip_affixes(name) {
            if self.target(&stripped).is_some() {
                push(&stripped, format!("affix `{affix}` added to `{stripped}`"));
            } else if stripped.len() >= 4 {
                for squat in self
                    .harness
                    .check_package(&stripped, Box::new(Unknown))
                    .unwrap_or_default()
                {
                    push(
                        squat.package(),
                        format!("affix `{affix}` plus {}", technique(&squat)),
                    );
                }
            }
        }
        for (from, to) in HOMOGLYPHS {
            if name.contains(from) {
                let variant = name.replace(from, to);
                push(&variant, format!("homoglyph `{from}` for `{to}`"));
            }
        }
        out
    }
}

fn technique(squat: &typomania::checks::Squat) -> String {
    use typomania::checks::Squat::*;
    match squat {
        Bitflip(_) => "one flipped bit".into(),
        OmittedCharacter(_) => "a character omitted".into(),
        RepeatedCharacter(_) => "a character repeated".into(),
        SwappedCharacters(_) => "two characters swapped".into(),
        SwappedWords(_) => "words swapped".into(),
        Typo(_) => "a keyboard-neighbour typo".into(),
        Version(_) => "a version number appended".into(),
        Custom { message, .. } => message.clone(),
    }
}

fn strip_affixes(name: &str) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for p in PREFIXES {
        if let Some(rest) = name.strip_prefix(p).filter(|r| r.len() >= 2) {
            out.push((rest.to_string(), *p));
        }
    }
    for s in SUFFIXES {
        if let Some(rest) = name
            .strip_suffix(s)
            .filter(|r| r.len() >= 2 && !r.ends_with(['-', '_']))
        {
            out.push((rest.to_string(), *s));
        }
    }
    out
}

/// `serde_derive` next to `serde`, `tokio-macros` next to `tokio`: companion crates; and
/// versioned siblings that differ only in their digits (`wasip1` and `wasip2`).
fn is_family(name: &str, target: &str) -> bool {
    let (n, t) = (canonical(name), canonical(target));
    let has_digit = |s: &str| s.chars().any(|c| c.is_ascii_digit());
    let letters = |s: &str| {
        s.chars()
            .filter(|c| !c.is_ascii_digit())
            .collect::<String>()
    };
    if has_digit(&n) && has_digit(&t) && letters(&n) == letters(&t) {
        return true;
    }
    let rest = n
        .strip_prefix(&t)
        .or_else(|| n.strip_suffix(&t))
        .map(|r| r.trim_matches('_'));
    rest.is_some_and(|r| FAMILY.iter().any(|f| canonical(f) == r))
}

impl Check for Typosquat {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let (Some(graph), Some(popularity)) = (cx.graph, cx.popularity) else {
            return CheckStatus::Skipped {
                reason: "needs a Cargo.lock and a popularity corpus".into(),
            };
        };
        let detector = Detector::new(popularity.clone(), cx.typosquat_target_rank);
        let mut seen = std::collections::BTreeSet::new();
        for (i, pkg) in graph.packages().iter().enumerate() {
            // Only registry crates: a git or path dependency names its source explicitly.
            if !matches!(graph.origin(i), Origin::CratesIo | Origin::Registry(_))
                || cx.scope.is_some_and(|s| !s.contains(&i))
                || !seen.insert(pkg.name.as_str())
            {
                continue;
            }
            let mut suspicions: Vec<Suspicion> = detector
                .check(pkg.name.as_str())
                .into_iter()
                // The popular crate itself pulls this one in: its own companion.
                .filter(|s| !target_depends_on(graph, &s.imitates, i))
                .collect();
            // One finding per crate, naming the most popular look-alike first.
            suspicions.sort_by_key(|s| (s.target_rank, !s.target_ranked));
            let Some(best) = suspicions.first() else {
                continue;
            };
            let mut f = Finding::new(
                NAME,
                &SUSPECT,
                format!("`{}` may imitate `{}`", best.name, best.imitates),
            )
            .package(graph.package_ref(i))
            .via(graph.via(i))
            .at(graph.path.display().to_string(), graph.line_of(i))
            .evidence(format!("technique: {}", best.technique))
            .evidence(popularity_line(best));
            for other in &suspicions[1..] {
                f = f.evidence(format!(
                    "also resembles `{}` ({}; {})",
                    other.imitates,
                    other.technique,
                    popularity_line(other)
                ));
            }
            let first = format!(
                "if you wanted `{}`, fix the dependency; if `{}` is the crate you meant",
                best.imitates, best.name
            );
            out.push(super::remedy_with_approval(
                f,
                &first,
                ", approve this version",
            ));
        }
        CheckStatus::Ran
    }
}

fn popularity_line(s: &Suspicion) -> String {
    if s.target_ranked {
        format!("`{}` is #{} by downloads", s.imitates, s.target_rank)
    } else {
        format!(
            "`{}` is among the {} most downloaded crates",
            s.imitates, s.target_rank
        )
    }
}

/// Whether a package named `target` in the graph depends directly on package `i`.
fn target_depends_on(graph: &Graph, target: &str, i: usize) -> bool {
    graph
        .dependents(i)
        .iter()
        .any(|&d| canonical(graph.packages()[d].name.as_str()) == canonical(target))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str) -> Vec<(String, String)> {
        static DETECTOR: std::sync::OnceLock<Detector> = std::sync::OnceLock::new();
        let d = DETECTOR.get_or_init(|| {
            Detector::new(
                std::sync::Arc::new(Popularity::embedded()),
                DEFAULT_TARGET_RANK,
            )
        });
        d.check(name)
            .into_iter()
            .map(|s| (s.imitates, s.technique))
            .collect()
    }

    #[test]
    fn catches_the_classic_squats() {
        assert!(
            check("serd").iter().any(|(t, _)| t == "serde"),
            "{:?}",
            check("serd")
        );
        assert!(
            check("rustdecimal")
                .iter()
                .any(|(t, _)| t == "rust_decimal")
        );
        assert!(check("tokio-rs").iter().any(|(t, _)| t == "tokio"));
        assert!(check("serde-v2").iter().any(|(t, _)| t == "serde"));
        assert!(check("5erde").iter().any(|(t, _)| t == "serde"));
        assert!(
            check("rust-regx").iter().any(|(t, _)| t == "regex"),
            "{:?}",
            check("rust-regx")
        );
        let custom = Popularity::from_names(&["url_parse"]);
        let d = Detector::new(std::sync::Arc::new(custom), DEFAULT_TARGET_RANK);
        assert_eq!(d.check("url-parse")[0].imitates, "url_parse");
    }

    #[test]
    fn leaves_legitimate_names_alone() {
        for name in [
            "serde",
            "serde_derive",
            "tokio-macros",
            "clap_derive",
            "my-internal-tool-xyz",
            "wasip1",
        ] {
            assert!(check(name).is_empty(), "{name}: {:?}", check(name));
        }
    }
}
