//! What names and literals mean: network crates and APIs, program classes, gating variables,
//! messenger and paste endpoints, key-material searches, entropy. Data for the analyser; the
//! verdicts are the behaviour check's.

/// Crates (by path root, `-` as `_`) whose use is network use, with the kind of network.
pub const NET_CRATES: &[(&str, &str)] = &[
    ("reqwest", "http"),
    ("ureq", "http"),
    ("hyper", "http"),
    ("hyper_util", "http"),
    ("curl", "http"),
    ("attohttpc", "http"),
    ("minreq", "http"),
    ("isahc", "http"),
    ("surf", "http"),
    ("ehttp", "http"),
    ("http_req", "http"),
    ("awc", "http"),
    ("tokio_tungstenite", "http"),
    ("tungstenite", "http"),
    ("socket2", "socket"),
    ("mio", "socket"),
    ("trust_dns_resolver", "dns"),
    ("hickory_resolver", "dns"),
    ("dns_lookup", "dns"),
    ("lettre", "smtp"),
];

/// Network types and functions of `std::net`, `tokio::net`, `async_std::net`.
pub const NET_NAMES: &[&str] = &[
    "TcpStream",
    "UdpSocket",
    "TcpListener",
    "ToSocketAddrs",
    "to_socket_addrs",
    "lookup_host",
];

/// Raw socket calls through `libc` / `nix` / `windows-sys`.
pub const RAW_NET: &[&str] = &[
    "socket",
    "connect",
    "sendto",
    "getaddrinfo",
    "gethostbyname",
    "WSAStartup",
];

/// Process-spawning calls of `libc`, `nix` and friends.
pub const RAW_EXEC: &[&str] = &[
    "system",
    "execv",
    "execve",
    "execvp",
    "execvpe",
    "execl",
    "execlp",
    "posix_spawn",
    "posix_spawnp",
    "CreateProcessA",
    "CreateProcessW",
    "ShellExecuteA",
    "ShellExecuteW",
    "WinExec",
];

/// The class of a program name: `shell`, `interpreter`, `download-tool`, `compiler`,
/// `build-tool` or `other`.
pub fn program_class(program: &str) -> &'static str {
    let lower = program.to_ascii_lowercase();
    let base = lower
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(&lower)
        .trim_end_matches(".exe")
        .to_string();
    match base.as_str() {
        "sh" | "bash" | "zsh" | "dash" | "ksh" | "fish" | "cmd" | "powershell" | "pwsh"
        | "busybox" => "shell",
        "python" | "python3" | "python2" | "perl" | "ruby" | "node" | "nodejs" | "osascript"
        | "wscript" | "cscript" | "mshta" | "rundll32" | "regsvr32" | "php" | "lua" => {
            "interpreter"
        }
        "curl" | "wget" | "certutil" | "bitsadmin" | "invoke-webrequest" | "iwr" | "scp" | "nc"
        | "ncat" | "netcat" | "ftp" | "tftp" => "download-tool",
        "cc" | "gcc" | "g++" | "clang" | "clang++" | "cl" | "rustc" | "ar" | "ld" | "nasm"
        | "as" | "windres" | "lib" | "link" | "c++" | "emcc" | "nvcc" | "ml64" | "ml" => "compiler",
        "pkg-config" | "cmake" | "make" | "git" | "cargo" | "xcrun" | "vcvarsall.bat" | "ninja"
        | "meson" | "autoreconf" | "protoc" | "uname" | "sw_vers" | "xcode-select"
        | "llvm-config" | "python-config" | "ldconfig" | "which" | "where" | "rustup"
        | "perl.exe" | "hg" | "svn" | "reg" | "wmic" | "getconf" | "sysctl" | "lsb_release"
        | "tar" | "unzip" | "7z" | "xz" | "gzip" | "install_name_tool" | "strip" | "objcopy"
        | "lipo" | "codesign" | "mt" | "rc" => "build-tool",
        "xdg-open" | "open" | "explorer" | "start" | "gio" | "gnome-open" | "kde-open"
        | "sensible-browser" | "x-www-browser" | "wslview" => "opener",
        "cat" | "tail" | "head" | "echo" | "ls" | "printf" | "pwd" | "true" | "false" | "date"
        | "sleep" | "test" | "stat" | "file" | "du" | "df" => "utility",
        "whoami" | "id" | "logname" | "hostname" => "identity",
        _ => "other",
    }
}

/// The identity a program prints (`whoami`, `id`, `hostname`): the variable that holds it.
pub fn identity_program(program: &str) -> Option<&'static str> {
    let first = program.split_whitespace().next().unwrap_or("");
    let base = first.rsplit(['/', '\\']).next().unwrap_or(first);
    match base.trim_end_matches(".exe").to_ascii_lowercase().as_str() {
        "whoami" | "id" | "logname" => Some("USER"),
        "hostname" => Some("HOSTNAME"),
        _ => None,
    }
}

