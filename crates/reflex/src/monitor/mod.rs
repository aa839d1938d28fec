//! `build --monitor`: what every build script and proc-macro did, attributed to its crate, and
//! the alerts that follow. The sandbox records raw events (exec, connect, send, DNS queries,
//! sensitive reads, writes outside the expected places or into other crates' build outputs);
//! this module attributes them ([`attribution`]), decodes DNS names and payloads, looks for the
//! planted canary secrets ([`canary`]) in what happened and, after the build, in what it
//! produced ([`artifacts`]), and produces alerts in a form compatible with the Elastic Common
//! Schema ([`Alert::to_ecs`]). Every alert carries what became of the call: allowed, denied by
//! the sandbox, or failed.

pub mod artifacts;
pub mod attribution;
pub mod baseline;
pub mod canary;
pub mod dns;
pub mod normal;

use attribution::Actor;
use canary::Canaries;
use reflex_sandbox_contract::target::{self, Area};
use serde::Serialize;
use serde_json::json;

pub use reflex_sandbox_contract::{CallOutcome, ChainLink, MonitorEvent};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    Low,
    Medium,
    High,
    Critical,
}

impl AlertSeverity {
    /// ECS `event.severity` (numeric).
    fn number(self) -> u8 {
        match self {
            AlertSeverity::Low => 21,
            AlertSeverity::Medium => 47,
            AlertSeverity::High => 73,
            AlertSeverity::Critical => 99,
        }
    }
}

/// Something a build-time process did that deserves attention.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Alert {
    pub time_ns: u64,
    /// When the alert was produced (for the time to detect).
    pub alerted_ns: u64,
    pub severity: AlertSeverity,
    /// Stable code: see [`ALERT_CODES`].
    pub code: &'static str,
    pub actor: Actor,
    pub pid: u32,
    pub process: Vec<String>,
    /// `connect`, `send`, `dns-query`, `exec`, `write`, `rename`, `link`, `read`, `artifact`.
    pub action: String,
    pub target: String,
    /// What became of the call: `allowed` (the sandbox let it go ahead), `denied` (the
    /// sandbox refused it: no route out, a refused socket, a read-only mount, a hidden file),
    /// `failed` (let through, and it failed: nothing listening, no such file).
    pub outcome: CallOutcome,
    pub evidence: Vec<String>,
    pub message: String,
}

impl Alert {
    pub fn time_to_detect_ms(&self) -> f64 {
        self.alerted_ns.saturating_sub(self.time_ns) as f64 / 1e6
    }

    /// The alert as one Elastic Common Schema document (JSON Lines for ELK or Splunk).
    pub fn to_ecs(&self) -> serde_json::Value {
        let ts = jiff::Timestamp::from_nanosecond(self.time_ns as i128)
            .map(|t| t.to_string())
            .unwrap_or_default();
        let category = match self.action.as_str() {
            "exec" => "process",
            "write" | "read" | "rename" | "link" | "artifact" => "file",
            _ => "network",
        };
        let (address, port) = match self.target.rsplit_once(':') {
            Some((a, p)) if p.chars().all(|c| c.is_ascii_digit()) => (
                a.trim_matches(['[', ']']).to_string(),
                p.parse::<u16>().ok(),
            ),
            _ => (self.target.clone(), None),
        };
        let mut doc = json!({
            "@timestamp": ts,
            "ecs": {"version": "8.11.0"},
            "message": self.message,
            "event": {
                "kind": "alert",
                "category": [category],
                "type": [match (category, self.action.as_str()) { ("process", _) => "start", ("file", "read") => "access", ("file", "artifact") => "creation", ("file", _) => "change", _ => "connection" }],
                "action": self.action,
                // ECS: the sandbox let it happen, or it did not happen.
                "outcome": match self.outcome { CallOutcome::Allowed => "success", CallOutcome::Denied | CallOutcome::Failed => "failure" },
                "severity": self.severity.number(),
                "code": self.code,
                "module": "cargo-reflex",
                "dataset": "cargo_reflex.monitor",
            },
            "rule": {"name": self.code},
            "process": {
                "pid": self.pid,
                "args": self.process,
                "command_line": self.process.join(" "),
            },
            "labels": {"crate": self.actor.crate_name(), "actor": self.actor.kind()},
            "cargo_reflex": {
                "crate": self.actor.crate_name(),
                "version": self.actor.version(),
                "actor": self.actor,
                "severity": self.severity,
                "target": self.target,
                "outcome": self.outcome.as_str(),
                "evidence": self.evidence,
                "time_to_detect_ms": self.time_to_detect_ms(),
            },
        });
        if category == "network" {
            doc["destination"] = json!({"address": address, "port": port});
        }
        if category == "file" {
            doc["file"] = json!({"path": self.target});
        }
        if self.action == "dns-query" {
            doc["dns"] = json!({"question": {"name": self.target}});
        }
        doc
    }
}

/// Turns raw events into alerts. Cargo and rustc themselves are the baseline: their own
/// execs of rustc, linkers and build scripts are not alerts.
pub struct Analyzer {
    pub canaries: Canaries,
    /// Crate versions by name, from the lockfile, for attribution.
    pub versions: std::collections::HashMap<String, String>,
    /// Whether the build ran in the sandbox (or only observed: nothing refused).
    pub sandboxed: bool,
}

/// Where a write lands in a target directory: with the target directory known, or (without
/// it) from the shape of cargo's build directories (`.../build/<crate>-<hash>/...`, `deps/`).
fn target_area(target_dir: Option<&std::path::Path>, path: &str) -> Option<Area> {
    let p = std::path::Path::new(path);
    if let Some(t) = target_dir {
        return target::area(t, p)
            .filter(Area::is_guarded)
            .or_else(|| holder_area(t, p));
    }
    let parts: Vec<&str> = path.split('/').collect();
    // A unit's directory itself (renaming it replaces all it holds).
    if let [.., build, unit] = parts.as_slice()
        && *build == "build"
        && let Some(k) = target::unit_name(unit)
    {
        return Some(Area::BuildOutput {
            krate: k.to_string(),
            dir: path.into(),
        });
    }
    for (i, w) in parts.windows(3).enumerate() {
        if w[0] == "build"
            && let Some(k) = target::unit_name(w[1])
        {
            return Some(Area::BuildOutput {
                krate: k.to_string(),
                dir: parts[..i + 2].join("/").into(),
            });
        }
    }
    (parts.len() > 1 && parts[parts.len() - 2] == "deps").then_some(Area::Deps)
}

