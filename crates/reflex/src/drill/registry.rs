//! A real sparse registry on loopback for the drill: `config.json`, index files and `.crate`
//! archives with correct checksums, served over HTTP so that real cargo fetches from it. The
//! content can be replaced while it runs (the "before" registry, then the one the attack
//! published to). Paths under `/<name>/` serve further registries (a private one, for
//! dependency confusion).

use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, RwLock};

/// One published version: its files (paths inside the package) and publish time.
#[derive(Clone, Debug)]
pub struct Publish {
    pub name: String,
    pub version: String,
    /// `None` for the public registry (crates.io's stand-in), else the private registry's name.
    pub registry: Option<String>,
    pub files: BTreeMap<String, String>,
    /// RFC 3339.
    pub pubtime: String,
}

pub struct Registry {
    base: String,
    content: Arc<RwLock<HashMap<String, Vec<u8>>>>,
}

impl Registry {
    /// Starts serving (nothing yet) on an ephemeral loopback port.
    pub fn start() -> Result<Registry> {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io("127.0.0.1 (registry)", e))?;
        let base = format!(
            "http://{}/",
            listener
                .local_addr()
                .map_err(|e| Error::io("127.0.0.1 (registry)", e))?
        );
        let content: Arc<RwLock<HashMap<String, Vec<u8>>>> = Arc::default();
        let served = content.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let served = served.clone();
                std::thread::spawn(move || answer(stream, &served));
            }
        });
        Ok(Registry { base, content })
    }

    /// The public registry's URL (`http://127.0.0.1:<port>/`).
    pub fn url(&self) -> &str {
        &self.base
    }

    /// A private registry's URL.
    pub fn private_url(&self, name: &str) -> String {
        format!("{}{name}/", self.base)
    }

    /// Replaces what the registries serve with exactly these versions.
    pub fn publish(&self, versions: &[Publish]) -> Result<()> {
        let mut files: HashMap<String, Vec<u8>> = HashMap::new();
        let mut index: BTreeMap<String, String> = BTreeMap::new();
        let mut registries = vec![String::new()];
        for p in versions {
            let prefix = p
                .registry
                .as_ref()
                .map(|r| format!("{r}/"))
                .unwrap_or_default();
            if !registries.contains(&prefix) {
                registries.push(prefix.clone());
            }
            let list: Vec<(&str, &str)> = p
                .files
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let (bytes, sum) = crate_archive(&p.name, &p.version, &list)?;
            let manifest = p.files.get("Cargo.toml").ok_or_else(|| {
                Error::Usage(format!("{} {} has no Cargo.toml", p.name, p.version), None)
            })?;
            let line = index_line(p, manifest, &sum, &|r| self.private_url(r))?;
            index
                .entry(format!("{prefix}{}", index_path(&p.name)))
                .or_default()
                .push_str(&format!("{line}\n"));
            files.insert(
                format!("{prefix}dl/{}/{}/download", p.name, p.version),
                bytes,
            );
        }
        for prefix in registries {
            files.insert(
                format!("{prefix}config.json"),
                format!("{{\"dl\": \"{}{prefix}dl\"}}", self.base).into_bytes(),
            );
        }
        files.extend(index.into_iter().map(|(p, t)| (p, t.into_bytes())));
        self.serve_files(files);
        Ok(())
    }

    /// Marks a published version of the public registry yanked in its index.
    pub fn yank(&self, name: &str, version: &str) {
        let mut content = self.content.write().unwrap_or_else(|e| e.into_inner());
        if let Some(index) = content.get_mut(&index_path(name)) {
            let text = String::from_utf8_lossy(index).into_owned();
            let lines: Vec<String> = text
                .lines()
                .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
                    Ok(mut v) if v["vers"] == version => {
                        v["yanked"] = serde_json::Value::Bool(true);
                        v.to_string()
                    }
                    _ => l.to_string(),
                })
                .collect();
            *index = format!("{}\n", lines.join("\n")).into_bytes();
        }
    }

    /// Replaces what is served with exactly these files (path without the leading `/`).
    pub fn serve_files(&self, files: HashMap<String, Vec<u8>>) {
        *self.content.write().unwrap_or_else(|e| e.into_inner()) = files;
    }
}

