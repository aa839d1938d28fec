//! `drill --tabletop`: the incident-response checklist for a scenario, filled in with what
//! the builds on this machine could see and which lockfiles carry the crate.

use super::scenario::Scenario;
use crate::error::Result;
use crate::knowledge::secrets::{CREDENTIAL_FILES, secret_reason};
use crate::respond::{self, Query};
use crate::sources::advisory_db::{AdvisoryDb, Scope};
use serde::Serialize;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// What the checklist is filled in with.
pub struct Checklist {
    /// Secret-looking variables in the environment a build would inherit: (name, why).
    pub secrets: Vec<(String, String)>,
    /// Credential files present in the home directory: (path, what).
    pub credential_files: Vec<(String, String)>,
    /// Lockfiles that hold one of the attack crates: (path, versions).
    pub lockfiles: Vec<(String, Vec<String>)>,
    pub lockfiles_scanned: usize,
    /// Who to call (`--contact`); default roles otherwise.
    pub contacts: Vec<String>,
    /// Where the lockfiles were searched.
    pub roots: Vec<String>,
}

impl Checklist {
    /// What a build on this machine would see (secret-looking variables of `env`, names only,
    /// and the credential files in `home`) and the lockfiles under `roots` that carry one of
    /// `s`'s attack crates (from the embedded advisory database, offline).
    pub fn gather(
        s: &Scenario,
        env: &[(String, String)],
        home: Option<&Path>,
        roots: Vec<PathBuf>,
        contacts: Vec<String>,
    ) -> Result<Checklist> {
        let mut secrets: Vec<(String, String)> = env
            .iter()
            .filter_map(|(k, v)| secret_reason(k, v).map(|why| (k.clone(), why)))
            .collect();
        secrets.sort();
        let credential_files = home
            .map(|home| {
                CREDENTIAL_FILES
                    .iter()
                    .map(|(rel, what)| (home.join(rel), what))
                    .filter(|(p, _)| p.exists())
                    .map(|(p, what)| (p.display().to_string(), what.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let db = AdvisoryDb::embedded(Scope::All);
        let mut lockfiles: Vec<(String, Vec<String>)> = Vec::new();
        let mut scanned = 0;
        for krate in &s.attack {
            let r = respond::respond(
                &Query::Crate {
                    name: krate.clone(),
                    req: None,
                },
                krate,
                &respond::Options {
                    roots: roots.clone(),
                    db: &db,
                    index: None,
                    threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
                },
            )?;
            scanned = scanned.max(r.lockfiles_scanned);
            for p in r.projects {
                let versions = p
                    .matches
                    .iter()
                    .map(|m| format!("{} {}", m.name, m.version))
                    .collect();
                lockfiles.push((p.lockfile.clone(), versions));
            }
        }
        Ok(Checklist {
            secrets,
            credential_files,
            lockfiles,
            lockfiles_scanned: scanned,
            contacts,
            roots: roots.iter().map(|r| r.display().to_string()).collect(),
        })
    }
}

#[derive(Debug, Serialize)]
pub struct Tabletop {
    pub scenario: String,
    pub title: String,
    pub imitates: String,
    pub steps: Vec<String>,
    pub contacts: Vec<String>,
    pub rotate: Vec<String>,
    pub lockfiles: Vec<String>,
}

pub fn tabletop(s: &Scenario, cx: &Checklist) -> Tabletop {
    let crates = s.attack.join(", ");
    let roots = if cx.roots.is_empty() {
        ".".to_string()
    } else {
        cx.roots.join(" ")
    };
    let mut extra = s.tabletop.join(" ");
    if !extra.is_empty() {
        extra.insert(0, ' ');
    }
    let steps = vec![
        format!(
            "Contain: pause merges, releases and deploys from every pipeline that built {crates}; keep the CI logs, `target/reflex-monitor/alerts.jsonl` and the lockfile diff as evidence; do not delete the runner yet."
        ),
        "Rotate: treat every credential a build could see (below) as stolen: revoke first, then re-issue. Builds outside the sandbox handed all of them to every build script and proc-macro; `cargo reflex build` hands them to none (its fetch stage sees no secrets either).".to_string(),
        format!(
            "Scope: find every project that carries it: `cargo reflex respond {} {roots} --format json`; {} lockfile(s) here already do (below).",
            s.attack.first().map(String::as_str).unwrap_or_default(),
            cx.lockfiles.len()
        ),
        format!(
            "Eradicate: apply `respond`'s remedy in each project, pin the last good version, rebuild from a clean target directory and a clean cargo cache (`~/.cargo/registry/src` can be tampered with by build scripts).{extra}"
        ),
        format!(
            "Report and learn: ask crates.io (help@crates.io) to remove {crates}, file a RustSec advisory (github.com/rustsec/advisory-db), tell your users, and add what let it through to reflex.toml; re-run `cargo reflex drill`."
        ),
    ];
    let contacts = if cx.contacts.is_empty() {
        vec![
            "your security on-call (incident commander)".to_string(),
            "the owners of the affected pipelines and repositories".into(),
            "whoever can revoke the credentials below (cloud, GitHub organisation, crates.io owners)".into(),
            "crates.io: help@crates.io (malicious crate removal)".into(),
        ]
    } else {
        cx.contacts.clone()
    };
    let mut rotate: Vec<String> = cx
        .secrets
        .iter()
        .map(|(n, why)| format!("${n} ({why})"))
        .collect();
    rotate.extend(
        cx.credential_files
            .iter()
            .map(|(p, what)| format!("{p} ({what})")),
    );
    if rotate.is_empty() {
        rotate.push("nothing secret is visible to a build on this machine; check the CI job's environment and secrets the same way (`cargo reflex audit --env` inside the job)".into());
    }
    let mut lockfiles: Vec<String> = cx
        .lockfiles
        .iter()
        .map(|(p, v)| format!("{p}: {}", v.join(", ")))
        .collect();
    if lockfiles.is_empty() {
        lockfiles.push(format!(
            "none of the {} lockfile(s) under {roots} holds {crates}",
            cx.lockfiles_scanned
        ));
    }
    Tabletop {
        scenario: s.name.clone(),
        title: s.title.clone(),
        imitates: s.imitates.clone(),
        steps,
        contacts,
        rotate,
        lockfiles,
    }
}

pub fn human(t: &Tabletop, markdown: bool) -> String {
    let mut s = String::new();
    let h = if markdown { "## " } else { "" };
    let sub = if markdown { "### " } else { "" };
    let _ = writeln!(s, "{h}Tabletop: {}", t.title);
    let _ = writeln!(s, "Imitates: {}\n", t.imitates);
    let _ = writeln!(s, "{sub}First five steps");
    for (i, step) in t.steps.iter().enumerate() {
        let _ = writeln!(s, "{}. {step}", i + 1);
    }
    for (title, items) in [
        ("Who to call", &t.contacts),
        (
            "Credentials to rotate (what a build here could see)",
            &t.rotate,
        ),
        ("Lockfiles to check", &t.lockfiles),
    ] {
        let _ = writeln!(s, "\n{sub}{title}");
        for i in items {
            let _ = writeln!(s, "- {i}");
        }
    }
    s
}
