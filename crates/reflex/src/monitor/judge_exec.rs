//! Judging execs: the programs build-time code starts, and the loader variables a build
//! script hands the compiler.

use super::alert::Alert;
use super::analyzer::{Analyzer, Judged, Reported, injected};
use super::attribution::{self, Actor};
use super::{codes, normal, toolchain};
use crate::finding::Severity;
use reflex_sandbox_contract::target;
use reflex_sandbox_contract::{ChainLink, MonitorEvent};
use std::path::Path;

impl Analyzer {
    /// An exec: normal build activity is counted elsewhere and not alerted; a program run
    /// with a canary in its arguments, with no file on disk, or of an alarming kind is.
    pub(super) fn exec_alerts(
        &self,
        j: &Judged<'_>,
        target_dir: Option<&Path>,
        reported: &mut Reported,
    ) -> Vec<Alert> {
        let (ev, actor, who) = (j.ev, &j.actor, &j.who);
        let mut out = Vec::new();
        if !ev.missing && !ev.env.is_empty() {
            out.extend(self.loader_alerts(ev, actor, j.now_ns, target_dir, reported));
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
            || (!toolchain::is_toolchain_name(&normal::tool(&program))
                && matches!(&verdict, normal::ExecVerdict::Alert { severity, .. } if *severity >= Severity::High));
        if by_rustc && !alarming {
            return out;
        }
        let who = match actor {
            Actor::Rustc { compiling } => format!("{who}{}", injected(compiling)),
            _ => who.clone(),
        };
        let (judged, why) = match &verdict {
            normal::ExecVerdict::Normal(_) if leaks.is_empty() && !ev.fileless => {
                return out;
            }
            normal::ExecVerdict::Normal(kind) => (Severity::Low, kind.to_string()),
            normal::ExecVerdict::Alert { severity, reason } => (*severity, reason.clone()),
        };
        let severity = if !leaks.is_empty() {
            Severity::Critical
        } else if ev.fileless {
            Severity::High.max(judged)
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
                &codes::FILELESS_EXEC,
                format!("{who} ran a program with no file on disk ({base})"),
            ),
            None => (&codes::PROCESS_EXEC, format!("{who} ran {base}")),
            Some(l) => (
                &codes::SECRET_EXFILTRATION,
                format!(
                    "{who} tried to exfiltrate secret {} via {base}'s arguments ({})",
                    l.name, l.encoding
                ),
            ),
        };
        if ev.fileless && !leaks.is_empty() {
            out.push(j.alert(
                Severity::High,
                &codes::FILELESS_EXEC,
                "exec",
                program.clone(),
                evidence.clone(),
                format!("{who} ran a program with no file on disk ({base})"),
            ));
        }
        out.push(j.alert(severity, code, "exec", program.clone(), evidence, message));
        out
    }

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
        target_dir: Option<&Path>,
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
                            Some(t) => !Path::new(e).starts_with(t),
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
            severity: Severity::Critical,
            code: codes::LOADER_INJECTION.code,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::test_support::*;
    use crate::monitor::{Summary, sarif};
    use reflex_sandbox_contract::CallOutcome;

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
            (codes::FILELESS_EXEC.code, Severity::High)
        );
        let got = a.alerts(
            &exec(
                "/memfd:x (deleted)",
                true,
                &["sh", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
            ),
            1,
        );
        let raised: Vec<&str> = got.iter().map(|x| x.code).collect();
        assert_eq!(
            raised,
            [codes::FILELESS_EXEC.code, codes::SECRET_EXFILTRATION.code]
        );
        let rel = a.alerts(
            &exec(
                "/w/target/debug/build/evasion-build-2222222222222222/out/rel/prog",
                false,
                &["./prog", "774a616c725855746e46454d492f4b37"],
            ),
            1,
        );
        assert_eq!(rel[0].code, codes::SECRET_EXFILTRATION.code);
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
        assert_eq!(got[0].code, codes::LOADER_INJECTION.code);
        assert_eq!(got[0].severity, Severity::Critical);
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
            codes::LOADER_INJECTION.code
        );
    }
}
