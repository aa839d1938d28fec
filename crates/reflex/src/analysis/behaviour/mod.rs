//! What all of a crate's code does, read from its source: facts with file, line and snippet
//! (network, process execution, environment reads, credential files, writes, decoding that
//! feeds a program or an address, download-then-execute, environment gates, key searches,
//! TLS verification off, messenger endpoints, embedded executables, high-entropy literals).
//!
//! Values are followed through local bindings, constants and statics, arrays iterated in
//! loops, and small helper functions of the same crate; a value that cannot be followed is
//! itself recorded (`computed`). Files `syn` cannot parse, or nested too deep for a recursive
//! parser, are read by a lexer instead. Every file has a size budget and the crate a time
//! budget; what was not read is named in `partial`. Facts are data: the behaviour check grades
//! them.

mod crate_info;
pub use crate_info::Memo;
pub use spans::item_start;
mod detect;
mod detect_literals;
mod lexer;
pub mod patterns;
pub mod prefilter;
mod spans;
mod values;
mod visit;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// What a file is to the crate: when its code runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    BuildScript,
    ProcMacro,
    Library,
    Binary,
}

impl Role {
    /// Build scripts and proc-macros run when the crate is built; the rest when the program
    /// (or its tests) runs.
    pub fn build_time(self) -> bool {
        matches!(self, Role::BuildScript | Role::ProcMacro)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::BuildScript => "build script",
            Role::ProcMacro => "proc-macro",
            Role::Library => "library",
            Role::Binary => "binary",
        }
    }
}

/// The kinds of facts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Sockets, DNS, HTTP (`class`: socket, http, dns, raw, smtp).
    Network,
    /// A process is started (`subject`: the program when known; `class`: its kind).
    Exec,
    /// An environment variable is read (`subject`: its name when known).
    EnvRead,
    /// The whole environment is read (`env::vars()`).
    EnvDump,
    /// A credential or key location is named (`subject`: the path).
    SecretFile,
    /// A file is written outside OUT_DIR (`subject`: the path when known).
    FileWrite,
    /// A decoded value becomes a program, an address, a path or a variable name.
    Decode,
    /// Something fetched from the network (or by a download tool) is run.
    DownloadExec,
    /// Execution or network only when an environment condition holds (`subject`: it).
    EnvGate,
    /// Searching for key material (`class`: what).
    KeySearch,
    /// TLS certificate verification turned off.
    TlsOff,
    /// A messenger, paste, webhook or tunnel endpoint (`class`: which).
    Endpoint,
    /// An executable embedded in the code.
    EmbeddedExe,
    /// A long high-entropy literal.
    HighEntropy,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Network => "network",
            Kind::Exec => "process execution",
            Kind::EnvRead => "environment read",
            Kind::EnvDump => "whole environment read",
            Kind::SecretFile => "credential location",
            Kind::FileWrite => "file write outside OUT_DIR",
            Kind::Decode => "decoded value used",
            Kind::DownloadExec => "download then execute",
            Kind::EnvGate => "environment-gated behaviour",
            Kind::KeySearch => "key-material search",
            Kind::TlsOff => "TLS verification off",
            Kind::Endpoint => "messenger/paste/webhook endpoint",
            Kind::EmbeddedExe => "embedded executable",
            Kind::HighEntropy => "high-entropy literal",
        }
    }
}

/// One thing the code does, where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub kind: Kind,
    pub role: Role,
    pub file: String,
    pub line: u32,
    /// The source line, trimmed and shortened.
    pub snippet: String,
    /// The program, variable, address, path or API, when known.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// A finer kind: the program class, the network kind, the endpoint kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub class: String,
    /// The function it is in (`""` at file level).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub func: String,
    /// The value (program, address, name) is computed at run time: not followed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub computed: bool,
    /// How the value was decoded, when it went through decoding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
    /// The environment condition it runs under, when gated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gated: Option<String>,
}

