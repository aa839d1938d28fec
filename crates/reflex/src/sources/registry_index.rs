//! Registry index lookups: every published version of a crate and whether it is yanked.
//! Offline, from cargo's own index cache (`$CARGO_HOME/registry/index/*/.cache`); online,
//! from the sparse index over HTTPS, many crates at once. Nothing is written to cargo's cache.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tame_index::KrateName;
use tame_index::flock::FileLock;
use tame_index::index::{ComboIndexCache, IndexLocation, IndexUrl, SparseIndex};

/// One published version as the index lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedVersion {
    pub version: String,
    pub yanked: bool,
    /// RFC 3339 publish time, when the index records it.
    pub pubtime: Option<String>,
    /// The native library it links (`links`).
    pub links: Option<String>,
    /// Its dependencies as `name req` (`kind`, `optional` noted), when read in detail.
    pub deps: Option<Vec<String>>,
    /// SHA-256 of the archive (`cksum`).
    pub checksum: Option<String>,
}

#[derive(serde::Deserialize)]
struct LineDeps<'a> {
    #[serde(borrow, default)]
    deps: Vec<LineDep<'a>>,
}

#[derive(serde::Deserialize)]
struct LineDep<'a> {
    name: &'a str,
    req: &'a str,
    #[serde(default)]
    kind: Option<&'a str>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    package: Option<&'a str>,
}

/// What the index says about one crate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    Found {
        versions: Vec<IndexedVersion>,
        from_network: bool,
    },
    /// The registry answered that no such crate exists (deleted, or never published).
    Missing,
    /// Could not tell: not in the local cache and the network was not used or failed.
    Unknown(String),
}

/// Index answers for a graph, by registry (`None` for crates.io, else the lockfile source
/// string such as `sparse+https://...`) and crate name.
#[derive(Debug, Default)]
pub struct IndexAnswers {
    map: HashMap<(Option<String>, String), Lookup>,
}

impl Lookup {
    /// The index entry of one version, when the crate was found and lists it.
    pub fn version(&self, version: &str) -> Option<&IndexedVersion> {
        match self {
            Lookup::Found { versions, .. } => versions.iter().find(|v| v.version == version),
            _ => None,
        }
    }

    /// The unyanked releases that parse as versions (empty unless the crate was found): the
    /// candidates for [`crate::knowledge::versions::nearest_safe_version`].
    pub fn unyanked_versions(&self) -> Vec<semver::Version> {
        match self {
            Lookup::Found { versions, .. } => versions
                .iter()
                .filter(|v| !v.yanked)
                .filter_map(|v| semver::Version::parse(&v.version).ok())
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl IndexedVersion {
    /// When it was published, if the index records it.
    pub fn published(&self) -> Option<jiff::Timestamp> {
        self.pubtime.as_deref()?.parse().ok()
    }
}

impl IndexAnswers {
    pub fn get(&self, registry: Option<&str>, name: &str) -> Option<&Lookup> {
        self.map
            .get(&(registry.map(str::to_string), name.to_string()))
    }

    pub fn extend(&mut self, registry: Option<&str>, answers: HashMap<String, Lookup>) {
        for (name, lookup) in answers {
            self.map
                .insert((registry.map(str::to_string), name), lookup);
        }
    }
}

/// How to reach the index.
#[derive(Clone, Debug)]
pub struct IndexConfig {
    /// `$CARGO_HOME`, whose `registry/index` holds cargo's cache.
    pub cargo_home: Option<PathBuf>,
    pub online: bool,
    /// Replaces `https://index.crates.io/` (tests point it at a loopback server).
    pub crates_io_url: Option<String>,
    pub concurrency: usize,
    pub timeout: Duration,
    /// cargo-reflex's own cache of fetched index entries (`<dir>/index/...`).
    pub cache_dir: Option<PathBuf>,
    /// Online, cached entries younger than this are used without a request.
    pub max_age: Duration,
    /// Also read every version's dependency list (recon); audit needs only yanked flags.
    pub detailed: bool,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            cargo_home: crate::knowledge::paths::cargo_home(),
            online: true,
            crates_io_url: None,
            concurrency: 16,
            timeout: Duration::from_secs(15),
            cache_dir: None,
            max_age: Duration::from_secs(3600),
            detailed: false,
        }
    }
}

/// Failed requests in a row after which the registry counts as unreachable.
const MAX_FAILURES: usize = 8;

pub struct RegistryIndex {
    config: IndexConfig,
    /// Cargo keeps the crates.io cache under a directory whose name hashes the URL; the hash
    /// changed in cargo 1.85, so both the new and the old location are read.
    caches: Vec<ComboIndexCache>,
    remote: Option<SparseIndex>,
    /// Consecutive failed requests; past a threshold the network is considered down.
    failures: AtomicUsize,
    /// Where this registry's fetched entries are kept: `<cache>/index/<registry>/`.
    own_cache: Option<PathBuf>,
    /// Versions a cached entry must list to be used (a version published since the entry was
    /// fetched sends the lookup to the network).
    required: HashMap<String, Vec<String>>,
}

impl RegistryIndex {
    /// Cached entries of these crates must list these versions (the lockfile's) to be used.
    pub fn require_versions(&mut self, required: HashMap<String, Vec<String>>) {
        self.required = required;
    }

