//! Canary secrets: fake but realistic credentials planted in the monitored build's environment
//! and home directory. Any appearance of one in a payload, a DNS name or a process argument,
//! raw or encoded, is an exfiltration attempt.

use data_encoding::{BASE32_NOPAD, BASE64_NOPAD, BASE64URL_NOPAD, HEXLOWER, HEXUPPER};

#[derive(Clone, Debug, PartialEq)]
pub struct Canary {
    /// The variable or file it stands for: `AWS_SECRET_ACCESS_KEY`, `~/.ssh/id_ed25519`.
    pub name: String,
    pub value: String,
    /// How it looks raw and encoded (from the start of the value), computed once: every
    /// payload, DNS name and argument of the build is searched for these.
    forms: Vec<(&'static str, String)>,
}

impl Canary {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Canary {
        let value = value.into();
        let v = value.as_bytes();
        let p16 = &v[..v.len().min(16)];
        let p15 = &v[..v.len().min(15)];
        let raw = String::from_utf8_lossy(p16).into_owned();
        let forms = vec![
            ("raw", raw.clone()),
            ("hex", HEXLOWER.encode(p16)),
            ("hex", HEXUPPER.encode(p16)),
            ("base64", BASE64_NOPAD.encode(p15)),
            ("base64", BASE64URL_NOPAD.encode(p15)),
            ("base32", BASE32_NOPAD.encode(p15)),
            ("base32", BASE32_NOPAD.encode(p15).to_lowercase()),
            ("url-encoded", raw),
        ];
        Canary {
            name: name.into(),
            value,
            forms,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Leak {
    pub name: String,
    /// `raw`, `hex`, `base64`, `base32`, `url-encoded`, `decoded`.
    pub encoding: &'static str,
}

#[derive(Clone, Debug, Default)]
pub struct Canaries(pub Vec<Canary>);

fn random(n: usize, alphabet: &[u8]) -> String {
    let mut bytes = vec![0u8; n];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes))
        .is_ok();
    if !filled {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(7, |d| d.as_nanos() as u64);
        let mut x = seed | 1;
        for b in &mut bytes {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    bytes
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl Canaries {
    /// Fresh values in the shapes real credentials have.
    pub fn generate() -> Canaries {
        let aws: String = random(
            40,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        );
        Canaries(vec![
            Canary::new("AWS_SECRET_ACCESS_KEY", aws),
            Canary::new("GITHUB_TOKEN", format!("ghp_{}", random(36, ALNUM))),
            Canary::new("CARGO_REGISTRY_TOKEN", format!("cio{}", random(32, ALNUM))),
            Canary::new("~/.ssh/id_ed25519", random(48, ALNUM)),
        ])
    }

    /// Environment variables to plant.
    pub fn env(&self) -> Vec<(String, String)> {
        self.0
            .iter()
            .filter(|c| !c.name.starts_with('~'))
            .map(|c| (c.name.clone(), c.value.clone()))
            .collect()
    }

    /// Decoy files under `home` (and cargo's home) holding the canaries.
    pub fn files(
        &self,
        home: &std::path::Path,
        cargo_home: Option<&std::path::Path>,
    ) -> Vec<(std::path::PathBuf, String)> {
        let get = |n: &str| {
            self.0
                .iter()
                .find(|c| c.name == n)
                .map(|c| c.value.clone())
                .unwrap_or_default()
        };
        let mut files = vec![
            (
                home.join(".aws/credentials"),
                format!(
                    "[default]\naws_access_key_id = AKIA{}\naws_secret_access_key = {}\n",
                    "IOSFODNN7EXAMPLE",
                    get("AWS_SECRET_ACCESS_KEY")
                ),
            ),
            (
                home.join(".ssh/id_ed25519"),
                format!(
                    "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
                    get("~/.ssh/id_ed25519")
                ),
            ),
            (
                home.join(".config/gh/hosts.yml"),
                format!("github.com:\n    oauth_token: {}\n", get("GITHUB_TOKEN")),
            ),
        ];
        if let Some(c) = cargo_home {
            files.push((
                c.join("credentials.toml"),
                format!("[registry]\ntoken = \"{}\"\n", get("CARGO_REGISTRY_TOKEN")),
            ));
        }
        files
    }

    /// Each canary's byte forms to look for in binary files (raw, hex, base64, base32; a URL
    /// encoding of an alphanumeric prefix is the raw form): `(canary, encoding, bytes)`.
    pub fn byte_forms(&self) -> Vec<(&Canary, &'static str, &[u8])> {
        let mut out: Vec<(&Canary, &'static str, &[u8])> = Vec::new();
        for c in &self.0 {
            for (enc, form) in &c.forms {
                if *enc != "url-encoded"
                    && !form.is_empty()
                    && !out.iter().any(|(_, _, f)| *f == form.as_bytes())
                {
                    out.push((c, enc, form.as_bytes()));
                }
            }
        }
        out
    }

    /// Every canary that appears in `text`, raw or encoded (from the start of the value, as
    /// exfiltration code encodes it), after URL-decoding, or inside an encoded run: a payload
    /// that bundles several secrets (`A=..;B=..;`) and encodes the whole bundle puts no value
    /// at an encoding boundary, so every base64, base64url and hex run is decoded and searched.
    pub fn find_in(&self, text: &str) -> Vec<Leak> {
        let decoded = url_decode(text);
        let mut runs: Option<Vec<(&'static str, String)>> = None;
        let mut out = Vec::new();
        for c in &self.0 {
            let hit = c.forms.iter().find(|(enc, form)| {
                if *enc == "url-encoded" {
                    decoded != text && decoded.contains(form.as_str())
                } else {
                    text.contains(form.as_str())
                }
            });
            let encoding = match hit {
                Some((enc, _)) => Some(*enc),
                None => {
                    let raw = &c.forms[0].1;
                    runs.get_or_insert_with(|| decoded_runs(text))
                        .iter()
                        .find(|(_, plain)| plain.contains(raw.as_str()))
                        .map(|(enc, _)| *enc)
                }
            };
            if let Some(encoding) = encoding {
                out.push(Leak {
                    name: c.name.clone(),
                    encoding,
                });
            }
        }
        out
    }
}

/// Longest text searched for encoded runs, and the shortest run worth decoding.
const MAX_SCANNED: usize = 64 * 1024;
const MIN_RUN: usize = 16;

/// The runs of `text` that decode as base64, base64url or hex, decoded (lossy UTF-8).
fn decoded_runs(text: &str) -> Vec<(&'static str, String)> {
    let text = &text.as_bytes()[..text.len().min(MAX_SCANNED)];
    let mut out = Vec::new();
    let is_b64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
    for run in text.split(|b| !is_b64(*b)).filter(|r| r.len() >= MIN_RUN) {
        if run.iter().all(u8::is_ascii_hexdigit) {
            let even = &run[..run.len() & !1];
            for codec in [&HEXLOWER, &HEXUPPER] {
                if let Ok(bytes) = codec.decode(even) {
                    out.push(("hex", String::from_utf8_lossy(&bytes).into_owned()));
                }
            }
        }
        let whole = &run[..run.len() - run.len() % 4];
        for (codec, name) in [(&BASE64_NOPAD, "base64"), (&BASE64URL_NOPAD, "base64")] {
            if let Ok(bytes) = codec.decode(whole) {
                out.push((name, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out
}

fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(x) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or(""), 16)
        {
            out.push(x);
            i += 3;
            continue;
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canaries_are_found_raw_and_encoded() {
        let c = Canaries(vec![Canary::new(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        )]);
        let v = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let hex: String = v.bytes().map(|b| format!("{b:02x}")).collect();
        let b64 = BASE64_NOPAD.encode(v.as_bytes());
        let b32 = BASE32_NOPAD.encode(v.as_bytes()).to_lowercase();
        let url = "k=wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY";
        for (text, enc) in [
            (v.to_string(), "raw"),
            (hex, "hex"),
            (b64, "base64"),
            (b32, "base32"),
            (url.to_string(), "url-encoded"),
        ] {
            let found = c.find_in(&text);
            assert_eq!(found.len(), 1, "{text}");
            assert_eq!(found[0].encoding, enc, "{text}");
        }
        assert!(c.find_in("nothing to see").is_empty());
    }

    /// A bundle of secrets encoded as one string puts the second value off any encoding
    /// boundary: the decoded run is searched.
    #[test]
    fn a_bundle_encoded_as_one_string_is_found() {
        let c = Canaries(vec![
            Canary::new(
                "AWS_SECRET_ACCESS_KEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            Canary::new("GITHUB_TOKEN", "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"),
        ]);
        let bundle = "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY;\
                      GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB;";
        for encoded in [
            BASE64_NOPAD.encode(bundle.as_bytes()) + "==",
            BASE64URL_NOPAD.encode(bundle.as_bytes()),
            HEXLOWER.encode(bundle.as_bytes()),
        ] {
            let payload = format!("POST /c HTTP/1.1\r\n\r\nd={encoded}&x=1");
            let names: Vec<String> = c.find_in(&payload).into_iter().map(|l| l.name).collect();
            assert_eq!(
                names,
                ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN"],
                "{payload}"
            );
        }
        let noise = BASE64_NOPAD.encode(b"just some ordinary text that is not a secret at all");
        assert!(c.find_in(&noise).is_empty());
        let g = Canaries::generate();
        assert_eq!(g.0.len(), 4);
        assert!(g.0[1].value.starts_with("ghp_") && g.0[1].value.len() == 40);
        assert_ne!(
            Canaries::generate().0[0].value,
            g.0[0].value,
            "fresh every build"
        );
    }
}
