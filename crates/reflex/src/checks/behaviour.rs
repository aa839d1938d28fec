//! What each registry crate's code does, graded by intent: the behaviour facts of its build
//! script, proc-macro, library and binaries (from `analysis::behaviour`), judged by the
//! combinations only malware needs. Secrets plus a way out, download plus execute, execution
//! or network gated on the environment, obfuscated execution or network, key searches plus
//! network, a build script running a shipped or written file: high or critical wherever they
//! appear. Ordinary capabilities alone are info. Build-time and run-time code are judged
//! apart, and findings say which.

use super::{Check, Context, Needs, Sink};
use crate::analysis::behaviour::{Behaviour, Fact, Kind};
use crate::analysis::capabilities::is_cargo_var;
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};
use crate::knowledge::secrets::secret_reason;

pub struct Behaviours;

const NAME: &str = "behaviour";

pub const EXFILTRATION: CodeSpec = CodeSpec::new(
    "behaviour-exfiltration",
    Severity::Critical,
    "code reads secrets (variables, credential files, the whole environment) and has a way to send them out",
)
.varies(&[Severity::High])
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

static CODES: [CodeSpec; 11] = [
    EXFILTRATION,
    DOWNLOAD_EXECUTE,
    ENV_GATED,
    OBFUSCATED,
    KEY_SEARCH,
    SHIPPED_EXEC,
    ENDPOINT,
    EMBEDDED,
    TLS_OFF,
    CAPABILITIES,
    PARTIAL,
];

/// One judgement about one phase of a crate's code.
#[derive(Debug)]
pub struct Verdict<'a> {
    pub spec: &'static CodeSpec,
    pub severity: Severity,
    /// What the code does, completing "<crate>: <phase> code ...".
    pub what: String,
    pub facts: Vec<&'a Fact>,
}

/// `build-time` or `run-time`, with the roles present: "build-time code (build script)".
pub fn phase_label(facts: &[&Fact], build_time: bool) -> String {
    let mut roles: Vec<&str> = facts.iter().map(|f| f.role.as_str()).collect();
    roles.sort_unstable();
    roles.dedup();
    let phase = if build_time { "build-time" } else { "run-time" };
    format!("{phase} code ({})", roles.join(", "))
}

/// A variable name that holds a secret (cargo's own variables are not).
pub fn secret_var(name: &str) -> bool {
    !name.is_empty() && !is_cargo_var(name) && secret_reason(name, "x").is_some()
}

/// A variable that holds a private key or seed phrase.
fn key_var(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    [
        "PRIVATE_KEY",
        "PRIVKEY",
        "MNEMONIC",
        "SEED_PHRASE",
        "SECRET_KEY",
        "WALLET",
    ]
    .iter()
    .any(|w| n.contains(w))
}

fn is_secret(f: &Fact) -> bool {
    match f.kind {
        Kind::EnvRead => secret_var(&f.subject),
        Kind::SecretFile | Kind::EnvDump => true,
        _ => false,
    }
}

/// A way to send data out: the network, a messenger endpoint, a download tool or shell.
fn is_way_out(f: &Fact) -> bool {
    match f.kind {
        Kind::Network | Kind::Endpoint => true,
        Kind::Exec => matches!(f.class.as_str(), "download-tool"),
        _ => false,
    }
}

/// Execution of something other than the usual build tools.
fn is_unusual_exec(f: &Fact) -> bool {
    f.kind == Kind::Exec
        && !matches!(
            f.class.as_str(),
            "compiler" | "build-tool" | "from-env" | "other"
        )
}

