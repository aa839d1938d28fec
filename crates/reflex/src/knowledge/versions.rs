//! Version arithmetic: which versions cargo treats as compatible, which release an upgrade
//! should go to, and the command or manifest change that gets the lockfile there.
//!
//! - [`semver_compatible`]: whether `cargo update --precise` moves between two versions
//!   without a manifest change (cargo's caret rules, leftmost non-zero part breaking).
//! - [`is_fixable`], [`nearest_safe_version`]: the advisories an upgrade can fix, and the
//!   smallest release above the locked one outside all of them.
//! - [`precise_update`], [`upgrade_command`], [`upgrade_remedy`]: how to move there.

use rustsec::Version;
use rustsec::advisory::Advisory;
use std::fmt::Display;

/// Whether `cargo update --precise` can move from `a` to `b` without a manifest change.
pub fn semver_compatible(a: &Version, b: &Version) -> bool {
    match (a.major, b.major) {
        (0, 0) if a.minor == 0 && b.minor == 0 => a.patch == b.patch,
        (0, 0) => a.minor == b.minor,
        (x, y) => x == y,
    }
}

/// Whether a version upgrade can fix `adv`: withdrawn and informational advisories apart, a
/// suggested version must be outside every advisory of its crate that this accepts.
pub fn is_fixable(adv: &Advisory) -> bool {
    adv.metadata.withdrawn.is_none() && adv.metadata.informational.is_none()
}

/// The smallest version above `current` that none of `advisories` affects: among `published`
/// (the registry's unyanked releases; prereleases are skipped) when one qualifies, else the
/// lowest bound of the advisories' patched ranges that qualifies.
pub fn nearest_safe_version(
    advisories: &[&Advisory],
    current: &Version,
    published: &[Version],
) -> Option<Version> {
    let safe = |v: &Version| v > current && advisories.iter().all(|a| !a.versions.is_vulnerable(v));
    let best = published
        .iter()
        .filter(|v| v.pre.is_empty() && safe(v))
        .min();
    if best.is_some() {
        return best.cloned();
    }
    advisories
        .iter()
        .flat_map(|a| a.versions.patched().iter())
        .flat_map(|req| req.comparators.iter())
        .filter(|c| {
            !matches!(
                c.op,
                rustsec::semver::Op::Less | rustsec::semver::Op::LessEq
            )
        })
        .map(|c| Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0)))
        .filter(safe)
        .min()
}

/// The command that moves the lockfile's `name` from `from` to `to` (which must be reachable
/// without a manifest change): `cargo update -p name@from --precise to`.
pub fn precise_update(name: &str, from: impl Display, to: impl Display) -> String {
    format!("cargo update -p {name}@{from} --precise {to}")
}

/// The one command that moves the lockfile from `current` to `to`, when no manifest change is
/// needed.
pub fn upgrade_command(name: &str, current: &Version, to: &Version) -> Option<String> {
    semver_compatible(current, to).then(|| precise_update(name, current, to))
}

