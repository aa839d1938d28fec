//! Review signals for each change of a lockfile: new crates and who brought them, young
//! versions, new or changed build-time code and what it newly can do, native binaries, unsafe
//! growth, source moves, downgrades, advisories fixed. Also fills the report's change table.

use super::{Check, Context, Needs, Sink, behaviour};
use crate::analysis::capabilities::Capabilities;
use crate::analysis::crate_analysis::CrateAnalysis;
use crate::finding::{CheckStatus, CodeSpec, Finding, PackageRef, Severity};
use crate::review::{ChangeCode, ChangeKind};
use crate::review::{ChangeRow, ReviewSection};
use std::collections::BTreeSet;

pub struct Review;

const NAME: &str = "review";

pub const NEW_CRATE: CodeSpec = CodeSpec::new(
    "review-new-crate",
    Severity::Low,
    "a crate enters the dependency graph",
);
pub const YOUNG: CodeSpec = CodeSpec::new(
    "review-version-young",
    Severity::Medium,
    "an incoming version was published only days ago (hijacked releases are young)",
)
.trust_covers();
pub const BUILD_SCRIPT_ADDED: CodeSpec = CodeSpec::new(
    "review-build-script-added",
    Severity::Low,
    "an incoming version has a build script its predecessor did not have (or a new crate has one); what the script does decides the risk",
).varies(&[Severity::Critical]).trust_covers();
pub const BUILD_SCRIPT_CHANGED: CodeSpec = CodeSpec::new(
    "review-build-script-changed",
    Severity::Low,
    "an incoming version changes its build script",
)
.trust_covers();
pub const PROC_MACRO_ADDED: CodeSpec = CodeSpec::new(
    "review-proc-macro-added",
    Severity::Low,
    "an incoming version is a proc-macro its predecessor was not (or a new proc-macro crate); what its code does decides the risk",
).trust_covers();
pub const PROC_MACRO_CHANGED: CodeSpec = CodeSpec::new(
    "review-proc-macro-changed",
    Severity::Low,
    "an incoming version changes proc-macro code that runs inside rustc",
)
.trust_covers();
pub const CAPABILITY_ADDED: CodeSpec = CodeSpec::new(
    "review-capability-added",
    Severity::High,
    "build-time code newly reads secrets or the environment, uses the network or spawns processes",
)
.varies(&[Severity::Critical])
.trust_covers();
pub const BEHAVIOUR_ADDED: CodeSpec = CodeSpec::new(
    "review-behaviour-added",
    Severity::High,
    "an upgrade's code newly does something its predecessor never did (network, shells, secrets, decoding, gates), build-time or run-time",
)
.varies(&[Severity::Critical, Severity::Medium])
.trust_covers();
pub const NATIVE_ADDED: CodeSpec = CodeSpec::new(
    "review-native-binary-added",
    Severity::High,
    "an incoming version ships native binaries or scripts its predecessor did not",
)
.trust_covers();
pub const UNSAFE_UP: CodeSpec = CodeSpec::new(
    "review-unsafe-increased",
    Severity::Low,
    "an incoming version has more unsafe code than its predecessor",
)
.trust_covers();
pub const SOURCE_CHANGED: CodeSpec = CodeSpec::new(
    "review-source-changed",
    Severity::Medium,
    "a package moves to another source (registry to git, one registry to another)",
);
pub const DOWNGRADE: CodeSpec = CodeSpec::new(
    "review-downgrade",
    Severity::Low,
    "a package goes back to an older version",
);
pub const CODE_UNAVAILABLE: CodeSpec = CodeSpec::new(
    "review-code-unavailable",
    Severity::Medium,
    "the archive of a changed package could not be read, so its code changes are unknown",
);
pub const ADVISORY_FIXED: CodeSpec = CodeSpec::new(
    "review-advisory-fixed",
    Severity::Info,
    "the change leaves a version with a known advisory behind",
);
pub const NO_BASE: CodeSpec = CodeSpec::new(
    "review-no-base",
    Severity::Medium,
    "the base has no lockfile, so every package is new",
);

