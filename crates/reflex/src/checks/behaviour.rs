//! What each registry crate's code does, graded by intent: the behaviour facts of its build
//! script, proc-macro, library and binaries (from `analysis::behaviour`), judged by the
//! combinations only malware needs. Secrets plus a way out, download plus execute, execution
//! or network gated on the environment, obfuscated execution or network, key searches plus
//! network, a build script running a shipped or written file: high or critical wherever they
//! appear. Ordinary capabilities alone are info. Build-time and run-time code are judged
//! apart, and findings say which.

use super::{Check, Context, Needs, Sink};
use crate::analysis::behaviour::{Behaviour, Fact};
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};

pub struct Behaviours;

const NAME: &str = "behaviour";

pub const EXFILTRATION: CodeSpec = CodeSpec::new(
    "behaviour-exfiltration",
    Severity::Critical,
    "code reads secrets (variables, credential files, the whole environment) and has a way to send them out",
)
.varies(&[Severity::High, Severity::Medium])
.trust_covers();
pub const DOWNLOAD_EXECUTE: CodeSpec = CodeSpec::new(
    "behaviour-download-execute",
    Severity::Critical,
    "code downloads something and runs it",
)
.varies(&[Severity::High])
.trust_covers();
pub const ENV_GATED: CodeSpec = CodeSpec::new(
    "behaviour-env-gated",
    Severity::High,
    "code runs programs or uses the network only under a condition on where it runs (CI variables, host or user names, the date)",
)
.varies(&[Severity::Critical])
.trust_covers();
pub const OBFUSCATED: CodeSpec = CodeSpec::new(
    "behaviour-obfuscated",
    Severity::High,
    "a decoded value (base64, hex, XOR, byte arrays, character arithmetic) becomes a program, an address or a variable name",
)
.varies(&[Severity::Critical])
.trust_covers();
pub const KEY_SEARCH: CodeSpec = CodeSpec::new(
    "behaviour-key-search",
    Severity::High,
    "code searches for key material (hex private keys, base58 secrets, seed phrases, wallet files) and uses the network",
)
.trust_covers();
pub const SHIPPED_EXEC: CodeSpec = CodeSpec::new(
    "behaviour-runs-shipped-file",
    Severity::High,
    "code runs a file shipped in the crate or written by it, which no review of its source covers",
)
.varies(&[Severity::Medium])
.trust_covers();
pub const PERSISTENCE: CodeSpec = CodeSpec::new(
    "behaviour-persistence",
    Severity::High,
    "build-time code writes files and names a place programs start from (the toolchain, cargo's binaries or sources, shell start-up files, SSH authorized keys, scheduled tasks, git hooks)",
)
.trust_covers();
pub const MACRO_EXEC: CodeSpec = CodeSpec::new(
    "behaviour-macro-exec",
    Severity::High,
    "a proc-macro runs programs other than build tools (shells, interpreters, URL openers, computed names) every time it is expanded, or build-time code opens URLs",
)
.trust_covers();
pub const ENDPOINT: CodeSpec = CodeSpec::new(
    "behaviour-endpoint",
    Severity::Medium,
    "code names a messenger, paste, webhook, tunnel or raw-IP endpoint",
)
.trust_covers();
pub const EMBEDDED: CodeSpec = CodeSpec::new(
    "behaviour-embedded-executable",
    Severity::Medium,
    "code embeds an executable",
)
.varies(&[Severity::High])
.trust_covers();
pub const TLS_OFF: CodeSpec = CodeSpec::new(
    "behaviour-tls-off",
    Severity::Low,
    "code turns TLS certificate verification off",
)
.trust_covers();
pub const CAPABILITIES: CodeSpec = CodeSpec::new(
    "behaviour-capabilities",
    Severity::Info,
    "what a crate's code can do, when nothing about it is suspicious (network, processes, secrets read)",
);
pub const PARTIAL: CodeSpec = CodeSpec::new(
    "behaviour-partial",
    Severity::Info,
    "part of a crate's code was not read (too large, time budget) or was read by the lexer only",
);

static CODES: [CodeSpec; 13] = [
    EXFILTRATION,
    DOWNLOAD_EXECUTE,
    ENV_GATED,
    OBFUSCATED,
    KEY_SEARCH,
    SHIPPED_EXEC,
    PERSISTENCE,
    MACRO_EXEC,
    ENDPOINT,
    EMBEDDED,
    TLS_OFF,
    CAPABILITIES,
    PARTIAL,
];

mod drift;
mod grade;

pub use drift::drift;
pub use grade::{Verdict, evidence, grade, phase_label, secret_var, summary};

impl Check for Behaviours {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH.with(Needs::ARCHIVES)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let (Some(graph), Some(analyses)) = (cx.graph, cx.analyses) else {
            return CheckStatus::Skipped {
                reason: "no Cargo.lock, or crate archives not read".into(),
            };
        };
        let mut indexes: Vec<&usize> = analyses.keys().collect();
        indexes.sort();
        let mut unread = 0;
        for &i in indexes {
            if cx.scope.is_some_and(|s| !s.contains(&i)) {
                continue;
            }
            let Ok(a) = &analyses[&i] else { continue };
            let Some(b) = &a.behaviour else {
                unread += 1;
                continue;
            };
            let label = graph.label(i);
            let at = |spec: &'static CodeSpec, title: String| {
                Finding::new(NAME, spec, title)
                    .package(graph.package_ref(i))
                    .via(graph.via(i))
                    .at(graph.path.display().to_string(), graph.line_of(i))
            };
            judge(&label, b, &at, out);
        }
        if unread > 0 {
            return CheckStatus::Partial {
                reason: format!("{unread} crates analysed without their code's behaviour"),
            };
        }
        CheckStatus::Ran
    }
}

/// The findings about one crate's behaviour.
pub fn judge(
    label: &str,
    b: &Behaviour,
    at: &dyn Fn(&'static CodeSpec, String) -> Finding,
    out: &mut Sink,
) {
    for build_time in [true, false] {
        let facts: Vec<&Fact> = b.phase(build_time).collect();
        if facts.is_empty() {
            continue;
        }
        let phase = phase_label(&facts, build_time);
        for v in grade(&facts, build_time) {
            let f = at(v.spec, format!("{label}: {phase} {}", v.what)).severity(v.severity);
            let f = evidence(f, &v.facts, 6);
            let f = if v.severity >= Severity::High {
                super::remedy_with_approval(
                    f,
                    "treat the crate as hostile until its code is read: do not build or run it outside a sandbox",
                    "; if a review finds it legitimate, approve this version",
                )
            } else {
                f
            };
            out.push(f);
        }
    }
    if b.is_partial() || !b.lexed.is_empty() {
        let mut f = at(
            &PARTIAL,
            format!("{label}: part of its code was not read by the behaviour analysis"),
        );
        for p in b.partial.iter().take(4) {
            f = f.evidence(p.clone());
        }
        if !b.lexed.is_empty() {
            f = f.evidence(format!(
                "read by the lexer only: {}",
                b.lexed
                    .iter()
                    .take(4)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.push(f);
    }
}
