//! Code that runs at build time, read from each crate's `.crate` archive: build scripts,
//! proc-macros, native links and shipped binaries, what that code can do (environment,
//! network, processes, file writes, obfuscation), unsafe counts, and hostile archives.

use super::{Check, Context, Needs, Sink};
use crate::analysis::crate_analysis::CrateAnalysis;
use crate::finding::{CheckStatus, CodeSpec, Finding, Severity};
use crate::sources::crate_archive::Problem;

pub struct BuildTime;

const NAME: &str = "build-time";

pub const CHECKSUM: CodeSpec = CodeSpec::new(
    "archive-checksum-mismatch",
    Severity::Critical,
    "the crate archive does not match the checksum in Cargo.lock: it was tampered with or substituted",
).never_baseline();
pub const HOSTILE: CodeSpec = CodeSpec::new(
    "archive-hostile",
    Severity::High,
    "the crate archive is malformed or hostile (path traversal, links, absurd size or compression, truncation)",
).never_baseline();
pub const NATIVE_BINARY: CodeSpec = CodeSpec::new(
    "native-binary",
    Severity::Low,
    "the crate ships precompiled binaries or executable scripts, which no review of its source covers",
).varies(&[Severity::Info]).trust_covers();
pub const SECRET_READ: CodeSpec = CodeSpec::new(
    "build-time-secret-read",
    Severity::High,
    "build-time code reads secret-looking environment variables or credential files",
)
.trust_covers();
pub const NETWORK: CodeSpec = CodeSpec::new(
    "build-time-network",
    Severity::Medium,
    "build-time code uses the network (sockets, DNS, HTTP crates)",
)
.trust_covers();
pub const PROCESS: CodeSpec = CodeSpec::new(
    "build-time-process",
    Severity::Low,
    "build-time code spawns processes",
)
.varies(&[Severity::Info])
.trust_covers();
pub const FILE_WRITE: CodeSpec = CodeSpec::new(
    "build-time-file-write",
    Severity::Low,
    "build-time code writes files, and not visibly only into OUT_DIR",
)
.varies(&[Severity::Medium])
.trust_covers();
pub const OBFUSCATION: CodeSpec = CodeSpec::new(
    "build-time-obfuscation",
    Severity::Medium,
    "build-time code embeds long encoded literals or binary blobs",
)
.trust_covers();
pub const ARCHIVE_UNAVAILABLE: CodeSpec = CodeSpec::new(
    "archive-unavailable",
    Severity::Low,
    "some crate archives could not be read, so their build-time code and unsafe are unknown",
);

static CODES: [CodeSpec; 9] = [
    CHECKSUM,
    HOSTILE,
    NATIVE_BINARY,
    SECRET_READ,
    NETWORK,
    PROCESS,
    FILE_WRITE,
    OBFUSCATION,
    ARCHIVE_UNAVAILABLE,
];

impl Check for BuildTime {
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
        let mut unavailable = Vec::new();
        let mut indexes: Vec<&usize> = analyses.keys().collect();
        indexes.sort();
        for &i in indexes {
            let label = graph.label(i);
            let a = match &analyses[&i] {
                Ok(a) => a,
                Err(why) => {
                    unavailable.push((label, why.clone()));
                    continue;
                }
            };
            let at = |spec: &'static CodeSpec, title: String| {
                Finding::new(NAME, spec, title)
                    .package(graph.package_ref(i))
                    .via(graph.via(i))
                    .at(graph.path.display().to_string(), graph.line_of(i))
            };
            for p in &a.problems {
                let f = match p {
                    Problem::ChecksumMismatch { .. } => at(&CHECKSUM, format!("{label}: archive does not match Cargo.lock")).remedy(
                        "do not build: delete the cached archive, fetch it again from the registry and compare; report a mismatch that persists",
                    ),
                    _ => at(&HOSTILE, format!("{label}: hostile or broken archive")).remedy("do not build it; report the crate to the registry"),
                };
                out.push(
                    f.evidence(p.to_string())
                        .evidence(format!("archive from {}", a.from)),
                );
            }
            if !a.native_files.is_empty() {
                let binaries = a.native_files.iter().filter(|(_, k)| k.is_native()).count();
                let mut f = at(
                    &NATIVE_BINARY,
                    format!(
                        "{label} ships {} native binaries and {} executable scripts",
                        binaries,
                        a.native_files.len() - binaries
                    ),
                );
                if binaries == 0 {
                    f = f.severity(Severity::Info);
                }
                for (path, kind) in a.native_files.iter().take(5) {
                    f = f.evidence(format!("{path} ({kind:?})"));
                }
                out.push(legitimate(
                    f,
                    "find out why; prefer building from source, and build it sandboxed",
                ));
            }
            if let Some(c) = &a.capabilities {
                capability_findings(&label, a, c, &at, out);
            }
            if let Some(row) = out.crates.iter_mut().find(|r| {
                r.name == graph.packages()[i].name.as_str()
                    && r.version == graph.packages()[i].version.to_string()
            }) {
                row.build_script = Some(a.build_script.is_some());
                row.proc_macro = Some(a.proc_macro);
                row.links = a.links.clone();
                row.native_files = Some(a.native_files.len());
                row.unsafe_total = Some(a.unsafe_counts.total());
                row.forbids_unsafe = Some(a.forbids_unsafe);
            }
        }
        if let Some(m) = &mut out.metrics {
            let ok: Vec<&CrateAnalysis> =
                analyses.values().filter_map(|r| r.as_ref().ok()).collect();
            m.archives_read = ok.len();
            m.build_time_code = ok
                .iter()
                .filter(|a| a.build_script.is_some() || a.proc_macro)
                .count();
            m.with_unsafe = ok.iter().filter(|a| a.unsafe_counts.total() > 0).count();
            m.forbid_unsafe = ok.iter().filter(|a| a.forbids_unsafe).count();
        }
        if unavailable.is_empty() {
            return CheckStatus::Ran;
        }
        let names: Vec<&str> = unavailable
            .iter()
            .take(10)
            .map(|(n, _)| n.as_str())
            .collect();
        let mut reasons: Vec<&str> = unavailable.iter().map(|(_, r)| r.as_str()).collect();
        reasons.sort_unstable();
        reasons.dedup();
        let mut f = Finding::new(
            NAME,
            &ARCHIVE_UNAVAILABLE,
            format!(
                "archives unavailable for {} of {} registry crates",
                unavailable.len(),
                analyses.len()
            ),
        )
        .evidence(format!(
            "{}{}",
            names.join(", "),
            if unavailable.len() > 10 {
                format!(" and {} more", unavailable.len() - 10)
            } else {
                String::new()
            }
        ));
        for r in reasons.iter().take(3) {
            f = f.evidence(format!("reason: {r}"));
        }
        out.push(
            f.remedy("run `cargo fetch --locked` (archives land in cargo's cache) or run online"),
        );
        CheckStatus::Partial {
            reason: format!("{} archives unavailable", unavailable.len()),
        }
    }
}