/// A directory of target directory `t` that holds build outputs or artifacts: a unit's
/// `build/<crate>-<hash>` (its crate's build output), a profile directory or the target
/// directory itself (the artifacts). Renaming one away, or another directory into its place,
/// replaces all it holds.
fn holder_area(t: &std::path::Path, p: &std::path::Path) -> Option<Area> {
    if p == t {
        return Some(Area::Final);
    }
    if p.parent().and_then(std::path::Path::file_name) == Some(std::ffi::OsStr::new("build"))
        && let Some(Area::BuildOutput { krate, dir }) = target::area(t, &p.join("output"))
        && dir == p
    {
        return Some(Area::BuildOutput { krate, dir });
    }
    let depth = p.strip_prefix(t).map_or(0, |r| r.components().count());
    (depth > 0 && depth <= 2 && target::area(t, &p.join("deps/x.rlib")) == Some(Area::Deps))
        .then_some(Area::Final)
}

impl Analyzer {
    /// What kind of normal build activity an event is (`compiler`, `linker`, `rustc probe`,
    /// ...), for the one-line summary; `None` when it is not (it may raise alerts).
    pub fn normal_activity(
        &self,
        ev: &MonitorEvent,
        target_dir: Option<&std::path::Path>,
    ) -> Option<&'static str> {
        if !ev.syscall.starts_with("exec") || ev.missing || ev.fileless {
            return None;
        }
        let actor = attribution::attribute_exec(&ev.chain, ev.path.as_deref(), &self.versions);
        if matches!(actor, Actor::Cargo) {
            return None;
        }
        let program = ev.path.clone().or_else(|| ev.argv.first().cloned())?;
        match normal::judge_exec(
            &program,
            &ev.argv,
            &ev.chain,
            matches!(actor, Actor::Rustc { .. }),
            target_dir,
        ) {
            normal::ExecVerdict::Normal(kind)
                if self.canaries.find_in(&ev.argv.join(" ")).is_empty() =>
            {
                Some(kind)
            }
            _ => None,
        }
    }

    /// The alerts an event raises (see [`Analyzer::alerts_in`]), with the target directory
    /// recognised from the shape of cargo's build directories.
    pub fn alerts(&self, ev: &MonitorEvent, now_ns: u64) -> Vec<Alert> {
        self.alerts_in(ev, now_ns, None)
    }

    /// The alerts an event raises. `target_dir`: the build's target directory, where writes
    /// into another crate's build output or into the artifacts are `target-tamper`. Each
    /// event on its own: a query the sinkhole heard and the send that carried it are two
    /// alerts here (see [`Analyzer::alerts_once`]).
    pub fn alerts_in(
        &self,
        ev: &MonitorEvent,
        now_ns: u64,
        target_dir: Option<&std::path::Path>,
    ) -> Vec<Alert> {
        self.judge(ev, now_ns, target_dir, &mut Reported::default())
    }

    /// The alerts an event raises in the stream of a build's events: what `reported`
    /// remembers is not alerted again (a DNS query heard by the sinkhole after the send that
    /// carried it, or before it; a loader variable of a crate's compilation seen in rustc and
    /// again in its linker), and loader variables the build itself was started with are the
    /// user's.
    pub fn alerts_once(
        &self,
        ev: &MonitorEvent,
        now_ns: u64,
        target_dir: Option<&std::path::Path>,
        reported: &mut Reported,
    ) -> Vec<Alert> {
        self.judge(ev, now_ns, target_dir, reported)
    }

    fn judge(
        &self,
        ev: &MonitorEvent,
        now_ns: u64,
        target_dir: Option<&std::path::Path>,
        reported: &mut Reported,
    ) -> Vec<Alert> {
        let mut out = self.judge_event(ev, now_ns, target_dir, reported);
        // rustc (and its linker) never reads secrets, connects, sends or writes outside the
        // build's places: code in it that does was put there (`cargo:rustc-env=LD_PRELOAD`).
        if let Actor::Rustc { compiling } = attribution::attribute(&ev.chain, &self.versions)
            && !ev.syscall.starts_with("exec")
        {
            for a in &mut out {
                a.severity = a.severity.max(AlertSeverity::High);
                a.message.push_str(&injected(&compiling));
                a.evidence.push(format!(
                    "rustc and its linker never do this: code running inside them may have been injected by the build script of {compiling} (cargo:rustc-env=LD_PRELOAD or a library path into the target directory)"
                ));
            }
        }
        out
    }

    fn judge_event(
        &self,
        ev: &MonitorEvent,
        now_ns: u64,
        target_dir: Option<&std::path::Path>,
        reported: &mut Reported,
    ) -> Vec<Alert> {
        let exec = ev.syscall.starts_with("exec");
        let actor = if exec {
            attribution::attribute_exec(&ev.chain, ev.path.as_deref(), &self.versions)
        } else {
            attribution::attribute(&ev.chain, &self.versions)
        };
        let process = ev.chain.first().map(|c| c.argv.clone()).unwrap_or_default();
        let alert = |severity,
                     code,
                     action: &str,
                     target: String,
                     evidence: Vec<String>,
                     message: String| Alert {
            time_ns: ev.time_ns,
            alerted_ns: now_ns,
            severity,
            code,
            actor: actor.clone(),
            pid: ev.pid,
            process: process.clone(),
            action: action.to_string(),
            target,
            outcome: ev.outcome,
            evidence,
            message,
        };
        let who = actor.describe();
        let mut out = Vec::new();
        match ev.syscall.as_str() {
            "execve" | "execveat" => {
                if !ev.missing && !ev.env.is_empty() {
                    out.extend(self.loader_alerts(ev, &actor, now_ns, target_dir, reported));
                }
                if matches!(actor, Actor::Cargo) || ev.missing {
                    return out;
                }
                let by_rustc = matches!(actor, Actor::Rustc { .. });
                let program = ev
                    .path
                    .clone()
                    .or_else(|| ev.argv.first().cloned())
                    .unwrap_or_default();
                let base = program.rsplit('/').next().unwrap_or(&program).to_string();
                let leaks = self.canaries.find_in(&ev.argv.join(" "));
                // Normal build activity (compilers, linkers, probes, build systems) is counted,
                // not alerted; everything else is judged by what it is.
                let verdict = normal::judge_exec(
                    &program,
                    &ev.argv,
                    &ev.chain,
                    matches!(actor, Actor::Rustc { .. }),
                    target_dir,
                );
                // rustc starting its linker (or a tool) is the baseline; a download tool, a shell
                // running a command line, a program from a temporary directory is not.
                let alarming = !leaks.is_empty()
                    || ev.fileless
                    || (!attribution::is_toolchain_name(&normal::tool(&program))
                        && matches!(&verdict, normal::ExecVerdict::Alert { severity, .. } if *severity >= AlertSeverity::High));
                if by_rustc && !alarming {
                    return out;
                }
                let who = match &actor {
                    Actor::Rustc { compiling } => format!("{who}{}", injected(compiling)),
                    _ => who.clone(),
                };
                let (judged, why) = match &verdict {
                    normal::ExecVerdict::Normal(_) if leaks.is_empty() && !ev.fileless => {
                        return out;
                    }
                    normal::ExecVerdict::Normal(kind) => (AlertSeverity::Low, kind.to_string()),
                    normal::ExecVerdict::Alert { severity, reason } => (*severity, reason.clone()),
                };
                let severity = if !leaks.is_empty() {
                    AlertSeverity::Critical
                } else if ev.fileless {
                    AlertSeverity::High.max(judged)
                } else {
                    judged
                };
                let mut evidence = vec![format!("argv: {}", ev.argv.join(" ")), why];
                if ev.fileless {
                    evidence.push(format!(
                        "fileless: {program} has no file on disk (a memfd or a deleted file)"
                    ));
                }
                for l in &leaks {
                    evidence.push(format!(
                        "canary {} in the arguments ({})",
                        l.name, l.encoding
                    ));
                }
                let (code, message) = match leaks.first() {
                    None if ev.fileless => (
                        "fileless-exec",
                        format!("{who} ran a program with no file on disk ({base})"),
                    ),
                    None => ("process-exec", format!("{who} ran {base}")),
                    Some(l) => (
                        "secret-exfiltration",
                        format!(
                            "{who} tried to exfiltrate secret {} via {base}'s arguments ({})",
                            l.name, l.encoding
                        ),
                    ),
                };
                if ev.fileless && !leaks.is_empty() {
                    out.push(alert(
                        AlertSeverity::High,
                        "fileless-exec",
                        "exec",
                        program.clone(),
                        evidence.clone(),
                        format!("{who} ran a program with no file on disk ({base})"),
                    ));
                }
                out.push(alert(
                    severity,
                    code,
                    "exec",
                    program.clone(),
                    evidence,
                    message,
                ));
            }
            "open-write" | "truncate" | "rename" | "link" | "symlink" => {
                let path = ev.path.clone().unwrap_or_default();
                // Where it lands: the second path of a rename, link or symlink.
                let dest = ev.path2.clone().unwrap_or_else(|| path.clone());
                let action = match ev.syscall.as_str() {
                    "rename" => "rename",
                    "link" | "symlink" => "link",
                    _ => "write",
                };
                // A write whose second path is another name of the same file (a hard link).
                let aliased =
                    matches!(ev.syscall.as_str(), "open-write" | "truncate") && ev.path2.is_some();
                let how = match ev.syscall.as_str() {
                    "open-write" if aliased => {
                        format!("opened {path} for writing: the same file as {dest} (a hard link)")
                    }
                    "truncate" if aliased => {
                        format!("truncated {path}: the same file as {dest} (a hard link)")
                    }
                    "open-write" => format!("opened {dest} for writing"),
                    "truncate" => format!("truncated {dest}"),
                    "rename" => format!("renamed {path} to {dest}"),
                    "link" => format!("hard-linked {path} as {dest}"),
                    _ => format!("made {dest} a symlink to {path}"),
                };
                // Where it lands in a target directory, unless the writer makes that file
                // itself; moving a file out of another crate's build output tampers too.
                let tampered = |p: &str| {
                    target_area(target_dir, p)
                        .filter(|a| !target::makes(&ev.chain, a, std::path::Path::new(p)))
                };
                // A rename moving a file out of another crate's build output, and a hard link
                // giving one a second name (writing that name writes it), tamper at the source.
                let from_source = matches!(ev.syscall.as_str(), "rename" | "link");
                let (area, at) = match tampered(&dest) {
                    Some(a) => (Some(a), dest.clone()),
                    None => match from_source.then(|| tampered(&path)).flatten() {
                        Some(a) => (Some(a), path.clone()),
                        None => (None, dest.clone()),
                    },
                };
                // Anything else in the target directory is the build's own business.
                let in_target = |p: &str| match target_dir {
                    Some(t) => std::path::Path::new(p).starts_with(t),
                    None => target_area(None, p).is_some(),
                };
                if let Some(area) = area {
                    let into = match &area {
                        Area::BuildOutput { krate, .. } => format!(
                            "the build output of {krate} (the next build or run executes what is there)"
                        ),
                        _ => {
                            "the build's artifacts (programs and libraries that run or link later)"
                                .to_string()
                        }
                    };
                    let message = if at == dest {
                        format!("{who} wrote into {into}: {dest}")
                    } else if ev.syscall == "link" {
                        format!(
                            "{who} made a second name for a file of {into}: {at} (as {dest}; writing one writes the other)"
                        )
                    } else {
                        format!("{who} moved a file out of {into}: {at}")
                    };
                    out.push(alert(
                        AlertSeverity::Critical,
                        "target-tamper",
                        action,
                        at.clone(),
                        vec![how, format!("into {into}")],
                        message,
                    ));
                    return out;
                }
                let links_a_secret = matches!(ev.syscall.as_str(), "link" | "symlink")
                    && reflex_sandbox_contract::is_sensitive(std::path::Path::new(&path), &[]);
                if in_target(&dest)
                    && (ev.syscall != "rename" || in_target(&path))
                    && !links_a_secret
                {
                    return out;
                }
                let secret_source = matches!(ev.syscall.as_str(), "rename" | "link" | "symlink")
                    && reflex_sandbox_contract::is_sensitive(std::path::Path::new(&path), &[]);
                if secret_source {
                    out.push(alert(
                        AlertSeverity::High,
                        "sensitive-read",
                        action,
                        path.clone(),
                        vec![
                            how,
                            "a credential file made reachable under another name".into(),
                        ],
                        format!("{who} made {path} reachable as {dest}"),
                    ));
                    return out;
                }
                // cargo keeps its locks and caches in its home.
                if matches!(actor, Actor::Cargo) {
                    return out;
                }
                out.push(alert(
                    AlertSeverity::High,
                    "file-write",
                    action,
                    dest.clone(),
                    vec![format!("{how}, outside the target directory")],
                    format!("{who} tried to write {dest}"),
                ));
            }
            "open-read" => {
                // Not even cargo's or rustc's: an offline build never needs a credential.
                let path = ev.path.clone().unwrap_or_default();
                let what = if path.starts_with("/proc/") {
                    "a process's environment or memory"
                } else {
                    "a credential file"
                };
                let mut evidence = vec![format!("opened {path} for reading: {what}")];
                if self.sandboxed {
                    evidence.push(
                        "inside the sandbox the home directories hold only decoys".to_string(),
                    );
                }
                if ev.outcome == CallOutcome::Denied {
                    evidence.push("the sandbox hid the file (it reads as empty)".to_string());
                }
                out.push(alert(
                    AlertSeverity::High,
                    "sensitive-read",
                    "read",
                    path.clone(),
                    evidence,
                    format!("{who} read {path} ({what})"),
                ));
            }
            "connect" | "sendto" | "sendmsg" | "sendmmsg" | "dns-query" => {
                // `dns-query`: a packet the DNS sinkhole heard (with the sender the supervisor
                // registered when it connected or sent to the resolver, if any).
                let heard = ev.syscall == "dns-query";
                let target = ev.dest.clone().unwrap_or_else(|| "unknown".into());
                let bytes: Vec<Vec<u8>> = ev.payloads.iter().map(|h| dns::unhex(h)).collect();
                // A packet to the resolver is seen twice (the send, the sinkhole hearing it; a
                // `write` on a connected socket only the second time): reported once.
                let to_resolver = heard || dns::is_resolver(&target);
                let fresh: Vec<bool> = bytes
                    .iter()
                    .map(|b| !to_resolver || reported.first_packet(b))
                    .collect();
                let names: Vec<(usize, String)> = bytes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| dns::query_name(b).map(|n| (i, n)))
                    .collect();
                let is_dns = !names.is_empty();
                for (i, name) in &names {
                    if !fresh[*i] {
                        continue;
                    }
                    let decoded = dns::decode_labels(name);
                    let mut leaks = self.canaries.find_in(name);
                    for d in &decoded {
                        // Found in what the labels decode to: the labels carried it encoded.
                        leaks.extend(self.canaries.find_in(d).into_iter().map(|mut l| {
                            if l.encoding == "raw" {
                                l.encoding = "encoded in the labels";
                            }
                            l
                        }));
                    }
                    let suspicious = dns::looks_like_exfiltration(name);
                    let (severity, code) = if !leaks.is_empty() {
                        (AlertSeverity::Critical, "secret-exfiltration")
                    } else if suspicious.is_some() {
                        (AlertSeverity::High, "dns-exfiltration")
                    } else {
                        (AlertSeverity::Medium, "dns-query")
                    };
                    let mut evidence = vec![if heard {
                        format!("query {name} heard by the DNS sinkhole (sent from {target})")
                    } else {
                        format!("query {name} via {target}")
                    }];
                    if let Some(why) = suspicious {
                        evidence.push(why);
                    }
                    for d in &decoded {
                        evidence.push(format!("decoded: {d}"));
                    }
                    let message = match leaks.first() {
                        Some(l) => format!(
                            "{who} tried to exfiltrate secret {} via DNS ({})",
                            l.name, l.encoding
                        ),
                        None => format!("{who} resolved {name}"),
                    };
                    for l in &leaks {
                        evidence.push(format!("canary {} found ({})", l.name, l.encoding));
                    }
                    out.push(alert(
                        severity,
                        code,
                        "dns-query",
                        name.clone(),
                        evidence,
                        message,
                    ));
                }
                if is_dns {
                    return out;
                }
                // Already reported (heard before the send was, or sent before it was heard).
                if to_resolver && !bytes.is_empty() && !fresh.iter().any(|f| *f) {
                    return out;
                }
                let mut leaks = Vec::new();
                for b in &bytes {
                    leaks.extend(self.canaries.find_in(&String::from_utf8_lossy(b)));
                }
                // The resolver's connection to the sinkhole: the query it sends is the alert.
                if ev.syscall == "connect" && dns::is_resolver(&target) {
                    return out;
                }
                let action = if ev.syscall == "connect" {
                    "connect"
                } else {
                    "send"
                };
                let mut evidence = vec![if heard {
                    format!(
                        "a datagram that is no DNS query, heard by the DNS sinkhole (sent from {target})"
                    )
                } else {
                    format!("{} to {target}", ev.syscall)
                }];
                for l in &leaks {
                    evidence.push(format!("canary {} in the payload ({})", l.name, l.encoding));
                }
                let (severity, code, message) = match leaks.first() {
                    Some(l) => (
                        AlertSeverity::Critical,
                        "secret-exfiltration",
                        format!("{who} tried to exfiltrate secret {} via {target}", l.name),
                    ),
                    None if target.starts_with("unix:/var/run/nscd/")
                        || target.starts_with("unix:/run/nscd/") =>
                    {
                        (
                            AlertSeverity::Low,
                            "network-connect",
                            format!(
                                "{who} asked the name service cache daemon (libc does so for every lookup)"
                            ),
                        )
                    }
                    None if heard => (
                        AlertSeverity::High,
                        "network-connect",
                        format!("{who} sent the DNS sinkhole a datagram that is no DNS query"),
                    ),
                    None => (
                        AlertSeverity::High,
                        "network-connect",
                        format!("{who} opened a connection to {target}"),
                    ),
                };
                out.push(alert(severity, code, action, target, evidence, message));
            }
            _ => {}
        }
        out
    }
}

