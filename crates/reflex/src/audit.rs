//! `audit`: the Evaluation stage. Reads the workspace (or a lone lockfile), loads the advisory
//! database and registry index data, runs every audit check and returns the report.

use crate::analysis::crate_analysis::analyze_graph;
use crate::checks::{self, Context, Sink};
use crate::error::Result;
use crate::finding::{CheckRun, Severity};
use crate::graph::Graph;
use crate::graph::workspace::Workspace;
use crate::policy::Policy;
use crate::report::{Report, Target};
use crate::review::{LockInput, LockfileDelta, ReviewInputs};
use crate::sources::advisory_db::{self, Scope};
use crate::sources::cargo_config;
use crate::sources::crate_store::CrateStore;
use crate::sources::popularity::Popularity;
use crate::sources::registry_index::{IndexAnswers, IndexConfig, RegistryIndex};
use crate::time::Clock;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Everything that varies between runs is a parameter here.
#[derive(Clone, Debug)]
pub struct AuditOptions {
    pub cwd: PathBuf,
    pub manifest_path: Option<PathBuf>,
    /// Lockfile-only mode: audit this lockfile (`-` for stdin) without a workspace.
    pub lockfile: Option<PathBuf>,
    pub advisory_db: Option<PathBuf>,
    pub cache_dir: Option<PathBuf>,
    pub index: IndexConfig,
    pub check_yanked: bool,
    /// `--env`: the environment to inspect.
    pub env: Option<Vec<(String, String)>>,
    pub home: Option<PathBuf>,
    pub proc_root: PathBuf,
    pub clock: Clock,
    pub deny: Option<Severity>,
    pub db_stale_days: i64,
    /// Refresh the cached advisory database clone (git) when it is older than
    /// `db_refresh_after`; `None` never touches the network for it.
    pub db_refresh: Option<DbRefresh>,
    /// `recon`: popularity corpus file instead of the embedded one.
    pub popular: Option<PathBuf>,
    /// `recon`: a crate with no release for this many days is stale.
    pub stale_after_days: i64,
    /// `recon`: name prefixes of the organisation's internal crates.
    pub internal_prefixes: Vec<String>,
    /// `recon`: popular crates ranked at or above this are typosquat targets.
    pub typosquat_target_rank: u32,
    /// `recon`: read `.crate` archives (build-time code, unsafe, hostile archives).
    pub read_archives: bool,
    /// `-D/-W/-A <code>`.
    pub overrides: crate::report::CodeOverrides,
    /// `--deny` was given: it wins over the policy's `deny-level`.
    pub deny_from_cli: bool,
    /// `review`, `gate --base`: the two lockfiles to compare (base, head).
    pub compare: Option<(LockInput, LockInput)>,
    /// `review`: incoming versions younger than this many days are flagged.
    pub young_days: i64,
    /// `gate`: the policy file (default: `reflex.toml` at the workspace root).
    pub policy: Option<PathBuf>,
    /// `gate`: a policy already in memory (init's starter rules); wins over `policy`.
    pub policy_rules: Option<Policy>,
    /// `gate --base-file`: the policy the change started from (with `--base REV` it is read
    /// from that revision).
    pub base_policy: Option<PathBuf>,
}

/// Where and how often `audit` refreshes the advisory database.
#[derive(Clone, Debug)]
pub struct DbRefresh {
    pub url: String,
    pub after: std::time::Duration,
}

impl AuditOptions {
    pub fn new(cwd: PathBuf) -> AuditOptions {
        AuditOptions {
            cwd,
            manifest_path: None,
            lockfile: None,
            advisory_db: None,
            cache_dir: advisory_db::default_cache_dir(),
            index: IndexConfig::default(),
            check_yanked: true,
            env: None,
            home: std::env::var_os("HOME").map(PathBuf::from),
            proc_root: PathBuf::from("/proc"),
            clock: Clock::system(),
            deny: Some(Severity::High),
            db_stale_days: 90,
            db_refresh: None,
            popular: None,
            stale_after_days: 730,
            internal_prefixes: Vec::new(),
            typosquat_target_rank: crate::checks::typosquat::DEFAULT_TARGET_RANK,
            read_archives: true,
            overrides: Default::default(),
            deny_from_cli: false,
            compare: None,
            young_days: 7,
            policy: None,
            policy_rules: None,
            base_policy: None,
        }
    }
}

/// Progress of long steps: (what, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, usize, usize) + Sync);

