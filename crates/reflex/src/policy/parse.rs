//! `reflex.toml` in two steps: the TOML is read with spans, then every key is validated and
//! every problem collected, so a user fixes all mistakes in one round.

use super::*;
use crate::error::{Error, ParseError};
use crate::finding::Catalog;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod values;

use values::{
    array, array_of_tables, boolean, date, string, strings, suggestion, table, unknown, unknown_at,
};

type Table<'i> = DeTable<'i>;

/// Collects problems with their positions.
struct Problems<'t> {
    path: &'t Path,
    text: &'t str,
    catalog: &'t Catalog,
    found: Vec<ParseError>,
}

impl Problems<'_> {
    fn at(&mut self, span: Range<usize>, message: impl Into<String>, help: impl Into<String>) {
        let help: String = help.into();
        if let Error::Parse(e) = Error::parse_at(
            self.path,
            self.text,
            Some(span.start),
            message,
            (!help.is_empty()).then_some(help),
        ) {
            self.found.push(*e);
        }
    }
}

pub(super) fn parse(path: &Path, text: &str, catalog: &Catalog) -> Result<Policy> {
    let root = DeTable::parse(text).map_err(|e| {
        Error::toml(path, text, &e)
            .with_help("reflex.toml is TOML; see the README's policy section")
    })?;
    let mut p = Problems {
        path,
        text,
        catalog,
        found: Vec::new(),
    };
    let mut policy = Policy {
        path: Some(path.to_path_buf()),
        ..Policy::default()
    };
    let root_span = root.span();
    let root = root.get_ref();
    match root.get("version") {
        None => p.at(
            root_span.start..root_span.start,
            "missing `version`",
            format!("start the file with `version = {SCHEMA_VERSION}`"),
        ),
        Some(v) => match v.get_ref().as_integer().map(|i| i.as_str()) {
            Some(s) if s == SCHEMA_VERSION.to_string() => {}
            _ => p.at(
                v.span(),
                "unsupported policy version",
                format!("this cargo-reflex reads `version = {SCHEMA_VERSION}`"),
            ),
        },
    }
    for (key, value) in root {
        match key.get_ref().as_ref() {
            "version" => {}
            "gate" => gate(&mut p, value, &mut policy),
            "checks" => levels(&mut p, value, &mut policy.checks, Kind::Check),
            "codes" => levels(&mut p, value, &mut policy.codes, Kind::Code),
            "exception" => {
                for item in array_of_tables(&mut p, value) {
                    if let Some(e) = exception(&mut p, item) {
                        policy.exceptions.push(e);
                    }
                }
            }
            "cooldown" => cooldown(&mut p, value, &mut policy.cooldown),
            "sources" => sources(&mut p, value, &mut policy.sources),
            "build-time" => build_time(&mut p, value, &mut policy.build_time),
            "trust" => {
                for item in array_of_tables(&mut p, value) {
                    if let Some(t) = trust(&mut p, item) {
                        policy.trust.push(t);
                    }
                }
            }
            "trust-import" => trust_import(&mut p, value, &mut policy),
            "ci" => {
                if let Some(t) = table(&mut p, value) {
                    for (k, v) in t {
                        match k.get_ref().as_ref() {
                            "require-locked" => {
                                if let Some(b) = boolean(&mut p, v) {
                                    policy.ci.require_locked = b;
                                }
                            }
                            other => unknown(&mut p, k, other, &["require-locked"]),
                        }
                    }
                }
            }
            "licenses" => licenses(&mut p, value, &mut policy),
            "internal-prefixes" => policy.internal_prefixes = strings(&mut p, value),
            "sandbox" => sandbox(&mut p, value, &mut policy.sandbox),
            other => unknown_at(
                &mut p,
                key.span(),
                other,
                &[
                    "version",
                    "gate",
                    "checks",
                    "codes",
                    "exception",
                    "cooldown",
                    "sources",
                    "build-time",
                    "trust",
                    "trust-import",
                    "ci",
                    "licenses",
                    "internal-prefixes",
                    "sandbox",
                ],
            ),
        }
    }
    p.found.sort_by_key(|e| (e.line, e.column));
    if p.found.is_empty() {
        Ok(policy)
    } else {
        Err(Error::Policy(Box::new(crate::error::PolicyErrors {
            path: path.to_path_buf(),
            problems: p.found,
        })))
    }
}