impl Analyzer {
    /// An exec that hands rustc (started by cargo) or the linker (started by rustc) a
    /// dangerous loader variable: the compiler would run a library's code as its own, so what
    /// that code does reads as the compiler's. Cargo sets none of these for rustc; a build
    /// script can (`cargo:rustc-env=LD_PRELOAD=<a library it or cargo built>`): critical,
    /// attributed to the build script of the crate being compiled. Variables the build was
    /// started with are the user's (the command's own exec records them).
    fn loader_alerts(
        &self,
        ev: &MonitorEvent,
        actor: &Actor,
        now_ns: u64,
        target_dir: Option<&std::path::Path>,
        reported: &mut Reported,
    ) -> Vec<Alert> {
        let command = ev.chain.len() == 1 && ev.chain[0].pid != 0;
        if command {
            reported.inherited.extend(ev.env.iter().cloned());
            return Vec::new();
        }
        let program = ev.path.clone().unwrap_or_default();
        let started = ChainLink {
            pid: ev.pid,
            exe: Some(program.clone()),
            argv: ev.argv.clone(),
        };
        let compiling = match actor {
            Actor::Cargo if target::runs_rustc(&started) => {
                attribution::compiled_crate(&ev.argv, &self.versions)
            }
            Actor::Rustc { compiling } => compiling.clone(),
            _ => return Vec::new(),
        };
        // For `rustdoc --test`, cargo puts the directories build scripts named with
        // `cargo:rustc-link-search` (`-L native=<dir>` on its command line) on the library
        // path itself, so that doctests find their native libraries.
        let rustdoc = program.rsplit('/').next() == Some("rustdoc")
            || ev
                .argv
                .first()
                .is_some_and(|a| a.rsplit('/').next() == Some("rustdoc"));
        let searched: Vec<&str> = ev
            .argv
            .windows(2)
            .filter(|w| w[0] == "-L")
            .map(|w| w[1].split_once('=').map_or(w[1].as_str(), |(_, d)| d))
            .collect();
        let cargo_made = |var: &str| {
            let Some(list) = var.strip_prefix("LD_LIBRARY_PATH=") else {
                return false;
            };
            rustdoc
                && list.split([':', ';']).all(|e| {
                    searched.contains(&e)
                        || e.ends_with("/deps")
                        || match target_dir {
                            Some(t) => !std::path::Path::new(e).starts_with(t),
                            None => !e.contains("/build/"),
                        }
                })
        };
        let vars: Vec<&String> = ev
            .env
            .iter()
            .filter(|v| !reported.inherited.contains(*v) && !cargo_made(v))
            .filter(|v| reported.loader.insert((compiling.clone(), (*v).clone())))
            .collect();
        if vars.is_empty() {
            return Vec::new();
        }
        let base = program.rsplit('/').next().unwrap_or(&program).to_string();
        let blamed = Actor::BuildScript {
            version: attribution::version_of(&self.versions, &compiling),
            krate: compiling.clone(),
            script: String::new(),
        };
        let names: Vec<&str> = vars
            .iter()
            .map(|v| v.split_once('=').map_or(v.as_str(), |(k, _)| k))
            .collect();
        let mut evidence: Vec<String> = vars.iter().map(|v| format!("environment: {v}")).collect();
        evidence.push(format!("argv: {}", ev.argv.join(" ")));
        evidence.push(format!(
            "cargo sets none of these for rustc: the build script of {compiling} can (cargo:rustc-env), as can the project's [env] configuration; {base} runs the library's code as its own, and what it does reads as the compiler's"
        ));
        vec![Alert {
            time_ns: ev.time_ns,
            alerted_ns: now_ns,
            severity: AlertSeverity::Critical,
            code: "loader-injection",
            actor: blamed.clone(),
            pid: ev.pid,
            process: ev.argv.clone(),
            action: "exec".into(),
            target: program.clone(),
            outcome: ev.outcome,
            evidence,
            message: format!(
                "{} made {base} (compiling {compiling}) load code with {}",
                blamed.describe(),
                names.join(", ")
            ),
        }]
    }
}

