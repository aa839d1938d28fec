//! The one loader: builds the inputs the selected checks need (their [`Needs`]) and nothing
//! more.

use super::{Command, CommandOptions, Progress, Scope};
use crate::analysis::crate_analysis::{CrateAnalysis, analyze_graph};
use crate::checks::{Context, Needs};
use crate::error::Result;
use crate::finding::Catalog;
use crate::graph::Graph;
use crate::graph::workspace::Workspace;
use crate::policy::Policy;
use crate::review::{LockInput, LockfileDelta, ReviewInputs};
use crate::sources::advisory_db::{self, AdvisoryDb, Scope as DbScope};
use crate::sources::cargo_config::{self, ConfigFile};
use crate::sources::crate_store::CrateStore;
use crate::sources::popularity::Popularity;
use crate::sources::registry_index::{IndexAnswers, IndexConfig, RegistryIndex};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub type Analyses = HashMap<usize, std::result::Result<CrateAnalysis, String>>;

/// What a command's checks read, owned.
pub struct Inputs {
    pub workspace: Option<Workspace>,
    pub graph: Option<Graph>,
    pub db: AdvisoryDb,
    pub db_refresh_error: Option<String>,
    pub configs: Vec<ConfigFile>,
    pub ci_root: Option<PathBuf>,
    pub index: Option<IndexAnswers>,
    pub index_unavailable: Option<String>,
    pub analyses: Option<Analyses>,
    pub review: Option<ReviewInputs>,
    pub popularity: Option<Arc<Popularity>>,
    pub policy: Option<Policy>,
    pub policy_loosened: Vec<String>,
    /// Head packages that arrive with the change.
    pub incoming: Option<BTreeSet<usize>>,
    /// `review`: only the incoming packages are judged.
    pub scoped: bool,
    pub internal_prefixes: Vec<String>,
    /// `inspect`: archives of the crates the inspected one may imitate.
    pub references: Option<BTreeMap<String, CrateAnalysis>>,
}

impl Inputs {
    /// The view the checks get.
    pub fn context<'a>(&'a self, opts: &'a CommandOptions) -> Context<'a> {
        Context {
            clock: opts.clock,
            graph: self.graph.as_ref(),
            workspace: self.workspace.as_ref(),
            db: Some(&self.db),
            index: self.index.as_ref(),
            index_unavailable: self.index_unavailable.clone(),
            db_refresh_error: self.db_refresh_error.clone(),
            cargo_configs: &self.configs,
            ci_root: self.ci_root.clone(),
            env: opts.env.as_deref(),
            home: opts.home.clone(),
            db_stale_days: opts.db_stale_days,
            proc_root: opts.proc_root.clone(),
            popularity: self.popularity.as_ref(),
            typosquat_target_rank: opts.typosquat_target_rank,
            stale_after_days: opts.stale_after_days,
            internal_prefixes: &self.internal_prefixes,
            analyses: self.analyses.as_ref(),
            references: self.references.as_ref(),
            policy: self.policy.as_ref(),
            incoming: self.incoming.as_ref().filter(|_| !self.scoped),
            scope: self.incoming.as_ref().filter(|_| self.scoped),
            review: self.review.as_ref(),
            policy_loosened: &self.policy_loosened,
        }
    }
}

/// The graphs a command compares: the workspace (or lone lockfile), the head and the base.
struct Graphs {
    workspace: Option<Workspace>,
    head: Option<Graph>,
    /// `Some(None)`: the base revision has no lockfile.
    base: Option<Option<Graph>>,
    labels: Option<(String, String)>,
}