/// The judgements of one phase's facts.
pub fn grade<'a>(facts: &[&'a Fact], build_time: bool) -> Vec<Verdict<'a>> {
    let mut out = Vec::new();
    let pick = |p: &dyn Fn(&Fact) -> bool| -> Vec<&'a Fact> {
        facts.iter().copied().filter(|f| p(f)).collect()
    };
    let secrets = pick(&is_secret);
    let ways = pick(&is_way_out);
    let obfuscated = pick(&|f| {
        f.decoded.is_some() && matches!(f.kind, Kind::Exec | Kind::Network | Kind::EnvRead)
    });
    let endpoints = pick(&|f| f.kind == Kind::Endpoint);
    // Secrets plus a way out.
    if !secrets.is_empty() && !ways.is_empty() {
        let same_fn = secrets.iter().any(|s| {
            !s.func.is_empty() && ways.iter().any(|w| w.func == s.func && w.file == s.file)
        });
        let keys = secrets.iter().any(|s| key_var(&s.subject))
            && ways.iter().any(|w| w.kind == Kind::Network);
        let dump = secrets.iter().any(|s| s.kind == Kind::EnvDump);
        let telling = !endpoints.is_empty() || !obfuscated.is_empty();
        let severity = if build_time || telling {
            Some(Severity::Critical)
        } else if same_fn && dump {
            Some(Severity::Critical)
        } else if same_fn || keys {
            Some(Severity::High)
        } else {
            None
        };
        if let Some(severity) = severity {
            out.push(Verdict {
                spec: &EXFILTRATION,
                severity,
                what: "reads secrets and can send them out".into(),
                facts: [secrets.clone(), ways.clone()].concat(),
            });
        }
    }
    // Download plus execute.
    let chains = pick(&|f| f.kind == Kind::DownloadExec);
    let downloads = pick(&|f| {
        (f.kind == Kind::Network && f.class != "dns")
            || (f.kind == Kind::Exec && f.class == "download-tool")
    });
    let runs_fetched = pick(&|f| {
        f.kind == Kind::Exec && matches!(f.class.as_str(), "downloaded" | "written-file")
    });
    let tool_and_run = build_time
        && facts
            .iter()
            .any(|f| f.kind == Kind::Exec && f.class == "download-tool")
        && facts
            .iter()
            .any(|f| is_unusual_exec(f) && f.class != "download-tool");
    if !chains.is_empty() || (!downloads.is_empty() && !runs_fetched.is_empty()) || tool_and_run {
        let severity = if !chains.is_empty() || !runs_fetched.is_empty() {
            Severity::Critical
        } else {
            Severity::High
        };
        out.push(Verdict {
            spec: &DOWNLOAD_EXECUTE,
            severity,
            what: "downloads something and runs it".into(),
            facts: [chains.clone(), downloads.clone(), runs_fetched.clone()].concat(),
        });
    }
    // Execution or network gated on where the code runs.
    let gated = pick(&|f| {
        f.gated
            .as_deref()
            .is_some_and(|g| build_time || f.kind == Kind::Exec || !g.contains("date"))
            && match f.kind {
                Kind::Exec => !matches!(f.class.as_str(), "compiler" | "build-tool"),
                Kind::Network | Kind::DownloadExec => true,
                _ => false,
            }
    });
    if !gated.is_empty() {
        let severe = !obfuscated.is_empty() || !chains.is_empty() || !runs_fetched.is_empty();
        out.push(Verdict {
            spec: &ENV_GATED,
            severity: if severe {
                Severity::Critical
            } else {
                Severity::High
            },
            what: format!(
                "runs programs or uses the network only when {} says so",
                gated[0].gated.clone().unwrap_or_default()
            ),
            facts: gated,
        });
    }
    // Decoded values that become a program, an address or a variable name.
    if !obfuscated.is_empty() {
        let exec = facts.iter().any(|f| f.kind == Kind::Exec);
        let net = facts.iter().any(|f| f.kind == Kind::Network);
        out.push(Verdict {
            spec: &OBFUSCATED,
            severity: if exec && net {
                Severity::Critical
            } else {
                Severity::High
            },
            what: "decodes the names of what it runs, reaches or reads".into(),
            facts: [obfuscated.clone(), pick(&|f| f.kind == Kind::Decode)].concat(),
        });
    }
    let keys = pick(&|f| f.kind == Kind::KeySearch);
    let net = pick(&|f| matches!(f.kind, Kind::Network | Kind::Endpoint));
    if !keys.is_empty() && !net.is_empty() {
        out.push(Verdict {
            spec: &KEY_SEARCH,
            severity: Severity::High,
            what: "searches for key material and uses the network".into(),
            facts: [keys, net.clone()].concat(),
        });
    }
    let shipped = pick(&|f| {
        f.kind == Kind::Exec && matches!(f.class.as_str(), "shipped-file" | "written-file")
    });
    if !shipped.is_empty() {
        out.push(Verdict {
            spec: &SHIPPED_EXEC,
            severity: if build_time {
                Severity::High
            } else {
                Severity::Medium
            },
            what: "runs a file shipped in the crate or written by it".into(),
            facts: shipped,
        });
    }
    lesser(facts, build_time, &secrets, &endpoints, &mut out);
    out
}

