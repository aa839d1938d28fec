//! CycloneDX 1.6 JSON (<https://cyclonedx.org/docs/1.6/json/>): the subset an SBOM of a
//! Cargo.lock needs, as serde types that follow the schema's names.

use super::vex::{State, Statement};
use super::{Component, Inventory, Root};
use serde::Serialize;

pub const SPEC_VERSION: &str = "1.6";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<CdxComponent>,
    dependencies: Vec<Dependency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vulnerabilities: Option<Vec<Vulnerability>>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: CdxComponent,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<CdxComponent>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CdxComponent {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<License>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_references: Vec<ExternalReference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

/// `licenseChoice`: one SPDX expression, or one named license that is not SPDX.
#[derive(Serialize)]
#[serde(untagged)]
enum License {
    Expression {
        expression: String,
        acknowledgement: &'static str,
    },
    Named {
        license: NamedLicense,
    },
}

#[derive(Serialize)]
struct NamedLicense {
    name: String,
    acknowledgement: &'static str,
}

#[derive(Serialize)]
struct ExternalReference {
    #[serde(rename = "type")]
    kind: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Property {
    name: &'static str,
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency {
    #[serde(rename = "ref")]
    reference: String,
    depends_on: Vec<String>,
}

#[derive(Serialize)]
struct Vulnerability {
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    id: String,
    source: Source,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ratings: Vec<Rating>,
    description: String,
    detail: String,
    recommendation: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    advisories: Vec<AdvisoryLink>,
    published: String,
    analysis: Analysis,
    affects: Vec<Affects>,
}

#[derive(Serialize)]
struct Source {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Reference {
    id: String,
    source: Source,
}

#[derive(Serialize)]
struct Rating {
    source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    severity: &'static str,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<String>,
}

#[derive(Serialize)]
struct AdvisoryLink {
    url: String,
}

#[derive(Serialize)]
struct Analysis {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    response: Vec<&'static str>,
    detail: String,
}

#[derive(Serialize)]
struct Affects {
    #[serde(rename = "ref")]
    reference: String,
    versions: Vec<AffectedVersion>,
}

#[derive(Serialize)]
struct AffectedVersion {
    version: String,
    status: &'static str,
}

/// The inventory as a CycloneDX 1.6 JSON document.
pub fn render(inv: &Inventory) -> String {
    let root_ref = root_ref(inv);
    let root_component = match &inv.root {
        Root::Package(i) => {
            let mut c = component(&inv.components[*i]);
            c.kind = "application";
            c
        }
        Root::Workspace {
            name,
            version,
            license,
            description,
        } => CdxComponent {
            kind: "application",
            bom_ref: Some(root_ref.clone()),
            name: name.clone(),
            version: version.clone(),
            description: description.clone(),
            hashes: Vec::new(),
            licenses: licenses(license.as_deref()),
            purl: None,
            external_references: Vec::new(),
            properties: Vec::new(),
        },
    };
    let root_index = match inv.root {
        Root::Package(i) => Some(i),
        Root::Workspace { .. } => None,
    };
    let components = inv
        .components
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != root_index)
        .map(|(_, c)| component(c))
        .collect();
    let refs = |deps: &[usize]| {
        deps.iter()
            .map(|&d| inv.components[d].bom_ref.clone())
            .collect()
    };
    let mut dependencies = vec![Dependency {
        reference: root_ref,
        depends_on: refs(&inv.root_depends_on),
    }];
    dependencies.extend(
        inv.components
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != root_index)
            .map(|(_, c)| Dependency {
                reference: c.bom_ref.clone(),
                depends_on: refs(&c.depends_on),
            }),
    );
    let mut properties = Vec::new();
    if let Some(db) = &inv.database {
        properties.push(Property {
            name: "cargo-reflex:advisory-database",
            value: format!(
                "{}{}{}",
                db.origin,
                db.commit
                    .as_deref()
                    .map(|c| format!(" commit {c}"))
                    .unwrap_or_default(),
                db.last_updated
                    .as_deref()
                    .map(|d| format!(" updated {d}"))
                    .unwrap_or_default()
            ),
        });
    }
    let bom = Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: SPEC_VERSION,
        serial_number: format!("urn:uuid:{}", inv.serial("cyclonedx")),
        version: 1,
        metadata: Metadata {
            timestamp: inv.created_rfc3339(),
            tools: Tools {
                components: vec![CdxComponent {
                    kind: "application",
                    bom_ref: None,
                    name: "cargo-reflex".into(),
                    version: Some(env!("CARGO_PKG_VERSION").into()),
                    description: None,
                    hashes: Vec::new(),
                    licenses: Vec::new(),
                    purl: None,
                    external_references: Vec::new(),
                    properties: Vec::new(),
                }],
            },
            component: root_component,
            properties,
        },
        components,
        dependencies,
        vulnerabilities: inv
            .vex
            .as_ref()
            .map(|v| v.iter().map(|s| vulnerability(inv, s)).collect()),
    };
    let mut text = serde_json::to_string_pretty(&bom).unwrap_or_default();
    text.push('\n');
    text
}

fn root_ref(inv: &Inventory) -> String {
    match &inv.root {
        Root::Package(i) => inv.components[*i].bom_ref.clone(),
        Root::Workspace { name, .. } => format!("workspace:{name}"),
    }
}

fn component(c: &Component) -> CdxComponent {
    let meta = c.meta.as_ref();
    let mut external_references = Vec::new();
    if let Some(locator) = super::purl::vcs_locator(&c.origin) {
        external_references.push(ExternalReference {
            kind: "vcs",
            url: locator,
        });
    } else if let Some(repo) = meta
        .and_then(|m| m.repository.clone())
        .filter(|u| is_url(u))
    {
        external_references.push(ExternalReference {
            kind: "vcs",
            url: repo,
        });
    }
    if let Some(home) = meta.and_then(|m| m.homepage.clone()).filter(|u| is_url(u)) {
        external_references.push(ExternalReference {
            kind: "website",
            url: home,
        });
    }
    if c.origin == crate::graph::Origin::CratesIo {
        external_references.push(ExternalReference {
            kind: "distribution",
            url: super::spdx::crates_io_download(&c.name, &c.version),
        });
    }
    CdxComponent {
        kind: if c.is_application() {
            "application"
        } else {
            "library"
        },
        bom_ref: Some(c.bom_ref.clone()),
        name: c.name.clone(),
        version: Some(c.version.clone()),
        description: meta.and_then(|m| m.description.clone()),
        hashes: c
            .sha256
            .iter()
            .map(|h| Hash {
                alg: "SHA-256",
                content: h.clone(),
            })
            .collect(),
        licenses: licenses(c.license()),
        purl: Some(c.purl.clone()),
        external_references,
        // crates.io says nothing the package URL does not; other sources keep cargo's words
        // (a git branch, a registry's protocol).
        properties: c
            .source
            .iter()
            .filter(|_| c.origin != crate::graph::Origin::CratesIo)
            .map(|s| Property {
                name: "cargo-reflex:lockfile-source",
                value: s.clone(),
            })
            .collect(),
    }
}

/// A valid SPDX expression (cargo's `MIT/Apache-2.0` canonicalised) as an expression; any
/// other text as a named license, so nothing the author wrote is lost.
fn licenses(text: Option<&str>) -> Vec<License> {
    let Some(text) = text else {
        return Vec::new();
    };
    vec![match super::spdx::canonical_expression(text) {
        Some(expression) => License::Expression {
            expression,
            acknowledgement: "declared",
        },
        None => License::Named {
            license: NamedLicense {
                name: text.to_string(),
                acknowledgement: "declared",
            },
        },
    }]
}

fn is_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://")) && !s.contains(char::is_whitespace)
}

