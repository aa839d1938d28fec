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

use super::attribution::Actor;
use super::canary::{Canaries, Canary};
use super::{Alert, CallOutcome, MonitorEvent, codes};
use crate::finding::Severity;
use memchr::memmem::Finder;
use reflex_sandbox_contract::target::{rustc_crate, rustc_stem, unit_name};
use std::collections::{HashMap, HashSet};
use std::io::Read;
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

/// The profile directories of a target directory: `debug`, `release`, `<triple>/<profile>`
/// (directories, never through a symlink: the build wrote the target directory).
fn profiles(target: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let dir = |p: &Path| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    let is_profile = |p: &Path| dir(&p.join("deps")) || dir(&p.join("build"));
    for e in std::fs::read_dir(target).into_iter().flatten().flatten() {
        let p = e.path();
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if is_profile(&p) {
            out.push(p.clone());
        }
        for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
            let q = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) && is_profile(&q) && e.file_name() != "build"
            {
                out.push(q);
            }
        }
    }
    out
}

/// At most this much of one file is searched (artifacts are rarely larger; a build can make
/// a file of any size).
const MAX_READ: u64 = 1 << 30;
/// At most this much of a build script's `output` is read as text.
const MAX_OUTPUT: u64 = 16 << 20;

/// Opens `path` for reading only when it is a regular file: never through a symlink, and
/// without blocking (a FIFO or a device the build left in the target directory, or swapped in
/// after a look, is refused instead of hanging the scan after the build).
fn open_regular(path: &Path) -> std::io::Result<std::fs::File> {
    if !std::fs::symlink_metadata(path)?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY);
    }
    let f = options.open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(f)
}