    pub fn crates_io(config: IndexConfig) -> RegistryIndex {
        RegistryIndex::new(config, None)
    }

    /// The index of the registry whose lockfile source is `registry` (`sparse+https://...` or
    /// `registry+https://...`); `None` is crates.io. Only sparse registries are fetched
    /// online; cargo's cache is read for every kind.
    pub fn new(config: IndexConfig, registry: Option<&str>) -> RegistryIndex {
        let urls: Vec<IndexUrl<'static>> = match registry {
            None => vec![IndexUrl::CratesIoSparse, IndexUrl::CratesIoGit],
            Some(r) => {
                let url = r.strip_prefix("registry+").unwrap_or(r).to_string();
                vec![IndexUrl::NonCratesIo(url.into())]
            }
        };
        let mut caches = Vec::new();
        if let Some(home) = config
            .cargo_home
            .as_ref()
            .and_then(|h| tame_index::PathBuf::from_path_buf(h.clone()).ok())
        {
            for cargo_version in [
                tame_index::Version::new(1, 85, 0),
                tame_index::Version::new(1, 84, 0),
            ] {
                for url in &urls {
                    let url = match url {
                        IndexUrl::NonCratesIo(u) => IndexUrl::NonCratesIo(u.clone()),
                        IndexUrl::CratesIoGit => IndexUrl::CratesIoGit,
                        _ => IndexUrl::CratesIoSparse,
                    };
                    let mut loc = IndexLocation::new(url).with_root(Some(home.clone()));
                    loc.cargo_version = Some(cargo_version.clone());
                    // Keep only caches that exist, so misses cost one stat, not four.
                    if let Ok(index) = ComboIndexCache::new(loc) {
                        let probe = KrateName::cargo("serde").map(|k| index.cache_path(k));
                        let exists = probe
                            .ok()
                            .and_then(|p| p.ancestors().nth(3).map(|d| d.exists()))
                            .unwrap_or(false);
                        if exists {
                            caches.push(index);
                        }
                    }
                }
            }
        }
        let remote_url = match registry {
            None => Some(
                config
                    .crates_io_url
                    .clone()
                    .unwrap_or_else(|| tame_index::CRATES_IO_HTTP_INDEX.to_string()),
            ),
            Some(r) if r.starts_with("sparse+") => Some(r.to_string()),
            Some(_) => None,
        };
        let remote = match remote_url.filter(|_| config.online) {
            Some(url) => {
                let url = if url.starts_with("sparse+") {
                    url
                } else {
                    format!("sparse+{url}")
                };
                let url = if url.ends_with('/') {
                    url
                } else {
                    format!("{url}/")
                };
                let dir = std::env::temp_dir().join("cargo-reflex-unused-index-cache");
                let mut loc = IndexLocation::new(IndexUrl::NonCratesIo(url.into()));
                loc.root = tame_index::index::IndexPath::Exact(
                    tame_index::PathBuf::from_path_buf(dir).unwrap_or_else(|_| "/tmp".into()),
                );
                SparseIndex::new(loc).ok()
            }
            None => None,
        };
        let key: String = registry
            .unwrap_or("crates-io")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let own_cache = config.cache_dir.as_ref().map(|d| d.join("index").join(key));
        RegistryIndex {
            config,
            caches,
            remote,
            failures: AtomicUsize::new(0),
            own_cache,
            required: HashMap::new(),
        }
    }

