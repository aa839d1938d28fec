//! Look-alikes (typosquats): crate names that imitate a far more popular crate. Two questions,
//! kept apart:
//!
//! 1. **Shape** ([`shape`]): can the name be made from a popular one by a change squatters
//!    use? Separators, swapped words, affixes (`-rs`, `-rust`, `-rst`, `-main`, `-lib`,
//!    `-sdk(s)`, `-client(s)`, `rust-`), version suffixes, plural or singular, a changed
//!    digit, homoglyphs, one wrong keystroke, an affix plus one keystroke.
//! 2. **Relative popularity**: is the name's own crate far less popular than the one it
//!    resembles? A name absent from the popularity corpus is obscure; a name in it is known
//!    and a suspect only when it ranks [`KNOWN_GAP`] times lower. Established siblings
//!    (`proc-macro2` and `proc-macro-error`, `serde_json` and `serde_yaml`) are left alone
//!    because both are popular, not because of their shape; `proc-macro1` is flagged
//!    because nobody uses it. Shapes that also arise innocently (one keystroke between
//!    unrelated names, a number appended by a fork) need a wider gap ([`TYPO_GAP`]):
//!    typosquats live off the traffic of the crates at the top.
//!
//! Each suspicion names the crate it imitates, the shape, and both popularities.

mod shape;

use super::{Check, Context, Needs, Sink};
use crate::finding::{CheckStatus, CodeSpec, Finding, Metric, Severity};
use crate::graph::{Graph, Origin};
use crate::sources::popularity::{Popular, Popularity, canonical};
pub use shape::Shape;
use std::collections::HashMap;
use std::sync::Arc;

pub struct Typosquat;

const NAME: &str = "typosquat";

pub const SUSPECT: CodeSpec = CodeSpec::new(
    "typosquat-suspect",
    Severity::Medium,
    "the crate's name imitates a far more popular crate (typosquatting): check that it is the crate you meant",
).trust_covers().feeds(Metric::TyposquatSuspects);

static CODES: [CodeSpec; 1] = [SUSPECT];

/// Popular crates ranked at or above this are look-alike targets; the default takes the
/// whole corpus (attackers imitate niche crates too: `finch` #13,183, `monero-rpc` #17,680).
pub const DEFAULT_TARGET_RANK: u32 = 100_000;

/// A crate in the popularity corpus is a suspect only when it ranks this many times below
/// the crate it resembles (`squote` #11,300 for `quote` #3): a crate in the corpus has real
/// users, which a malicious crate, removed within days, never gets.
pub const KNOWN_GAP: u64 = 1_000;

/// A crate absent from the corpus is presumed to rank below all of it, and at least here.
pub const ABSENT_RANK: u32 = 20_000;

/// Shapes that also arise innocently ([`Shape::often_innocent`]) need a target this many
/// times more popular than an absent crate: with the default corpus, one of the top 2,000
/// (`serd` for `serde` #9; not `termina` for `terminal` #17,465, nor the fork `get-size2`
/// for `get-size` #3,253).
pub const TYPO_GAP: u64 = 10;

/// One suspicion: `name` may be imitating `imitates`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suspicion {
    pub name: String,
    pub imitates: String,
    pub shape: Shape,
    pub target_rank: u32,
    /// Whether the rank is an actual position (unranked lists only say "top N").
    pub target_ranked: bool,
    /// The suspect's own rank when it is in the corpus.
    pub name_rank: Option<u32>,
}

impl Suspicion {
    /// How the name was made, in words.
    pub fn technique(&self) -> String {
        format!("{}: `{}` for `{}`", self.shape, self.name, self.imitates)
    }

    /// The imitated crate's popularity.
    pub fn target_popularity(&self) -> String {
        if self.target_ranked {
            format!("#{} by downloads", self.target_rank)
        } else {
            format!("among the {} most downloaded crates", self.target_rank)
        }
    }

    /// Both popularities, in words.
    pub fn popularity(&self) -> String {
        let name = match self.name_rank {
            Some(r) => format!("#{r}"),
            None => "not in the popularity corpus".into(),
        };
        format!(
            "`{}` is {}; `{}` is {name}",
            self.imitates,
            self.target_popularity(),
            self.name
        )
    }
}