/// A build script's `output`, at most [`MAX_OUTPUT`] bytes of it, as text.
fn read_output(path: &Path) -> String {
    let mut text = Vec::new();
    if let Ok(f) = open_regular(path) {
        let _ = f.take(MAX_OUTPUT).read_to_end(&mut text);
    }
    String::from_utf8_lossy(&text).into_owned()
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

/// Searches one file for every form; the forms found (indices into `finders`).
fn search(path: &Path, finders: &[Finder<'_>]) -> std::io::Result<HashSet<usize>> {
    // Small enough that every form's search runs over data still in the cache.
    const CHUNK: usize = 256 << 10;
    let overlap = finders.iter().map(|f| f.needle().len()).max().unwrap_or(1) - 1;
    let mut found = HashSet::new();
    let mut f = open_regular(path)?.take(MAX_READ);
    let mut buf = vec![0u8; CHUNK + overlap];
    let mut kept = 0;
    loop {
        let n = f.read(&mut buf[kept..])?;
        if n == 0 {
            break;
        }
        let end = kept + n;
        for (i, finder) in finders.iter().enumerate() {
            if !found.contains(&i) && finder.find(&buf[..end]).is_some() {
                found.insert(i);
            }
        }
        if found.len() == finders.len() {
            break;
        }
        kept = overlap.min(end);
        buf.copy_within(end - kept..end, 0);
    }
    Ok(found)
}

/// One crate's files holding one canary: `(crate, canary, [(file index, encoding)])`.
type Group<'a> = (String, &'a Canary, Vec<(usize, &'static str)>);

/// One canary found in a file.
struct Find<'a> {
    canary: &'a Canary,
    encoding: &'static str,
}

fn finds<'a>(path: &Path, forms: &[(&'a Canary, &'static str, &[u8])]) -> Vec<Find<'a>> {
    let finders: Vec<Finder<'_>> = forms.iter().map(|(_, _, f)| Finder::new(f)).collect();
    let found = search(path, &finders).unwrap_or_default();
    let mut out: Vec<Find<'a>> = Vec::new();
    let mut hits: Vec<usize> = found.into_iter().collect();
    hits.sort();
    for i in hits {
        let (c, enc, _) = forms[i];
        if !out.iter().any(|f| f.canary.name == c.name) {
            out.push(Find {
                canary: c,
                encoding: enc,
            });
        }
    }
    out
}

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
    use std::os::unix::fs::MetadataExt;
    let forms = canaries.byte_forms();
    if forms.is_empty() {
        return Vec::new();
    }
    let version = |k: &str| {
        versions
            .get(k)
            .or_else(|| versions.get(&k.replace('_', "-")))
            .cloned()
    };
    let lock_name = |k: &str| {
        let d = k.replace('_', "-");
        if versions.contains_key(&d) {
            d
        } else {
            k.to_string()
        }
    };
    let alert =
        |actor: Actor, target: &Path, evidence: Vec<String>, message: String, t: u64| Alert {
            time_ns: t,
            alerted_ns: now_ns,
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
        };
    let mtime_ns = |m: &std::fs::Metadata| {
        m.modified()
            .ok()
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map_or(now_ns, |d| d.as_nanos() as u64)
    };
    let fresh = |m: &std::fs::Metadata| m.modified().is_ok_and(|t| t >= since);
    let mut out = Vec::new();
    // canary name -> the crates whose build script handed it on.
    let mut handed: HashMap<String, Vec<String>> = HashMap::new();
    // Each file once (hard links are one file), with every name it has.
    let mut files: Vec<(PathBuf, std::fs::Metadata, Vec<String>)> = Vec::new();
    let mut seen: HashMap<(u64, u64), usize> = HashMap::new();
    for profile in profiles(target) {
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
            if !m.is_file() || !fresh(&m) {
                continue;
            }
            let krate = lock_name(unit_name(&dir).unwrap_or(&dir));
            let text = read_output(&output);
            for f in finds(&output, &forms) {
                // The instruction that carried it, without the value.
                let said: Vec<String> = text
                    .lines()
                    .filter(|l| canaries.find_in(l).iter().any(|x| x.name == f.canary.name))
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
                    .collect();
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
                evidence.extend(said);
                out.push(alert(
                    Actor::BuildScript {
                        version: version(&krate),
                        krate: krate.clone(),
                        script: e.path().display().to_string(),
                    },
                    &output,
                    evidence,
                    format!(
                        "build script of {krate} handed secret {} to the compiler (its output to cargo)",
                        f.canary.name
                    ),
                    mtime_ns(&m),
                ));
            }
        }
        // The programs and libraries in the profile directory first (their names are what
        // users run), then deps/.
        for dir in [profile.clone(), profile.join("deps")] {
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
                if !m.is_file() || !fresh(&m) || name.starts_with('.') || in_rlib {
                    continue;
                }
                match seen.get(&(m.dev(), m.ino())) {
                    Some(&i) => files[i].2.push(name),
                    None => {
                        seen.insert((m.dev(), m.ino()), files.len());
                        files.push((e.path(), m, vec![name]));
                    }
                }
            }
        }
    }
    // Several files at once: reading is most of the work.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(usize, Vec<Find<'_>>)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some((path, _, _)) = files.get(i) else {
                            break;
                        };
                        let f = finds(path, &forms);
                        if !f.is_empty() {
                            mine.push((i, f));
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let mut results = results;
    results.sort_by_key(|(i, _)| *i);
    // One alert per crate and canary (an rlib, its rmeta, its dep-info and the uplifted copy
    // are one find), at the first file: the profile directory's before deps/.
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut units = HashMap::new();
    for (i, found) in results {
        let names = &files[i].2;
        let unit = names.iter().find_map(|n| compiled.unit_of(n));
        let file = names.first().cloned().unwrap_or_default();
        let krate = lock_name(unit.map_or(crate_of(&file).as_str(), |u| u.0.as_str()));
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
    for (krate, canary, hits) in groups {
        let (first, _) = hits[0];
        let (path, m, _) = &files[first];
        let mut evidence: Vec<String> = hits
            .iter()
            .take(5)
            .map(|(i, enc)| {
                format!(
                    "canary {} in {} ({enc})",
                    canary.name,
                    files[*i].0.display()
                )
            })
            .collect();
        if hits.len() > 5 {
            evidence.push(format!("and {} more files", hits.len() - 5));
        }
        let by_script = handed.get(&canary.name).and_then(|ks| {
            ks.iter()
                .find(|k| **k == krate)
                .or_else(|| ks.first())
                .cloned()
        });
        let macros = units
            .get(&krate)
            .copied()
            .flatten()
            .map(|u| u.1.clone())
            .unwrap_or_default();
        let actor = if let Some(k) = by_script {
            evidence.push(format!("the build script of {k} handed it to the compiler"));
            Actor::BuildScript {
                version: version(&k),
                script: String::new(),
                krate: k,
            }
        } else if let Some(first) = macros.first() {
            let mk = lock_name(first);
            evidence.push(format!(
                "{krate} was compiled with proc-macros {} loaded (or its own code read it)",
                macros.join(", ")
            ));
            Actor::ProcMacro {
                version: version(&mk),
                krate: mk,
                also_loaded: macros[1..].iter().map(|m| lock_name(m)).collect(),
                compiling: krate.clone(),
            }
        } else {
            evidence.push(format!("{krate}'s own code compiled it in (env!)"));
            Actor::CrateCode {
                version: version(&krate),
                krate: krate.clone(),
            }
        };
        let message = format!(
            "{} compiled secret {} into {}",
            actor.describe(),
            canary.name,
            path.display()
        );
        out.push(alert(actor, path, evidence, message, mtime_ns(m)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::ChainLink;

    #[test]
    fn canaries_in_outputs_and_artifacts_name_the_crate() {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join("target");
        let since = SystemTime::now() - std::time::Duration::from_secs(5);
        let c = Canaries(vec![
            Canary::new("AWS_SECRET_ACCESS_KEY", "AKxQzVw7rT9pLmN3bY5cDfGhJk2"),
            Canary::new("GITHUB_TOKEN", "ghp_Zq8WvX2mK7nR4tY6uP1sL9dF3gH5jB0c"),
        ]);
        let aws = &c.0[0].value;
        let gh = &c.0[1].value;
        let build = t.join("debug/build/evasion-build-0123456789abcdef");
        std::fs::create_dir_all(&build).unwrap();
        std::fs::write(
            build.join("output"),
            format!("cargo:rerun-if-changed=build.rs\ncargo:rustc-env=EVASION_LEAK={aws}\n"),
        )
        .unwrap();
        let deps = t.join("debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        let mut blob = vec![0u8; 9 << 20];
        blob.extend_from_slice(aws.as_bytes());
        std::fs::write(deps.join("libevasion_build-1111111111111111.rlib"), &blob).unwrap();
        // The app: the build script's secret and a proc-macro's literal (hex), hard-linked.
        let hexed: String = gh.bytes().map(|b| format!("{b:02x}")).collect();
        std::fs::write(
            deps.join("evasion_app-2222222222222222"),
            format!("\x7fELF..{aws}..{hexed}.."),
        )
        .unwrap();
        std::fs::hard_link(
            deps.join("evasion_app-2222222222222222"),
            t.join("debug/evasion-app"),
        )
        .unwrap();
        std::fs::write(deps.join("libclean-3333333333333333.rlib"), "nothing").unwrap();
        let versions: HashMap<String, String> = [
            ("evasion-build", "0.1.0"),
            ("evasion-app", "0.1.0"),
            ("evasion-macro", "0.1.0"),
        ]
        .into_iter()
        .map(|(a, b)| (a.into(), b.into()))
        .collect();
        let mut compiled = Compiled::default();
        let cargo = ChainLink {
            pid: 2,
            exe: Some("/t/bin/cargo".into()),
            argv: vec!["cargo".into(), "build".into()],
        };
        compiled.note(
            &MonitorEvent {
                syscall: "execve".into(),
                path: Some("/t/bin/rustc".into()),
                argv: [
                    "rustc",
                    "--crate-name",
                    "evasion_app",
                    "-C",
                    "extra-filename=-2222222222222222",
                    "--extern",
                    "evasion_macro=/t/target/debug/deps/libevasion_macro-4444444444444444.so",
                ]
                .map(String::from)
                .to_vec(),
                chain: vec![
                    ChainLink {
                        pid: 9,
                        ..cargo.clone()
                    },
                    cargo,
                ],
                ..MonitorEvent::default()
            },
            &versions,
        );
        let alerts = scan(&t, since, &c, &compiled, &versions, 1);
        let got: Vec<(String, String, String)> = alerts
            .iter()
            .map(|a| {
                (
                    a.actor.describe(),
                    a.target.rsplit('/').next().unwrap().to_string(),
                    a.evidence[0].split(' ').nth(1).unwrap().to_string(),
                )
            })
            .collect();
        let want = |who: &str, file: &str, canary: &str| {
            assert!(
                got.contains(&(who.into(), file.into(), canary.into())),
                "{who} {file} {canary}: {got:#?}"
            );
        };
        want(
            "build script of evasion-build 0.1.0",
            "output",
            "AWS_SECRET_ACCESS_KEY",
        );
        want(
            "build script of evasion-build 0.1.0",
            "libevasion_build-1111111111111111.rlib",
            "AWS_SECRET_ACCESS_KEY",
        );
        want(
            "build script of evasion-build 0.1.0",
            "evasion-app",
            "AWS_SECRET_ACCESS_KEY",
        );
        want(
            "proc-macro evasion-macro 0.1.0 (expanding in evasion-app)",
            "evasion-app",
            "GITHUB_TOKEN",
        );
        assert_eq!(
            alerts.len(),
            4,
            "one file per hard link, nothing in clean files"
        );
        assert!(alerts.iter().all(|a| a.severity == Severity::Critical
            && a.code == codes::SECRET_EXFILTRATION.code
            && !a.evidence.join(" ").contains(aws.as_str())));
        // Nothing changed since: nothing read.
        assert!(
            scan(
                &t,
                SystemTime::now() + std::time::Duration::from_secs(60),
                &c,
                &compiled,
                &versions,
                1
            )
            .is_empty()
        );
        // FIFOs and links the build left behind are skipped, never opened (an open of a FIFO
        // blocks until someone writes).
        let fifo = |p: &Path| {
            let made = std::process::Command::new("mkfifo")
                .arg(p)
                .status()
                .unwrap();
            assert!(made.success());
        };
        let trap = t.join("debug/build/trap-00000000deadbeef");
        std::fs::create_dir_all(&trap).unwrap();
        fifo(&trap.join("output"));
        fifo(&deps.join("libtrap-00000000deadbeef.rlib"));
        std::os::unix::fs::symlink("/dev/zero", t.join("debug/zero")).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let (t2, c2, compiled2, versions2) =
            (t.clone(), c.clone(), compiled.clone(), versions.clone());
        std::thread::spawn(move || {
            let _ = tx.send(scan(&t2, since, &c2, &compiled2, &versions2, 1).len());
        });
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(20)),
            Ok(4),
            "the scan returns, with the same finds"
        );
        assert_eq!(crate_of("libfoo_bar-0123456789abcdef.rlib"), "foo_bar");
        assert_eq!(crate_of("app"), "app");
        assert_eq!(crate_of("app-0123456789abcdef"), "app");
    }
}
