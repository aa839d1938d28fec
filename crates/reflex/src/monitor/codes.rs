//! The codes a monitored build's alerts carry: stable kebab-case names with their usual
//! severity and one line each (SARIF rules, README). Code that raises or reads an alert names
//! it through these constants, never by a string of its own.

use crate::finding::{CodeSpec, Severity};

pub const SECRET_EXFILTRATION: CodeSpec = CodeSpec::new(
    "secret-exfiltration",
    Severity::Critical,
    "a canary secret appeared in a payload, a DNS name or a process argument, or was compiled into a build output or artifact (raw or encoded)",
);
pub const DNS_EXFILTRATION: CodeSpec = CodeSpec::new(
    "dns-exfiltration",
    Severity::High,
    "a DNS name that looks like smuggled data (long, high-entropy or decodable labels)",
);
pub const DNS_QUERY: CodeSpec = CodeSpec::new(
    "dns-query",
    Severity::Medium,
    "build-time code resolved a name",
);
pub const NETWORK_CONNECT: CodeSpec = CodeSpec::new(
    "network-connect",
    Severity::High,
    "build-time code opened a connection or sent a datagram",
)
.varies(&[Severity::Low]);
pub const PROCESS_EXEC: CodeSpec = CodeSpec::new(
    "process-exec",
    Severity::Medium,
    "build-time code started a program",
)
.varies(&[Severity::Low, Severity::High]);
pub const FILELESS_EXEC: CodeSpec = CodeSpec::new(
    "fileless-exec",
    Severity::High,
    "build-time code ran a program with no file on disk (memfd_create and execveat, a deleted file)",
);
pub const FILE_WRITE: CodeSpec = CodeSpec::new(
    "file-write",
    Severity::High,
    "build-time code wrote, renamed, linked or truncated a file outside the target directory and temporary directories",
);
pub const TARGET_TAMPER: CodeSpec = CodeSpec::new(
    "target-tamper",
    Severity::Critical,
    "build-time code wrote into another crate's build output or into the build's artifacts (what the next build or run executes)",
);
pub const SENSITIVE_READ: CodeSpec = CodeSpec::new(
    "sensitive-read",
    Severity::High,
    "build-time code opened a credential file, a private key or a process's environment or memory",
);
pub const LOADER_INJECTION: CodeSpec = CodeSpec::new(
    "loader-injection",
    Severity::Critical,
    "rustc or its linker started with a dangerous loader variable (LD_PRELOAD, LD_AUDIT, GCONV_PATH, a library path into the target directory): a build script made the compiler run its code",
);
pub const BASELINE_DEVIATION: CodeSpec = CodeSpec::new(
    "baseline-deviation",
    Severity::High,
    "behaviour outside the crate's learned baseline (critical when it changed with a version bump)",
)
.varies(&[Severity::Critical]);
pub const FIRST_SEEN_DESTINATION: CodeSpec = CodeSpec::new(
    "first-seen-destination",
    Severity::Medium,
    "a destination no monitored build contacted before",
);

/// Every alert code, in the order the SARIF rules and the README list them (also
/// [`super::codes`]).
pub const ALL: &[CodeSpec] = &[
    SECRET_EXFILTRATION,
    DNS_EXFILTRATION,
    DNS_QUERY,
    NETWORK_CONNECT,
    PROCESS_EXEC,
    FILELESS_EXEC,
    FILE_WRITE,
    TARGET_TAMPER,
    SENSITIVE_READ,
    LOADER_INJECTION,
    BASELINE_DEVIATION,
    FIRST_SEEN_DESTINATION,
];

/// The code named `code`, if the monitor raises it.
pub fn find(code: &str) -> Option<&'static CodeSpec> {
    ALL.iter().find(|c| c.code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case_and_findable() {
        let mut names: Vec<&str> = ALL.iter().map(|c| c.code).collect();
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        );
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        assert_eq!(find("target-tamper"), Some(&TARGET_TAMPER));
        assert_eq!(find("no-such-code"), None);
    }
}
