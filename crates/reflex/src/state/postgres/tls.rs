//! TLS for the PostgreSQL store: `sslrootcert=FILE` read by us (the driver refuses it).

/// The URL without its `sslrootcert=FILE` parameter (libpq's; the driver refuses it), and
/// that file (`None` without it, or with `sslrootcert=system`: the platform's trust store).
pub(super) fn take_root_cert(url: &str) -> (String, Option<std::path::PathBuf>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut root = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some(("sslrootcert", value)) => {
                let value = percent_decode(value);
                root = (value != "system").then(|| std::path::PathBuf::from(value));
                false
            }
            _ => true,
        })
        .collect();
    match kept.is_empty() {
        true => (base.to_string(), root),
        false => (format!("{base}?{}", kept.join("&")), root),
    }
}

/// `%2F` -> `/` (a URL's query value; invalid escapes are kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = text
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A TLS configuration trusting only the PEM certificates in `path` (`sslrootcert`). The
/// server's name is checked against its certificate too (libpq's `verify-full`).
pub(super) fn trusting(
    path: &std::path::Path,
) -> std::result::Result<rustls::ClientConfig, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    let what = |e: &dyn std::fmt::Display| format!("sslrootcert {}: {e}", path.display());
    let pem = std::fs::read(path).map_err(|e| what(&e))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| what(&e))?;
        roots.add(cert).map_err(|e| what(&e))?;
    }
    if roots.is_empty() {
        return Err(what(&"no PEM certificate in it"));
    }
    Ok(rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}
