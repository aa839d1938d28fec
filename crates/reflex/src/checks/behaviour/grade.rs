//! The intent rules: which combinations of facts in one phase (build-time or run-time) of a
//! crate's code are high or critical, and the ordinary capabilities left as info.

use super::{
    CAPABILITIES, DOWNLOAD_EXECUTE, EMBEDDED, ENDPOINT, ENV_GATED, EXFILTRATION, KEY_SEARCH,
    MACRO_EXEC, OBFUSCATED, PERSISTENCE, SHIPPED_EXEC, TLS_OFF,
};
use crate::analysis::behaviour::{Fact, Kind, Role, patterns};
use crate::analysis::capabilities::is_cargo_var;
use crate::finding::{CodeSpec, Finding, Severity};
use crate::knowledge::secrets::secret_reason;

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
    !name.is_empty()
        && (!is_cargo_var(name) || name.contains("TOKEN"))
        && secret_reason(name, "x").is_some()
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
        Kind::SecretFile => !patterns::persistence_place(&f.subject),
        Kind::EnvDump => true,
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
        && !patterns::ordinary_tool(&f.class)
        && !matches!(f.class.as_str(), "from-env" | "other")
}

/// A way out that sends where the code says: a fixed destination, raw sockets, a helper
/// that does, a download tool.
fn sends(w: &Fact) -> bool {
    match w.kind {
        Kind::Network => patterns::sends_out(&w.class, &w.subject),
        Kind::Endpoint => true,
        Kind::Exec => w.class == "download-tool",
        _ => false,
    }
}

/// A service's own credential sent to that service (`OPENAI_API_KEY` to `api.openai.com`):
/// use, not theft. Only a variable whose first word is the destination's domain name.
fn owned_by_destination(secret: &Fact, way: &Fact) -> bool {
    if secret.kind != Kind::EnvRead || way.kind != Kind::Network {
        return false;
    }
    let Some(host) = patterns::fixed_host(&way.subject) else {
        return false;
    };
    let word = secret.subject.split('_').next().unwrap_or("");
    let labels: Vec<&str> = host.split('.').collect();
    word.len() >= 3 && labels.len() >= 2 && labels[labels.len() - 2].eq_ignore_ascii_case(word)
}

/// A secret read in one function and a send to where the code chose in another of the same
/// file (kept in a field, sent later): worth a look, not proof.
fn same_file_send(secrets: &[&Fact], ways: &[&Fact]) -> bool {
    secrets.iter().any(|s| {
        ways.iter()
            .any(|w| w.file == s.file && sends(w) && !owned_by_destination(s, w))
    })
}

/// The secrets read in a function that also sends them somewhere the code chose; with
/// `owned`, those sent only to a domain named like the variable's service.
fn sent_from_same_fn<'a>(secrets: &[&'a Fact], ways: &[&Fact], owned: bool) -> Vec<&'a Fact> {
    secrets
        .iter()
        .copied()
        .filter(|s| {
            let out: Vec<&&Fact> = ways
                .iter()
                .filter(|w| w.func == s.func && w.file == s.file && sends(w))
                .collect();
            let elsewhere = out.iter().any(|w| !owned_by_destination(s, w));
            !s.func.is_empty() && !out.is_empty() && (elsewhere != owned)
        })
        .collect()
}

/// What the rules look at, picked from one phase's facts once.
struct Evidence<'a> {
    facts: &'a [&'a Fact],
    build_time: bool,
    secrets: Vec<&'a Fact>,
    ways: Vec<&'a Fact>,
    /// Decoded values that become a program, an address or a variable name.
    obfuscated: Vec<&'a Fact>,
    endpoints: Vec<&'a Fact>,
    chains: Vec<&'a Fact>,
    /// Runs of files it downloaded or wrote.
    runs_fetched: Vec<&'a Fact>,
}

impl<'a> Evidence<'a> {
    fn new(facts: &'a [&'a Fact], build_time: bool) -> Evidence<'a> {
        let pick = |p: &dyn Fn(&Fact) -> bool| -> Vec<&'a Fact> {
            facts.iter().copied().filter(|f| p(f)).collect()
        };
        Evidence {
            facts,
            build_time,
            secrets: pick(&is_secret),
            ways: pick(&is_way_out),
            obfuscated: pick(&|f| {
                f.decoded.is_some() && matches!(f.kind, Kind::Exec | Kind::Network | Kind::EnvRead)
            }),
            endpoints: pick(&|f| f.kind == Kind::Endpoint),
            chains: pick(&|f| f.kind == Kind::DownloadExec),
            runs_fetched: pick(&|f| {
                f.kind == Kind::Exec && matches!(f.class.as_str(), "downloaded" | "written-file")
            }),
        }
    }

    fn pick(&self, p: &dyn Fn(&Fact) -> bool) -> Vec<&'a Fact> {
        self.facts.iter().copied().filter(|f| p(f)).collect()
    }
}

