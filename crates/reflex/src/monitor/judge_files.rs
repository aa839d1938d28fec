//! Judging file access: writes, renames and links (into another crate's build output or the
//! artifacts, outside the target directory, giving a credential file another name) and reads
//! of credential files.

use super::alert::Alert;
use super::analyzer::{Analyzer, Judged, target_area};
use super::attribution::Actor;
use super::codes;
use crate::finding::Severity;
use reflex_sandbox_contract::CallOutcome;
use reflex_sandbox_contract::target::{self, Area};
use std::path::Path;

/// A write, truncation, rename, hard link or symlink.
pub(super) fn write_alerts(j: &Judged<'_>, target_dir: Option<&Path>) -> Vec<Alert> {
    let (ev, actor, who) = (j.ev, &j.actor, &j.who);
    let mut out = Vec::new();
    let path = ev.path.clone().unwrap_or_default();
    // Where it lands: the second path of a rename, link or symlink.
    let dest = ev.path2.clone().unwrap_or_else(|| path.clone());
    let action = match ev.syscall.as_str() {
        "rename" => "rename",
        "link" | "symlink" => "link",
        _ => "write",
    };
    // A write whose second path is another name of the same file (a hard link).
    let aliased = matches!(ev.syscall.as_str(), "open-write" | "truncate") && ev.path2.is_some();
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
    let tampered =
        |p: &str| target_area(target_dir, p).filter(|a| !target::makes(&ev.chain, a, Path::new(p)));
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
        Some(t) => Path::new(p).starts_with(t),
        None => target_area(None, p).is_some(),
    };
    if let Some(area) = area {
        let into = match &area {
            Area::BuildOutput { krate, .. } => format!(
                "the build output of {krate} (the next build or run executes what is there)"
            ),
            _ => {
                "the build's artifacts (programs and libraries that run or link later)".to_string()
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
        out.push(j.alert(
            Severity::Critical,
            &codes::TARGET_TAMPER,
            action,
            at.clone(),
            vec![how, format!("into {into}")],
            message,
        ));
        return out;
    }
    let links_a_secret = matches!(ev.syscall.as_str(), "link" | "symlink")
        && reflex_sandbox_contract::is_sensitive(Path::new(&path), &[]);
    if in_target(&dest) && (ev.syscall != "rename" || in_target(&path)) && !links_a_secret {
        return out;
    }
    let secret_source = matches!(ev.syscall.as_str(), "rename" | "link" | "symlink")
        && reflex_sandbox_contract::is_sensitive(Path::new(&path), &[]);
    if secret_source {
        out.push(j.alert(
            Severity::High,
            &codes::SENSITIVE_READ,
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
    out.push(j.alert(
        Severity::High,
        &codes::FILE_WRITE,
        action,
        dest.clone(),
        vec![format!("{how}, outside the target directory")],
        format!("{who} tried to write {dest}"),
    ));
    out
}

impl Analyzer {
    /// A read of a credential file or of a process's environment or memory: not even
    /// cargo's or rustc's (an offline build never needs a credential).
    pub(super) fn read_alert(&self, j: &Judged<'_>) -> Alert {
        let (ev, who) = (j.ev, &j.who);
        let path = ev.path.clone().unwrap_or_default();
        let what = if path.starts_with("/proc/") {
            "a process's environment or memory"
        } else {
            "a credential file"
        };
        let mut evidence = vec![format!("opened {path} for reading: {what}")];
        if self.sandboxed {
            evidence.push("inside the sandbox the home directories hold only decoys".to_string());
        }
        if ev.outcome == CallOutcome::Denied {
            evidence.push("the sandbox hid the file (it reads as empty)".to_string());
        }
        j.alert(
            Severity::High,
            &codes::SENSITIVE_READ,
            "read",
            path.clone(),
            evidence,
            format!("{who} read {path} ({what})"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::test_support::*;
    use reflex_sandbox_contract::MonitorEvent;

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
            assert_eq!(got[0].code, codes::TARGET_TAMPER.code);
            assert_eq!(got[0].severity, Severity::Critical);
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
        assert_eq!(a.alerts(&other, 1)[0].code, codes::TARGET_TAMPER.code);
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
            (codes::TARGET_TAMPER.code, "link")
        );
        assert_eq!(got[0].target, victim);
        assert!(got[0].message.contains("second name"), "{}", got[0].message);
        // A write through that name: the supervisor gives the other name as the second path.
        let got = a.alerts_in(&ev("open-write", alias, Some(victim)), 1, Some(t));
        assert_eq!(got[0].code, codes::TARGET_TAMPER.code);
        assert_eq!(got[0].target, victim);
        assert!(
            got[0].evidence[0].contains("the same file as"),
            "{:?}",
            got[0].evidence
        );
        let got = a.alerts_in(&ev("link", "/w/target/debug/app", Some(alias)), 1, Some(t));
        assert_eq!(got[0].code, codes::TARGET_TAMPER.code);
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
            assert_eq!(got[0].code, codes::TARGET_TAMPER.code, "{from} -> {to}");
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