impl Fact {
    /// `file:line`.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }
}

/// Everything the analyser found in one crate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behaviour {
    pub facts: Vec<Fact>,
    /// Rust files read (parsed or lexed).
    pub files_read: usize,
    /// Files read by the lexer only (syn could not parse them, or nesting too deep).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lexed: Vec<String>,
    /// What was not read, and why (size or time budget): the analysis is partial.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partial: Vec<String>,
}

impl Behaviour {
    pub fn is_partial(&self) -> bool {
        !self.partial.is_empty()
    }

    /// Facts of build-time code (`true`) or run-time code (`false`).
    pub fn phase(&self, build_time: bool) -> impl Iterator<Item = &Fact> {
        self.facts
            .iter()
            .filter(move |f| f.role.build_time() == build_time)
    }
}

/// One Rust source of the crate.
pub struct Source<'a> {
    pub path: &'a str,
    pub role: Role,
    /// The text, or `None` when it was too large to keep (named in `partial`).
    pub text: Option<&'a str>,
    /// The file as `syn` parsed it, when it did.
    pub parsed: Option<&'a syn::File>,
    /// Test-only code (`#[cfg(test)]`) is read as code: the crate's build script may turn
    /// `cfg(test)` on for the library (`cargo:rustc-cfg=test`).
    pub tests_live: bool,
    /// Bumped whenever the file's syntax tree changes (items pulled in): what was walked of
    /// an earlier generation is not reused.
    pub generation: u32,
}

/// Budgets: per file and per crate.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Wall time for the whole crate; files after it are not read.
    pub crate_time: Duration,
    /// Rust files read per crate.
    pub max_files: usize,
    /// Facts kept per crate.
    pub max_facts: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            crate_time: Duration::from_secs(4),
            max_files: 3000,
            max_facts: 400,
        }
    }
}

/// Deeper bracket nesting than this is not given to `syn` (whose parser recurses).
pub const MAX_NESTING: usize = 200;

/// Whether `text` nests brackets deeper than [`MAX_NESTING`] (strings and comments are not
/// told apart: a lexical upper bound is enough).
pub fn too_deep(text: &str) -> bool {
    // Branch-free over each block of bytes: the depth never goes below zero.
    const STEP: [i32; 256] = {
        let mut t = [0i32; 256];
        (t[b'(' as usize], t[b'[' as usize], t[b'{' as usize]) = (1, 1, 1);
        (t[b')' as usize], t[b']' as usize], t[b'}' as usize]) = (-1, -1, -1);
        t
    };
    let mut depth = 0i32;
    for block in text.as_bytes().chunks(4096) {
        let mut deepest = 0i32;
        for &b in block {
            depth = (depth + STEP[usize::from(b)]).max(0);
            deepest = deepest.max(depth);
        }
        if usize::try_from(deepest).is_ok_and(|d| d > MAX_NESTING) {
            return true;
        }
    }
    false
}

