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
        return target::area(t, p).filter(Area::is_guarded);
    }
    let parts: Vec<&str> = path.split('/').collect();
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
    /// into another crate's build output or into the artifacts are `target-tamper`.
    pub fn alerts_in(
        &self,
        ev: &MonitorEvent,
        now_ns: u64,
        target_dir: Option<&std::path::Path>,
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
                if actor.is_baseline() || ev.missing {
                    return out;
                }
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
                let (judged, why) = match &verdict {
                    normal::ExecVerdict::Normal(_) if leaks.is_empty() && !ev.fileless => {
                        return out;
                    }
                    normal::ExecVerdict::Normal(kind) => (AlertSeverity::Low, format!("{kind}")),
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
                let how = match ev.syscall.as_str() {
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
                let area = tampered(&dest)
                    .or_else(|| (ev.syscall == "rename").then(|| tampered(&path)).flatten());
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
                    out.push(alert(
                        AlertSeverity::Critical,
                        "target-tamper",
                        action,
                        dest.clone(),
                        vec![how, format!("into {into}")],
                        format!("{who} wrote into {into}: {dest}"),
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
                    if actor.is_baseline() {
                        return out;
                    }
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
                if actor.is_baseline() {
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
                if actor.is_baseline() {
                    return out;
                }
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
                let target = ev.dest.clone().unwrap_or_else(|| "unknown".into());
                let bytes: Vec<Vec<u8>> = ev.payloads.iter().map(|h| dns::unhex(h)).collect();
                let names: Vec<String> = bytes.iter().filter_map(|b| dns::query_name(b)).collect();
                let is_dns = !names.is_empty();
                if ev.syscall == "dns-query" {
                    // The sinkhole's own log: the send that carried it is the attributed alert.
                    return out;
                }
                if actor.is_baseline() && !is_dns {
                    return out;
                }
                for name in &names {
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
                    let mut evidence = vec![format!("query {name} via {target}")];
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
                let mut evidence = vec![format!("{} to {target}", ev.syscall)];
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
}
