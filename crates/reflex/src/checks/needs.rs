//! What a check reads. The loader builds the union of the selected checks' needs and nothing
//! more, so a command that runs no recon check never downloads an archive.

/// A set of inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Needs(u16);

impl Needs {
    pub const NOTHING: Needs = Needs(0);
    /// The resolved graph of the lockfile.
    pub const GRAPH: Needs = Needs(1);
    /// The workspace's manifests.
    pub const WORKSPACE: Needs = Needs(1 << 1);
    /// The advisory database.
    pub const ADVISORIES: Needs = Needs(1 << 2);
    /// Registry index entries of the graph's registry packages (versions, yanks).
    pub const INDEX: Needs = Needs(1 << 3);
    /// Index entries with publish times and dependencies.
    pub const INDEX_DETAILED: Needs = Needs(1 << 4);
    /// crates.io entries for the names of path, git and alternative-registry packages.
    pub const PUBLIC_INDEX: Needs = Needs(1 << 5);
    /// What each registry crate's archive holds (build-time code, unsafe, manifests).
    pub const ARCHIVES: Needs = Needs(1 << 6);
    /// The popular-crate corpus (look-alike targets).
    pub const POPULARITY: Needs = Needs(1 << 7);
    /// The repository's CI files.
    pub const CI_FILES: Needs = Needs(1 << 8);
    /// Cargo configuration files.
    pub const CARGO_CONFIG: Needs = Needs(1 << 9);
    /// The policy in force.
    pub const POLICY: Needs = Needs(1 << 10);
    /// The base graph and the code of both sides of each change.
    pub const BASE: Needs = Needs(1 << 11);
    /// The environment (`audit --env`).
    pub const ENV: Needs = Needs(1 << 12);

    pub const fn with(self, other: Needs) -> Needs {
        Needs(self.0 | other.0)
    }

    pub const fn contains(self, other: Needs) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any input of the registry index is needed.
    pub const fn any_index(self) -> bool {
        self.0 & (Needs::INDEX.0 | Needs::INDEX_DETAILED.0 | Needs::PUBLIC_INDEX.0) != 0
    }
}

impl std::ops::BitOr for Needs {
    type Output = Needs;
    fn bitor(self, other: Needs) -> Needs {
        self.with(other)
    }
}

impl std::iter::FromIterator<Needs> for Needs {
    fn from_iter<I: IntoIterator<Item = Needs>>(iter: I) -> Needs {
        iter.into_iter().fold(Needs::NOTHING, Needs::with)
    }
}

#[cfg(test)]
mod tests {
    use super::Needs;

    #[test]
    fn union_contains_each_part_and_nothing_else() {
        let n = Needs::GRAPH | Needs::ARCHIVES;
        assert!(n.contains(Needs::GRAPH) && n.contains(Needs::ARCHIVES));
        assert!(!n.contains(Needs::POLICY));
        assert!(!n.any_index());
        assert!((n | Needs::PUBLIC_INDEX).any_index());
        assert!(n.contains(Needs::NOTHING));
    }
}