/// Analyses the sources of one crate. `shipped` are the other files of the archive (their
/// paths), so that running one of them is recognised.
pub fn analyze(sources: &[Source<'_>], shipped: &[String], budget: Budget) -> Behaviour {
    analyze_with(
        sources,
        shipped,
        budget,
        true,
        &mut crate_info::Memo::default(),
    )
    .0
}

/// [`analyze`], and the names of the crate functions and constants the analysis found doing
/// something or holding a value: items that name one are worth parsing (see [`prefilter`]).
/// `memo` carries what the walks of an earlier analysis of the same part found, for the
/// files that did not change since (see [`crate_info::Memo`]).
pub fn analyze_part(
    sources: &[Source<'_>],
    shipped: &[String],
    budget: Budget,
    memo: &mut crate_info::Memo,
) -> (Behaviour, std::collections::HashSet<String>) {
    analyze_with(sources, shipped, budget, true, memo)
}

/// [`analyze_part`]; `reuse` off walks every parsed file a second time (the reference for
/// tests).
fn analyze_with(
    sources: &[Source<'_>],
    shipped: &[String],
    budget: Budget,
    reuse: bool,
    memo: &mut crate_info::Memo,
) -> (Behaviour, std::collections::HashSet<String>) {
    let start = Instant::now();
    let mut out = Behaviour::default();
    let parsed: Vec<(&Source<'_>, &syn::File)> = sources
        .iter()
        .filter_map(|s| s.parsed.map(|p| (s, p)))
        .collect();
    let out_of_time = || start.elapsed() > budget.crate_time;
    let (crate_info, walked) = crate_info::walk(&parsed, shipped, reuse, &out_of_time, memo);
    let mut walked = walked.into_iter();
    let mut facts = Vec::new();
    for (n, s) in sources.iter().enumerate() {
        // The facts the single walk found in this file, when they hold: no work left.
        let found = s.parsed.and_then(|_| walked.next()).flatten();
        if n >= budget.max_files || (found.is_none() && out_of_time()) {
            let why = if n >= budget.max_files {
                format!("file budget ({} files)", budget.max_files)
            } else {
                format!("time budget ({} s)", budget.crate_time.as_secs())
            };
            out.partial.push(format!(
                "{} more files not read ({why}), starting with {}",
                sources.len() - n,
                s.path
            ));
            break;
        }
        let Some(text) = s.text else {
            out.partial
                .push(format!("{}: too large to read (generated?)", s.path));
            continue;
        };
        out.files_read += 1;
        match (s.parsed, found) {
            (Some(_), Some(found)) => facts.extend(found),
            (Some(file), None) => match memo.final_walk(s, &crate_info) {
                Some(found) => facts.extend(found),
                None => {
                    let mut found = Vec::new();
                    let probed = visit::file(file, s, text, shipped, &crate_info, &mut found);
                    memo.keep_final_walk(s, &crate_info, probed, &found);
                    facts.extend(found);
                }
            },
            (None, _) => {
                out.lexed.push(s.path.to_string());
                lexer::file(s, text, &mut facts);
            }
        }
    }
    out.facts = dedupe(facts, budget.max_facts, &mut out.partial);
    (out, crate_info.active_names())
}

/// One fact per (kind, role, subject, class, file, gate, decoding), the first seen; at most
/// `max` facts, the most telling kinds first.
fn dedupe(mut facts: Vec<Fact>, max: usize, partial: &mut Vec<String>) -> Vec<Fact> {
    let mut seen = std::collections::HashSet::new();
    facts.retain(|f| {
        // The function matters to the rules that pair a read with a way out in one function:
        // a harmless read elsewhere must not hide the one beside the send.
        let func = match f.kind {
            Kind::EnvRead | Kind::SecretFile | Kind::EnvDump | Kind::Network => f.func.clone(),
            _ => String::new(),
        };
        seen.insert((
            f.kind,
            f.role,
            f.subject.clone(),
            f.class.clone(),
            f.file.clone(),
            func,
            f.gated.is_some(),
            f.decoded.is_some(),
            f.computed,
        ))
    });
    if facts.len() > max {
        // Keep the rarer, more telling kinds when cutting.
        facts.sort_by_key(|f| {
            (
                matches!(f.kind, Kind::Network | Kind::EnvRead | Kind::FileWrite),
                f.decoded.is_none() && f.gated.is_none(),
            )
        });
        partial.push(format!("{} facts beyond {max} not kept", facts.len() - max));
        facts.truncate(max);
        facts.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    }
    facts
}

/// The trimmed text of `line` (1-based) of `text`, at most 120 characters.
pub(crate) fn snippet(text: &str, line: u32) -> String {
    let l = text
        .lines()
        .nth(line.saturating_sub(1) as usize)
        .unwrap_or("")
        .trim();
    if l.chars().count() > 120 {
        format!("{}…", l.chars().take(119).collect::<String>())
    } else {
        l.to_string()
    }
}
