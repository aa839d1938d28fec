//! Package URLs (<https://github.com/package-url/purl-spec>) for cargo packages:
//! `pkg:cargo/<name>@<version>`, plus one qualifier for a package that does not come from
//! crates.io, so that a scanner never confuses it with the crates.io package of that name.

use crate::graph::Origin;

/// Where a package comes from, as the qualifier of its package URL says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualifier<'a> {
    /// crates.io: the purl type's default repository.
    None,
    /// Another registry, by index URL.
    RepositoryUrl(&'a str),
    /// A git repository at a commit: `git+<url>@<commit>` (SPDX's VCS locator form).
    VcsUrl(&'a str),
    /// A local package, by its directory relative to the workspace root (empty: unknown).
    LocalPath(&'a str),
}

/// `pkg:cargo/<name>@<version>[?<qualifier>]`.
pub fn cargo(name: &str, version: &str, qualifier: Qualifier<'_>) -> String {
    let mut purl = format!(
        "pkg:cargo/{}@{}",
        encode(name, false),
        encode(version, false)
    );
    let (key, value) = match qualifier {
        Qualifier::None => return purl,
        Qualifier::RepositoryUrl(url) => ("repository_url", url.to_string()),
        Qualifier::VcsUrl(locator) => ("vcs_url", locator.to_string()),
        Qualifier::LocalPath(dir) => ("download_url", format!("file://{dir}")),
    };
    purl.push('?');
    purl.push_str(key);
    purl.push('=');
    purl.push_str(&encode(&value, true));
    purl
}

/// The VCS locator of a git package: `git+https://host/repo@<commit>`, without cargo's
/// `?branch=`/`?rev=` query and `#commit` fragment.
pub fn vcs_locator(origin: &Origin) -> Option<String> {
    let Origin::Git { url, commit } = origin else {
        return None;
    };
    let base = url.split(['?', '#']).next().unwrap_or(url);
    let base = base.strip_prefix("git+").unwrap_or(base);
    Some(match commit {
        Some(c) => format!("git+{base}@{c}"),
        None => format!("git+{base}"),
    })
}

/// The index URL of a registry source, without cargo's `registry+`/`sparse+` kind prefix.
pub fn registry_url(source: &str) -> &str {
    source
        .strip_prefix("registry+")
        .or_else(|| source.strip_prefix("sparse+"))
        .unwrap_or(source)
}

/// Percent-encodes everything but unreserved characters and `:`; `/` too stays as is in
/// qualifier values (the purl spec's canonical form).
fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'-' | b'_' | b'~' | b':')
            || (keep_slash && b == b'/');
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crates_io_has_no_qualifier_and_build_metadata_is_encoded() {
        assert_eq!(
            cargo("serde", "1.0.219", Qualifier::None),
            "pkg:cargo/serde@1.0.219"
        );
        assert_eq!(
            cargo("libz-sys", "1.1.0+zlib-1.3", Qualifier::None),
            "pkg:cargo/libz-sys@1.1.0%2Bzlib-1.3"
        );
    }

    #[test]
    fn other_sources_say_where_they_come_from() {
        let origin = Origin::Git {
            url: "https://github.com/alacritty/vte?rev=abc#0123456".into(),
            commit: Some("0123456789abcdef".into()),
        };
        let locator = vcs_locator(&origin).unwrap();
        assert_eq!(
            locator,
            "git+https://github.com/alacritty/vte@0123456789abcdef"
        );
        assert_eq!(
            cargo("vte", "0.13.0", Qualifier::VcsUrl(&locator)),
            "pkg:cargo/vte@0.13.0?vcs_url=git%2Bhttps://github.com/alacritty/vte%400123456789abcdef"
        );
        assert_eq!(
            cargo(
                "internal-utils",
                "1.4.0",
                Qualifier::RepositoryUrl(registry_url("sparse+https://r.example/index/"))
            ),
            "pkg:cargo/internal-utils@1.4.0?repository_url=https://r.example/index/"
        );
        assert_eq!(
            cargo("app", "0.1.0", Qualifier::LocalPath("crates/my app")),
            "pkg:cargo/app@0.1.0?download_url=file://crates/my%20app"
        );
    }
}