pub struct Detector {
    popularity: Arc<Popularity>,
    target_rank: u32,
    absent_rank: u32,
    /// Corpus names without separators, for names that change more than one separator.
    squashed: HashMap<String, Vec<String>>,
    /// The most popular crates, most popular first: the only ones a crate of the corpus can
    /// be [`KNOWN_GAP`] times below.
    top: Vec<(String, u32)>,
}

impl Detector {
    /// Shares the corpus instead of copying it: it holds some 22,000 entries.
    pub fn new(popularity: Arc<Popularity>, target_rank: u32) -> Detector {
        let max_rank = popularity
            .iter()
            .filter(|p| p.ranked)
            .map(|p| p.rank)
            .max()
            .unwrap_or(0);
        let absent_rank = max_rank.max(ABSENT_RANK);
        let mut squashed: HashMap<String, Vec<String>> = HashMap::new();
        let mut top = Vec::new();
        for p in popularity.iter().filter(|p| p.rank <= target_rank) {
            let c = canonical(&p.name);
            if p.ranked && p.rank as u64 * KNOWN_GAP <= max_rank as u64 {
                top.push((c.clone(), p.rank));
            }
            squashed.entry(shape::squash(&c)).or_default().push(c);
        }
        top.sort_by_key(|t| t.1);
        Detector {
            popularity,
            target_rank,
            absent_rank,
            squashed,
            top,
        }
    }

    /// Every far more popular crate `name` may imitate, most popular first.
    pub fn check(&self, name: &str) -> Vec<Suspicion> {
        let mut out: Vec<Suspicion> = Vec::new();
        let n = canonical(name);
        let entry = self.popularity.get_canonical(&n);
        let exact = entry.filter(|e| e.name.eq_ignore_ascii_case(name));
        let name_rank = match exact {
            // The unranked list is the top 2,500 of 2026: established, whatever its shape.
            Some(e) if !e.ranked => return out,
            Some(e) => Some(e.rank),
            None => None,
        };
        let mut consider = |target: &Popular, shape: Shape| {
            if self.suspicious(name_rank, &shape, target)
                && !(matches!(shape, Shape::Digit { .. })
                    && self.series(&n, &canonical(&target.name)))
                && !out.iter().any(|s| s.imitates == target.name)
            {
                out.push(Suspicion {
                    name: name.to_string(),
                    imitates: target.name.clone(),
                    shape,
                    target_rank: target.rank,
                    target_ranked: target.ranked,
                    name_rank,
                });
            }
        };
        // `url-parse` for `url_parse`: one name to crates.io, two in other registries.
        if let Some(e) = entry
            && exact.is_none()
        {
            consider(e, Shape::Separators);
        }
        match name_rank {
            Some(rank) => {
                for (t, _) in self
                    .top
                    .iter()
                    .take_while(|(_, r)| *r as u64 * KNOWN_GAP <= rank as u64)
                {
                    if let (Some(shape), Some(target)) =
                        (shape::classify(&n, t), self.popularity.get_canonical(t))
                    {
                        consider(target, shape);
                    }
                }
            }
            None => {
                let mut probe = |t: &str| {
                    if t != n
                        && let Some(target) = self.popularity.get_canonical(t)
                        && let Some(shape) = shape::classify(&n, t)
                    {
                        consider(target, shape);
                    }
                };
                for t in self.squashed.get(&shape::squash(&n)).into_iter().flatten() {
                    probe(t);
                }
                shape::sources(&n, &mut probe);
            }
        }
        out.sort_by_key(|s| (s.target_rank, !s.target_ranked, s.shape.often_innocent()));
        out
    }

    /// Whether the digit in which `name` and `target` differ numbers a series: the corpus
    /// holds another name that differs from both only there (`sha1`, `sha2`, `sha3`;
    /// `wasip2`, `wasip3`). `proc-macro2` has no series, so `proc-macro1` is a look-alike.
    fn series(&self, name: &str, target: &str) -> bool {
        let Some(i) = name.bytes().zip(target.bytes()).position(|(a, b)| a != b) else {
            return false;
        };
        let mut variant = name.as_bytes().to_vec();
        (b'0'..=b'9')
            .filter(|&d| d != name.as_bytes()[i] && d != target.as_bytes()[i])
            .any(|d| {
                variant[i] = d;
                std::str::from_utf8(&variant)
                    .is_ok_and(|v| self.popularity.get_canonical(v).is_some())
            })
    }