fn answer(stream: std::net::TcpStream, served: &RwLock<HashMap<String, Vec<u8>>>) {
    let Ok(read) = stream.try_clone() else {
        return;
    };
    let _ = read.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut reader = BufReader::new(read);
    let mut stream = stream;
    // Keep-alive: answer requests until the client closes.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).map(|n| n == 0).unwrap_or(true) {
            return;
        }
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .trim_start_matches('/')
            .to_string();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                break;
            }
        }
        let body = served
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&path)
            .cloned();
        let response = match body {
            Some(body) => [
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\r\n",
                    body.len()
                )
                .into_bytes(),
                body,
            ]
            .concat(),
            None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec(),
        };
        if stream.write_all(&response).is_err() {
            return;
        }
    }
}

/// A `.crate` archive (gzipped tar under `<name>-<version>/`) and its sha256, made in memory.
pub fn crate_archive(
    name: &str,
    version: &str,
    files: &[(&str, &str)],
) -> Result<(Vec<u8>, String)> {
    use sha2::Digest;
    let io = |e| Error::io(format!("{name}-{version}.crate"), e);
    let mut tar = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(
            &mut header,
            format!("{name}-{version}/{path}"),
            text.as_bytes(),
        )
        .map_err(io)?;
    }
    let raw = tar.into_inner().map_err(io)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).map_err(io)?;
    let bytes = gz.finish().map_err(io)?;
    let sum = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((bytes, sum))
}

/// Path of a crate's file in a sparse index (`ab/cd/abcd...`, `3/a/abc`, `1/a`).
pub fn index_path(name: &str) -> String {
    let name = name.to_ascii_lowercase();
    match name.len() {
        1 => format!("1/{name}"),
        2 => format!("2/{name}"),
        3 => format!("3/{}/{name}", &name[..1]),
        _ => format!("{}/{}/{name}", &name[..2], &name[2..4]),
    }
}

/// The index line of a version, its dependencies and features read from its manifest.
fn index_line(
    p: &Publish,
    manifest: &str,
    sum: &str,
    private_url: &dyn Fn(&str) -> String,
) -> Result<serde_json::Value> {
    let doc: toml::Table = toml::from_str(manifest)
        .map_err(|e| Error::Usage(format!("{} {}: Cargo.toml: {e}", p.name, p.version), None))?;
    let mut deps = Vec::new();
    for (table, kind) in [
        ("dependencies", "normal"),
        ("build-dependencies", "build"),
        ("dev-dependencies", "dev"),
    ] {
        let Some(t) = doc.get(table).and_then(|t| t.as_table()) else {
            continue;
        };
        for (name, spec) in t {
            let get = |k: &str| spec.as_table().and_then(|t| t.get(k));
            let req = spec
                .as_str()
                .or_else(|| get("version").and_then(|v| v.as_str()))
                .unwrap_or("*");
            // The index names another registry by its URL; the same registry is null.
            let registry = match (get("registry").and_then(|r| r.as_str()), &p.registry) {
                (Some(r), Some(mine)) if r == mine => None,
                (Some(r), _) => Some(format!("sparse+{}", private_url(r))),
                (None, Some(_)) => Some("https://github.com/rust-lang/crates.io-index".into()),
                (None, None) => None,
            };
            let features: Vec<&str> = get("features")
                .and_then(|f| f.as_array())
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            deps.push(serde_json::json!({
                "name": name,
                "req": req,
                "features": features,
                "optional": get("optional").and_then(|o| o.as_bool()).unwrap_or(false),
                "default_features": get("default-features").and_then(|o| o.as_bool()).unwrap_or(true),
                "target": null,
                "kind": kind,
                "registry": registry,
                "package": get("package").and_then(|o| o.as_str()),
            }));
        }
    }
    let features = doc
        .get("features")
        .cloned()
        .map(|f| serde_json::to_value(f).unwrap_or_default())
        .unwrap_or_else(|| serde_json::json!({}));
    let links = doc
        .get("package")
        .and_then(|p| p.get("links"))
        .and_then(|l| l.as_str());
    Ok(serde_json::json!({
        "name": p.name, "vers": p.version, "deps": deps, "cksum": sum,
        "features": features, "yanked": false, "links": links, "pubtime": p.pubtime,
    }))
}