fn capability_findings(
    label: &str,
    a: &CrateAnalysis,
    c: &crate::analysis::capabilities::Capabilities,
    at: &dyn Fn(&'static CodeSpec, String) -> Finding,
    out: &mut Sink,
) {
    let what = match (&a.build_script, a.proc_macro) {
        (Some(b), true) => format!("{label}: build script ({b}) and proc-macro"),
        (Some(b), false) => format!("{label}: build script ({b})"),
        (None, _) => format!("{label}: proc-macro"),
    };
    let secrets = c.secret_reads();
    if !secrets.is_empty() || !c.sensitive_paths.is_empty() {
        let mut f = at(&SECRET_READ, format!("{what} reads secrets"));
        if !secrets.is_empty() {
            f = f.evidence(format!("environment: {}", secrets.join(", ")));
        }
        for p in c.sensitive_paths.iter().take(5) {
            f = f.evidence(format!("names the path {p:?}"));
        }
        out.push(legitimate(
            f,
            "treat the crate as hostile until reviewed; build only in the sandbox without secrets",
        ));
    }
    if !c.network.is_empty() {
        let mut f = at(&NETWORK, format!("{what} uses the network"));
        for n in c.network.iter().take(5) {
            f = f.evidence(n.clone());
        }
        for u in c.urls.iter().take(3) {
            f = f.evidence(format!("URL: {u}"));
        }
        out.push(legitimate(f, "a build should not need the network: fetch first, then build offline (`cargo reflex build`)"));
    }
    if !c.processes.is_empty() {
        // `Command::new(env::var("RUSTC"))`: the compiler version probe most build scripts do.
        let rustc_probe =
            c.env_reads.contains("RUSTC") && c.processes.iter().all(|p| !p.contains("(\""));
        let mut f = at(&PROCESS, format!("{what} spawns processes"));
        if rustc_probe {
            f = f
                .severity(Severity::Info)
                .evidence("reads RUSTC: probably the usual compiler version probe");
        }
        for p in c.processes.iter().take(5) {
            f = f.evidence(p.clone());
        }
        out.push(legitimate(
            f,
            "check which programs it runs and with what arguments",
        ));
    }
    if !c.file_writes.is_empty() && (!c.uses_out_dir || !c.sensitive_paths.is_empty()) {
        let mut f = at(
            &FILE_WRITE,
            format!("{what} writes files without confining them to OUT_DIR"),
        );
        if !c.sensitive_paths.is_empty() {
            f = f.severity(Severity::Medium);
        }
        for w in c.file_writes.iter().take(5) {
            f = f.evidence(w.clone());
        }
        out.push(legitimate(f, "build scripts should write only under OUT_DIR; build in the sandbox, which makes everything else read-only"));
    }
    if !c.obfuscation.is_empty() {
        let mut f = at(&OBFUSCATION, format!("{what} embeds encoded data"));
        for o in c.obfuscation.iter().take(5) {
            f = f.evidence(o.clone());
        }
        out.push(legitimate(f, "decode and review the data before building"));
    }
    if c.env_dump {
        out.push(legitimate(
            at(&PROCESS, format!("{what} reads every environment variable"))
                .evidence("`std::env::vars()`"),
            "check what it does with them; keep secrets out of the build environment",
        ));
    }
}

/// `first`, then the trust record that clears the finding when a review finds the behaviour
/// legitimate (the build-time allowlist does not: it approves running code, not what it does).
fn legitimate(f: Finding, first: &str) -> Finding {
    super::remedy_with_approval(
        f,
        first,
        "; if a review finds it legitimate, approve this version",
    )
}