/// Programs every build runs and nothing can be smuggled through: compilers, build tools
/// (`pkg-config`, `cmake`, `git`...), printing utilities (`cat`, `tail`...) and the programs
/// that print who and where (`whoami`: judged as the identity read they are, see
/// [`identity_program`]).
pub fn ordinary_tool(class: &str) -> bool {
    matches!(class, "compiler" | "build-tool" | "utility" | "identity")
}

/// Places programs start from: the toolchain and cargo's binaries and sources, shell start-up
/// files, SSH authorized keys, scheduled tasks, autostart entries, git hooks. Code that writes
/// there outlives the build.
pub fn persistence_place(path: &str) -> bool {
    const PLACES: &[&str] = &[
        ".rustup",
        ".cargo/bin",
        ".cargo/registry",
        "authorized_keys",
        ".bashrc",
        ".zshrc",
        ".bash_profile",
        ".profile",
        "crontab",
        "/etc/cron",
        "/autostart",
        "LaunchAgents",
        "systemd/user",
        "CurrentVersion\\Run",
        ".git/hooks",
        ".cargo/config",
        ".cargo/env",
        ".zshenv",
        ".zprofile",
        ".gitconfig",
        ".ssh/config",
        ".local/bin",
        "/etc/profile.d",
    ];
    PLACES.iter().any(|p| path.contains(p))
}

/// Environment variables that tell where code runs: CI systems, the machine, the user.
pub fn is_gate_variable(name: &str) -> bool {
    const NAMES: &[&str] = &[
        "CI",
        "GITLAB_CI",
        "GITHUB_ACTIONS",
        "TRAVIS",
        "CIRCLECI",
        "JENKINS_URL",
        "JENKINS_HOME",
        "BUILDKITE",
        "TF_BUILD",
        "TEAMCITY_VERSION",
        "BITBUCKET_BUILD_NUMBER",
        "DRONE",
        "CODEBUILD_BUILD_ID",
        "HOSTNAME",
        "COMPUTERNAME",
        "USER",
        "USERNAME",
        "LOGNAME",
        "USERDOMAIN",
    ];
    NAMES.contains(&name) || name.starts_with("GITLAB_") || name.starts_with("GITHUB_RUN")
}

/// Reads worth following into callers: secret variables, identity, credential files, the
/// whole environment.
pub fn sensitive_read(kind: super::Kind, subject: &str) -> bool {
    match kind {
        super::Kind::EnvRead => {
            is_gate_variable(subject)
                || subject.starts_with('/')
                || crate::knowledge::secrets::secret_reason(subject, "x").is_some()
        }
        super::Kind::SecretFile | super::Kind::EnvDump => true,
        _ => false,
    }
}

/// Calls that tell who or where code runs (host, user, date).
pub fn is_gate_call(last: &str) -> bool {
    matches!(
        last,
        "hostname"
            | "gethostname"
            | "get_hostname"
            | "whoami"
            | "username"
            | "get_current_username"
            | "getuid"
            | "geteuid"
            | "realname"
            | "devicename"
    )
}

/// Messenger, paste, webhook and tunnel endpoints in a literal: what kind, if any.
pub fn endpoint_kind(s: &str) -> Option<&'static str> {
    // (host fragment, path fragment, kind)
    const HOSTS: &[(&str, &str, &str)] = &[
        ("discord.com", "/api/webhooks", "Discord webhook"),
        ("discordapp.com", "/api/webhooks", "Discord webhook"),
        ("api.telegram.org", "/bot", "Telegram bot API"),
        ("hooks.slack.com", "/", "Slack webhook"),
        ("pastebin.com", "", "paste site"),
        ("paste.ee", "", "paste site"),
        ("hastebin", "", "paste site"),
        ("ghostbin", "", "paste site"),
        ("rentry.co", "", "paste site"),
        ("transfer.sh", "", "file drop"),
        ("anonfiles", "", "file drop"),
        ("webhook.site", "", "request catcher"),
        ("requestbin", "", "request catcher"),
        ("pipedream.net", "", "request catcher"),
        ("ngrok.io", "", "tunnel"),
        ("ngrok-free.app", "", "tunnel"),
        ("trycloudflare.com", "", "tunnel"),
        (".oast.", "", "interaction catcher"),
        ("interact.sh", "", "interaction catcher"),
        ("burpcollaborator", "", "interaction catcher"),
    ];
    // One pass over the text for every host fragment (most literals name none).
    static FINDER: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::LazyLock::new(|| {
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(HOSTS.iter().map(|(h, _, _)| h))
                .ok()
        });
    let named = match FINDER.as_ref() {
        Some(f) => f.find_overlapping_iter(s).next().is_some(),
        None => true,
    };
    let scheme = |p: &str| s.get(..p.len()).is_some_and(|x| x.eq_ignore_ascii_case(p));
    if !named && !scheme("http://") && !scheme("https://") {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if let Some((_, _, k)) = HOSTS
        .iter()
        .find(|(h, p, _)| lower.contains(h) && lower.contains(p))
    {
        return Some(k);
    }
    let host = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))?;
    let host = host.split(['/', ':']).next().unwrap_or("");
    // Only an address an attacker could receive data on: loopback, private, link-local (the
    // cloud metadata services), shared and documentation ranges are not.
    let ip = host.parse::<std::net::Ipv4Addr>().ok()?;
    let o = ip.octets();
    let unroutable = ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || (o[0] == 100 && (64..128).contains(&o[1]));
    (!unroutable).then_some("raw IP address")
}

