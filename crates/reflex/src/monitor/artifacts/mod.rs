//! After a monitored build: the canaries compiled into what the build produced. A build
//! script can hand a secret to the compiler (`cargo:rustc-env=KEY=<secret>`, read with
//! `env!`), a proc-macro can expand it into a literal; either way it ends up in an artifact
//! that later runs or ships. Each find is a critical `secret-exfiltration` alert naming the
//! crate where it can be attributed: the build script whose output carried the canary, else
//! the proc-macros the artifact's rustc loaded, else the artifact's own crate.
//!
//! What is read: every build script's `output` (what it told cargo), and the files directly in
//! each profile directory and in its `deps/` that changed since the build started (the
//! canaries are fresh each build: older files cannot hold them), each once (hard links are
//! one file; an `.rmeta` beside its `.rlib` is in the `.rlib`). Files are read in chunks small
//! enough to stay in the cache while every form of every canary is searched for in them
//! (`memchr`'s substring search), on a few threads. On the 181-crate benchmark build (about
//! 450 MB of fresh artifacts in a clean debug build) that is a few tenths of a second.

mod search;
#[cfg(test)]
mod tests;

use super::attribution::Actor;
use super::canary::{Canaries, Canary};
use super::{Alert, CallOutcome, MonitorEvent, codes};
use crate::finding::Severity;
use reflex_sandbox_contract::target::{rustc_crate, rustc_stem, unit_name};
use search::{Find, finds, profiles, read_output, search_files};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What the build's rustc invocations compiled, from the exec events cargo made: each
/// output stem (`app-1a2b3c`) with its crate and the proc-macros it loaded.
#[derive(Clone, Debug, Default)]
pub struct Compiled {
    units: HashMap<String, (String, Vec<String>)>,
}

impl Compiled {
    /// Notes an event: an exec of rustc by cargo (the only trustworthy arguments).
    pub fn note(&mut self, ev: &MonitorEvent, versions: &HashMap<String, String>) {
        if !ev.syscall.starts_with("exec") || ev.missing {
            return;
        }
        let rustc = ev
            .path
            .as_deref()
            .map(|p| p.rsplit('/').next().unwrap_or(p))
            .is_some_and(|b| b == "rustc" || b == "rustup");
        if !rustc
            || super::attribution::attribute_exec(&ev.chain, ev.path.as_deref(), versions)
                != Actor::Cargo
        {
            return;
        }
        let (Some(stem), Some(krate)) = (rustc_stem(&ev.argv), rustc_crate(&ev.argv)) else {
            return;
        };
        let macros = ev
            .argv
            .windows(2)
            .filter(|w| w[0] == "--extern")
            .filter_map(|w| w[1].split_once('='))
            .filter(|(_, p)| p.ends_with(".so") || p.ends_with(".dylib") || p.ends_with(".dll"))
            .map(|(n, _)| n.to_string())
            .collect();
        self.units.insert(stem, (krate.to_string(), macros));
    }

    /// The unit an artifact file belongs to: `libapp-1a2b3c.rlib`, `app-1a2b3c`, `app-1a2b3c.d`.
    fn unit_of(&self, file: &str) -> Option<&(String, Vec<String>)> {
        let name = file.strip_prefix("lib").unwrap_or(file);
        self.units
            .iter()
            .filter(|(stem, _)| name.starts_with(stem.as_str()) || file.starts_with(stem.as_str()))
            .max_by_key(|(stem, _)| stem.len())
            .map(|(_, u)| u)
    }
}

/// The crate an artifact file is named after: `libfoo_bar-1a2b.rlib` -> `foo_bar`, `app` ->
/// `app`.
fn crate_of(file: &str) -> String {
    let name = file.split('.').next().unwrap_or(file);
    let name = unit_name(name).unwrap_or(name);
    let name = if file.contains('.') {
        name.strip_prefix("lib").unwrap_or(name)
    } else {
        name
    };
    name.to_string()
}

/// A file the build wrote since it started, once (hard links are one file), with every name
/// it has in the directories read.
struct FreshFile {
    path: PathBuf,
    meta: std::fs::Metadata,
    names: Vec<String>,
}

