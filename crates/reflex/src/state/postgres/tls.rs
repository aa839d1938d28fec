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

/// How the TLS configuration is made: the platform's trust store, or `sslrootcert`'s.
pub(super) type MakeConfig =
    std::sync::Arc<dyn Fn() -> std::result::Result<rustls::ClientConfig, String> + Send + Sync>;

/// TLS whose configuration is made only when the server accepts TLS: with `sslmode=prefer`
/// (libpq's default) a server without TLS costs no loading of the platform's trust store
/// (about 9 ms of each connection on loopback).
pub(super) struct Lazy(pub(super) MakeConfig);

/// [`Lazy`] for one server name.
pub(super) struct LazyConnect {
    make: MakeConfig,
    hostname: String,
}

type Rustls = tokio_postgres_rustls::MakeRustlsConnect;
type Socket = postgres::Socket;
type Stream = <Rustls as postgres::tls::MakeTlsConnect<Socket>>::Stream;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl postgres::tls::MakeTlsConnect<Socket> for Lazy {
    type Stream = Stream;
    type TlsConnect = LazyConnect;
    type Error = std::convert::Infallible;

    fn make_tls_connect(&mut self, hostname: &str) -> Result<LazyConnect, Self::Error> {
        Ok(LazyConnect {
            make: self.0.clone(),
            hostname: hostname.to_string(),
        })
    }
}

impl postgres::tls::TlsConnect<Socket> for LazyConnect {
    type Stream = Stream;
    type Error = BoxError;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Stream, BoxError>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        use postgres::tls::MakeTlsConnect;
        let config = match (self.make)() {
            Ok(config) => config,
            Err(e) => return Box::pin(std::future::ready(Err(e.into()))),
        };
        let Ok(connect) =
            MakeTlsConnect::<Socket>::make_tls_connect(&mut Rustls::new(config), &self.hostname);
        let connecting = postgres::tls::TlsConnect::connect(connect, stream);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}