/// What a build's alerts already said, so that one act is one alert (see
/// [`Analyzer::alerts_once`]).
#[derive(Debug, Default)]
pub struct Reported {
    /// Packets to the resolver already judged (their first 512 bytes), oldest first.
    packets: std::collections::HashSet<Vec<u8>>,
    order: std::collections::VecDeque<Vec<u8>>,
    /// `(crate compiled, NAME=value)` loader variables already alerted.
    loader: std::collections::HashSet<(String, String)>,
    /// Loader variables the build was started with (the user's environment).
    inherited: std::collections::HashSet<String>,
}

/// Packets remembered (a build makes few queries).
const PACKETS: usize = 4096;

impl Reported {
    /// Whether this packet to the resolver is new (and remembers it).
    fn first_packet(&mut self, b: &[u8]) -> bool {
        let key = b[..b.len().min(512)].to_vec();
        if self.packets.contains(&key) {
            return false;
        }
        if self.order.len() >= PACKETS
            && let Some(old) = self.order.pop_front()
        {
            self.packets.remove(&old);
        }
        self.order.push_back(key.clone());
        self.packets.insert(key);
        true
    }
}

/// What an alert about rustc (or its linker) adds: the compiler never does this itself.
fn injected(compiling: &str) -> String {
    format!(
        " (rustc never does this: the code may have been injected by the build script of {compiling})"
    )
}

