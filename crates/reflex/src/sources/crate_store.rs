//! Where `.crate` archives come from: cargo's download cache, then cargo-reflex's own cache,
//! then (online) the registry's download URL. Bytes only: archives are never unpacked to disk.
//! A downloaded archive is cached only when its checksum matches Cargo.lock.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub enum Fetched {
    Bytes { bytes: Vec<u8>, from: String },
    Unavailable(String),
}

pub struct CrateStore {
    cargo_home: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    /// Download URL template from the registry's `config.json` (`dl`), when online.
    dl: Option<String>,
    agent: Option<ureq::Agent>,
    failures: AtomicUsize,
}

impl CrateStore {
    /// `index_url` is the sparse index (`https://index.crates.io/`); its `config.json` names
    /// the download URL. `None` keeps the store offline.
    pub fn new(
        cargo_home: Option<PathBuf>,
        cache_dir: Option<PathBuf>,
        index_url: Option<&str>,
        timeout: std::time::Duration,
    ) -> CrateStore {
        let agent: Option<ureq::Agent> = index_url.map(|_| super::http_agent(timeout));
        let dl = match (index_url, &agent) {
            (Some(url), Some(agent)) => {
                let url = url.trim_start_matches("sparse+");
                let config = format!("{}/config.json", url.trim_end_matches('/'));
                agent
                    .get(&config)
                    .call()
                    .ok()
                    .filter(|r| r.status().is_success())
                    .and_then(|mut r| r.body_mut().read_to_string().ok())
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|v| v.get("dl").and_then(|d| d.as_str()).map(str::to_string))
            }
            _ => None,
        };
        CrateStore {
            cargo_home,
            cache_dir,
            dl,
            agent,
            failures: AtomicUsize::new(0),
        }
    }

    pub fn online(&self) -> bool {
        self.dl.is_some()
    }

    pub fn get(&self, name: &str, version: &str, checksum: Option<&str>) -> Fetched {
        let file = format!("{name}-{version}.crate");
        if let Some(home) = &self.cargo_home {
            let caches = std::fs::read_dir(home.join("registry").join("cache"))
                .into_iter()
                .flatten()
                .flatten();
            for dir in caches {
                if let Ok(bytes) = std::fs::read(dir.path().join(&file)) {
                    return Fetched::Bytes {
                        bytes,
                        from: "cargo's download cache".into(),
                    };
                }
            }
        }
        let ours = self
            .cache_dir
            .as_ref()
            .map(|d| d.join("crates").join(&file));
        if let Some(bytes) = ours.as_ref().and_then(|p| std::fs::read(p).ok()) {
            return Fetched::Bytes {
                bytes,
                from: "cargo-reflex's cache".into(),
            };
        }
        let (Some(dl), Some(agent)) = (&self.dl, &self.agent) else {
            return Fetched::Unavailable("not in cargo's download cache (offline)".into());
        };
        if self.failures.load(Ordering::Relaxed) >= 8 {
            return Fetched::Unavailable("earlier downloads failed".into());
        }
        let url = download_url(dl, name, version, checksum);
        match agent.get(&url).call() {
            Ok(mut r) if r.status().is_success() => {
                match r.body_mut().with_config().limit(256 << 20).read_to_vec() {
                    Ok(bytes) => {
                        self.failures.store(0, Ordering::Relaxed);
                        if let (Some(path), Some(sum)) = (&ours, checksum)
                            && super::crate_archive::sha256_hex(&bytes).eq_ignore_ascii_case(sum)
                        {
                            super::write_atomically(path, &bytes);
                        }
                        Fetched::Bytes {
                            bytes,
                            from: "the registry".into(),
                        }
                    }
                    Err(e) => Fetched::Unavailable(format!("download failed: {e}")),
                }
            }
            Ok(r) => Fetched::Unavailable(format!("the registry answered {}", r.status())),
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                Fetched::Unavailable(format!("download failed: {e}"))
            }
        }
    }
}

/// Expands the registry's `dl` template (cargo's markers), or appends `/{crate}/{version}/download`.
pub fn download_url(dl: &str, name: &str, version: &str, checksum: Option<&str>) -> String {
    let markers = [
        "{crate}",
        "{version}",
        "{prefix}",
        "{lowerprefix}",
        "{sha256-checksum}",
    ];
    if !markers.iter().any(|m| dl.contains(m)) {
        return format!("{}/{name}/{version}/download", dl.trim_end_matches('/'));
    }
    let prefix = match name.len() {
        1 => "1".to_string(),
        2 => "2".to_string(),
        3 => format!("3/{}", &name[..1]),
        _ => format!("{}/{}", &name[..2], &name[2..4]),
    };
    dl.replace("{crate}", name)
        .replace("{version}", version)
        .replace("{lowerprefix}", &prefix.to_lowercase())
        .replace("{prefix}", &prefix)
        .replace("{sha256-checksum}", checksum.unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_urls_follow_cargo_markers() {
        assert_eq!(
            download_url("https://static.crates.io/crates", "serde", "1.0.0", None),
            "https://static.crates.io/crates/serde/1.0.0/download"
        );
        assert_eq!(
            download_url(
                "https://r.example/{prefix}/{crate}-{version}.crate",
                "abc",
                "0.1.0",
                None
            ),
            "https://r.example/3/a/abc-0.1.0.crate"
        );
        assert_eq!(
            download_url(
                "https://r.example/{lowerprefix}/{crate}/{sha256-checksum}",
                "Serde",
                "1.0.0",
                Some("ab")
            ),
            "https://r.example/se/rd/Serde/ab"
        );
    }
}