    /// Whether a crate of rank `name_rank` (`None`: absent from the corpus) made from
    /// `target` by `shape` is far enough below it to be a look-alike.
    fn suspicious(&self, name_rank: Option<u32>, shape: &Shape, target: &Popular) -> bool {
        if target.rank > self.target_rank {
            return false;
        }
        let target_rank = target.rank as u64;
        match name_rank {
            Some(rank) => rank as u64 >= KNOWN_GAP * target_rank,
            None => !shape.often_innocent() || self.absent_rank as u64 >= TYPO_GAP * target_rank,
        }
    }
}

impl Check for Typosquat {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::POPULARITY)
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
            .evidence(format!("technique: {}", best.technique()))
            .evidence(best.popularity());
            for other in &suspicions[1..] {
                f = f.evidence(format!(
                    "also resembles `{}` ({}): {}",
                    other.imitates,
                    other.target_popularity(),
                    other.shape
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

    fn embedded() -> &'static Detector {
        static DETECTOR: std::sync::OnceLock<Detector> = std::sync::OnceLock::new();
        DETECTOR
            .get_or_init(|| Detector::new(Arc::new(Popularity::embedded()), DEFAULT_TARGET_RANK))
    }

    fn targets(name: &str) -> Vec<String> {
        embedded()
            .check(name)
            .into_iter()
            .map(|s| s.imitates)
            .collect()
    }

    fn imitates(name: &str, target: &str) -> bool {
        targets(name).iter().any(|t| t == target)
    }

    #[test]
    fn each_shape_against_the_embedded_corpus() {
        for (name, target) in [
            ("lazystatic", "lazy_static"),                             // separators
            ("bit-flags", "bitflags"),                                 // separators
            ("rustdecimal", "rust_decimal"),                           // separators
            ("if-cfg", "cfg-if"),                                      // words swapped
            ("rpc-monero", "monero-rpc"), // words swapped, a niche target
            ("lfest-main", "lfest"),      // affix, #14,560
            ("monero-rpc-rs", "monero-rpc"), // affix, #17,680
            ("finch-rst", "finch"),       // affix, #13,183
            ("sha-rust", "sha"),          // affix on a three-letter name
            ("tokio-sdk", "tokio"),       // affix
            ("reqwest-clients", "reqwest"), // affix
            ("rust-regx", "regex"),       // affix and one keystroke
            ("serde-v2", "serde"),        // version suffix
            ("rands", "rand"),            // plural
            ("tracings", "tracing"),      // plural
            ("tauri-winrt-notifications", "tauri-winrt-notification"), // plural
            ("proc-macro1", "proc-macro2"), // digit
            ("5erde", "serde"),           // homoglyph
            ("serd", "serde"),            // one keystroke
            ("postgress", "postgres"),    // one keystroke
        ] {
            assert!(
                imitates(name, target),
                "{name} -> {target}: {:?}",
                targets(name)
            );
        }
    }

    #[test]
    fn established_siblings_are_left_alone_because_both_are_popular() {
        for name in [
            "serde",
            "serde_json",
            "serde_yaml",
            "proc-macro2",
            "proc-macro-error",
            "windows-sys",
            "windows_x86_64_gnu",
            "tokio-util",
            "serde_derive",
            "tokio-macros",
            "clap_derive",
            "syn",
            "base64",
            "sha1",
            "sha2",
            // In the corpus, though one keystroke from a crate 1,000 times more popular.
            "manyhow",
            "request",
            // In the 2026 list of the top 2,500 (unranked): established.
            "adler2",
        ] {
            assert!(targets(name).is_empty(), "{name}: {:?}", targets(name));
        }
    }

    #[test]
    fn obscure_names_far_from_any_popular_one_are_left_alone() {
        for name in [
            "my-internal-tool-xyz",
            "acme-billing",
            "tonic-rs-extras",
            "sonic-rs", // one keystroke plus an affix: too loose
            "termina",  // one keystroke from `terminal`, #17,465: chance, not traffic
            "serde-saphyr",
        ] {
            assert!(targets(name).is_empty(), "{name}: {:?}", targets(name));
        }
        // A hostile lockfile's huge name is not probed character by character.
        assert!(targets(&"serde".repeat(20_000)).is_empty());
    }

    #[test]
    fn relative_popularity_not_a_fixed_top_n() {
        let corpus = Popularity::from_names(&["alpha-crate", "beta-crate", "gamma-crate"]);
        let d = Detector::new(Arc::new(corpus), DEFAULT_TARGET_RANK);
        // A known crate is no suspect when it is not far below the other.
        assert!(d.check("beta-crate").is_empty());
        // An absent one is, with a copied name, whatever the target's rank.
        assert_eq!(d.check("gamma-crate-rs")[0].imitates, "gamma-crate");
        assert_eq!(d.check("gamma-crate-rs")[0].name_rank, None);
        // A known crate 1,000 times further down is a suspect.
        let mut names: Vec<String> = (0..2000).map(|i| format!("filler{i:04}")).collect();
        names.insert(0, "gamma-crate".into());
        names.push("gamma-crates".into());
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let d = Detector::new(Arc::new(Popularity::from_names(&refs)), DEFAULT_TARGET_RANK);
        let s = &d.check("gamma-crates")[0];
        assert_eq!(
            (s.imitates.as_str(), s.name_rank),
            ("gamma-crate", Some(2002))
        );
        assert!(d.check("filler0999").is_empty(), "not 1,000 times below");
        // `--typosquat-rank` still narrows the targets.
        let d = Detector::new(Arc::new(Popularity::from_names(&refs)), 1);
        assert!(d.check("filler0001-rs").is_empty());
        assert!(!d.check("gamma-crate-rs").is_empty());
    }

    #[test]
    fn one_keystroke_needs_a_target_at_the_top() {
        // serde is #9: one keystroke off is a look-alike.
        assert!(imitates("serdr", "serde"));
        // finch is #13,183: a copied name is, one keystroke or a number is not.
        assert!(imitates("finch-rs", "finch"));
        assert!(!imitates("flinch", "finch") && !imitates("fintch", "finch"));
        assert!(!imitates("finch2", "finch"));
        // get-size is #3,253: `get-size2` is a fork's name; `serde2` would be a squat.
        assert!(!imitates("get-size2", "get-size"));
        assert!(imitates("serde2", "serde"));
    }

    #[test]
    fn digit_changes_judged_by_popularity_not_shape() {
        // proc-macro2 is #2 and proc-macro1 is nobody.
        let s = embedded().check("proc-macro1");
        assert_eq!(s[0].imitates, "proc-macro2");
        assert_eq!(s[0].shape, Shape::Digit { from: '2', to: '1' });
        // sha1 and sha2 are both popular.
        assert!(embedded().check("sha1").is_empty());
        // A digit counting a series the corpus already holds two of: a sibling.
        let d = Detector::new(
            Arc::new(Popularity::from_names(&["wasip2", "wasip3", "proc-macro2"])),
            DEFAULT_TARGET_RANK,
        );
        assert!(d.check("wasip1").is_empty());
        assert_eq!(d.check("proc-macro1")[0].imitates, "proc-macro2");
    }

    #[test]
    fn separator_spelling_of_a_corpus_name() {
        let d = Detector::new(
            Arc::new(Popularity::from_names(&["url_parse"])),
            DEFAULT_TARGET_RANK,
        );
        let s = d.check("url-parse");
        assert_eq!(s[0].imitates, "url_parse");
        assert_eq!(s[0].shape, Shape::Separators);
        assert!(d.check("url_parse").is_empty());
    }

    #[test]
    fn evidence_names_shape_and_both_popularities() {
        let s = &embedded().check("rands")[0];
        assert_eq!(s.technique(), "a word made plural: `rands` for `rand`");
        assert_eq!(
            s.popularity(),
            "`rand` is #5 by downloads; `rands` is not in the popularity corpus"
        );
    }
}