fn vulnerability(inv: &Inventory, s: &Statement) -> Vulnerability {
    let c = &inv.components[s.package];
    let (state, justification, response) = match s.state {
        State::Exploitable => ("exploitable", None, vec!["rollback"]),
        State::InTriage if s.patched.is_empty() => ("in_triage", None, vec!["can_not_fix"]),
        State::InTriage => ("in_triage", None, vec!["update"]),
        State::Resolved => ("resolved", None, Vec::new()),
        State::NotAffected => ("not_affected", Some("code_not_present"), Vec::new()),
    };
    let recommendation = if s.malicious {
        "Remove the crate from the graph and rotate every secret its build could read".to_string()
    } else if s.patched.is_empty() {
        "No patched version: replace the crate or accept the risk".to_string()
    } else {
        format!("Upgrade to a version matching {}", s.patched.join(" or "))
    };
    let ratings = match (&s.rating, s.malicious) {
        (Some(r), _) => vec![Rating {
            source: Source {
                name: "RustSec",
                url: s.url.clone(),
            },
            score: Some(r.score),
            severity: r.severity,
            method: cvss_method(&r.vector),
            vector: Some(r.vector.clone()),
        }],
        (None, true) => vec![Rating {
            source: Source {
                name: "RustSec",
                url: s.url.clone(),
            },
            score: None,
            severity: "critical",
            method: "other",
            vector: None,
        }],
        (None, false) => Vec::new(),
    };
    Vulnerability {
        bom_ref: format!("{}:{}", s.id, c.bom_ref),
        id: s.id.clone(),
        source: Source {
            name: "RustSec",
            url: s.url.clone(),
        },
        references: s
            .aliases
            .iter()
            .map(|(id, url)| Reference {
                id: id.clone(),
                source: match id.starts_with("CVE-") {
                    true => Source {
                        name: "NVD",
                        url: Some(format!("https://nvd.nist.gov/vuln/detail/{id}")),
                    },
                    false => Source {
                        name: if id.starts_with("GHSA-") {
                            "GitHub"
                        } else {
                            "other"
                        },
                        url: url.clone(),
                    },
                },
            })
            .collect(),
        ratings,
        description: s.title.clone(),
        detail: s.description.clone(),
        recommendation,
        advisories: s
            .references
            .iter()
            .map(|u| AdvisoryLink { url: u.clone() })
            .collect(),
        published: format!("{}T00:00:00Z", s.date),
        analysis: Analysis {
            state,
            justification,
            response,
            detail: s.detail.clone(),
        },
        affects: vec![Affects {
            reference: c.bom_ref.clone(),
            versions: vec![AffectedVersion {
                version: c.version.clone(),
                status: if s.state.affected() {
                    "affected"
                } else {
                    "unaffected"
                },
            }],
        }],
    }
}

fn cvss_method(vector: &str) -> &'static str {
    match vector.split('/').next() {
        Some("CVSS:3.1") => "CVSSv31",
        Some("CVSS:3.0") => "CVSSv3",
        Some("CVSS:4.0") => "CVSSv4",
        _ => "CVSSv2",
    }
}