static CODES: [CodeSpec; 15] = [
    NEW_CRATE,
    YOUNG,
    BUILD_SCRIPT_ADDED,
    BUILD_SCRIPT_CHANGED,
    PROC_MACRO_ADDED,
    PROC_MACRO_CHANGED,
    CAPABILITY_ADDED,
    BEHAVIOUR_ADDED,
    NATIVE_ADDED,
    UNSAFE_UP,
    SOURCE_CHANGED,
    DOWNGRADE,
    CODE_UNAVAILABLE,
    ADVISORY_FIXED,
    NO_BASE,
];

impl Check for Review {
    fn name(&self) -> &'static str {
        NAME
    }

    fn codes(&self) -> &'static [CodeSpec] {
        &CODES
    }

    fn needs(&self) -> Needs {
        Needs::GRAPH
            .with(Needs::BASE)
            .with(Needs::ADVISORIES)
            .with(Needs::INDEX_DETAILED)
    }

    fn run(&self, cx: &Context<'_>, out: &mut Sink) -> CheckStatus {
        let (Some(inputs), Some(head)) = (cx.review, cx.graph) else {
            return CheckStatus::Skipped {
                reason: "no base to compare with (`--base REV` or `--base-file`)".into(),
            };
        };
        if inputs.base.is_none() {
            out.push(
                Finding::new(
                    NAME,
                    &NO_BASE,
                    format!(
                        "{} has no Cargo.lock: all {} packages are new",
                        inputs.base_label,
                        head.len()
                    ),
                )
                .remedy("review the whole graph (`cargo reflex recon`), then commit the lockfile"),
            );
        }
        let mut unavailable = 0;
        let mut rows = Vec::new();
        for (c, code) in inputs.delta.changes.iter().zip(&inputs.code) {
            let mut found: Vec<Finding> = Vec::new();
            let pkg = |i: Option<usize>| -> Option<PackageRef> {
                match (&c.to, &c.from, &inputs.base) {
                    (Some(t), _, _) => Some(head.package_ref(i.unwrap_or(t.index))),
                    (None, Some(f), Some(b)) => Some(b.package_ref(f.index)),
                    _ => None,
                }
            };
            let mut base_finding = |spec: &'static CodeSpec, title: String| {
                let mut f = Finding::new(NAME, spec, title);
                if let Some(p) = pkg(None) {
                    f = f.package(p);
                }
                if let Some(t) = &c.to {
                    f = f
                        .via(head.via(t.index))
                        .at(head.path.display().to_string(), head.line_of(t.index));
                }
                f
            };
            let label = c.label();
            match c.kind {
                ChangeKind::Added if inputs.base.is_some() => {
                    let by = match (c.moved_by.is_empty(), c.direct.first(), &c.member) {
                        (false, _, _) => c.moved_by.join(", "),
                        (true, Some(d), _) => format!("a change under {d}"),
                        (true, None, Some(m)) => format!("a direct dependency of {m}"),
                        (true, None, None) => "nothing in the workspace (unreachable)".into(),
                    };
                    let mut f = base_finding(&NEW_CRATE, format!("{label} enters the graph, added by {by}"));
                    for m in &c.moved_by {
                        f = f.evidence(format!("{m} adds {label}"));
                    }
                    found.push(f);
                }
                ChangeKind::SourceChanged => {
                    let (a, b) = (c.from.as_ref().map(|s| s.source.clone()), c.to.as_ref().map(|s| s.source.clone()));
                    found.push(
                        base_finding(&SOURCE_CHANGED, format!("{label} changes source"))
                            .evidence(format!("from {}", a.filter(|s| !s.is_empty()).unwrap_or_else(|| "path".into())))
                            .evidence(format!("to {}", b.filter(|s| !s.is_empty()).unwrap_or_else(|| "path".into())))
                            .remedy("make sure the new source is the one you meant (dependency confusion moves crates between registries)"),
                    );
                }
                ChangeKind::Downgraded => found.push(
                    base_finding(&DOWNGRADE, format!("{label} is a downgrade"))
                        .remedy("check that no fix is lost; `cargo update` may have been forced by another constraint"),
                ),
                _ => {}
            }
            // Age of the incoming version.
            let mut age_days = None;
            if let Some(t) = &c.to
                && let Some(registry) = head.registry(t.index)
                && let Some(ts) = cx
                    .index
                    .and_then(|x| x.get(registry.as_deref(), &c.name))
                    .and_then(|l| l.version(&t.version))
                    .and_then(|v| v.published())
            {
                let secs = cx.clock.now().duration_since(ts).as_secs();
                age_days = Some(secs / 86_400);
                if secs < inputs.young_days * 86_400 {
                    let f = base_finding(
                        &YOUNG,
                        format!(
                            "{label} was published {} ago",
                            crate::time::human_duration(secs)
                        ),
                    )
                    .evidence(format!("published {ts}"));
                    found.push(approve_after(
                        f,
                        &format!(
                            "wait until it is {} days old, or read its code changes (`cargo reflex review --diff` shows them)",
                            inputs.young_days
                        ),
                    ));
                }
            }
            code_signals(c.kind, &label, code, &mut base_finding, &mut found);
            if let Some(Err(why)) = &code.code {
                unavailable += 1;
                found.push(
                    base_finding(&CODE_UNAVAILABLE, format!("{label}: code changes unknown"))
                        .evidence(why.clone())
                        .remedy("run online, or `cargo fetch --locked` so cargo's cache holds the archives"),
                );
            }
            let fixed = fixed_advisories(cx, c, inputs.base.as_ref(), head);
            for id in &fixed {
                found.push(base_finding(
                    &ADVISORY_FIXED,
                    format!("{label} leaves {id} behind"),
                ));
            }
            rows.push(ChangeRow {
                change: c.clone(),
                age_days,
                advisories_fixed: fixed,
                code: code.code.as_ref().and_then(|r| r.as_ref().ok()).cloned(),
                risk: None,
                signals: Vec::new(),
            });
            out.findings.extend(found);
        }
        out.review = Some(ReviewSection {
            base: inputs.base_label.clone(),
            head: inputs.head_label.clone(),
            changes: rows,
        });
        if unavailable > 0 {
            return CheckStatus::Partial {
                reason: format!("{unavailable} changes without readable archives"),
            };
        }
        CheckStatus::Ran
    }
}