/// `audit`: advisories, yanked crates, lockfile hygiene, cargo config, CI, build environment.
pub fn audit(opts: &AuditOptions, progress: Progress<'_>) -> Result<Report> {
    run("audit", checks::audit_checks(), opts, progress)
}

/// `recon`: freshness, takeover targets, typosquats, dependency confusion, advisories.
pub fn recon(opts: &AuditOptions, progress: Progress<'_>) -> Result<Report> {
    run("recon", checks::recon_checks(), opts, progress)
}

/// `review`: every change between two lockfiles (default: `HEAD` against the working tree),
/// with the risk signals of what arrives and the code that changed.
pub fn review(opts: &AuditOptions, progress: Progress<'_>) -> Result<Report> {
    let mut opts = opts.clone();
    if opts.compare.is_none() {
        opts.compare = Some(crate::review::parse_range(None));
    }
    run("review", checks::review_checks(), &opts, progress)
}

/// `gate`: audit, recon, the policy's rules and (with a base) review, under the policy.
pub fn gate(opts: &AuditOptions, progress: Progress<'_>) -> Result<Report> {
    run(
        "gate",
        checks::gate_checks(opts.compare.is_some()),
        opts,
        progress,
    )
}

fn run(
    command: &'static str,
    checks: Vec<&'static dyn checks::Check>,
    opts: &AuditOptions,
    progress: Progress<'_>,
) -> Result<Report> {
    let recon = matches!(command, "recon" | "review" | "gate");
    let known: Vec<&str> = checks::all_codes()
        .into_iter()
        .map(|(_, s)| s.code)
        .collect();
    opts.overrides.validate(&known).map_err(|e| {
        crate::Error::Usage(
            e,
            Some("`cargo reflex <command> --help`; every code is listed in the README".into()),
        )
    })?;
    let (workspace, mut graph) = match &opts.lockfile {
        Some(path) => (None, Some(Graph::load_as(&resolve(&opts.cwd, path), path)?)),
        None => {
            let manifest = opts.manifest_path.as_ref().map(|p| resolve(&opts.cwd, p));
            let ws = Workspace::discover(manifest.as_deref(), &opts.cwd)?;
            let lock = ws.lockfile_path();
            let graph = if lock.is_file() {
                Some(Graph::load(&lock)?)
            } else {
                None
            };
            (Some(ws), graph)
        }
    };
    let lock_path = match (&workspace, &opts.lockfile) {
        (Some(ws), _) => ws.lockfile_path(),
        (None, Some(p)) => resolve(&opts.cwd, p),
        (None, None) => opts.cwd.join("Cargo.lock"),
    };
    // `review A..B`: the head is a revision, not the working tree.
    let mut base_graph = None;
    let mut compare_labels = None;
    if let Some((base, head)) = &opts.compare {
        if *head != LockInput::WorkingTree {
            graph = crate::review::load(head, &lock_path, &opts.cwd)?;
            if graph.is_none() {
                return Err(crate::Error::Usage(
                    format!(
                        "{} has no lockfile at {}",
                        head.label(),
                        lock_path.display()
                    ),
                    None,
                ));
            }
        } else if graph.is_none() {
            return Err(crate::Error::Usage(
                format!(
                    "no lockfile to review: {} does not exist",
                    lock_path.display()
                ),
                Some("run `cargo generate-lockfile`, or pass --head-file".into()),
            ));
        }
        base_graph = Some(crate::review::load(base, &lock_path, &opts.cwd)?);
        compare_labels = Some((base.label(), head.label()));
    }
    let mut policy_loosened = Vec::new();
    let policy = if command == "gate" {
        let root = workspace
            .as_ref()
            .map_or(opts.cwd.clone(), |w| w.root.clone());
        let policy_path = opts.policy.as_ref().map_or_else(
            || root.join(crate::policy::FILE_NAME),
            |p| resolve(&opts.cwd, p),
        );
        let policy = match (&opts.policy_rules, &opts.policy) {
            (Some(rules), _) => rules.clone(),
            (None, Some(_)) => Policy::load(&policy_path)?,
            (None, None) => Policy::discover(&root)?.unwrap_or_default(),
        };
        // A change is judged by the policy it started from (no self-approval).
        let base_policy = match (&opts.base_policy, &opts.compare, &opts.policy_rules) {
            (_, _, Some(_)) => None,
            (Some(file), _, _) => Some(Policy::load(&resolve(&opts.cwd, file))?),
            (None, Some((base @ LockInput::Revision(_), _)), None) => {
                Some(crate::review::policy_at(base, &policy_path, &opts.cwd)?.unwrap_or_default())
            }
            _ => None,
        };
        Some(match base_policy {
            Some(base) => {
                let (judging, loosened) = crate::policy::loosening::judging_policy(&base, &policy);
                policy_loosened = loosened;
                judging
            }
            None => policy,
        })
    } else {
        None
    };
    let configs = match &workspace {
        Some(ws) => cargo_config::load_all(&ws.root, opts.index.cargo_home.as_deref())?,
        None => Vec::new(),
    };
    let ci_root = workspace.as_ref().map(|ws| repository_root(&ws.root));
    let wanted: BTreeSet<String> = graph
        .as_ref()
        .map(|g| g.packages().iter().map(|p| p.name.to_string()).collect())
        .unwrap_or_default();
    let mut db_refresh_error = None;
    if let (None, Some(refresh), Some(cache)) =
        (&opts.advisory_db, &opts.db_refresh, &opts.cache_dir)
        && advisory_db::needs_refresh(cache, refresh.after)
    {
        progress("advisory database", 0, 1);
        if let Err(e) = advisory_db::fetch(&refresh.url, cache) {
            db_refresh_error = Some(e.to_string());
        }
    }
    let db = advisory_db::select(
        opts.advisory_db.as_deref(),
        opts.cache_dir.as_deref(),
        Scope::Crates(&wanted),
    )?;

    let mut index_config = opts.index.clone();
    if index_config.cache_dir.is_none() {
        index_config.cache_dir = opts.cache_dir.clone();
    }
    // A mirror that replaces crates.io in cargo's config is where cargo itself looks.
    index_config.detailed = recon;
    if index_config.crates_io_url.is_none() {
        index_config.crates_io_url = cargo_config::crates_io_replacement(&configs);
    }
    // Review: what changed, before anything is looked up (review looks up only that).
    let delta = match (&base_graph, &graph) {
        (Some(base), Some(head)) => {
            let empty = Graph::parse(Path::new("(no lockfile)"), "version = 4\n".into())?;
            Some(LockfileDelta::between(
                base.as_ref().unwrap_or(&empty),
                head,
            ))
        }
        _ => None,
    };
    let incoming = delta.as_ref().map(LockfileDelta::incoming);
    let scope = incoming.as_ref().filter(|_| command == "review");
    let mut index_unavailable = None;
    let index = match (&graph, opts.check_yanked) {
        (Some(g), true) => {
            // One index per registry: crates.io, and every alternative registry in the graph.
            let mut by_registry: std::collections::BTreeMap<Option<String>, Vec<String>> =
                Default::default();
            for (i, p) in g.packages().iter().enumerate() {
                if scope.is_some_and(|s| !s.contains(&i)) {
                    continue;
                }
                match g.registry(i) {
                    Some(key) => by_registry.entry(key).or_default().push(p.name.to_string()),
                    // Dependency confusion: does the public registry have this name too?
                    None if recon => by_registry
                        .entry(None)
                        .or_default()
                        .push(p.name.to_string()),
                    None => {}
                }
                if recon && matches!(g.registry(i), Some(Some(_))) {
                    by_registry
                        .entry(None)
                        .or_default()
                        .push(p.name.to_string());
                }
            }
            // The lockfile's versions: a cached entry that does not list them is stale.
            let mut locked: std::collections::HashMap<
                _,
                std::collections::HashMap<String, Vec<String>>,
            > = Default::default();
            for (i, p) in g.packages().iter().enumerate() {
                if let Some(key) = g.registry(i) {
                    locked
                        .entry(key)
                        .or_default()
                        .entry(p.name.to_string())
                        .or_default()
                        .push(p.version.to_string());
                }
            }
            let mut answers = IndexAnswers::default();
            for (registry, mut names) in by_registry {
                names.sort();
                names.dedup();
                let mut index = RegistryIndex::new(index_config.clone(), registry.as_deref());
                index.require_versions(locked.remove(&registry).unwrap_or_default());
                let report = |done: usize, total: usize| progress("registry index", done, total);
                answers.extend(registry.as_deref(), index.lookup_many(&names, &report));
            }
            Some(answers)
        }
        (Some(_), false) => {
            index_unavailable = Some("disabled with --no-yanked".into());
            None
        }
        (None, _) => None,
    };

    let analyses = match (&graph, recon && opts.read_archives && command != "review") {
        (Some(g), true) => {
            let store = store(opts, &index_config);
            let report = |done: usize, total: usize| progress("crate archives", done, total);
            Some(analyze_graph(
                g,
                &store,
                opts.cache_dir.as_deref(),
                workers(&store),
                &report,
            ))
        }
        _ => None,
    };
    // Review: the code of both sides of every change.
    let review_inputs = match (base_graph, &graph, &compare_labels, delta) {
        (Some(base), Some(head), Some((base_label, head_label)), Some(delta)) => {
            let store = store(opts, &index_config);
            let report = |done: usize, total: usize| progress("crate archives", done, total);
            let code = if opts.read_archives {
                crate::review::read_code(
                    &delta,
                    base.as_ref(),
                    head,
                    &store,
                    opts.cache_dir.as_deref(),
                    workers(&store),
                    &report,
                )
            } else {
                vec![Default::default(); delta.changes.len()]
            };
            Some(ReviewInputs {
                base,
                base_label: base_label.clone(),
                head_label: head_label.clone(),
                delta,
                code,
                young_days: opts.young_days,
            })
        }
        _ => None,
    };
    let analyses = match (command, &review_inputs) {
        ("review", Some(r)) => Some(crate::review::head_analyses(r)),
        _ => analyses,
    };
    let popularity = match (recon, &opts.popular) {
        (false, _) => None,
        (true, Some(path)) => Some(Arc::new(Popularity::load(&resolve(&opts.cwd, path))?)),
        (true, None) => Some(Arc::new(Popularity::embedded())),
    };
    let prefixes;
    let internal_prefixes: &[String] = match &policy {
        Some(p) if !p.internal_prefixes.is_empty() => {
            prefixes = [opts.internal_prefixes.clone(), p.internal_prefixes.clone()].concat();
            &prefixes
        }
        _ => &opts.internal_prefixes,
    };
    let cx = Context {
        clock: opts.clock,
        graph: graph.as_ref(),
        workspace: workspace.as_ref(),
        db: Some(&db),
        index: index.as_ref(),
        index_unavailable,
        db_refresh_error,
        cargo_configs: &configs,
        ci_root,
        env: opts.env.as_deref(),
        home: opts.home.clone(),
        db_stale_days: opts.db_stale_days,
        proc_root: opts.proc_root.clone(),
        popularity: popularity.as_ref(),
        typosquat_target_rank: opts.typosquat_target_rank,
        stale_after_days: opts.stale_after_days,
        internal_prefixes,
        analyses: analyses.as_ref(),
        policy: policy.as_ref(),
        incoming: if command == "gate" {
            incoming.as_ref()
        } else {
            None
        },
        scope,
        review: review_inputs.as_ref(),
        policy_loosened: &policy_loosened,
    };
    let mut sink = Sink::default();
    let mut runs = Vec::new();
    for check in checks {
        let status = check.run(&cx, &mut sink);
        runs.push(CheckRun {
            name: check.name(),
            status,
        });
    }
    if let (Some(g), Some(a)) = (&graph, &analyses) {
        mark_not_built(&mut sink.findings, g, workspace.as_ref(), a);
    }

    let mut report = Report::new(command, opts.clock.rfc3339());
    report.target = Target {
        workspace_root: workspace.as_ref().map(|w| w.root.display().to_string()),
        lockfile: graph.as_ref().map(|g| g.path.display().to_string()),
        lockfile_version: graph.as_ref().map(|g| g.version),
        package_count: graph.as_ref().map_or(0, Graph::len),
    };
    report.advisory_db = Some(db.info());
    report.ci = sink.ci;
    report.crates = sink.crates;
    report.metrics = sink.metrics;
    if let Some(m) = &mut report.metrics {
        annotate(&mut report.crates, &sink.findings, m);
    }
    if command == "gate" {
        // The gate is a verdict, not an inventory: recon's crate table stays in recon.
        report.crates.clear();
    }
    report.checks = runs;
    report.findings = sink.findings;
    report.review = sink.review;
    relativize(&mut report, &opts.cwd);
    let mut deny = opts.deny;
    if let Some(p) = &policy {
        p.apply(&mut report, opts.clock.today());
        if !opts.deny_from_cli {
            deny = p.deny_level;
        }
        report.policy = Some(crate::report::PolicyInfo {
            path: p
                .path
                .as_ref()
                .map(|x| x.strip_prefix(&opts.cwd).unwrap_or(x).display().to_string()),
            deny_level: deny,
            exceptions: p.exceptions.len(),
            trust_records: p.trust.len(),
        });
    }
    report.apply_overrides(&opts.overrides);
    Ok(report.finish(deny))
}