pub fn load(
    command: &Command,
    needs: Needs,
    opts: &CommandOptions,
    catalog: &Catalog,
    progress: Progress<'_>,
) -> Result<Inputs> {
    if command.id == crate::checks::CommandId::Inspect {
        return super::inspect::load(needs, opts, progress);
    }
    let graphs = load_graphs(opts)?;
    let (policy, policy_loosened) = if needs.contains(Needs::POLICY) {
        let (p, l) = load_policy(opts, graphs.workspace.as_ref(), catalog)?;
        (Some(p), l)
    } else {
        (None, Vec::new())
    };
    let configs = match &graphs.workspace {
        Some(ws) => cargo_config::load_all(&ws.root, opts.index.cargo_home.as_deref())?,
        None => Vec::new(),
    };
    let ci_root = graphs
        .workspace
        .as_ref()
        .map(|ws| repository_root(&ws.root));
    let (db, db_refresh_error) = load_advisories(opts, graphs.head.as_ref(), progress)?;
    let index_config = index_config(opts, needs, &configs);
    // Review: what changed, before anything is looked up (review looks up only that).
    let delta = match (&graphs.base, &graphs.head) {
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
    let scoped = command.scope == Scope::Change;
    let scope = incoming.as_ref().filter(|_| scoped);
    let (index, index_unavailable) = match (&graphs.head, opts.check_yanked) {
        (Some(g), true) if needs.any_index() => (
            Some(load_index(g, scope, needs, &index_config, progress)),
            None,
        ),
        (Some(_), false) => (None, Some("disabled with --no-yanked".to_string())),
        _ => (None, None),
    };
    let whole_graph_archives =
        needs.contains(Needs::ARCHIVES) && opts.read_archives && command.scope == Scope::Graph;
    let analyses = match (&graphs.head, whole_graph_archives) {
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
    let Graphs {
        workspace,
        head,
        base,
        labels,
        ..
    } = graphs;
    let review = match (base, &head, labels, delta) {
        (Some(base), Some(head), Some(labels), Some(delta)) => Some(load_review(
            base,
            head,
            labels,
            delta,
            opts,
            &index_config,
            progress,
        )),
        _ => None,
    };
    let analyses = match (scoped, &review) {
        (true, Some(r)) => Some(crate::review::head_analyses(r)),
        _ => analyses,
    };
    let popularity = match (needs.contains(Needs::POPULARITY), &opts.popular) {
        (false, _) => None,
        (true, Some(path)) => Some(Arc::new(Popularity::load(&resolve(&opts.cwd, path))?)),
        (true, None) => Some(Arc::new(Popularity::embedded())),
    };
    let internal_prefixes = match &policy {
        Some(p) if !p.internal_prefixes.is_empty() => {
            [opts.internal_prefixes.clone(), p.internal_prefixes.clone()].concat()
        }
        _ => opts.internal_prefixes.clone(),
    };
    Ok(Inputs {
        workspace,
        graph: head,
        db,
        db_refresh_error,
        configs,
        ci_root,
        index,
        index_unavailable,
        analyses,
        review,
        popularity,
        policy,
        policy_loosened,
        incoming,
        scoped,
        internal_prefixes,
        references: None,
    })
}

/// The workspace and its lockfile, or a lone lockfile; with `compare`, the head and base.
fn load_graphs(opts: &CommandOptions) -> Result<Graphs> {
    let (workspace, mut head) = match &opts.lockfile {
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
    let mut base = None;
    let mut labels = None;
    if let Some((base_input, head_input)) = &opts.compare {
        if *head_input != LockInput::WorkingTree {
            head = crate::review::load(head_input, &lock_path, &opts.cwd)?;
            if head.is_none() {
                return Err(crate::Error::Usage(
                    format!(
                        "{} has no lockfile at {}",
                        head_input.label(),
                        lock_path.display()
                    ),
                    None,
                ));
            }
        } else if head.is_none() {
            return Err(crate::Error::Usage(
                format!(
                    "no lockfile to review: {} does not exist",
                    lock_path.display()
                ),
                Some("run `cargo generate-lockfile`, or pass --head-file".into()),
            ));
        }
        base = Some(crate::review::load(base_input, &lock_path, &opts.cwd)?);
        labels = Some((base_input.label(), head_input.label()));
    }
    Ok(Graphs {
        workspace,
        head,
        base,
        labels,
    })
}

/// The policy in force and what the change loosens. A change is judged by the policy it
/// started from (no self-approval).
fn load_policy(
    opts: &CommandOptions,
    workspace: Option<&Workspace>,
    catalog: &Catalog,
) -> Result<(Policy, Vec<String>)> {
    let root = workspace.map_or(opts.cwd.clone(), |w| w.root.clone());
    let policy_path = opts.policy.as_ref().map_or_else(
        || root.join(crate::policy::FILE_NAME),
        |p| resolve(&opts.cwd, p),
    );
    let policy = match (&opts.policy_rules, &opts.policy) {
        (Some(rules), _) => rules.clone(),
        (None, Some(_)) => Policy::load(&policy_path, catalog)?,
        (None, None) => Policy::discover(&root, catalog)?.unwrap_or_default(),
    };
    let base_policy = match (&opts.base_policy, &opts.compare, &opts.policy_rules) {
        (_, _, Some(_)) => None,
        (Some(file), _, _) => Some(Policy::load(&resolve(&opts.cwd, file), catalog)?),
        (None, Some((base @ LockInput::Revision(_), _)), None) => Some(
            match crate::review::file_at(base, &policy_path, crate::policy::FILE_NAME, &opts.cwd)? {
                Some((display, text)) => Policy::parse(&display, &text, catalog)?,
                None => Policy::default(),
            },
        ),
        _ => None,
    };
    Ok(match base_policy {
        Some(base) => crate::policy::loosening::judging_policy(&base, &policy),
        None => (policy, Vec::new()),
    })
}

/// The advisory database (refreshed first when it is due), and why a refresh failed.
pub(super) fn load_advisories(
    opts: &CommandOptions,
    graph: Option<&Graph>,
    progress: Progress<'_>,
) -> Result<(AdvisoryDb, Option<String>)> {
    let wanted: BTreeSet<String> = graph
        .map(|g| g.packages().iter().map(|p| p.name.to_string()).collect())
        .unwrap_or_default();
    let mut refresh_error = None;
    if let (None, Some(refresh), Some(cache)) =
        (&opts.advisory_db, &opts.db_refresh, &opts.cache_dir)
        && advisory_db::needs_refresh(cache, refresh.after)
    {
        progress("advisory database", 0, 1);
        if let Err(e) = advisory_db::fetch(&refresh.url, cache) {
            refresh_error = Some(e.to_string());
        }
    }
    let db = advisory_db::select(
        opts.advisory_db.as_deref(),
        opts.cache_dir.as_deref(),
        DbScope::Crates(&wanted),
    )?;
    Ok((db, refresh_error))
}

pub(super) fn index_config(
    opts: &CommandOptions,
    needs: Needs,
    configs: &[ConfigFile],
) -> IndexConfig {
    let mut config = opts.index.clone();
    if config.cache_dir.is_none() {
        config.cache_dir = opts.cache_dir.clone();
    }
    config.detailed = needs.contains(Needs::INDEX_DETAILED);
    // A mirror that replaces crates.io in cargo's config is where cargo itself looks.
    if config.crates_io_url.is_none() {
        config.crates_io_url = cargo_config::crates_io_replacement(configs);
    }
    config
}

/// Index answers for the graph's packages (only `scope`'s, when given): one index per
/// registry, and crates.io for the names a confusion check looks up there.
pub(super) fn load_index(
    g: &Graph,
    scope: Option<&BTreeSet<usize>>,
    needs: Needs,
    config: &IndexConfig,
    progress: Progress<'_>,
) -> IndexAnswers {
    let public = needs.contains(Needs::PUBLIC_INDEX);
    let mut by_registry: BTreeMap<Option<String>, Vec<String>> = Default::default();
    for (i, p) in g.packages().iter().enumerate() {
        if scope.is_some_and(|s| !s.contains(&i)) {
            continue;
        }
        match g.registry(i) {
            Some(key) => by_registry.entry(key).or_default().push(p.name.to_string()),
            // Dependency confusion: does the public registry have this name too?
            None if public => by_registry
                .entry(None)
                .or_default()
                .push(p.name.to_string()),
            None => {}
        }
        if public && matches!(g.registry(i), Some(Some(_))) {
            by_registry
                .entry(None)
                .or_default()
                .push(p.name.to_string());
        }
    }
    // The lockfile's versions: a cached entry that does not list them is stale.
    let mut locked: HashMap<_, HashMap<String, Vec<String>>> = Default::default();
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
        let mut index = RegistryIndex::new(config.clone(), registry.as_deref());
        index.require_versions(locked.remove(&registry).unwrap_or_default());
        let report = |done: usize, total: usize| progress("registry index", done, total);
        answers.extend(registry.as_deref(), index.lookup_many(&names, &report));
    }
    answers
}

/// The code of both sides of every change.
fn load_review(
    base: Option<Graph>,
    head: &Graph,
    (base_label, head_label): (String, String),
    delta: LockfileDelta,
    opts: &CommandOptions,
    index_config: &IndexConfig,
    progress: Progress<'_>,
) -> ReviewInputs {
    let store = store(opts, index_config);
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
    ReviewInputs {
        base,
        base_label,
        head_label,
        delta,
        code,
        young_days: opts.young_days,
    }
}

pub(super) fn store(opts: &CommandOptions, index_config: &IndexConfig) -> CrateStore {
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

pub(super) fn resolve(cwd: &Path, p: &Path) -> PathBuf {
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