/// How an alert's outcome reads for people: `allowed`, `denied by the sandbox`, `failed`.
pub fn outcome_text(o: CallOutcome) -> &'static str {
    match o {
        CallOutcome::Allowed => "allowed",
        CallOutcome::Denied => "denied by the sandbox",
        CallOutcome::Failed => "failed",
    }
}

/// What a monitored build did, for the summary at the end.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    pub events: usize,
    pub alerts: usize,
    pub by_severity: std::collections::BTreeMap<String, usize>,
    /// Alerts per outcome of the call (`allowed`, `denied`, `failed`).
    pub by_outcome: std::collections::BTreeMap<String, usize>,
    /// Alerts per crate (`crate version`).
    pub by_crate: std::collections::BTreeMap<String, usize>,
    pub median_time_to_detect_ms: Option<f64>,
    pub max_time_to_detect_ms: Option<f64>,
    /// Webhook posts that failed.
    pub webhook_failures: usize,
    /// Normal build activity seen and not alerted, by kind (`compiler`, `linker`, ...).
    pub normal: std::collections::BTreeMap<String, usize>,
}

impl Summary {
    pub fn add(&mut self, alerts: &[Alert]) {
        self.alerts += alerts.len();
        for a in alerts {
            *self
                .by_severity
                .entry(format!("{:?}", a.severity).to_lowercase())
                .or_default() += 1;
            *self.by_crate.entry(a.actor.describe()).or_default() += 1;
            *self
                .by_outcome
                .entry(a.outcome.as_str().to_string())
                .or_default() += 1;
        }
    }

    pub fn latencies(&mut self, mut ms: Vec<f64>) {
        ms.sort_by(|a, b| a.total_cmp(b));
        self.median_time_to_detect_ms = ms.get(ms.len() / 2).copied();
        self.max_time_to_detect_ms = ms.last().copied();
    }
}

/// Alerts that follow from an alert: behaviour outside the crate's baseline, and destinations
/// never contacted by any build before (remembered in the state store).
pub fn follow_up(
    a: &Alert,
    baseline: Option<&baseline::Baseline>,
    store: Option<&crate::state::StateStore>,
) -> Vec<Alert> {
    let mut out = Vec::new();
    if a.actor.is_baseline() {
        return out;
    }
    let derived =
        |code: &'static str, severity: AlertSeverity, message: String, evidence: String| Alert {
            code,
            severity,
            message,
            evidence: vec![evidence],
            ..a.clone()
        };
    if let Some(why) = baseline.and_then(|b| b.deviation(a)) {
        let severity = if why.contains("changed behaviour") {
            AlertSeverity::Critical
        } else {
            AlertSeverity::High
        };
        out.push(derived(
            "baseline-deviation",
            severity,
            format!("{}: {why}", a.actor.describe()),
            why,
        ));
    }
    let kind = match a.action.as_str() {
        "dns-query" => "domain",
        "connect" | "send" => "address",
        _ => return out,
    };
    let now = jiff::Timestamp::from_nanosecond(a.time_ns as i128)
        .map(|t| t.to_string())
        .unwrap_or_default();
    if let Some(s) = store
        && s.first_sighting(kind, &a.target, a.actor.crate_name(), &now)
            .unwrap_or(false)
    {
        out.push(derived(
            "first-seen-destination",
            AlertSeverity::Medium,
            format!(
                "{} contacted {} for the first time in any monitored build",
                a.actor.describe(),
                a.target
            ),
            format!("first {kind} sighting recorded in {}", s.path.display()),
        ));
    }
    out
}

/// Codes a monitored build's alerts carry, with one line each (SARIF rules, README).
pub const ALERT_CODES: &[(&str, &str)] = &[
    (
        "secret-exfiltration",
        "a canary secret appeared in a payload, a DNS name or a process argument, or was compiled into a build output or artifact (raw or encoded)",
    ),
    (
        "dns-exfiltration",
        "a DNS name that looks like smuggled data (long, high-entropy or decodable labels)",
    ),
    ("dns-query", "build-time code resolved a name"),
    (
        "network-connect",
        "build-time code opened a connection or sent a datagram",
    ),
    ("process-exec", "build-time code started a program"),
    (
        "fileless-exec",
        "build-time code ran a program with no file on disk (memfd_create and execveat, a deleted file)",
    ),
    (
        "file-write",
        "build-time code wrote, renamed, linked or truncated a file outside the target directory and temporary directories",
    ),
    (
        "target-tamper",
        "build-time code wrote into another crate's build output or into the build's artifacts (what the next build or run executes)",
    ),
    (
        "sensitive-read",
        "build-time code opened a credential file, a private key or a process's environment or memory",
    ),
    (
        "loader-injection",
        "rustc or its linker started with a dangerous loader variable (LD_PRELOAD, LD_AUDIT, GCONV_PATH, a library path into the target directory): a build script made the compiler run its code",
    ),
    (
        "baseline-deviation",
        "behaviour outside the crate's learned baseline (critical when it changed with a version bump)",
    ),
    (
        "first-seen-destination",
        "a destination no monitored build contacted before",
    ),
];