fn store(opts: &AuditOptions, index_config: &IndexConfig) -> CrateStore {
    let index_url = opts.index.online.then(|| {
        index_config
            .crates_io_url
            .clone()
            .unwrap_or_else(|| tame_index::CRATES_IO_HTTP_INDEX.to_string())
    });
    CrateStore::new(
        opts.index.cargo_home.clone(),
        opts.cache_dir.clone(),
        index_url.as_deref(),
        opts.index.timeout,
    )
}

/// Parsing is CPU-bound; downloads wait on the network, so online runs use more workers.
fn workers(store: &CrateStore) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    if store.online() { cores * 4 } else { cores }
}

/// Puts each finding's code on its crate's row and counts suspects for the metrics.
fn annotate(
    rows: &mut [crate::checks::recon_table::CrateRow],
    findings: &[crate::finding::Finding],
    m: &mut crate::checks::recon_table::ReconMetrics,
) {
    let distinct = |codes: &[&str]| -> usize {
        let set: BTreeSet<(String, String)> = findings
            .iter()
            .filter(|f| codes.contains(&f.code))
            .filter_map(|f| {
                f.package
                    .as_ref()
                    .map(|p| (p.name.clone(), p.version.clone()))
            })
            .collect();
        set.len()
    };
    m.vulnerable = distinct(&["advisory-vulnerability", "advisory-malicious"]);
    m.unmaintained = distinct(&["advisory-unmaintained", "unmaintained-suspect"]);
    m.typosquat_suspects = distinct(&["typosquat-suspect"]);
    m.confusion_suspects =
        distinct(&["dependency-confusion", "internal-name-from-public-registry"]);
    for row in rows {
        for f in findings {
            if f.package
                .as_ref()
                .is_some_and(|p| p.name == row.name && p.version == row.version)
                && !row.flags.iter().any(|c| c == f.code)
            {
                row.flags.push(f.code.to_string());
            }
        }
    }
}