/// Endpoints, embedded executables and TLS verification off, when nothing above covers them;
/// else the ordinary capabilities as info.
fn lesser<'a>(
    facts: &[&'a Fact],
    _build_time: bool,
    secrets: &[&'a Fact],
    endpoints: &[&'a Fact],
    out: &mut Vec<Verdict<'a>>,
) {
    let serious = !out.is_empty();
    if !endpoints.is_empty() && !serious {
        out.push(Verdict {
            spec: &ENDPOINT,
            severity: Severity::Medium,
            what: format!("names a {} endpoint", endpoints[0].class),
            facts: endpoints.to_vec(),
        });
    }
    let embedded: Vec<&Fact> = facts
        .iter()
        .copied()
        .filter(|f| f.kind == Kind::EmbeddedExe)
        .collect();
    if !embedded.is_empty() {
        let runs = facts.iter().any(|f| is_unusual_exec(f));
        out.push(Verdict {
            spec: &EMBEDDED,
            severity: if runs {
                Severity::High
            } else {
                Severity::Medium
            },
            what: "embeds an executable".into(),
            facts: embedded,
        });
    }
    let tls: Vec<&Fact> = facts
        .iter()
        .copied()
        .filter(|f| f.kind == Kind::TlsOff)
        .collect();
    if !tls.is_empty() {
        out.push(Verdict {
            spec: &TLS_OFF,
            severity: Severity::Low,
            what: "turns TLS certificate verification off".into(),
            facts: tls,
        });
    }
    if serious {
        return;
    }
    let ordinary: Vec<&Fact> = facts
        .iter()
        .copied()
        .filter(|f| matches!(f.kind, Kind::Network | Kind::Exec) || is_secret(f))
        .collect();
    if !ordinary.is_empty() && secrets.len() + ordinary.len() > 0 {
        out.push(Verdict {
            spec: &CAPABILITIES,
            severity: Severity::Info,
            what: format!("can: {}", summary(&ordinary)),
            facts: ordinary,
        });
    }
}

/// "network (http), runs sh, cc; reads GITHUB_TOKEN".
pub fn summary(facts: &[&Fact]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut list = |kind: Kind, label: &str, by_class: bool| {
        let mut items: Vec<String> = facts
            .iter()
            .filter(|f| f.kind == kind)
            .map(|f| {
                if by_class || f.subject.is_empty() {
                    if f.computed {
                        "computed at run time".to_string()
                    } else {
                        f.class.clone()
                    }
                } else {
                    f.subject.clone()
                }
            })
            .filter(|s| !s.is_empty())
            .collect();
        items.sort();
        items.dedup();
        if items.len() > 4 {
            let n = items.len() - 4;
            items.truncate(4);
            items.push(format!("{n} more"));
        }
        if !items.is_empty() || facts.iter().any(|f| f.kind == kind) {
            parts.push(format!("{label} {}", items.join(", ")).trim().to_string());
        }
    };
    list(Kind::Network, "network", true);
    list(Kind::Exec, "runs", false);
    list(Kind::EnvRead, "reads", false);
    list(Kind::SecretFile, "names", false);
    list(Kind::EnvDump, "reads the whole environment", true);
    parts.join("; ")
}

/// One evidence line per fact (at most `max`).
pub fn evidence(f: Finding, facts: &[&Fact], max: usize) -> Finding {
    let mut seen = std::collections::BTreeSet::new();
    let mut f = f;
    let mut n = 0;
    for fact in facts {
        if n >= max || !seen.insert((fact.file.as_str(), fact.line)) {
            continue;
        }
        n += 1;
        let mut what = fact.kind.as_str().to_string();
        if !fact.subject.is_empty() {
            what.push_str(&format!(" `{}`", fact.subject));
        }
        if fact.computed {
            what.push_str(" (computed at run time)");
        }
        if let Some(d) = &fact.decoded {
            what.push_str(&format!(" (decoded: {d})"));
        }
        if let Some(g) = &fact.gated {
            what.push_str(&format!(" (only when {g})"));
        }
        f = f.evidence(format!(
            "{} [{}]: {what}: {}",
            fact.location(),
            fact.role.as_str(),
            fact.snippet
        ));
    }
    f
}

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
