//! Data the checks draw on, all read as data: the advisory database, the registry index and
//! the project's CI and cargo configuration files.

pub mod advisory_db;
pub mod cargo_config;
pub mod crate_archive;
pub mod crate_dir;
pub mod crate_store;
pub mod popularity;
pub mod registry_index;

/// Writes a cache file atomically (temporary file, then rename), so concurrent runs and
/// crashes never leave half a file. Cache writes are best effort: errors are ignored.
pub fn write_atomically(path: &std::path::Path, bytes: &[u8]) {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, path).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// An HTTP agent as cargo-reflex uses them: a global timeout, the platform's certificates,
/// HTTP errors as responses (the caller reads the status), our user agent.
pub fn http_agent(timeout: std::time::Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        )
        .user_agent(concat!("cargo-reflex/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}
