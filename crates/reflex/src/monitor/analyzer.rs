//! The analyzer: judges each event of the sandbox as it arrives and says which alerts it
//! raises. Who did it comes from [`attribution`]; what is normal build activity from
//! [`normal`]; execs, file access and the network are judged in `judge_exec`, `judge_files`
//! and `judge_network`.

use super::alert::{Alert, DNS_QUERY_ACTION};
use super::attribution::{self, Actor};
use super::canary::Canaries;
use super::judge_files::write_alerts;
use super::normal;
use crate::finding::{CodeSpec, Severity};
use reflex_sandbox_contract::MonitorEvent;
use reflex_sandbox_contract::target::{self, Area};
use std::path::Path;

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
pub(super) fn target_area(target_dir: Option<&Path>, path: &str) -> Option<Area> {
    let p = Path::new(path);
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
fn holder_area(t: &Path, p: &Path) -> Option<Area> {
    if p == t {
        return Some(Area::Final);
    }
    if p.parent().and_then(Path::file_name) == Some(std::ffi::OsStr::new("build"))
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
        target_dir: Option<&Path>,
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
        target_dir: Option<&Path>,
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
        target_dir: Option<&Path>,
        reported: &mut Reported,
    ) -> Vec<Alert> {
        self.judge(ev, now_ns, target_dir, reported)
    }

    fn judge(
        &self,
        ev: &MonitorEvent,
        now_ns: u64,
        target_dir: Option<&Path>,
        reported: &mut Reported,
    ) -> Vec<Alert> {
        let mut out = self.judge_event(ev, now_ns, target_dir, reported);
        // rustc (and its linker) never reads secrets, connects, sends or writes outside the
        // build's places: code in it that does was put there (`cargo:rustc-env=LD_PRELOAD`).
        if let Actor::Rustc { compiling } = attribution::attribute(&ev.chain, &self.versions)
            && !ev.syscall.starts_with("exec")
        {
            for a in &mut out {
                a.severity = a.severity.max(Severity::High);
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
        target_dir: Option<&Path>,
        reported: &mut Reported,
    ) -> Vec<Alert> {
        let actor = if ev.syscall.starts_with("exec") {
            attribution::attribute_exec(&ev.chain, ev.path.as_deref(), &self.versions)
        } else {
            attribution::attribute(&ev.chain, &self.versions)
        };
        let j = Judged {
            ev,
            who: actor.describe(),
            actor,
            process: ev.chain.first().map(|c| c.argv.clone()).unwrap_or_default(),
            now_ns,
        };
        match ev.syscall.as_str() {
            "execve" | "execveat" => self.exec_alerts(&j, target_dir, reported),
            "open-write" | "truncate" | "rename" | "link" | "symlink" => {
                write_alerts(&j, target_dir)
            }
            "open-read" => vec![self.read_alert(&j)],
            "connect" | "sendto" | "sendmsg" | "sendmmsg" | DNS_QUERY_ACTION => {
                self.network_alerts(&j, reported)
            }
            _ => Vec::new(),
        }
    }
}

/// One event being judged: who did it, and how an alert about it is made.
pub(super) struct Judged<'e> {
    pub ev: &'e MonitorEvent,
    pub actor: Actor,
    /// The actor as messages name it (`build script of x 1.0.0`).
    pub who: String,
    /// The arguments of the process that did it.
    process: Vec<String>,
    /// When the event is judged.
    pub now_ns: u64,
}

impl Judged<'_> {
    pub fn alert(
        &self,
        severity: Severity,
        code: &CodeSpec,
        action: &str,
        target: String,
        evidence: Vec<String>,
        message: String,
    ) -> Alert {
        Alert {
            time_ns: self.ev.time_ns,
            alerted_ns: self.now_ns,
            severity,
            code: code.code,
            actor: self.actor.clone(),
            pid: self.ev.pid,
            process: self.process.clone(),
            action: action.to_string(),
            target,
            outcome: self.ev.outcome,
            evidence,
            message,
        }
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
    pub(super) loader: std::collections::HashSet<(String, String)>,
    /// Loader variables the build was started with (the user's environment).
    pub(super) inherited: std::collections::HashSet<String>,
}

/// Packets remembered (a build makes few queries).
const PACKETS: usize = 4096;

impl Reported {
    /// Whether this packet to the resolver is new (and remembers it).
    pub(super) fn first_packet(&mut self, b: &[u8]) -> bool {
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
pub(super) fn injected(compiling: &str) -> String {
    format!(
        " (rustc never does this: the code may have been injected by the build script of {compiling})"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::codes;
    use crate::monitor::test_support::*;
    use reflex_sandbox_contract::ChainLink;

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
                codes::SENSITIVE_READ.code,
            ),
            (
                on("connect", None, Some("127.0.0.1:8080"), rustc_chain()),
                codes::NETWORK_CONNECT.code,
            ),
            (
                on("open-write", Some("/home/u/.bashrc"), None, rustc_chain()),
                codes::FILE_WRITE.code,
            ),
        ] {
            let got = a.alerts(&ev, 1);
            assert_eq!(got.len(), 1, "{ev:?}");
            assert_eq!(got[0].code, code);
            assert!(got[0].severity >= Severity::High);
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
            codes::SENSITIVE_READ.code,
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
}