/// Maker of one change's findings: the code and the title.
type MakeFinding<'a> = &'a mut dyn FnMut(&'static CodeSpec, String) -> Finding;

/// The signals from one change's code: build scripts and proc-macros added or changed and,
/// for an upgrade, capabilities gained, native files added and unsafe grown.
fn code_signals(
    kind: ChangeKind,
    label: &str,
    code: &ChangeCode,
    finding: MakeFinding<'_>,
    found: &mut Vec<Finding>,
) {
    let Some(Ok(new)) = &code.new else { return };
    let old = match &code.old {
        Some(Ok(a)) => Some(a),
        _ => None,
    };
    build_script_signals(label, code, old, new, finding, found);
    proc_macro_signals(label, code, old, new, finding, found);
    let Some(old) = old.filter(|_| kind != ChangeKind::Added) else {
        return;
    };
    capability_signals(label, old, new, finding, found);
    found.extend(behaviour::drift(
        label,
        old,
        new,
        &BEHAVIOUR_ADDED,
        &mut |s, t| finding(s, t),
    ));
    native_file_signals(label, old, new, finding, found);
    unsafe_signals(label, old, new, finding, found);
}

/// Whether the change's code diff touches files of `role` ("build script", "proc-macro
/// source").
fn code_touched(code: &ChangeCode, role: &str) -> bool {
    code.code
        .as_ref()
        .and_then(|r| r.as_ref().ok())
        .is_some_and(|c| c.diffs.iter().any(|d| d.role == role))
}

/// `review-build-script-added` (graded by what the script can do) and
/// `review-build-script-changed`.
fn build_script_signals(
    label: &str,
    code: &ChangeCode,
    old: Option<&CrateAnalysis>,
    new: &CrateAnalysis,
    finding: MakeFinding<'_>,
    found: &mut Vec<Finding>,
) {
    let Some(script) = &new.build_script else {
        return;
    };
    if old.is_none_or(|o| o.build_script.is_none()) {
        let mut f = finding(
            &BUILD_SCRIPT_ADDED,
            format!("{label} adds a build script ({script})"),
        );
        if let Some(caps) = &new.capabilities {
            let s = caps.summary();
            if !s.is_empty() {
                f = f.evidence(format!("it can: {s}"));
            }
            if exfiltration_shape(caps) {
                f = f
                    .severity(Severity::Critical)
                    .evidence("reads secrets and can send them out: the shape of an exfiltration");
            }
        }
        found.push(approve_after(
            f,
            "read the build script (`cargo reflex review --diff` shows it)",
        ));
    } else if code_touched(code, "build script") {
        found.push(approve_after(
            finding(
                &BUILD_SCRIPT_CHANGED,
                format!("{label} changes its build script ({script})"),
            ),
            "read the build script diff (`cargo reflex review --diff` shows it)",
        ));
    }
}

/// `review-proc-macro-added` and `review-proc-macro-changed`.
fn proc_macro_signals(
    label: &str,
    code: &ChangeCode,
    old: Option<&CrateAnalysis>,
    new: &CrateAnalysis,
    finding: MakeFinding<'_>,
    found: &mut Vec<Finding>,
) {
    if !new.proc_macro {
        return;
    }
    if old.is_none_or(|o| !o.proc_macro) {
        found.push(approve_after(
            finding(
                &PROC_MACRO_ADDED,
                format!("{label} is a proc-macro: its code runs inside rustc"),
            ),
            "read its macro code (`cargo reflex review --diff` shows it)",
        ));
    } else if code_touched(code, "proc-macro source") {
        found.push(approve_after(
            finding(
                &PROC_MACRO_CHANGED,
                format!("{label} changes proc-macro code"),
            ),
            "read the proc-macro diff (`cargo reflex review --diff` shows it)",
        ));
    }
}

/// What build-time code can do `after` that it could not `before` (`uses_out_dir` not
/// counted).
fn gained_capabilities(before: &Capabilities, after: &Capabilities) -> Capabilities {
    Capabilities {
        env_reads: after
            .env_reads
            .difference(&before.env_reads)
            .cloned()
            .collect(),
        env_dump: after.env_dump && !before.env_dump,
        network: after.network.difference(&before.network).cloned().collect(),
        processes: after
            .processes
            .difference(&before.processes)
            .cloned()
            .collect(),
        file_writes: after
            .file_writes
            .difference(&before.file_writes)
            .cloned()
            .collect(),
        uses_out_dir: false,
        sensitive_paths: after
            .sensitive_paths
            .difference(&before.sensitive_paths)
            .cloned()
            .collect(),
        obfuscation: after
            .obfuscation
            .difference(&before.obfuscation)
            .cloned()
            .collect(),
        urls: after.urls.difference(&before.urls).cloned().collect(),
    }
}

/// `review-capability-added` for an upgrade whose build-time code gains capabilities.
fn capability_signals(
    label: &str,
    old: &CrateAnalysis,
    new: &CrateAnalysis,
    finding: MakeFinding<'_>,
    found: &mut Vec<Finding>,
) {
    let before = old.capabilities.clone().unwrap_or_default();
    let after = new.capabilities.clone().unwrap_or_default();
    let gained = gained_capabilities(&before, &after);
    let summary = gained.summary();
    let env: Vec<&String> = gained
        .env_reads
        .iter()
        .filter(|v| !v.starts_with("CARGO") && !v.starts_with("OUT_DIR"))
        .collect();
    if summary.is_empty() && env.is_empty() {
        return;
    }
    let exfil =
        (!gained.secret_reads().is_empty() || gained.env_dump) && exfiltration_shape(&after);
    let mut f = finding(
        &CAPABILITY_ADDED,
        format!("{label}: build-time code gains new capabilities"),
    );
    if !summary.is_empty() {
        f = f.evidence(summary);
    }
    if !env.is_empty() {
        f = f.evidence(format!(
            "newly reads env {}",
            env.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if exfil {
        f = f
            .severity(Severity::Critical)
            .evidence("reads secrets and can send them out: the shape of an exfiltration");
    }
    found.push(approve_after(
        f,
        "build inside `cargo reflex build`'s sandbox; read the build-time diff (`cargo reflex review --diff` shows it)",
    ));
}

/// `review-native-binary-added` for an upgrade that ships native files its predecessor did
/// not.
fn native_file_signals(
    label: &str,
    old: &CrateAnalysis,
    new: &CrateAnalysis,
    finding: MakeFinding<'_>,
    found: &mut Vec<Finding>,
) {
    let old_native: BTreeSet<&String> = old.native_files.iter().map(|(p, _)| p).collect();
    let added: Vec<String> = new
        .native_files
        .iter()
        .filter(|(p, _)| !old_native.contains(p))
        .map(|(p, k)| format!("{p} ({k:?})"))
        .collect();
    if !added.is_empty() {
        let mut f = finding(
            &NATIVE_ADDED,
            format!("{label} adds {} native files", added.len()),
        );
        for a in added.iter().take(10) {
            f = f.evidence(a.clone());
        }
        found.push(approve_after(f, "find out what builds or runs them"));
    }
}

/// `review-unsafe-increased` for an upgrade with more unsafe code.
fn unsafe_signals(
    label: &str,
    old: &CrateAnalysis,
    new: &CrateAnalysis,
    finding: MakeFinding<'_>,
    found: &mut Vec<Finding>,
) {
    let (was, now) = (old.unsafe_counts.total(), new.unsafe_counts.total());
    if now > was {
        found.push(
            finding(
                &UNSAFE_UP,
                format!("{label}: unsafe grows from {was} to {now}"),
            )
            .evidence(format!(
                "{} unsafe blocks, {} unsafe functions",
                new.unsafe_counts.blocks, new.unsafe_counts.functions
            )),
        );
    }
}

/// `first`, then the trust record that clears the finding once a human has read the code.
fn approve_after(f: Finding, first: &str) -> Finding {
    super::remedy_with_approval(f, first, ", then approve this version")
}

/// Secrets (or the whole environment) read by code that can also reach the network or spawn.
fn exfiltration_shape(c: &Capabilities) -> bool {
    (!c.secret_reads().is_empty() || c.env_dump)
        && (!c.network.is_empty() || !c.processes.is_empty())
}

/// Advisories of the version left behind that the new version (or removal) no longer has.
fn fixed_advisories(
    cx: &Context<'_>,
    c: &crate::review::Change,
    base: Option<&crate::graph::Graph>,
    head: &crate::graph::Graph,
) -> Vec<String> {
    let (Some(db), Some(from), Some(base)) = (cx.db, &c.from, base) else {
        return Vec::new();
    };
    if base.origin(from.index) != crate::graph::Origin::CratesIo {
        return Vec::new();
    }
    let old = &base.packages()[from.index].version;
    let new = c.to.as_ref().map(|t| &head.packages()[t.index].version);
    db.for_crate(&c.name)
        .filter(|a| a.metadata.withdrawn.is_none() && a.versions.is_vulnerable(old))
        .filter(|a| new.is_none_or(|v| !a.versions.is_vulnerable(v)))
        .map(|a| a.metadata.id.to_string())
        .collect()
}
