//! Where files live: cargo-reflex's cache and state, cargo's and rustup's homes.
//!
//! Each location comes in two forms: one that reads the process environment ([`cache_dir`],
//! [`state_file`], [`cargo_home`], [`rustup_home`]) and one that reads variables through a
//! function (`*_from`), for callers that plan for another environment (a build's) and for
//! tests.

use std::ffi::OsString;
use std::path::PathBuf;

/// The variables of this process.
fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// cargo-reflex's cache directory (advisory database clone, index entries, crate archives and
/// their analyses, the state file): `$CARGO_REFLEX_CACHE`, else `$XDG_CACHE_HOME/cargo-reflex`,
/// else `~/.cache/cargo-reflex`.
pub fn cache_dir() -> Option<PathBuf> {
    cache_dir_from(process_env)
}

/// [`cache_dir`] for the variables `var` returns.
pub fn cache_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(dir) = var("CARGO_REFLEX_CACHE") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = var("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("cargo-reflex"));
    }
    var("HOME").map(|h| PathBuf::from(h).join(".cache").join("cargo-reflex"))
}

/// The state store of monitored builds: `state.sqlite` in the [`cache_dir`].
pub fn state_file() -> Option<PathBuf> {
    state_file_from(process_env)
}

/// [`state_file`] for the variables `var` returns.
pub fn state_file_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    cache_dir_from(var).map(|d| d.join("state.sqlite"))
}

/// Cargo's home: `$CARGO_HOME` (when not empty), else `~/.cargo`.
pub fn cargo_home() -> Option<PathBuf> {
    cargo_home_from(process_env)
}

/// [`cargo_home`] for the variables `var` returns.
pub fn cargo_home_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    var("CARGO_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// Rustup's home: `$RUSTUP_HOME` (when not empty), else `~/.rustup`.
pub fn rustup_home() -> Option<PathBuf> {
    rustup_home_from(process_env)
}

/// [`rustup_home`] for the variables `var` returns.
pub fn rustup_home_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    var("RUSTUP_HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".rustup")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            vars.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn the_cache_follows_its_variable_then_xdg_then_home() {
        let all = [
            ("CARGO_REFLEX_CACHE", "/c"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ];
        assert_eq!(cache_dir_from(env(&all)), Some(PathBuf::from("/c")));
        assert_eq!(
            cache_dir_from(env(&all[1..])),
            Some(PathBuf::from("/x/cargo-reflex"))
        );
        assert_eq!(
            cache_dir_from(env(&[("XDG_CACHE_HOME", ""), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/cargo-reflex"))
        );
        assert_eq!(cache_dir_from(env(&[])), None);
        assert_eq!(
            state_file_from(env(&all[1..])),
            Some(PathBuf::from("/x/cargo-reflex/state.sqlite"))
        );
        assert_eq!(state_file_from(env(&[])), None);
    }

    #[test]
    fn tool_homes_follow_their_variable_then_home() {
        let vars = [
            ("CARGO_HOME", "/ch"),
            ("RUSTUP_HOME", "/rh"),
            ("HOME", "/h"),
        ];
        assert_eq!(cargo_home_from(env(&vars)), Some(PathBuf::from("/ch")));
        assert_eq!(rustup_home_from(env(&vars)), Some(PathBuf::from("/rh")));
        let empty = [("CARGO_HOME", ""), ("RUSTUP_HOME", ""), ("HOME", "/h")];
        assert_eq!(
            cargo_home_from(env(&empty)),
            Some(PathBuf::from("/h/.cargo"))
        );
        assert_eq!(
            rustup_home_from(env(&empty)),
            Some(PathBuf::from("/h/.rustup"))
        );
        assert_eq!(cargo_home_from(env(&[])), None);
        assert_eq!(rustup_home_from(env(&[])), None);
    }
}