/// How to move `name` from `current` to `to`: one `cargo update --precise` when the lockfile
/// alone can change, else the manifest change it needs first (cargo refuses a semver-incompatible
/// `--precise`), named with the crate whose requirement holds it back (`via`: the dependency
/// path from a workspace member to the package, as "name version").
pub fn upgrade_remedy(name: &str, current: &Version, to: &Version, via: &[String]) -> String {
    if let Some(command) = upgrade_command(name, current, to) {
        return format!("upgrade to {to}: `{command}`");
    }
    let holder = match via.len() {
        0 | 1 => "your Cargo.toml".to_string(),
        2 => format!("the Cargo.toml of {}", via[0]),
        n => format!(
            "{} (it requires an older {name}: upgrade it to a release that accepts {name} {to}, or replace it)",
            via[n - 2]
        ),
    };
    format!(
        "upgrade to {to}, which is semver-incompatible with {current} (the lockfile alone cannot move there): change the requirement on `{name}` to \"{to}\" in {holder}, then run `cargo update -p {name}@{current}`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn advisory(patched: &str, informational: bool) -> Advisory {
        let info = if informational {
            "informational = \"unmaintained\"\n"
        } else {
            ""
        };
        let text = format!(
            "```toml\n[advisory]\nid = \"RUSTSEC-2099-0001\"\npackage = \"demo\"\ndate = \"2099-01-01\"\n{info}\n[versions]\npatched = [{patched}]\n```\n\n# Demo\n\nA demo advisory.\n"
        );
        text.parse().unwrap()
    }

    #[test]
    fn semver_compatibility_follows_cargo_rules() {
        assert!(semver_compatible(&v("1.2.3"), &v("1.9.0")));
        assert!(!semver_compatible(&v("1.2.3"), &v("2.0.0")));
        assert!(semver_compatible(&v("0.3.1"), &v("0.3.9")));
        assert!(!semver_compatible(&v("0.3.1"), &v("0.4.0")));
        assert!(!semver_compatible(&v("0.0.1"), &v("0.0.2")));
        assert!(semver_compatible(&v("0.0.1"), &v("0.0.1-rc.1")));
        assert!(!semver_compatible(&v("0.0.1"), &v("0.1.0")));
        assert!(!semver_compatible(&v("1.0.0"), &v("0.1.0")));
    }

    #[test]
    fn informational_advisories_are_not_fixable() {
        assert!(is_fixable(&advisory("\">= 1.2.0\"", false)));
        assert!(!is_fixable(&advisory("", true)));
    }

    #[test]
    fn the_nearest_safe_version_prefers_published_releases() {
        let a = advisory("\">= 1.2.5, < 2.0.0\", \">= 2.1.0\"", false);
        let advs = [&a];
        // From the registry: the smallest unaffected release above the locked one, never a
        // prerelease.
        let published = [
            v("1.2.4"),
            v("1.2.6-rc.1"),
            v("1.2.7"),
            v("1.2.6"),
            v("2.1.0"),
        ];
        assert_eq!(
            nearest_safe_version(&advs, &v("1.2.3"), &published),
            Some(v("1.2.6"))
        );
        // Without a qualifying release: the lowest patched bound.
        assert_eq!(
            nearest_safe_version(&advs, &v("1.2.3"), &[v("1.2.4")]),
            Some(v("1.2.5"))
        );
        assert_eq!(
            nearest_safe_version(&advs, &v("1.2.3"), &[]),
            Some(v("1.2.5"))
        );
        // Above the first patched range, the second.
        assert_eq!(
            nearest_safe_version(&advs, &v("2.0.1"), &[]),
            Some(v("2.1.0"))
        );
        // Nothing above an unpatched advisory.
        let unpatched = advisory("", false);
        assert_eq!(nearest_safe_version(&[&unpatched], &v("1.0.0"), &[]), None);
    }

    #[test]
    fn upgrades_name_a_command_or_the_manifest_holding_the_crate_back() {
        assert_eq!(
            precise_update("demo", "1.0.0", "1.0.1"),
            "cargo update -p demo@1.0.0 --precise 1.0.1"
        );
        assert_eq!(
            upgrade_command("demo", &v("1.0.0"), &v("1.4.0")).as_deref(),
            Some("cargo update -p demo@1.0.0 --precise 1.4.0")
        );
        assert_eq!(upgrade_command("demo", &v("0.3.0"), &v("0.4.0")), None);
        assert_eq!(
            upgrade_remedy("demo", &v("1.0.0"), &v("1.4.0"), &[]),
            "upgrade to 1.4.0: `cargo update -p demo@1.0.0 --precise 1.4.0`"
        );
        let via = |n: usize| -> Vec<String> {
            ["app 0.1.0", "mid 2.0.0", "demo 0.3.0"][3 - n..]
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        let direct = upgrade_remedy("demo", &v("0.3.0"), &v("0.4.0"), &via(1));
        assert!(
            direct.contains("in your Cargo.toml, then run `cargo update -p demo@0.3.0`"),
            "{direct}"
        );
        let member = upgrade_remedy("demo", &v("0.3.0"), &v("0.4.0"), &via(2));
        assert!(
            member.contains("in the Cargo.toml of mid 2.0.0,"),
            "{member}"
        );
        let deep = upgrade_remedy("demo", &v("0.3.0"), &v("0.4.0"), &via(3));
        assert!(
            deep.contains("in mid 2.0.0 (it requires an older demo: upgrade it to a release that accepts demo 0.4.0, or replace it)"),
            "{deep}"
        );
    }
}
