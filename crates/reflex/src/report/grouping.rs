//! Findings with the same cause, said once: the eight `windows_*` crates that each ship one
//! native binary are one line naming the eight, not eight findings with eight paths.

use crate::finding::Finding;

/// A finding, or several with the same code and the same title apart from the package.
pub struct Group<'a> {
    pub first: &'a Finding,
    /// Every member (`first` included), in report order.
    pub members: Vec<&'a Finding>,
}

impl Group<'_> {
    /// The fix for the whole group: `first`'s, with its package written as a placeholder.
    pub fn remedy(&self) -> Option<String> {
        let r = self.first.remedy.clone()?;
        let Some(p) = self
            .first
            .package
            .as_ref()
            .filter(|_| self.members.len() > 1)
        else {
            return Some(r);
        };
        let own = format!("{}@{}", p.name, p.version);
        if !r.contains(&own) {
            return Some(r.replace(&format!("`{}`", p.name), "`<crate>`"));
        }
        // A command per crate, so each can be run as printed.
        let all: Vec<String> = self
            .members
            .iter()
            .filter_map(|f| f.package.as_ref())
            .map(|q| format!("{}@{}", q.name, q.version))
            .collect();
        Some(format!(
            "{} (for each: {})",
            r.replace(&own, "<crate>@<version>"),
            all.join(", ")
        ))
    }

    /// The distinct evidence lines of the members (at most `limit`), and how many more.
    pub fn evidence(&self, limit: usize) -> (Vec<String>, usize) {
        let mut all: Vec<String> = Vec::new();
        for f in &self.members {
            for e in &f.evidence {
                if !all.contains(e) {
                    all.push(e.clone());
                }
            }
        }
        let more = all.len().saturating_sub(limit);
        all.truncate(limit);
        (all, more)
    }

    /// The title for the whole group: `first`'s, with its package replaced by the list.
    pub fn title(&self) -> String {
        let Some(first) = label(self.first) else {
            return self.first.title.clone();
        };
        if self.members.len() == 1 {
            return self.first.title.clone();
        }
        let names: Vec<String> = self.members.iter().filter_map(|f| label(f)).collect();
        let shown = if names.len() > 4 {
            format!("{} and {} more", names[..3].join(", "), names.len() - 3)
        } else {
            names.join(", ")
        };
        self.first.title.replacen(
            &first,
            &format!("each of {} crates ({shown})", self.members.len()),
            1,
        )
    }
}

fn label(f: &Finding) -> Option<String> {
    let p = f.package.as_ref()?;
    Some(format!("{} {}", p.name, p.version))
}

/// Code, title and fix with the package taken out: findings that share them have one cause
/// and one fix (a fix that differs, such as a cooldown's own date, keeps them apart).
type Key = (String, String, String);

fn key(f: &Finding) -> Option<Key> {
    let label = label(f)?;
    let p = f.package.as_ref()?;
    if !f.title.contains(&label) {
        return None;
    }
    let remedy = f
        .remedy
        .as_deref()
        .unwrap_or("")
        .replace(&format!("{}@{}", p.name, p.version), "{}")
        .replace(&label, "{}")
        .replace(&p.name, "{}");
    Some((f.code.to_string(), f.title.replace(&label, "{}"), remedy))
}

/// Groups `findings` (already filtered and ordered), keeping the position of each group's
/// first member. Findings without a package, or whose title does not name it, stay alone.
pub fn group<'a>(findings: &[&'a Finding]) -> Vec<Group<'a>> {
    let mut out: Vec<(Option<Key>, Group<'a>)> = Vec::new();
    for f in findings {
        let k = key(f);
        if let Some(k) = &k
            && let Some((_, g)) = out
                .iter_mut()
                .find(|(gk, g)| gk.as_ref() == Some(k) && g.first.denied == f.denied)
        {
            g.members.push(f);
            continue;
        }
        out.push((
            k,
            Group {
                first: f,
                members: vec![f],
            },
        ));
    }
    out.into_iter().map(|(_, g)| g).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{CodeSpec, PackageRef, Severity};

    const NATIVE: CodeSpec = CodeSpec::new("native-binary", Severity::Low, "");

    fn native(name: &str) -> Finding {
        Finding::new(
            "build-time",
            &NATIVE,
            format!("{name} 0.52.6 ships 1 native binaries"),
        )
        .package(PackageRef {
            name: name.into(),
            version: "0.52.6".into(),
            source: "registry+https://github.com/rust-lang/crates.io-index".into(),
        })
        .evidence(format!("lib/{name}.lib (Library)"))
    }

    #[test]
    fn same_cause_is_one_line() {
        let names = [
            "windows_aarch64_gnullvm",
            "windows_aarch64_msvc",
            "windows_i686_gnu",
            "windows_i686_gnullvm",
            "windows_i686_msvc",
        ];
        let all: Vec<Finding> = names.iter().map(|n| native(n)).collect();
        let mut other = native("ring");
        other.title = "ring 0.52.6 ships 2 native binaries".into();
        let mut refs: Vec<&Finding> = all.iter().collect();
        refs.push(&other);
        let groups = group(&refs);
        assert_eq!(groups.len(), 2, "ring's title differs");
        let (evidence, more) = groups[0].evidence(3);
        assert_eq!(evidence.len(), 3);
        assert_eq!(more, 2);
        assert_eq!(
            groups[0].title(),
            "each of 5 crates (windows_aarch64_gnullvm 0.52.6, windows_aarch64_msvc 0.52.6, windows_i686_gnu 0.52.6 and 2 more) ships 1 native binaries"
        );
        assert_eq!(groups[1].title(), "ring 0.52.6 ships 2 native binaries");
    }
}