/// One crate's files holding one canary: `(crate, canary, [(file index, encoding)])`.
type Group<'a> = (String, &'a Canary, Vec<(usize, &'static str)>);

/// The build outputs and artifacts of `target` that hold a canary, as alerts. `since`: when
/// the build started (files older than that are not read).
pub fn scan(
    target: &Path,
    since: SystemTime,
    canaries: &Canaries,
    compiled: &Compiled,
    versions: &HashMap<String, String>,
    now_ns: u64,
) -> Vec<Alert> {
    let forms = canaries.byte_forms();
    if forms.is_empty() {
        return Vec::new();
    }
    let scan = Scan {
        since,
        canaries,
        versions,
        now_ns,
    };
    let mut out = Vec::new();
    // canary name -> the crates whose build script handed it on.
    let mut handed: HashMap<String, Vec<String>> = HashMap::new();
    let mut files: Vec<FreshFile> = Vec::new();
    let mut seen: HashMap<(u64, u64), usize> = HashMap::new();
    for profile in profiles(target) {
        out.extend(scan.build_outputs(&profile, &forms, &mut handed));
        scan.collect_fresh(&profile, &mut files, &mut seen);
    }
    let paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let results = search_files(&paths, &forms);
    out.extend(scan.artifact_alerts(&files, results, compiled, &handed));
    out
}

/// One scan after a build: what it looks for and how it names crates.
struct Scan<'a> {
    since: SystemTime,
    canaries: &'a Canaries,
    versions: &'a HashMap<String, String>,
    now_ns: u64,
}

