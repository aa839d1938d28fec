//! `sslmode=require` against a real TLS-enabled server of the case's own: a CA and a server
//! certificate for 127.0.0.1 made with `openssl` in the case's directory, trusted with
//! `sslrootcert=`; a certificate from another CA, or none trusted, is refused (exit 2).

use crate::backend::Backend;
use crate::common::run_with;
use std::process::Command;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../scripts/postgres-for-tests.sh"
);

/// Stops the server when the case ends, passed or not.
struct Server(String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT).args(["stop", &self.0]).output();
    }
}

pub fn sslmode_require(b: &Backend) {
    let dir = b.dir.path();
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in ["ca", "other"] {
        let subject = format!("/CN=cargo-reflex test {ca}");
        let (key, crt) = (format!("{ca}.key"), format!("{ca}.crt"));
        let mut args = vec!["req", "-x509", "-days", "2", "-subj", &subject];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &crt]);
        openssl(&args);
    }
    let mut args = vec!["req", "-subj", "/CN=127.0.0.1"];
    args.extend(ec);
    args.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&args);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n\
         keyUsage = digitalSignature\nextendedKeyUsage = serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ]);

    let out = Command::new(SCRIPT)
        .arg("start")
        .env("REFLEX_TEST_POSTGRES_TLS", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let exported = |key: &str| -> String {
        let prefix = format!("export {key}='");
        let line = stdout.lines().find_map(|l| l.strip_prefix(&prefix));
        line.expect(key).trim_end_matches('\'').to_string()
    };
    let _server = Server(exported("REFLEX_TEST_POSTGRES_DIR"));
    let plain = exported("REFLEX_TEST_POSTGRES_URL");
    let base = plain.split_once('?').unwrap().0.to_string();
    let trusting = |file: &str| {
        format!(
            "{base}?sslmode=require&sslrootcert={}",
            dir.join(file).display()
        )
    };

    // Trusted: the store works over TLS, and the server says the connection is encrypted.
    let url = trusting("ca.crt");
    let s = reflex::state::open(&reflex::state::Location::parse(&url)).expect("TLS store");
    assert_eq!(s.destination_count().unwrap(), 0);
    assert!(
        s.first_sighting("domain", "tls.example", None, "2026-11-30")
            .unwrap()
    );
    let mut admin = postgres::Client::connect(&plain, postgres::NoTls).unwrap();
    let encrypted: i64 = admin
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE s.ssl AND a.application_name = 'cargo-reflex'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "the store's connection is not encrypted");
    let r = run_with(dir, &["respond", "itoa", "--state", &url], &[], None);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Untrusted: a certificate of another CA, the platform's store, a missing file.
    let missing = trusting("none.crt");
    let platform = format!("{base}?sslmode=require");
    let other = trusting("other.crt");
    for (url, says) in [
        (&other, "certificate"),
        (&platform, "certificate"),
        (&missing, "sslrootcert"),
    ] {
        let r = run_with(dir, &["respond", "itoa", "--state", url], &[], None);
        assert_eq!(r.code, 2, "{url}: {}", r.stderr);
        assert!(
            r.stderr.contains("connecting to the state store"),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains(says), "{url}: {}", r.stderr);
    }
}
