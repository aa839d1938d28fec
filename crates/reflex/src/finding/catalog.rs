//! Every finding code, with the check that owns it. Built from the registered checks
//! (`checks::catalog()`); policy parsing, `init`, `approve` and the renderers take `&Catalog`
//! instead of lists of codes of their own.

use super::{Baseline, CodeSpec, Finding, Metric};

#[derive(Debug, Default)]
pub struct Catalog {
    entries: Vec<(&'static str, &'static CodeSpec)>,
}

impl Catalog {
    /// The codes of `families`, each named by its owner (a check name), in order; a code
    /// declared twice is kept once.
    pub fn new(families: impl IntoIterator<Item = (&'static str, &'static [CodeSpec])>) -> Self {
        let mut entries: Vec<(&'static str, &'static CodeSpec)> = Vec::new();
        for (owner, specs) in families {
            for spec in specs {
                if !entries.iter().any(|(_, s)| s.code == spec.code) {
                    entries.push((owner, spec));
                }
            }
        }
        Catalog { entries }
    }

    pub fn get(&self, code: &str) -> Option<&'static CodeSpec> {
        self.entries
            .iter()
            .find(|(_, s)| s.code == code)
            .map(|(_, s)| *s)
    }

    pub fn contains(&self, code: &str) -> bool {
        self.get(code).is_some()
    }

    /// (owner, spec) in registration order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &'static CodeSpec)> + '_ {
        self.entries.iter().copied()
    }

    pub fn codes(&self) -> Vec<&'static str> {
        self.entries.iter().map(|(_, s)| s.code).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a trust record for the finding's exact version clears it.
    pub fn trust_covers(&self, code: &str) -> bool {
        self.get(code).is_some_and(|s| s.trust_covers)
    }

    /// How `init` records it in the baseline (`Never` for an unknown code).
    pub fn baseline(&self, code: &str) -> Baseline {
        self.get(code).map_or(Baseline::Never, |s| s.baseline)
    }

    /// The codes that feed `metric`.
    pub fn feeding(&self, metric: Metric) -> Vec<&'static str> {
        self.entries
            .iter()
            .filter(|(_, s)| s.metric == Some(metric))
            .map(|(_, s)| s.code)
            .collect()
    }

    /// Findings whose code is unknown, or whose severity the catalog does not declare for
    /// their code: each a one-line description. Empty when the catalog is the truth.
    pub fn disagreements(&self, findings: &[Finding]) -> Vec<String> {
        findings
            .iter()
            .filter_map(|f| match self.get(f.code) {
                None => Some(format!("{}: code not in the catalog", f.code)),
                Some(spec) if !spec.allows(f.severity) => Some(format!(
                    "{}: severity {} is not declared (default {}, varies {:?})",
                    f.code, f.severity, spec.severity, spec.varies
                )),
                Some(_) => None,
            })
            .collect()
    }
}
