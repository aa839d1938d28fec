//! No self-approval: a change is judged by the policy it started from. Whatever the change's
//! own `reflex.toml` loosens (new trust records, allows, exceptions, exempted cooldowns, lower
//! levels, a higher deny level, fewer required checks) is listed and does not apply to the
//! change itself; whatever it tightens applies at once. [`judging_policy`] builds that policy
//! field by field, each time keeping the stricter side.

use super::{Exception, GitRule, Policy, SandboxAllow, TrustRecord};
use crate::finding::{Level, Severity};
use std::collections::BTreeMap;

/// The policy that judges a change from `base` to `head`, and what `head` tried to loosen
/// (one line each). The result keeps `head`'s path (it is the file people edit).
pub fn judging_policy(base: &Policy, head: &Policy) -> (Policy, Vec<String>) {
    let mut loose = Vec::new();
    let mut p = head.clone();
    levels_and_records(base, head, &mut p, &mut loose);
    cooldown_rules(base, head, &mut p, &mut loose);
    source_rules(base, head, &mut p, &mut loose);
    build_ci_and_licence_rules(base, head, &mut p, &mut loose);
    sandbox_rules(base, head, &mut p, &mut loose);
    (p, loose)
}

/// The deny level, `[checks]`, `[codes]`, exceptions and trust.
fn levels_and_records(base: &Policy, head: &Policy, p: &mut Policy, loose: &mut Vec<String>) {
    p.deny_level = match (base.deny_level, head.deny_level) {
        (Some(b), Some(h)) if h > b => {
            loose.push(format!("deny-level raised from {b:?} to {h:?}").to_lowercase());
            Some(b)
        }
        (Some(b), None) => {
            loose.push(format!("deny-level {b:?} removed").to_lowercase());
            Some(b)
        }
        (_, h) => h,
    };
    p.checks = stricter_levels("[checks]", &base.checks, &head.checks, loose);
    p.codes = stricter_levels("[codes]", &base.codes, &head.codes, loose);

    p.exceptions = kept(&base.exceptions, &head.exceptions, same_exception, |e| {
        loose.push(format!("new exception: {} ({})", e.describe(), e.reason))
    });
    p.trust = kept(&base.trust, &head.trust, same_trust, |t| {
        loose.push(format!(
            "new trust record: {}@{} by {} ({})",
            t.krate, t.version, t.by, t.source
        ))
    });
    p.trust_imports = kept(
        &base.trust_imports,
        &head.trust_imports,
        |a, b| a == b,
        |i| loose.push(format!("new trust import: {}", i.display())),
    );
    p.trust_criteria = kept(
        &base.trust_criteria,
        &head.trust_criteria,
        |a, b| a == b,
        |c| loose.push(format!("new trust criteria: {c}")),
    );
}

/// `[cooldown]`.
fn cooldown_rules(base: &Policy, head: &Policy, p: &mut Policy, loose: &mut Vec<String>) {
    if head.cooldown.min_age_days < base.cooldown.min_age_days {
        loose.push(format!(
            "cooldown shortened from {} to {} days",
            base.cooldown.min_age_days, head.cooldown.min_age_days
        ));
        p.cooldown.min_age_days = base.cooldown.min_age_days;
    }
    p.cooldown.unknown_publish_time = stricter(
        "cooldown unknown-publish-time",
        base.cooldown.unknown_publish_time,
        head.cooldown.unknown_publish_time,
        loose,
    );
    p.cooldown.exempt = kept(
        &base.cooldown.exempt,
        &head.cooldown.exempt,
        |a, b| a == b,
        |c| loose.push(format!("new cooldown exemption: {c}")),
    );
}

/// `[sources]`.
fn source_rules(base: &Policy, head: &Policy, p: &mut Policy, loose: &mut Vec<String>) {
    p.sources.allow_registries = match (
        &base.sources.allow_registries,
        &head.sources.allow_registries,
    ) {
        (Some(b), None) => {
            loose.push("registry allowlist removed (any registry)".into());
            Some(b.clone())
        }
        (Some(b), Some(h)) => Some(kept(
            b,
            h,
            |a, b| a == b,
            |r| loose.push(format!("new allowed registry: {r}")),
        )),
        (None, h) => h.clone(),
    };
    let rank = |g: GitRule| match g {
        GitRule::Deny => 0,
        GitRule::Pinned => 1,
        GitRule::Any => 2,
    };
    if rank(head.sources.git) > rank(base.sources.git) {
        loose.push(format!(
            "git sources relaxed from {:?} to {:?}",
            base.sources.git, head.sources.git
        ));
        p.sources.git = base.sources.git;
    }
    p.sources.allow_git = match (
        base.sources.allow_git.is_empty(),
        head.sources.allow_git.is_empty(),
    ) {
        // An empty list allows any URL.
        (false, true) => {
            loose.push("git URL allowlist removed (any URL)".into());
            base.sources.allow_git.clone()
        }
        (false, false) => kept(
            &base.sources.allow_git,
            &head.sources.allow_git,
            |a, b| a == b,
            |u| loose.push(format!("new allowed git URL: {u}")),
        ),
        (true, _) => head.sources.allow_git.clone(),
    };
}