fn gate(p: &mut Problems<'_>, value: &Spanned<DeValue<'_>>, policy: &mut Policy) {
    let Some(t) = table(p, value) else { return };
    for (k, v) in t {
        match k.get_ref().as_ref() {
            "deny-level" => match string(p, v).as_deref() {
                Some("none") => policy.deny_level = None,
                Some(s) => match Severity::parse(s) {
                    Some(sev) => policy.deny_level = Some(sev),
                    None => p.at(
                        v.span(),
                        format!("unknown deny level `{s}`"),
                        "one of critical, high, medium, low, info, none",
                    ),
                },
                None => {}
            },
            other => unknown(p, k, other, &["deny-level"]),
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Check,
    Code,
}

fn levels(
    p: &mut Problems<'_>,
    value: &Spanned<DeValue<'_>>,
    into: &mut BTreeMap<String, Level>,
    kind: Kind,
) {
    let Some(t) = table(p, value) else { return };
    let codes: Vec<_> = p.catalog.iter().collect();
    for (k, v) in t {
        let name = k.get_ref().as_ref();
        let known = match kind {
            Kind::Check => codes.iter().any(|(c, _)| *c == name),
            Kind::Code => codes.iter().any(|(_, s)| s.code == name),
        };
        if !known {
            let candidates: Vec<&str> = match kind {
                Kind::Check => {
                    let mut v: Vec<&str> = codes.iter().map(|(c, _)| *c).collect();
                    v.dedup();
                    v
                }
                Kind::Code => codes.iter().map(|(_, s)| s.code).collect(),
            };
            let what = match kind {
                Kind::Check => "check",
                Kind::Code => "finding code",
            };
            p.at(
                k.span(),
                format!("unknown {what} `{name}`"),
                suggestion(name, &candidates)
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("every {what} is listed in the README")),
            );
            continue;
        }
        if let Some(level) = level(p, v) {
            into.insert(name.to_string(), level);
        }
    }
}

fn level(p: &mut Problems<'_>, v: &Spanned<DeValue<'_>>) -> Option<Level> {
    let s = string(p, v)?;
    let level = Level::parse(&s);
    if level.is_none() {
        p.at(
            v.span(),
            format!("unknown level `{s}`"),
            "one of \"deny\", \"warn\", \"allow\"",
        );
    }
    level
}

fn exception(p: &mut Problems<'_>, item: &Spanned<DeValue<'_>>) -> Option<Exception> {
    let t = table(p, item)?;
    let mut e = Exception {
        line: crate::error::line_col(p.text, item.span().start).0 as u32,
        ..Exception::default()
    };
    let mut reason = false;
    for (k, v) in t {
        match k.get_ref().as_ref() {
            "code" => {
                if let Some(code) = string(p, v) {
                    if !p.catalog.contains(&code) {
                        let all = p.catalog.codes();
                        p.at(
                            v.span(),
                            format!("unknown finding code `{code}`"),
                            suggestion(&code, &all)
                                .map(|s| format!("did you mean `{s}`?"))
                                .unwrap_or_else(|| "every code is listed in the README".into()),
                        );
                    }
                    e.code = Some(code);
                }
            }
            "crate" => {
                if let Some(spec) = string(p, v) {
                    match spec.split_once('@') {
                        Some((n, ver)) => {
                            if semver::Version::parse(ver).is_err() {
                                p.at(
                                    v.span(),
                                    format!("`{ver}` is not a version"),
                                    "write `name` or `name@1.2.3`",
                                );
                            }
                            e.krate = Some(n.to_string());
                            e.version = Some(ver.to_string());
                        }
                        None => e.krate = Some(spec),
                    }
                }
            }
            "id" => e.id = string(p, v),
            "path" => e.path = string(p, v),
            "reason" => {
                reason = true;
                match string(p, v) {
                    Some(r) if !r.trim().is_empty() => e.reason = r,
                    Some(_) => p.at(
                        v.span(),
                        "empty `reason`",
                        "say why this exception is safe, for the next reviewer",
                    ),
                    None => {}
                }
            }
            "expires" => e.expires = date(p, v),
            other => unknown(
                p,
                k,
                other,
                &["code", "crate", "id", "path", "reason", "expires"],
            ),
        }
    }
    if !reason {
        p.at(
            item.span(),
            "exception without a `reason`",
            "add `reason = \"...\"`: every exception says why it is safe",
        );
    }
    if e.code.is_none() && e.krate.is_none() && e.id.is_none() && e.path.is_none() {
        p.at(
            item.span(),
            "exception matches everything",
            "name at least one of `code`, `crate`, `id` or `path`",
        );
    }
    Some(e)
}

fn cooldown(p: &mut Problems<'_>, value: &Spanned<DeValue<'_>>, c: &mut Cooldown) {
    let Some(t) = table(p, value) else { return };
    for (k, v) in t {
        match k.get_ref().as_ref() {
            "min-age-days" => match v.get_ref().as_integer().map(|i| i.as_str().parse::<u32>()) {
                Some(Ok(n)) => c.min_age_days = n,
                _ => p.at(
                    v.span(),
                    "`min-age-days` must be a whole number of days",
                    "for example `min-age-days = 3`",
                ),
            },
            "unknown-publish-time" => {
                if let Some(l) = level(p, v) {
                    c.unknown_publish_time = l;
                }
            }
            "exempt" => c.exempt = strings(p, v),
            other => unknown(
                p,
                k,
                other,
                &["min-age-days", "unknown-publish-time", "exempt"],
            ),
        }
    }
}

fn sources(p: &mut Problems<'_>, value: &Spanned<DeValue<'_>>, s: &mut Sources) {
    let Some(t) = table(p, value) else { return };
    for (k, v) in t {
        match k.get_ref().as_ref() {
            "allow-registries" => s.allow_registries = Some(strings(p, v)),
            "git" => match string(p, v).as_deref() {
                Some("pinned") => s.git = GitRule::Pinned,
                Some("any") => s.git = GitRule::Any,
                Some("deny") => s.git = GitRule::Deny,
                Some(other) => p.at(
                    v.span(),
                    format!("unknown git rule `{other}`"),
                    "one of \"pinned\" (a `rev` in the manifest), \"any\", \"deny\"",
                ),
                None => {}
            },
            "allow-git" => s.allow_git = strings(p, v),
            other => unknown(p, k, other, &["allow-registries", "git", "allow-git"]),
        }
    }
}

fn build_time(p: &mut Problems<'_>, value: &Spanned<DeValue<'_>>, b: &mut BuildTime) {
    let Some(t) = table(p, value) else { return };
    for (k, v) in t {
        match k.get_ref().as_ref() {
            "require-approval" => {
                if let Some(x) = boolean(p, v) {
                    b.require_approval = x;
                }
            }
            "allow" => {
                for item in array_of_tables(p, v) {
                    let Some(t) = table(p, item) else { continue };
                    let mut a = BuildTimeAllow {
                        line: crate::error::line_col(p.text, item.span().start).0 as u32,
                        ..BuildTimeAllow::default()
                    };
                    for (k, v) in t {
                        match k.get_ref().as_ref() {
                            "crate" => a.krate = string(p, v).unwrap_or_default(),
                            "kind" => match string(p, v).as_deref() {
                                Some("build-script") => a.kind = BuildTimeKind::BuildScript,
                                Some("proc-macro") => a.kind = BuildTimeKind::ProcMacro,
                                Some("any") => a.kind = BuildTimeKind::Any,
                                Some(other) => p.at(
                                    v.span(),
                                    format!("unknown kind `{other}`"),
                                    "one of \"build-script\", \"proc-macro\", \"any\"",
                                ),
                                None => {}
                            },
                            "reason" => a.reason = string(p, v).unwrap_or_default(),
                            other => unknown(p, k, other, &["crate", "kind", "reason"]),
                        }
                    }
                    if a.krate.is_empty() {
                        p.at(
                            item.span(),
                            "allow entry without a `crate`",
                            "add `crate = \"name\"`",
                        );
                    }
                    if a.reason.trim().is_empty() {
                        p.at(
                            item.span(),
                            "allow entry without a `reason`",
                            "add `reason = \"...\"`: say why this crate may run code at build time",
                        );
                    }
                    b.allow.push(a);
                }
            }
            other => unknown(p, k, other, &["require-approval", "allow"]),
        }
    }
}

fn sandbox(p: &mut Problems<'_>, value: &Spanned<DeValue<'_>>, s: &mut SandboxRules) {
    let Some(t) = table(p, value) else { return };
    for (k, v) in t {
        match k.get_ref().as_ref() {
            "pass-env" => s.pass_env = strings(p, v),
            "expose" => s.expose = strings(p, v).into_iter().map(PathBuf::from).collect(),
            "unix-sockets" => {
                s.unix_sockets = strings(p, v).into_iter().map(PathBuf::from).collect()
            }
            "allow" => {
                for item in array_of_tables(p, v) {
                    let Some(t) = table(p, item) else { continue };
                    let mut a = SandboxAllow::default();
                    for (k, v) in t {
                        match k.get_ref().as_ref() {
                            "crate" => a.krate = string(p, v).unwrap_or_default(),
                            "env" => a.env = strings(p, v),
                            "read" => {
                                a.read = strings(p, v).into_iter().map(PathBuf::from).collect()
                            }
                            "write" => {
                                a.write = strings(p, v).into_iter().map(PathBuf::from).collect()
                            }
                            "reason" => a.reason = string(p, v).unwrap_or_default(),
                            other => {
                                unknown(p, k, other, &["crate", "env", "read", "write", "reason"])
                            }
                        }
                    }
                    if a.krate.is_empty() {
                        p.at(
                            item.span(),
                            "sandbox exception without a `crate`",
                            "add `crate = \"name\"`",
                        );
                    }
                    if a.reason.trim().is_empty() {
                        p.at(
                            item.span(),
                            "sandbox exception without a `reason`",
                            "add `reason = \"...\"`: say why the build script needs it",
                        );
                    }
                    s.allow.push(a);
                }
            }
            other => unknown(
                p,
                k,
                other,
                &["pass-env", "expose", "unix-sockets", "allow"],
            ),
        }
    }
}

fn trust(p: &mut Problems<'_>, item: &Spanned<DeValue<'_>>) -> Option<TrustRecord> {
    let t = table(p, item)?;
    let mut r = TrustRecord {
        source: "reflex.toml".into(),
        ..TrustRecord::default()
    };
    for (k, v) in t {
        match k.get_ref().as_ref() {
            "crate" => r.krate = string(p, v).unwrap_or_default(),
            "version" => {
                if let Some(s) = string(p, v) {
                    if semver::Version::parse(&s).is_err() {
                        p.at(
                            v.span(),
                            format!("`{s}` is not a version"),
                            "for example \"1.2.3\"",
                        );
                    }
                    r.version = s;
                }
            }
            "by" => r.by = string(p, v).unwrap_or_default(),
            "note" => r.note = string(p, v),
            other => unknown(p, k, other, &["crate", "version", "by", "note"]),
        }
    }
    for (field, missing) in [
        ("crate", r.krate.is_empty()),
        ("version", r.version.is_empty()),
        ("by", r.by.is_empty()),
    ] {
        if missing {
            p.at(
                item.span(),
                format!("trust record without `{field}`"),
                "a trust record names crate, version and who reviewed it",
            );
        }
    }
    Some(r)
}

fn trust_import(p: &mut Problems<'_>, value: &Spanned<DeValue<'_>>, policy: &mut Policy) {
    let Some(t) = table(p, value) else { return };
    for (k, v) in t {
        match k.get_ref().as_ref() {
            "audits" => {
                policy.trust_imports = strings(p, v).into_iter().map(PathBuf::from).collect()
            }
            "criteria" => policy.trust_criteria = strings(p, v),
            other => unknown(p, k, other, &["audits", "criteria"]),
        }
    }
}

fn licenses(p: &mut Problems<'_>, value: &Spanned<DeValue<'_>>, policy: &mut Policy) {
    let Some(t) = table(p, value) else { return };
    let mut l = Licenses::default();
    for (k, v) in t {
        match k.get_ref().as_ref() {
            "allow" => {
                for item in array(p, v) {
                    let Some(s) = string(p, item) else { continue };
                    match spdx::Expression::parse(&s) {
                        Ok(_) => l.allow.push(s),
                        Err(e) => p.at(
                            item.span(),
                            format!("`{s}` is not an SPDX expression: {}", e.reason),
                            "use SPDX identifiers such as \"MIT\" or \"Apache-2.0 WITH LLVM-exception\"",
                        ),
                    }
                }
            }
            "unknown" => {
                if let Some(level) = level(p, v) {
                    l.unknown = level;
                }
            }
            other => unknown(p, k, other, &["allow", "unknown"]),
        }
    }
    policy.licenses = Some(l);
}