impl Scan<'_> {
    fn version(&self, k: &str) -> Option<String> {
        self.versions
            .get(k)
            .or_else(|| self.versions.get(&k.replace('_', "-")))
            .cloned()
    }

    /// The crate's name as the lockfile spells it (`foo_bar` may be `foo-bar`).
    fn lock_name(&self, k: &str) -> String {
        let d = k.replace('_', "-");
        if self.versions.contains_key(&d) {
            d
        } else {
            k.to_string()
        }
    }

    fn alert(
        &self,
        actor: Actor,
        target: &Path,
        evidence: Vec<String>,
        message: String,
        t: u64,
    ) -> Alert {
        Alert {
            time_ns: t,
            alerted_ns: self.now_ns,
            severity: Severity::Critical,
            code: codes::SECRET_EXFILTRATION.code,
            actor,
            pid: 0,
            process: Vec::new(),
            action: "artifact".into(),
            target: target.display().to_string(),
            outcome: CallOutcome::Allowed,
            evidence,
            message,
        }
    }

    /// When a file was written (for the alert's time).
    fn mtime_ns(&self, m: &std::fs::Metadata) -> u64 {
        m.modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(self.now_ns, |d| d.as_nanos() as u64)
    }

    fn fresh(&self, m: &std::fs::Metadata) -> bool {
        m.modified().is_ok_and(|t| t >= self.since)
    }

    /// The canaries in the `output` of each build script of `profile` (what it told cargo),
    /// noting in `handed` which crate handed which canary on.
    fn build_outputs(
        &self,
        profile: &Path,
        forms: &[(&Canary, &'static str, &[u8])],
        handed: &mut HashMap<String, Vec<String>>,
    ) -> Vec<Alert> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(profile.join("build"))
            .into_iter()
            .flatten()
            .flatten()
        {
            let dir = e.file_name().to_string_lossy().into_owned();
            let output = e.path().join("output");
            let Ok(m) = std::fs::symlink_metadata(&output) else {
                continue;
            };
            if !m.is_file() || !self.fresh(&m) {
                continue;
            }
            let krate = self.lock_name(unit_name(&dir).unwrap_or(&dir));
            let text = read_output(&output);
            for f in finds(&output, forms) {
                handed
                    .entry(f.canary.name.clone())
                    .or_default()
                    .push(krate.clone());
                let mut evidence = vec![format!(
                    "canary {} in {} ({})",
                    f.canary.name,
                    output.display(),
                    f.encoding
                )];
                evidence.extend(self.instructions_with(&text, f.canary));
                out.push(self.alert(
                    Actor::BuildScript {
                        version: self.version(&krate),
                        krate: krate.clone(),
                        script: e.path().display().to_string(),
                    },
                    &output,
                    evidence,
                    format!(
                        "build script of {krate} handed secret {} to the compiler (its output to cargo)",
                        f.canary.name
                    ),
                    self.mtime_ns(&m),
                ));
            }
        }
        out
    }

    /// The instructions of a build script's `output` that carried `canary`, without the value.
    fn instructions_with(&self, text: &str, canary: &Canary) -> Vec<String> {
        text.lines()
            .filter(|l| {
                self.canaries
                    .find_in(l)
                    .iter()
                    .any(|x| x.name == canary.name)
            })
            .map(|l| {
                // `cargo:rustc-env=KEY=<value>` -> `cargo:rustc-env=KEY=<canary>`.
                let shown = match l.split_once('=') {
                    Some((directive, rest)) => match rest.split_once('=') {
                        Some((key, _)) => format!("{directive}={key}=<canary>"),
                        None => format!("{directive}=<canary>"),
                    },
                    None => "<a line with the canary>".to_string(),
                };
                format!("build script output: {shown}")
            })
            .collect()
    }

    /// The files of `profile` and its `deps/` written since the build started: the programs
    /// and libraries in the profile directory first (their names are what users run).
    fn collect_fresh(
        &self,
        profile: &Path,
        files: &mut Vec<FreshFile>,
        seen: &mut HashMap<(u64, u64), usize>,
    ) {
        use std::os::unix::fs::MetadataExt;
        for dir in [profile.to_path_buf(), profile.join("deps")] {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let Ok(m) = e.metadata() else { continue };
                let name = e.file_name().to_string_lossy().into_owned();
                // An rlib holds its crate's metadata: the .rmeta beside it adds nothing.
                let in_rlib = name.ends_with(".rmeta") && e.path().with_extension("rlib").is_file();
                if !m.is_file() || !self.fresh(&m) || name.starts_with('.') || in_rlib {
                    continue;
                }
                match seen.get(&(m.dev(), m.ino())) {
                    Some(&i) => files[i].names.push(name),
                    None => {
                        seen.insert((m.dev(), m.ino()), files.len());
                        files.push(FreshFile {
                            path: e.path(),
                            meta: m,
                            names: vec![name],
                        });
                    }
                }
            }
        }
    }

    /// One alert per crate and canary found in the artifacts (an rlib, its rmeta, its
    /// dep-info and the uplifted copy are one find), at the first file: the profile
    /// directory's before deps/.
    fn artifact_alerts<'c>(
        &self,
        files: &[FreshFile],
        results: Vec<(usize, Vec<Find<'c>>)>,
        compiled: &Compiled,
        handed: &HashMap<String, Vec<String>>,
    ) -> Vec<Alert> {
        let mut groups: Vec<Group<'c>> = Vec::new();
        let mut units = HashMap::new();
        for (i, found) in results {
            let names = &files[i].names;
            let unit = names.iter().find_map(|n| compiled.unit_of(n));
            let file = names.first().cloned().unwrap_or_default();
            let krate = self.lock_name(unit.map_or(crate_of(&file).as_str(), |u| u.0.as_str()));
            units.insert(krate.clone(), unit);
            for f in found {
                match groups
                    .iter_mut()
                    .find(|(k, c, _)| *k == krate && c.name == f.canary.name)
                {
                    Some(g) => g.2.push((i, f.encoding)),
                    None => groups.push((krate.clone(), f.canary, vec![(i, f.encoding)])),
                }
            }
        }
        let mut out = Vec::new();
        for (krate, canary, hits) in groups {
            let first = &files[hits[0].0];
            let mut evidence: Vec<String> = hits
                .iter()
                .take(5)
                .map(|(i, enc)| {
                    format!(
                        "canary {} in {} ({enc})",
                        canary.name,
                        files[*i].path.display()
                    )
                })
                .collect();
            if hits.len() > 5 {
                evidence.push(format!("and {} more files", hits.len() - 5));
            }
            let macros = units
                .get(&krate)
                .copied()
                .flatten()
                .map(|u| u.1.clone())
                .unwrap_or_default();
            let actor = self.artifact_actor(&krate, canary, handed, &macros, &mut evidence);
            let message = format!(
                "{} compiled secret {} into {}",
                actor.describe(),
                canary.name,
                first.path.display()
            );
            out.push(self.alert(
                actor,
                &first.path,
                evidence,
                message,
                self.mtime_ns(&first.meta),
            ));
        }
        out
    }

    /// Who put `canary` into `krate`'s artifact: the build script that handed it to the
    /// compiler, else the proc-macros its rustc loaded, else the crate's own code.
    fn artifact_actor(
        &self,
        krate: &str,
        canary: &Canary,
        handed: &HashMap<String, Vec<String>>,
        macros: &[String],
        evidence: &mut Vec<String>,
    ) -> Actor {
        let by_script = handed.get(&canary.name).and_then(|ks| {
            ks.iter()
                .find(|k| **k == krate)
                .or_else(|| ks.first())
                .cloned()
        });
        if let Some(k) = by_script {
            evidence.push(format!("the build script of {k} handed it to the compiler"));
            Actor::BuildScript {
                version: self.version(&k),
                script: String::new(),
                krate: k,
            }
        } else if let Some(first) = macros.first() {
            let mk = self.lock_name(first);
            evidence.push(format!(
                "{krate} was compiled with proc-macros {} loaded (or its own code read it)",
                macros.join(", ")
            ));
            Actor::ProcMacro {
                version: self.version(&mk),
                krate: mk,
                also_loaded: macros[1..].iter().map(|m| self.lock_name(m)).collect(),
                compiling: krate.to_string(),
            }
        } else {
            evidence.push(format!("{krate}'s own code compiled it in (env!)"));
            Actor::CrateCode {
                version: self.version(krate),
                krate: krate.to_string(),
            }
        }
    }
}