/// The alerts as SARIF 2.1.0: one result per alert, located at the crate's Cargo.lock entry.
pub fn sarif(
    alerts: &[Alert],
    lockfile: Option<&crate::graph::Graph>,
    root: &std::path::Path,
) -> String {
    let rules: Vec<serde_json::Value> = ALERT_CODES
        .iter()
        .map(|(code, summary)| {
            json!({
                "id": code,
                "name": code,
                "shortDescription": {"text": summary},
                "helpUri": "https://github.com/cargo-reflex/cargo-reflex#cargo-reflex-build---monitor",
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = alerts
        .iter()
        .map(|a| {
            let level = match a.severity {
                AlertSeverity::Critical | AlertSeverity::High => "error",
                AlertSeverity::Medium => "warning",
                AlertSeverity::Low => "note",
            };
            let mut r = json!({
                "ruleId": a.code,
                "level": level,
                "message": {"text": format!("{} [{}] ({})", a.message, outcome_text(a.outcome), a.evidence.join("; "))},
                "properties": {
                    "crate": a.actor.crate_name(),
                    "version": a.actor.version(),
                    "actor": a.actor.kind(),
                    "target": a.target,
                    "outcome": a.outcome.as_str(),
                    "timeToDetectMs": a.time_to_detect_ms(),
                },
            });
            let line = lockfile.and_then(|g| {
                let i = g.find(a.actor.crate_name()?, a.actor.version()?)?;
                let path = g.path.strip_prefix(root).unwrap_or(&g.path);
                Some((path.display().to_string(), g.line_of(i)?))
            });
            if let Some((path, line)) = line {
                r["locations"] = json!([{"physicalLocation": {
                    "artifactLocation": {"uri": path},
                    "region": {"startLine": line},
                }}]);
            }
            r
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cargo-reflex",
                "informationUri": "https://github.com/cargo-reflex/cargo-reflex",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// Posts one alert (its ECS document) to a webhook; failures are returned, not fatal.
pub fn post_webhook(agent: &ureq::Agent, url: &str, alert: &Alert) -> Result<(), String> {
    agent
        .post(url)
        .header("content-type", "application/json")
        .send(alert.to_ecs().to_string())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// An agent for webhooks: short timeouts, platform certificates.
pub fn webhook_agent() -> ureq::Agent {
    crate::sources::http_agent(std::time::Duration::from_secs(5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(pid: u32, exe: &str, argv: &[&str]) -> ChainLink {
        ChainLink {
            pid,
            exe: Some(exe.into()),
            argv: argv.iter().map(|s| s.to_string()).collect(),
        }
    }

    const SCRIPT: &str = "/w/target/debug/build/evasion-build-0123456789abcdef/build-script-build";

    fn analyzer() -> Analyzer {
        Analyzer {
            canaries: Canaries(vec![canary::Canary::new(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            )]),
            versions: [("evasion-build", "0.1.0")]
                .into_iter()
                .map(|(a, b)| (a.into(), b.into()))
                .collect(),
            sandboxed: true,
        }
    }

    fn script_chain() -> Vec<ChainLink> {
        vec![
            link(10, SCRIPT, &[SCRIPT]),
            link(2, "/t/bin/cargo", &["cargo", "build"]),
        ]
    }

    #[test]
    fn writes_into_other_crates_outputs_and_artifacts_are_critical() {
        let a = analyzer();
        let t = std::path::Path::new("/w/target");
        let write = |syscall: &str, path: &str, path2: Option<&str>| MonitorEvent {
            syscall: syscall.into(),
            path: Some(path.into()),
            path2: path2.map(str::to_string),
            chain: script_chain(),
            ..MonitorEvent::default()
        };
        for (ev, action) in [
            (
                write(
                    "open-write",
                    "/w/target/debug/build/victim-1111111111111111/build-script-build",
                    None,
                ),
                "write",
            ),
            (
                write(
                    "rename",
                    "/w/target/debug/build/evasion-build-2222222222222222/out/x",
                    Some("/w/target/debug/deps/libvictim-3333333333333333.rlib"),
                ),
                "rename",
            ),
            (
                write("link", "/w/x", Some("/w/target/debug/evasion-app")),
                "link",
            ),
            (
                write("truncate", "/w/target/debug/deps/libvictim-3.rlib", None),
                "write",
            ),
        ] {
            let got = a.alerts_in(&ev, 1, Some(t));
            assert_eq!(got.len(), 1, "{ev:?}");
            assert_eq!(got[0].code, "target-tamper");
            assert_eq!(got[0].severity, AlertSeverity::Critical);
            assert_eq!(got[0].action, action);
            assert_eq!(
                got[0].actor.describe(),
                "build script of evasion-build 0.1.0"
            );
        }
        // Its own OUT_DIR is the build script's to fill, and the shape alone is enough.
        let own = write(
            "open-write",
            "/w/target/debug/build/evasion-build-2222222222222222/out/gen.rs",
            None,
        );
        assert!(a.alerts_in(&own, 1, Some(t)).is_empty());
        let other = write(
            "open-write",
            "/w/target/debug/build/victim-1111111111111111/out/x",
            None,
        );
        assert_eq!(a.alerts(&other, 1)[0].code, "target-tamper");
    }

    #[test]
    fn fileless_and_relative_execs_and_true_outcomes() {
        let a = analyzer();
        let exec = |path: &str, fileless: bool, argv: &[&str]| MonitorEvent {
            syscall: "execveat".into(),
            path: Some(path.into()),
            fileless,
            argv: argv.iter().map(|s| s.to_string()).collect(),
            chain: script_chain(),
            ..MonitorEvent::default()
        };
        let got = a.alerts(&exec("/memfd:x (deleted)", true, &["sh", "-c", "true"]), 1);
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].code, got[0].severity),
            ("fileless-exec", AlertSeverity::High)
        );
        let got = a.alerts(
            &exec(
                "/memfd:x (deleted)",
                true,
                &["sh", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
            ),
            1,
        );
        let codes: Vec<&str> = got.iter().map(|x| x.code).collect();
        assert_eq!(codes, ["fileless-exec", "secret-exfiltration"]);
        let rel = a.alerts(
            &exec(
                "/w/target/debug/build/evasion-build-2222222222222222/out/rel/prog",
                false,
                &["./prog", "774a616c725855746e46454d492f4b37"],
            ),
            1,
        );
        assert_eq!(rel[0].code, "secret-exfiltration");
        assert!(rel[0].target.ends_with("/out/rel/prog"));
        // The outcome travels to the alert, ECS and SARIF; "blocked" is gone.
        let denied = MonitorEvent {
            syscall: "connect".into(),
            dest: Some("unix:/run/daemon.sock".into()),
            outcome: CallOutcome::Denied,
            chain: script_chain(),
            ..MonitorEvent::default()
        };
        let got = a.alerts(&denied, 1);
        assert_eq!(got[0].outcome, CallOutcome::Denied);
        let ecs = got[0].to_ecs();
        assert_eq!(ecs["event"]["outcome"], "failure");
        assert_eq!(ecs["cargo_reflex"]["outcome"], "denied");
        let s = sarif(&got, None, std::path::Path::new("/w"));
        assert!(s.contains("\"outcome\": \"denied\"") && s.contains("[denied by the sandbox]"));
        assert!(!s.contains("blocked"));
        let mut summary = Summary::default();
        summary.add(&got);
        assert_eq!(summary.by_outcome.get("denied"), Some(&1));
    }

    /// A DNS query packet for `name` with transaction id `id`, as hex.
    fn query(id: u16, name: &str) -> String {
        let mut p = id.to_be_bytes().to_vec();
        p.extend([1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.split('.') {
            p.push(label.len() as u8);
            p.extend(label.bytes());
        }
        p.extend([0, 0, 1, 0, 1]);
        p.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn exfil_name() -> String {
        let hexed: String = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
            .bytes()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!(
            "{}.{}.{}.x.invalid",
            &hexed[..30],
            &hexed[30..60],
            &hexed[60..]
        )
    }

    #[test]
    fn queries_the_sinkhole_hears_are_alerted_once_and_attributed() {
        let a = analyzer();
        let name = exfil_name();
        let heard = MonitorEvent {
            syscall: "dns-query".into(),
            dest: Some("127.0.0.1:40000".into()),
            payloads: vec![query(7, &name)],
            chain: script_chain(),
            ..MonitorEvent::default()
        };
        let sent = MonitorEvent {
            syscall: "sendto".into(),
            dest: Some("127.0.0.1:53".into()),
            ..heard.clone()
        };
        // A query written on a connected socket: only the sinkhole hears it.
        let mut reported = Reported::default();
        let got = a.alerts_once(&heard, 1, None, &mut reported);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].code, "secret-exfiltration");
        assert_eq!(got[0].target, name);
        assert_eq!(
            got[0].actor.describe(),
            "build script of evasion-build 0.1.0"
        );
        assert!(got[0].evidence[0].contains("heard by the DNS sinkhole"));
        // The send of the same packet, after or before: one alert in all.
        assert!(a.alerts_once(&sent, 2, None, &mut reported).is_empty());
        let mut reported = Reported::default();
        assert_eq!(a.alerts_once(&sent, 1, None, &mut reported).len(), 1);
        assert!(a.alerts_once(&heard, 2, None, &mut reported).is_empty());
        // Another query (another id) is another alert; nobody's is "an unattributed process".
        let orphan = MonitorEvent {
            payloads: vec![query(8, &name)],
            chain: Vec::new(),
            ..heard.clone()
        };
        let got = a.alerts_once(&orphan, 3, None, &mut reported);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].actor, Actor::Unknown);
        assert_eq!(got[0].actor.describe(), "an unattributed process");
        // Stateless judging still sees each event.
        assert_eq!(a.alerts(&heard, 1).len(), 1);
    }

    const RUSTC_PRELOAD: &[&str] = &[
        "rustc",
        "--crate-name",
        "evasion_build",
        "--edition=2021",
        "-C",
        "extra-filename=-0123456789abcdef",
        "--out-dir",
        "/w/target/debug/deps",
    ];

    fn rustc_chain() -> Vec<ChainLink> {
        vec![
            link(20, "/t/bin/rustc", RUSTC_PRELOAD),
            link(2, "/t/bin/cargo", &["cargo", "build"]),
        ]
    }

    #[test]
    fn rustc_reading_secrets_connecting_or_writing_is_alerted() {
        let a = analyzer();
        let on = |syscall: &str, path: Option<&str>, dest: Option<&str>, chain: Vec<ChainLink>| {
            MonitorEvent {
                syscall: syscall.into(),
                path: path.map(str::to_string),
                dest: dest.map(str::to_string),
                chain,
                ..MonitorEvent::default()
            }
        };
        for (ev, code) in [
            (
                on(
                    "open-read",
                    Some("/home/u/.aws/credentials"),
                    None,
                    rustc_chain(),
                ),
                "sensitive-read",
            ),
            (
                on("connect", None, Some("127.0.0.1:8080"), rustc_chain()),
                "network-connect",
            ),
            (
                on("open-write", Some("/home/u/.bashrc"), None, rustc_chain()),
                "file-write",
            ),
        ] {
            let got = a.alerts(&ev, 1);
            assert_eq!(got.len(), 1, "{ev:?}");
            assert_eq!(got[0].code, code);
            assert!(got[0].severity >= AlertSeverity::High);
            assert_eq!(got[0].actor.describe(), "rustc compiling evasion-build");
            assert!(
                got[0]
                    .message
                    .contains("injected by the build script of evasion-build"),
                "{}",
                got[0].message
            );
        }
        // Its own outputs and its resolver's connection stay quiet; cargo's locks too.
        let cargo = vec![link(2, "/t/bin/cargo", &["cargo", "build"])];
        assert!(
            a.alerts(&on("connect", None, Some("127.0.0.1:53"), rustc_chain()), 1)
                .is_empty()
        );
        assert!(
            a.alerts_in(
                &on(
                    "open-write",
                    Some("/w/target/debug/deps/libevasion_build-0123456789abcdef.rlib"),
                    None,
                    rustc_chain()
                ),
                1,
                Some(std::path::Path::new("/w/target"))
            )
            .is_empty()
        );
        assert!(
            a.alerts(
                &on(
                    "open-write",
                    Some("/home/u/.cargo/.package-cache"),
                    None,
                    cargo.clone()
                ),
                1
            )
            .is_empty(),
            "cargo's own locks"
        );
        assert_eq!(
            a.alerts(
                &on(
                    "open-read",
                    Some("/home/u/.cargo/credentials.toml"),
                    None,
                    cargo
                ),
                1
            )[0]
            .code,
            "sensitive-read",
            "an offline build never needs a credential, not even cargo"
        );
        // rustc running its linker is the baseline; rustc running curl is not.
        let exec = |path: &str, argv: &[&str]| MonitorEvent {
            syscall: "execve".into(),
            path: Some(path.into()),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            chain: rustc_chain(),
            ..MonitorEvent::default()
        };
        assert!(
            a.alerts(
                &exec("/usr/bin/x86_64-linux-gnu-gcc-12", &["cc", "-o", "x"]),
                1
            )
            .is_empty()
        );
        let curl = a.alerts(&exec("/usr/bin/curl", &["curl", "http://x"]), 1);
        assert_eq!(curl.len(), 1);
        assert!(curl[0].message.contains("rustc compiling evasion-build"));
    }

    #[test]
    fn loader_variables_for_rustc_blame_the_build_script() {
        let a = analyzer();
        let cargo = link(2, "/t/bin/cargo", &["cargo", "build"]);
        let start_rustc = |env: &[&str]| MonitorEvent {
            syscall: "execve".into(),
            pid: 20,
            path: Some("/t/bin/rustc".into()),
            argv: RUSTC_PRELOAD.iter().map(|s| s.to_string()).collect(),
            chain: vec![link(20, "/t/bin/cargo", &[]), cargo.clone()],
            env: env.iter().map(|s| s.to_string()).collect(),
            ..MonitorEvent::default()
        };
        let preload = "LD_PRELOAD=/w/target/debug/deps/librt_ctor-1111111111111111.so";
        let mut reported = Reported::default();
        let got = a.alerts_once(&start_rustc(&[preload]), 1, None, &mut reported);
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(got[0].code, "loader-injection");
        assert_eq!(got[0].severity, AlertSeverity::Critical);
        assert_eq!(
            got[0].actor.describe(),
            "build script of evasion-build 0.1.0"
        );
        assert!(got[0].evidence.iter().any(|e| e.contains(preload)));
        // The linker rustc starts inherits it: the same variable for the same crate, once.
        let linker = MonitorEvent {
            syscall: "execve".into(),
            path: Some("/usr/bin/x86_64-linux-gnu-gcc-12".into()),
            argv: vec!["cc".into()],
            chain: rustc_chain(),
            env: vec![preload.into()],
            ..MonitorEvent::default()
        };
        assert!(a.alerts_once(&linker, 2, None, &mut reported).is_empty());
        let mut fresh = Reported::default();
        let got = a.alerts_once(&linker, 2, None, &mut fresh);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].actor.describe(),
            "build script of evasion-build 0.1.0"
        );
        // What the build itself was started with is the user's.
        let mut user = Reported::default();
        let command = MonitorEvent {
            syscall: "execve".into(),
            path: Some("/t/bin/cargo".into()),
            argv: vec!["cargo".into(), "build".into()],
            chain: vec![link(2, "/s/init", &["init"])],
            env: vec![preload.into()],
            ..MonitorEvent::default()
        };
        assert!(a.alerts_once(&command, 1, None, &mut user).is_empty());
        assert!(
            a.alerts_once(&start_rustc(&[preload]), 1, None, &mut user)
                .is_empty()
        );
        // A build script's compilation names the crate, not `build_script_build`.
        let script = MonitorEvent {
            argv: [
                "rustc",
                "--crate-name",
                "build_script_build",
                "--out-dir",
                "/w/target/debug/build/evasion-build-2222222222222222",
            ]
            .map(String::from)
            .to_vec(),
            ..start_rustc(&["GCONV_PATH=/w/target/debug/build/x-3333333333333333/out"])
        };
        let got = a.alerts(&script, 1);
        assert_eq!(
            got[0].actor.describe(),
            "build script of evasion-build 0.1.0"
        );
        // rustdoc running doctests gets the link-search directories from cargo itself; rustc
        // never does.
        let native = "/w/target/debug/build/x-3333333333333333/out";
        let doc = |program: &str| MonitorEvent {
            path: Some(program.into()),
            argv: [program, "--test", "--crate-name", "evasion_build", "-L"]
                .map(String::from)
                .into_iter()
                .chain([format!("native={native}")])
                .collect(),
            ..start_rustc(&[&format!(
                "LD_LIBRARY_PATH={native}:/w/target/debug/deps:/t/lib"
            )])
        };
        let t = Some(std::path::Path::new("/w/target"));
        assert!(a.alerts_in(&doc("/t/bin/rustdoc"), 1, t).is_empty());
        assert_eq!(
            a.alerts_in(&doc("/t/bin/rustc"), 1, t)[0].code,
            "loader-injection"
        );
    }

    #[test]
    fn links_to_and_writes_through_other_names_of_guarded_files_tamper() {
        let a = analyzer();
        let t = std::path::Path::new("/w/target");
        let victim = "/w/target/debug/build/victim-1111111111111111/build-script-build";
        let alias = "/w/target/debug/build/evasion-build-2222222222222222/out/alias";
        let ev = |syscall: &str, path: &str, path2: Option<&str>| MonitorEvent {
            syscall: syscall.into(),
            path: Some(path.into()),
            path2: path2.map(str::to_string),
            chain: script_chain(),
            ..MonitorEvent::default()
        };
        // The link lands in its own OUT_DIR: its source decides.
        let got = a.alerts_in(&ev("link", victim, Some(alias)), 1, Some(t));
        assert_eq!(got.len(), 1, "{got:#?}");
        assert_eq!(
            (got[0].code, got[0].action.as_str()),
            ("target-tamper", "link")
        );
        assert_eq!(got[0].target, victim);
        assert!(got[0].message.contains("second name"), "{}", got[0].message);
        // A write through that name: the supervisor gives the other name as the second path.
        let got = a.alerts_in(&ev("open-write", alias, Some(victim)), 1, Some(t));
        assert_eq!(got[0].code, "target-tamper");
        assert_eq!(got[0].target, victim);
        assert!(
            got[0].evidence[0].contains("the same file as"),
            "{:?}",
            got[0].evidence
        );
        let got = a.alerts_in(&ev("link", "/w/target/debug/app", Some(alias)), 1, Some(t));
        assert_eq!(got[0].code, "target-tamper");
        // Whole unit directories and profile directories are guarded.
        for (from, to) in [
            (
                "/w/target/debug/build/victim-1111111111111111",
                "/w/target/debug/build/evasion-build-2222222222222222/out/v",
            ),
            (
                "/w/target/debug/build/evasion-build-2222222222222222/out/fake",
                "/w/target/debug/build/victim-1111111111111111",
            ),
            ("/w/target/debug", "/w/target/old"),
        ] {
            let got = a.alerts_in(&ev("rename", from, Some(to)), 1, Some(t));
            assert_eq!(got.len(), 1, "{from} -> {to}");
            assert_eq!(got[0].code, "target-tamper", "{from} -> {to}");
        }
        // Its own unit directory, and links within its own OUT_DIR, are its own.
        let own = "/w/target/debug/build/evasion-build-2222222222222222";
        assert!(
            a.alerts_in(
                &ev("rename", own, Some("/w/target/debug/build/x")),
                1,
                Some(t)
            )
            .is_empty()
        );
        assert!(
            a.alerts_in(
                &ev("link", &format!("{own}/out/a"), Some(alias)),
                1,
                Some(t)
            )
            .is_empty()
        );
    }
}