/// `[build-time]`, `[ci]`, `[licenses]` and the internal prefixes.
fn build_ci_and_licence_rules(
    base: &Policy,
    head: &Policy,
    p: &mut Policy,
    loose: &mut Vec<String>,
) {
    if base.build_time.require_approval && !head.build_time.require_approval {
        loose.push("build-time require-approval turned off".into());
        p.build_time.require_approval = true;
    }
    p.build_time.allow = kept(
        &base.build_time.allow,
        &head.build_time.allow,
        |a, b| a.krate == b.krate && a.kind == b.kind,
        |a| {
            loose.push(format!(
                "new build-time allow: {} ({}, {})",
                a.krate,
                a.kind.as_str(),
                a.reason
            ))
        },
    );
    if base.ci.require_locked && !head.ci.require_locked {
        loose.push("ci require-locked turned off".into());
        p.ci.require_locked = true;
    }
    p.licenses = match (&base.licenses, &head.licenses) {
        (Some(b), None) => {
            loose.push("license allowlist removed".into());
            Some(b.clone())
        }
        (Some(b), Some(h)) => {
            let mut l = h.clone();
            l.allow = kept(
                &b.allow,
                &h.allow,
                |a, b| a == b,
                |x| loose.push(format!("new allowed license: {x}")),
            );
            l.unknown = stricter("licenses unknown", b.unknown, h.unknown, loose);
            Some(l)
        }
        (None, h) => h.clone(),
    };
    for prefix in &base.internal_prefixes {
        if !head.internal_prefixes.contains(prefix) {
            loose.push(format!("internal prefix removed: {prefix}"));
            p.internal_prefixes.push(prefix.clone());
        }
    }
}

/// `[sandbox]`.
fn sandbox_rules(base: &Policy, head: &Policy, p: &mut Policy, loose: &mut Vec<String>) {
    p.sandbox.pass_env = kept(
        &base.sandbox.pass_env,
        &head.sandbox.pass_env,
        |a, b| a == b,
        |v| loose.push(format!("sandbox pass-env added: {v}")),
    );
    p.sandbox.expose = kept(
        &base.sandbox.expose,
        &head.sandbox.expose,
        |a, b| a == b,
        |f| loose.push(format!("sandbox expose added: {}", f.display())),
    );
    p.sandbox.unix_sockets = kept(
        &base.sandbox.unix_sockets,
        &head.sandbox.unix_sockets,
        |a, b| a == b,
        |s| loose.push(format!("sandbox unix-socket added: {}", s.display())),
    );
    p.sandbox.allow = kept(
        &base.sandbox.allow,
        &head.sandbox.allow,
        same_sandbox_allow,
        |a| {
            loose.push(format!(
                "sandbox exception added: {} ({})",
                a.krate, a.reason
            ))
        },
    );
}

/// `head`'s entries that `base` has too; the others are reported through `new`.
fn kept<T: Clone>(
    base: &[T],
    head: &[T],
    same: impl Fn(&T, &T) -> bool,
    mut new: impl FnMut(&T),
) -> Vec<T> {
    let mut out = Vec::new();
    for h in head {
        if base.iter().any(|b| same(b, h)) {
            out.push(h.clone());
        } else {
            new(h);
        }
    }
    out
}

fn same_exception(a: &Exception, b: &Exception) -> bool {
    a.code == b.code
        && a.krate == b.krate
        && a.version == b.version
        && a.id == b.id
        && a.path == b.path
        // A later expiry is a loosening too.
        && match (a.expires, b.expires) {
            (Some(x), Some(y)) => y <= x,
            (None, _) => true,
            (Some(_), None) => false,
        }
}

fn same_trust(a: &TrustRecord, b: &TrustRecord) -> bool {
    a.krate == b.krate && a.version == b.version
}

fn same_sandbox_allow(a: &SandboxAllow, b: &SandboxAllow) -> bool {
    a.krate == b.krate
        && b.env.iter().all(|e| a.env.contains(e))
        && b.read.iter().all(|r| a.read.contains(r))
        && b.write.iter().all(|w| a.write.contains(w))
}

fn strictness(l: Level) -> u8 {
    match l {
        Level::Deny => 2,
        Level::Warn => 1,
        Level::Allow => 0,
    }
}

fn stricter(what: &str, base: Level, head: Level, loose: &mut Vec<String>) -> Level {
    if strictness(head) < strictness(base) {
        loose.push(format!(
            "{what} lowered from {} to {}",
            base.as_str(),
            head.as_str()
        ));
        base
    } else {
        head
    }
}

/// `[checks]` or `[codes]`: a level only `head` sets applies when it denies; a level `head`
/// lowers or drops keeps `base`'s.
fn stricter_levels(
    table: &str,
    base: &BTreeMap<String, Level>,
    head: &BTreeMap<String, Level>,
    loose: &mut Vec<String>,
) -> BTreeMap<String, Level> {
    let mut out = BTreeMap::new();
    for (k, b) in base {
        match head.get(k) {
            Some(h) => {
                out.insert(k.clone(), stricter(&format!("{table} {k}"), *b, *h, loose));
            }
            None => {
                if *b != Level::Allow {
                    loose.push(format!("{table} {k} = \"{}\" removed", b.as_str()));
                }
                out.insert(k.clone(), *b);
            }
        }
    }
    for (k, h) in head {
        if base.contains_key(k) {
            continue;
        }
        if *h == Level::Deny {
            out.insert(k.clone(), *h);
        } else {
            loose.push(format!("{table} {k} set to \"{}\"", h.as_str()));
        }
    }
    out
}

/// The severity a level-less finding needs to fail the run, for messages.
pub fn describe_deny(level: Option<Severity>) -> String {
    level.map_or("never".into(), |s| format!("{s:?}").to_lowercase())
}

#[cfg(test)]
mod tests;