/// Wallet files and seed-phrase words key searches name.
const WALLET: &[&str] = &[
    ".solana/id.json",
    "wallet.dat",
    "ethereum/keystore",
    "/keystore/utc--",
    ".electrum",
    "exodus/exodus.wallet",
    "atomic/local storage",
    "nkbihfbeogaeaoehlefnkodbefgpgknn",
    "bfnaelmomeimhlpmgjnjophhpkkoljpa",
    "metamask",
    "phantom wallet",
    "seed phrase",
    "mnemonic phrase",
    "secret recovery phrase",
];

/// Whether a literal searches for key material or names a wallet: what it looks for.
pub fn key_search(s: &str) -> Option<&'static str> {
    // Most literals have none of what is looked for: one pass tells.
    static FINDER: std::sync::LazyLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::LazyLock::new(|| {
            let mut needles: Vec<&str> = WALLET.to_vec();
            needles.extend(["123456789ABCDEFGHJKLMNPQRSTUVWXYZ", "{64}", "{66}", "{128}"]);
            needles.push("private_key");
            aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .build(needles)
                .ok()
        });
    if FINDER.as_ref().is_some_and(|f| !f.is_match(s)) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if WALLET.iter().any(|w| lower.contains(w)) {
        return Some("wallet files or seed phrases");
    }
    if s.contains("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz") {
        return Some("base58 secrets");
    }
    let regex_hex = ["{64}", "{66}", "{128}"]
        .iter()
        .any(|n| s.contains(n) && (lower.contains("a-f") || lower.contains("[0-9a")));
    if regex_hex {
        return Some("hex private keys");
    }
    if lower.contains("private_key") && (s.contains('[') || s.contains('\\')) {
        return Some("private keys");
    }
    None
}

/// Shannon entropy in bits per character.
pub fn entropy(s: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut n = 0u32;
    for b in s.bytes() {
        counts[b as usize] += 1;
        n += 1;
    }
    if n == 0 {
        return 0.0;
    }
    let n = f64::from(n);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// A long literal of encoded-looking text: its description, if it is one.
pub fn high_entropy(s: &str) -> Option<String> {
    if s.len() < 64 || s.contains(char::is_whitespace) || s.contains("-----BEGIN") {
        return None;
    }
    let encoded = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '-' | '_'));
    let hex = s.chars().all(|c| c.is_ascii_hexdigit());
    let e = entropy(s);
    if encoded && ((hex && s.len() >= 96 && e > 3.5) || (!hex && e > 4.8)) {
        let kind = if hex { "hex" } else { "base64-like" };
        return Some(format!("{} characters of {kind} text", s.len()));
    }
    None
}

/// The host of an address written in the code (`https://host/...`, `host:port`), when it is
/// fixed: not computed, not a template.
pub fn fixed_host(s: &str) -> Option<&str> {
    let rest = match s.split_once("://") {
        Some((_, r)) => r,
        None if !s.contains("::") && s.contains('.') && s.contains(':') => s,
        None => return None,
    };
    let host = rest.split(['/', '?', '#']).next()?;
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next()?;
    (!host.is_empty() && !host.contains(['{', '}', '$', ' ', '<'])).then_some(host)
}

/// Network use that sends somewhere chosen by the code: a fixed destination, raw sockets.
pub fn sends_out(class: &str, subject: &str) -> bool {
    matches!(class, "raw" | "via-function") || fixed_host(subject).is_some()
}

/// Whether a literal looks like a URL or a host name an address could be built from.
pub fn looks_like_address(s: &str) -> bool {
    s.starts_with("http://")
        || s.starts_with("https://")
        || s.starts_with("ws://")
        || s.starts_with("wss://")
        || s.starts_with("ftp://")
        || (s.contains('.') && s.contains(':') && !s.contains(' ') && s.len() < 100)
}

