//! SPDX 2.3 JSON (<https://spdx.github.io/spdx-spec/v2.3/>): one package per locked package,
//! the workspace described by the document, dependencies as `DEPENDS_ON` relationships.

use super::{Component, Inventory, Root};
use serde::Serialize;
use std::collections::{BTreeSet, HashSet};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo,
    packages: Vec<Package>,
    relationships: Vec<Relationship>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    has_extracted_licensing_infos: Vec<ExtractedLicense>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: String,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    #[serde(skip_serializing_if = "Option::is_none")]
    homepage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    license_concluded: &'static str,
    license_declared: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    license_comments: Option<String>,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExtractedLicense {
    license_id: String,
    extracted_text: &'static str,
}

const NOASSERTION: &str = "NOASSERTION";

/// The inventory as an SPDX 2.3 JSON document.
pub fn render(inv: &Inventory) -> String {
    let ids = spdx_ids(inv);
    let root_index = match inv.root {
        Root::Package(i) => Some(i),
        Root::Workspace { .. } => None,
    };
    let root_id = match root_index {
        Some(i) => ids[i].clone(),
        None => "SPDXRef-Workspace".to_string(),
    };
    let mut refs_used = BTreeSet::new();
    let mut packages = Vec::new();
    if let Root::Workspace {
        name,
        version,
        license,
        description,
    } = &inv.root
    {
        let (license_declared, license_comments) = declared(license.as_deref(), &mut refs_used);
        packages.push(Package {
            spdx_id: root_id.clone(),
            name: name.clone(),
            version_info: version.clone(),
            download_location: NOASSERTION.into(),
            files_analyzed: false,
            checksums: Vec::new(),
            homepage: None,
            source_info: Some("the workspace (a virtual manifest)".into()),
            license_concluded: NOASSERTION,
            license_declared,
            license_comments,
            copyright_text: NOASSERTION,
            description: description.clone(),
            external_refs: Vec::new(),
            primary_package_purpose: "APPLICATION",
        });
    }
    let mut order: Vec<usize> = root_index.into_iter().collect();
    order.extend((0..inv.components.len()).filter(|&i| Some(i) != root_index));
    for i in order {
        let mut p = package(inv, i, &ids[i], &mut refs_used);
        if Some(i) == root_index {
            p.primary_package_purpose = "APPLICATION";
        }
        packages.push(p);
    }
    let mut relationships = vec![Relationship {
        spdx_element_id: "SPDXRef-DOCUMENT".into(),
        relationship_type: "DESCRIBES",
        related_spdx_element: root_id.clone(),
    }];
    let depends = |from: &str, to: &[usize], out: &mut Vec<Relationship>| {
        out.extend(to.iter().map(|&d| Relationship {
            spdx_element_id: from.to_string(),
            relationship_type: "DEPENDS_ON",
            related_spdx_element: ids[d].clone(),
        }));
    };
    depends(&root_id, &inv.root_depends_on, &mut relationships);
    for (i, c) in inv.components.iter().enumerate() {
        if Some(i) != root_index {
            depends(&ids[i], &c.depends_on, &mut relationships);
        }
    }
    let doc = Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name: format!("{} (Cargo.lock)", inv.root_name()),
        document_namespace: format!("urn:uuid:{}", inv.serial("spdx")),
        creation_info: CreationInfo {
            created: inv.created_rfc3339(),
            creators: vec![format!("Tool: cargo-reflex-{}", env!("CARGO_PKG_VERSION"))],
            comment: inv.database.as_ref().map(|db| {
                format!(
                    "Security references from the {} advisory database{}",
                    db.origin,
                    db.last_updated
                        .as_deref()
                        .map(|d| format!(" updated {d}"))
                        .unwrap_or_default()
                )
            }),
        },
        packages,
        relationships,
        has_extracted_licensing_infos: refs_used
            .into_iter()
            .map(|license_id| ExtractedLicense {
                license_id,
                extracted_text: "The text is in the package's license files; Cargo.toml names it only.",
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn package(inv: &Inventory, i: usize, id: &str, refs_used: &mut BTreeSet<String>) -> Package {
    let c: &Component = &inv.components[i];
    let meta = c.meta.as_ref();
    let (license_declared, mut license_comments) = declared(c.license(), refs_used);
    if license_comments.is_none() && c.license().is_none() {
        license_comments = meta
            .and_then(|m| m.license_file.as_deref())
            .map(|f| format!("Cargo.toml points to a license file ({f}) instead of an expression"));
    }
    let download_location = match &c.origin {
        crate::graph::Origin::CratesIo => crates_io_download(&c.name, &c.version),
        origin => super::purl::vcs_locator(origin).unwrap_or_else(|| NOASSERTION.into()),
    };
    let mut external_refs = vec![ExternalRef {
        reference_category: "PACKAGE-MANAGER",
        reference_type: "purl",
        reference_locator: c.purl.clone(),
        comment: None,
    }];
    for s in inv.vex.iter().flatten() {
        if s.package == i && s.state.affected() {
            external_refs.push(ExternalRef {
                reference_category: "SECURITY",
                reference_type: "advisory",
                reference_locator: s
                    .url
                    .clone()
                    .unwrap_or_else(|| format!("https://rustsec.org/advisories/{}", s.id)),
                comment: Some(format!("{}: {}", s.id, s.title)),
            });
        }
    }
    Package {
        spdx_id: id.to_string(),
        name: c.name.clone(),
        version_info: Some(c.version.clone()),
        download_location,
        files_analyzed: false,
        checksums: c
            .sha256
            .iter()
            .map(|h| Checksum {
                algorithm: "SHA256",
                checksum_value: h.clone(),
            })
            .collect(),
        homepage: meta
            .and_then(|m| m.homepage.clone())
            .filter(|u| u.starts_with("https://") || u.starts_with("http://")),
        source_info: c.source.as_ref().map(|s| format!("Cargo.lock source: {s}")),
        license_concluded: NOASSERTION,
        license_declared,
        license_comments,
        copyright_text: NOASSERTION,
        description: meta.and_then(|m| m.description.clone()),
        external_refs,
        primary_package_purpose: if c.is_application() {
            "APPLICATION"
        } else {
            "LIBRARY"
        },
    }
}

/// `licenseDeclared` and a comment when the manifest's text cannot be stated as SPDX.
fn declared(text: Option<&str>, refs_used: &mut BTreeSet<String>) -> (String, Option<String>) {
    let Some(text) = text else {
        return (NOASSERTION.into(), None);
    };
    // SPDX 2.3 has no `AdditionRef-`, and a `DocumentRef-` needs a document we do not have.
    match canonical_expression(text)
        .filter(|e| !e.contains("DocumentRef-") && !e.contains("AdditionRef-"))
    {
        Some(expr) => {
            if let Ok(parsed) = spdx::Expression::parse(&expr) {
                for req in parsed.requirements() {
                    if let spdx::LicenseItem::Other(other) = &req.req.license {
                        refs_used.insert(format!("LicenseRef-{}", other.lic_ref));
                    }
                }
            }
            (expr, None)
        }
        None => (
            NOASSERTION.into(),
            Some(format!(
                "Cargo.toml declares `{text}`, which is not an SPDX expression"
            )),
        ),
    }
}

/// The expression in SPDX's strict syntax (`MIT/Apache-2.0` becomes `MIT OR Apache-2.0`), or
/// `None` when the text is not a license expression at all.
pub fn canonical_expression(text: &str) -> Option<String> {
    let candidate = match spdx::Expression::canonicalize(text) {
        Ok(Some(fixed)) => fixed,
        Ok(None) => text.trim().to_string(),
        Err(_) => return None,
    };
    spdx::Expression::parse(&candidate).ok().map(|_| candidate)
}

/// crates.io's download URL of a version's `.crate`.
pub fn crates_io_download(name: &str, version: &str) -> String {
    format!("https://crates.io/api/v1/crates/{name}/{version}/download")
}

/// `SPDXRef-Package-<name>-<version>`, made of the characters SPDX allows and unique.
fn spdx_ids(inv: &Inventory) -> Vec<String> {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let mut seen = HashSet::new();
    inv.components
        .iter()
        .map(|c| {
            let base = format!("SPDXRef-Package-{}-{}", clean(&c.name), clean(&c.version));
            let mut id = base.clone();
            let mut n = 1;
            while !seen.insert(id.clone()) {
                n += 1;
                id = format!("{base}-{n}");
            }
            id
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_license_syntax_becomes_spdx() {
        assert_eq!(
            canonical_expression("MIT/Apache-2.0").as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            canonical_expression("MIT OR Apache-2.0").as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(canonical_expression("see LICENSE.txt"), None);
        let mut refs = BTreeSet::new();
        let (expr, comment) = declared(Some("MIT AND LicenseRef-ring"), &mut refs);
        assert_eq!(expr, "MIT AND LicenseRef-ring");
        assert_eq!(comment, None);
        assert!(refs.contains("LicenseRef-ring"), "{refs:?}");
        let (expr, comment) = declared(Some("Proprietary, ask us"), &mut refs);
        assert_eq!(expr, NOASSERTION);
        assert!(comment.unwrap().contains("Proprietary, ask us"));
    }
}