/// The judgements of one phase's facts.
pub fn grade<'a>(facts: &'a [&'a Fact], build_time: bool) -> Vec<Verdict<'a>> {
    let e = Evidence::new(facts, build_time);
    let mut out = Vec::new();
    exfiltration(&e, &mut out);
    download_execute(&e, &mut out);
    gated_obfuscated_keys(&e, &mut out);
    persistence_and_macros(&e, &mut out);
    lesser(&e, &mut out);
    out
}

fn exfiltration<'a>(e: &Evidence<'a>, out: &mut Vec<Verdict<'a>>) {
    let build_time = e.build_time;
    let Evidence {
        secrets,
        ways,
        obfuscated,
        endpoints,
        ..
    } = e;
    let pick = |p: &dyn Fn(&Fact) -> bool| e.pick(p);
    // Secrets plus a way out.
    if !secrets.is_empty() && !ways.is_empty() {
        // At run time a library reading its own credentials and talking to its service is
        // ordinary; what is not is a function that reads secrets and sends them somewhere
        // the code chose.
        let sent = sent_from_same_fn(secrets, ways, false);
        // A domain named like the service is likely the service, but anyone can register
        // `<service>.xyz`: medium, to be read, not silence.
        let to_namesake = sent_from_same_fn(secrets, ways, true);
        let same_fn = !sent.is_empty();
        // Private keys and seed phrases next to any network use stay high crate-wide: what
        // wallet drainers want, and no popular crate does both.
        let keys = secrets.iter().any(|s| key_var(&s.subject))
            && ways.iter().any(|w| w.kind == Kind::Network);
        let dump = sent.iter().any(|s| s.kind == Kind::EnvDump);
        let telling = !endpoints.is_empty() || !obfuscated.is_empty();
        let severity = if build_time || telling || (same_fn && dump) {
            Some(Severity::Critical)
        } else if same_fn || keys {
            Some(Severity::High)
        } else if !to_namesake.is_empty() || same_file_send(secrets, ways) {
            Some(Severity::Medium)
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
    // Who and where it runs, sent out at build time; anything sent to a messenger.
    let identity = pick(&|f| {
        f.kind == Kind::EnvRead
            && (f.class == "identity"
                || matches!(
                    f.subject.as_str(),
                    "USER" | "USERNAME" | "LOGNAME" | "HOSTNAME" | "COMPUTERNAME" | "USERDOMAIN"
                ))
    });
    // A download tool (`curl -d ...`) is a way out as much as a socket.
    let network =
        pick(&|f| f.kind == Kind::Network || (f.kind == Kind::Exec && f.class == "download-tool"));
    let messenger = endpoints.iter().any(|e| e.class != "raw IP address")
        || (build_time && !endpoints.is_empty());
    // The user and host beside the way out (one file): a home directory looked up through
    // `getpwuid` in a helper module is not a report of who builds.
    let reports = identity
        .iter()
        .any(|i| network.iter().any(|n| n.file == i.file));
    let reported = out.iter().any(|v| v.spec.code == EXFILTRATION.code);
    if !reported && !network.is_empty() && ((build_time && reports) || messenger) {
        out.push(Verdict {
            spec: &EXFILTRATION,
            severity: Severity::High,
            what: if messenger {
                format!("sends data to a {} endpoint", endpoints[0].class)
            } else {
                "reports who and where it is built over the network".into()
            },
            facts: [identity, endpoints.clone(), network.clone()].concat(),
        });
    }
}

fn download_execute<'a>(e: &Evidence<'a>, out: &mut Vec<Verdict<'a>>) {
    let build_time = e.build_time;
    let Evidence {
        facts,
        chains,
        runs_fetched,
        ..
    } = e;
    let pick = |p: &dyn Fn(&Fact) -> bool| e.pick(p);
    // Download plus execute.
    let downloads = pick(&|f| {
        (f.kind == Kind::Network && f.class != "dns")
            || (f.kind == Kind::Exec && f.class == "download-tool")
    });
    let runs_unknown = pick(&|f| {
        f.kind == Kind::Exec && (f.computed || f.decoded.is_some() || f.class == "other")
    });
    // A build script that downloads in one place and runs a computed program in another is
    // every `-sys` crate fetching a prebuilt library; the chain must be in one function
    // (`chains`) or run what was fetched or written (`runs_fetched`). Made executable
    // (permissions written) and then run is a chain too.
    let made_executable = facts
        .iter()
        .any(|f| f.kind == Kind::FileWrite && f.class == "permissions");
    let chmod_and_run = build_time && made_executable && !runs_unknown.is_empty();
    if !chains.is_empty()
        || (!downloads.is_empty() && !runs_fetched.is_empty())
        || (chmod_and_run && !downloads.is_empty())
    {
        let severity = if !chains.is_empty() || !runs_fetched.is_empty() {
            Severity::Critical
        } else {
            Severity::High
        };
        out.push(Verdict {
            spec: &DOWNLOAD_EXECUTE,
            severity,
            what: "downloads something and runs it".into(),
            facts: [
                chains.clone(),
                downloads.clone(),
                runs_fetched.clone(),
                runs_unknown,
            ]
            .concat(),
        });
    }
}

fn gated_obfuscated_keys<'a>(e: &Evidence<'a>, out: &mut Vec<Verdict<'a>>) {
    let build_time = e.build_time;
    let Evidence {
        facts,
        obfuscated,
        chains,
        runs_fetched,
        ..
    } = e;
    let pick = |p: &dyn Fn(&Fact) -> bool| e.pick(p);
    // Execution or network gated on where the code runs.
    let gated = pick(&|f| {
        f.gated
            .as_deref()
            .is_some_and(|g| build_time || f.kind == Kind::Exec || !g.contains("date"))
            && match f.kind {
                Kind::Exec => !patterns::ordinary_tool(&f.class),
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
        // Writing a file and running it is a dropper wherever it is; a shipped helper run by
        // a library is something to read, not an alarm.
        let dropped = shipped.iter().any(|f| f.class == "written-file");
        out.push(Verdict {
            spec: &SHIPPED_EXEC,
            severity: if build_time || dropped {
                Severity::High
            } else {
                Severity::Medium
            },
            what: "runs a file shipped in the crate or written by it".into(),
            facts: shipped,
        });
    }
}

/// Build-time code that writes and names where programs start from; proc-macros that run
/// anything but build tools; build-time code that opens URLs.
fn persistence_and_macros<'a>(e: &Evidence<'a>, out: &mut Vec<Verdict<'a>>) {
    if !e.build_time {
        return;
    }
    let places = e.pick(&|f| f.kind == Kind::SecretFile && patterns::persistence_place(&f.subject));
    let writes = e.pick(&|f| f.kind == Kind::FileWrite);
    if !places.is_empty() && !writes.is_empty() {
        out.push(Verdict {
            spec: &PERSISTENCE,
            severity: Severity::High,
            what: "writes files and names where programs start from".into(),
            facts: [places, writes].concat(),
        });
    }
    // A program a proc-macro names that is not a known tool (`rustfmt` for a debug dump) or
    // that it computes (`clap::Command::new(#name)` inside `quote!` is generated code, read
    // lexically) is left to the other rules.
    let runs = e.pick(&|f| {
        f.kind == Kind::Exec
            && (f.class == "opener"
                || (f.role == Role::ProcMacro
                    && (f.decoded.is_some()
                        || matches!(
                            f.class.as_str(),
                            "shell"
                                | "interpreter"
                                | "download-tool"
                                | "downloaded"
                                | "written-file"
                                | "shipped-file"
                        ))))
    });
    // One finding per act: a run already judged (download then execute, obfuscated, gated,
    // a dropped file) is not repeated as a macro's run.
    let judged = |f: &Fact| {
        out.iter().any(|v| {
            v.severity >= Severity::High
                && v.facts.iter().any(|g| g.file == f.file && g.line == f.line)
        })
    };
    let runs: Vec<&Fact> = runs.into_iter().filter(|f| !judged(f)).collect();
    if !runs.is_empty() {
        out.push(Verdict {
            spec: &MACRO_EXEC,
            severity: Severity::High,
            what: if runs.iter().any(|f| f.class == "opener") {
                "opens URLs or files in the desktop's programs".into()
            } else {
                "runs programs every time the macro is expanded".into()
            },
            facts: runs,
        });
    }
}

/// Endpoints, embedded executables and TLS verification off, when nothing above covers them;
/// else the ordinary capabilities as info.
fn lesser<'a>(e: &Evidence<'a>, out: &mut Vec<Verdict<'a>>) {
    let (facts, secrets, endpoints) = (e.facts, &e.secrets, &e.endpoints);
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