    /// Looks up every name, using up to `concurrency` parallel requests when online.
    /// `progress` is called after each crate with (done, total).
    pub fn lookup_many(
        &self,
        names: &[String],
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> HashMap<String, Lookup> {
        let workers = if self.remote.is_some() {
            self.config.concurrency.max(1)
        } else {
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(8)
        };
        let agent = self.agent();
        let lookups = crate::parallel::map(names, workers, progress, |name| {
            self.lookup(name, agent.as_ref())
        });
        names.iter().cloned().zip(lookups).collect()
    }

    fn agent(&self) -> Option<ureq::Agent> {
        self.remote.as_ref()?;
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(self.config.timeout))
            .http_status_as_error(false)
            // Keep one connection per worker alive: every new connection costs a DNS lookup
            // and a TLS handshake.
            .max_idle_connections_per_host(self.config.concurrency.max(1))
            .max_idle_connections(self.config.concurrency.max(1))
            // The platform's trust store, so corporate TLS proxies and private CAs work.
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                    .build(),
            )
            .user_agent(concat!("cargo-reflex/", env!("CARGO_PKG_VERSION")))
            .build();
        Some(ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            CachingResolver::default(),
        ))
    }

    /// Looks up one crate: the network first when online, then cargo's cache.
    pub fn lookup(&self, name: &str, agent: Option<&ureq::Agent>) -> Lookup {
        let Ok(krate) = KrateName::cargo(name) else {
            return Lookup::Unknown(format!("`{name}` is not a valid crate name"));
        };
        let lock = FileLock::unlocked();
        let mut network_error = None;
        let cached = self
            .own_cache
            .as_ref()
            .map(|d| d.join(name.to_ascii_lowercase()));
        let cached_answer = |max_age: Option<Duration>| -> Option<Lookup> {
            let path = cached.as_ref()?;
            let age = std::fs::metadata(path)
                .and_then(|m| m.modified())
                .ok()?
                .elapsed()
                .ok()?;
            if max_age.is_some_and(|m| age > m) {
                return None;
            }
            let bytes = std::fs::read(path).ok()?;
            if bytes.is_empty() {
                return Some(Lookup::Missing);
            }
            let lines = tame_index::index::JsonLines::validate(&bytes).ok()?;
            versions(
                &tame_index::index::IndexEntry::Remote(lines),
                self.config.detailed,
            )
            .map(|versions| Lookup::Found {
                versions,
                from_network: true,
            })
        };
        if self.remote.is_some()
            && let Some(fresh) = cached_answer(Some(self.config.max_age))
            && self
                .required
                .get(name)
                .is_none_or(|need| need.iter().all(|v| fresh.version(v).is_some()))
        {
            return fresh;
        }
        if let (Some(remote), Some(agent)) = (&self.remote, agent) {
            // Transient failures (a DNS hiccup, a reset connection) are retried; after
            // MAX_FAILURES failures in a row the registry is treated as unreachable, so an
            // offline machine does not wait for a timeout per crate.
            for attempt in 0..3u64 {
                if self.failures.load(Ordering::Relaxed) >= MAX_FAILURES {
                    network_error.get_or_insert_with(|| {
                        "earlier requests to the registry failed".to_string()
                    });
                    break;
                }
                match fetch(remote, agent, krate, &lock, self.config.detailed) {
                    Ok((lookup, body)) => {
                        self.failures.store(0, Ordering::Relaxed);
                        if let Some(path) = &cached {
                            super::write_atomically(path, &body);
                        }
                        return lookup;
                    }
                    Err(e) => {
                        self.failures.fetch_add(1, Ordering::Relaxed);
                        network_error = Some(e);
                        std::thread::sleep(Duration::from_millis(50 * (attempt + 1)));
                    }
                }
            }
        }
        // Offline or unreachable: our own cache at any age, then cargo's.
        if let Some(answer) = cached_answer(None) {
            return answer;
        }
        for cache in &self.caches {
            if let Ok(Some(entry)) = cache.cached_krate(krate, &lock)
                && let Some(versions) = versions(&entry, self.config.detailed)
            {
                return Lookup::Found {
                    versions,
                    from_network: false,
                };
            }
        }
        Lookup::Unknown(match network_error {
            Some(e) => {
                format!("not in cargo's index cache, and the registry could not be reached: {e}")
            }
            None => "not in cargo's index cache (offline)".into(),
        })
    }
}