/// Paths in the report relative to the working directory, as a user would type them.
fn relativize(report: &mut Report, cwd: &Path) {
    let rel = |p: &str| -> String {
        match Path::new(p).strip_prefix(cwd) {
            Ok(r) if r.as_os_str().is_empty() => ".".into(),
            Ok(r) => r.display().to_string(),
            Err(_) => p.to_string(),
        }
    };
    let prefix = format!("{}/", cwd.display());
    for f in &mut report.findings {
        if let Some(loc) = &mut f.location {
            loc.path = rel(&loc.path);
        }
        for e in &mut f.evidence {
            if e.contains(&prefix) {
                *e = e.replace(&prefix, "");
            }
        }
    }
    let t = &mut report.target;
    t.lockfile = t.lockfile.as_deref().map(rel);
    t.workspace_root = t.workspace_root.as_deref().map(rel);
}

fn resolve(cwd: &Path, p: &Path) -> PathBuf {
    if p == Path::new("-") || p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    }
}

/// Where the CI files live: the nearest directory from `dir` up to the git work tree root
/// that holds `.github/workflows` or `.gitlab-ci.yml`; else the work tree root, else `dir`.
fn repository_root(dir: &Path) -> PathBuf {
    for d in dir.ancestors() {
        if d.join(".github").join("workflows").is_dir() || d.join(".gitlab-ci.yml").is_file() {
            return d.to_path_buf();
        }
        if d.join(".git").exists() {
            return d.to_path_buf();
        }
    }
    dir.to_path_buf()
}

/// Findings about packages this platform never builds say so. Their severity stays: the same
/// lockfile builds on the team's other platforms, and an attack aimed at Windows developers
/// must not pass a Linux CI gate.
fn mark_not_built(
    findings: &mut [crate::finding::Finding],
    graph: &Graph,
    workspace: Option<&crate::graph::workspace::Workspace>,
    analyses: &std::collections::HashMap<
        usize,
        std::result::Result<crate::analysis::crate_analysis::CrateAnalysis, String>,
    >,
) {
    let (target, cfgs) = crate::graph::platform::host();
    let only = |i: usize| match analyses.get(&i) {
        Some(Ok(a)) => Some(a.target_only_deps.clone()),
        _ => None,
    };
    let skipped = crate::graph::platform::not_built(graph, workspace, &only, &target, &cfgs);
    if skipped.is_empty() {
        return;
    }
    for f in findings.iter_mut() {
        let Some(i) = f
            .package
            .as_ref()
            .and_then(|p| graph.find(&p.name, &p.version))
        else {
            continue;
        };
        let Some(why) = skipped.get(&i) else { continue };
        f.evidence.push(format!("not built for {target}: {why}"));
    }
}