/// The magic of an executable at the start of bytes: its format.
pub fn executable_magic(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x7f, b'E', b'L', b'F', ..] => Some("ELF"),
        [b'M', b'Z', ..] if bytes.len() > 64 => Some("PE"),
        [0xcf, 0xfa, 0xed, 0xfe, ..] | [0xfe, 0xed, 0xfa, 0xcf, ..] => Some("Mach-O"),
        _ => None,
    }
}

/// Crates whose `test` attribute wraps a function in `#[test]` (compiled only into the
/// crate's own test binary, never into a dependent).
const TEST_CRATES: &[&str] = &[
    "tokio",
    "async_std",
    "actix_rt",
    "actix_web",
    "test_log",
    "sqlx",
    "futures_test",
    "smol_potat",
    "tokio_macros",
];

/// Whether an attribute, its tokens written without spaces (`test`, `tokio::test`,
/// `cfg(test)`, `cfg(all(test,unix))`), marks test-only code: `#[test]`, the `test` of a known
/// test crate, `cfg(test)` or `cfg(all(.., test, ..))`. Another crate's `test` attribute is
/// code: a proc-macro of the attacker's own can emit what it is given unchanged.
pub fn test_attribute(attr: &str) -> bool {
    if let Some(args) = attr.strip_prefix("cfg(").and_then(|a| a.strip_suffix(')')) {
        let Some(all) = args.strip_prefix("all(").and_then(|a| a.strip_suffix(')')) else {
            return args == "test";
        };
        let mut depth = 0usize;
        let mut start = 0;
        for (i, c) in all.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    if &all[start..i] == "test" {
                        return true;
                    }
                    start = i + 1;
                }
                _ => {}
            }
        }
        return &all[start..] == "test";
    }
    let attr = attr.strip_prefix("::").unwrap_or(attr);
    attr == "test"
        || attr
            .strip_suffix("::test")
            .is_some_and(|c| TEST_CRATES.contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_endpoints() {
        assert_eq!(program_class("/bin/sh"), "shell");
        assert_eq!(program_class("CURL.EXE"), "download-tool");
        assert_eq!(program_class("cc"), "compiler");
        assert_eq!(program_class("my-tool"), "other");
        assert_eq!(program_class("xdg-open"), "opener");
        assert_eq!(program_class("/usr/bin/tail"), "utility");
        assert!(
            persistence_place("/home/u/.rustup/toolchains")
                && persistence_place(".ssh/authorized_keys")
        );
        assert!(!persistence_place("/home/u/.ssh/id_rsa"));
        assert_eq!(
            endpoint_kind("https://discord.com/api/webhooks/1/x"),
            Some("Discord webhook")
        );
        assert_eq!(
            endpoint_kind("http://45.9.1.2:8080/x"),
            Some("raw IP address")
        );
        assert_eq!(endpoint_kind("http://127.0.0.1:8080/x"), None);
        assert_eq!(endpoint_kind("http://169.254.169.254/latest"), None);
        assert_eq!(endpoint_kind("http://172.20.0.1/x"), None);
        assert_eq!(endpoint_kind("http://1.2.3/x"), None);
        assert_eq!(endpoint_kind("https://crates.io"), None);
        assert_eq!(
            fixed_host("https://u@api.x.invalid:8/a?b"),
            Some("api.x.invalid")
        );
        assert_eq!(fixed_host("127.0.0.1:9"), Some("127.0.0.1"));
        assert_eq!(fixed_host("https://{bucket}.s3.amazonaws.com"), None);
        assert_eq!(fixed_host("reqwest::Client::new"), None);
        assert!(key_search("[0-9a-fA-F]{64}").is_some());
        assert!(key_search("hello").is_none());
        assert!(is_gate_variable("GITLAB_CI") && !is_gate_variable("HOST"));
        assert!(high_entropy(&"ab".repeat(60)).is_none());
        for t in [
            "test",
            "tokio::test",
            "cfg(test)",
            "cfg(all(test,unix))",
            "cfg(all(unix,test))",
        ] {
            assert!(test_attribute(t), "{t}");
        }
        for t in [
            "evil::test",
            "cfg(not(test))",
            "cfg(any(test,unix))",
            "cfg(all(not(test)))",
            "tests",
        ] {
            assert!(!test_attribute(t), "{t}");
        }
        assert!(high_entropy("aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Qgb2YgYmFzZTY0IGVuY29kaW5nIG9mIGEgbG9uZyBzdHJpbmc=").is_some());
    }
}