fn fetch(
    remote: &SparseIndex,
    agent: &ureq::Agent,
    krate: KrateName<'_>,
    lock: &FileLock,
    detailed: bool,
) -> Result<(Lookup, Vec<u8>), String> {
    let req = remote
        .make_remote_request(krate, None, lock)
        .map_err(|e| e.to_string())?;
    let req: tame_index::external::http::Request<()> = req.into();
    let mut builder = ureq::http::Request::get(req.uri().to_string());
    for (k, v) in req.headers() {
        if k != "if-none-match" {
            builder = builder.header(k.as_str(), v.as_bytes());
        }
    }
    let request = builder.body(()).map_err(|e| e.to_string())?;
    let mut response = agent.run(request).map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_vec()
        .map_err(|e| e.to_string())?;
    let http_response = tame_index::external::http::Response::builder()
        .status(status)
        .body(body)
        .map_err(|e| e.to_string())?;
    // The body to cache: the entry for 200, empty for "no such crate".
    let keep = if status == 200 {
        http_response.body().clone()
    } else {
        Vec::new()
    };
    match remote.parse_remote_response(krate, &http_response, false, lock) {
        Ok(Some(entry)) => versions(&entry, detailed)
            .map(|versions| {
                (
                    Lookup::Found {
                        versions,
                        from_network: true,
                    },
                    keep,
                )
            })
            .ok_or_else(|| "malformed index entry".to_string()),
        Ok(None) => Ok((Lookup::Missing, Vec::new())),
        Err(e) => Err(e.to_string()),
    }
}

/// Versions with their yanked flag and publish time, read straight from each version's JSON
/// line; deserialising every dependency list of every version would cost ten times more.
fn versions(
    entry: &tame_index::index::IndexEntry<'_, '_>,
    detailed: bool,
) -> Option<Vec<IndexedVersion>> {
    let iter = entry.iter().ok()?;
    let out: Vec<IndexedVersion> = iter
        .map(|v| {
            let (version, json) = v.raw();
            let text_field = |k: &str| {
                json_field(json, k)
                    .and_then(|v| v.strip_prefix(b"\""))
                    .and_then(|v| v.split(|b| *b == b'"').next())
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .map(str::to_string)
            };
            IndexedVersion {
                version: version.to_string(),
                links: if detailed { text_field("links") } else { None },
                checksum: text_field("cksum"),
                deps: detailed.then(|| {
                    serde_json::from_slice::<LineDeps<'_>>(json)
                        .map(|l| {
                            l.deps
                                .iter()
                                .map(|d| {
                                    let mut s =
                                        format!("{} {}", d.package.unwrap_or(d.name), d.req);
                                    if let Some(k) = d.kind.filter(|k| *k != "normal") {
                                        s.push_str(&format!(" ({k})"));
                                    }
                                    if d.optional {
                                        s.push_str(" (optional)");
                                    }
                                    s
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                }),
                yanked: json_field(json, "yanked").is_some_and(|v| v.starts_with(b"true")),
                pubtime: json_field(json, "pubtime")
                    .and_then(|v| v.strip_prefix(b"\""))
                    .and_then(|v| v.split(|b| *b == b'"').next())
                    .and_then(|v| std::str::from_utf8(v).ok())
                    .map(str::to_string),
            }
        })
        .filter(|v| !v.version.is_empty())
        .collect();
    Some(out)
}

/// The bytes after `"key":` at the top level of a one-line JSON object (index lines are
/// written by the registry; a nested key of the same name appears only inside `deps`, which
/// holds no `yanked` or `pubtime`).
fn json_field<'a>(json: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let needle = format!("\"{key}\":");
    let pos = memchr::memmem::find(json, needle.as_bytes())?;
    let rest = &json[pos + needle.len()..];
    let skip = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
    Some(&rest[skip..])
}

#[cfg(test)]
mod tests {
    use super::json_field;

    #[test]
    fn reads_fields_from_index_lines() {
        let line = br#"{"name":"a","vers":"1.0.0","deps":[{"name":"b","req":"^1"}],"yanked": true,"pubtime":"2026-01-02T03:04:05Z"}"#;
        assert!(json_field(line, "yanked").unwrap().starts_with(b"true"));
        assert!(
            json_field(line, "pubtime")
                .unwrap()
                .starts_with(b"\"2026-01-02")
        );
        assert!(json_field(line, "links").is_none());
    }
}

/// Resolves each registry host once per run. Parallel workers would otherwise resolve it for
/// every new connection at the same moment, and resolvers that drop concurrent queries (a
/// known conntrack race in containers) stall each of them for the 5 s retry timeout.
#[derive(Debug, Default)]
struct CachingResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    cache: Mutex<HashMap<String, ureq::unversioned::resolver::ResolvedSocketAddrs>>,
}

impl ureq::unversioned::resolver::Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let key = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        // Holding the lock while resolving also serialises the first lookups.
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(addrs) = cache.get(&key) {
            return Ok(addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        cache.insert(key, addrs.clone());
        Ok(addrs)
    }
}
