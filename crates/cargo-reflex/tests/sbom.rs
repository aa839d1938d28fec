//! `cargo reflex sbom`: CycloneDX 1.6 and SPDX 2.3 documents of the locked graph, validated
//! against the official JSON schemas (fixtures/schemas) on the SBOM scenario, this repository
//! and every lockfile of the real-world corpus; snapshots of the scenario in both formats.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

/// Resolves the schemas' `$ref`s to the committed copies; nothing is fetched.
struct SchemaFiles;

impl jsonschema::Retrieve for SchemaFiles {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri.path().as_str().rsplit('/').next().unwrap_or_default();
        Ok(schema(name))
    }
}

fn schema(name: &str) -> Value {
    let path = fixture("schemas").join(name);
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn validator(name: &str) -> jsonschema::Validator {
    jsonschema::options()
        .with_retriever(SchemaFiles)
        .should_validate_formats(true)
        .build(&schema(name))
        .unwrap()
}

fn cyclonedx_schema() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| validator("bom-1.6.SNAPSHOT.schema.json"))
}

fn spdx_schema() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| validator("spdx-2.3.schema.json"))
}

fn assert_valid(v: &jsonschema::Validator, doc: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .take(10)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}");
}

/// The scenario: a virtual workspace with a binary member and a path library, crates.io
/// packages (one readable in the fixture's download cache), a git dependency checked out in
/// the fixture's cargo home, a private-registry package, and advisories from the scenario
/// database (a malicious crate, a vulnerable, a patched and an unaffected version).
fn scenario(format: &str) -> Run {
    run(
        &fixture("sbom"),
        &[
            "sbom",
            "--manifest-path",
            "ws",
            "--cargo-home",
            "cargo-home",
            "--advisory-db",
            &fixture("advisory-db-scenario").display().to_string(),
            "--vex",
            "--now",
            "2026-11-25",
            "--format",
            format,
        ],
    )
}

fn component<'a>(bom: &'a Value, name: &str, version: &str) -> &'a Value {
    bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name && c["version"] == version)
        .unwrap_or_else(|| panic!("no component {name} {version}"))
}

#[test]
fn scenario_cyclonedx_is_valid_and_says_what_the_lockfile_says() {
    let run = scenario("cyclonedx");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let bom = json(&run);
    assert_valid(cyclonedx_schema(), &bom, "scenario CycloneDX");
    // The virtual workspace is the root component; its members hang off it.
    let root = &bom["metadata"]["component"];
    assert_eq!(root["name"], "ws");
    assert_eq!(root["version"], "0.3.0");
    assert_eq!(root["licenses"][0]["expression"], "MIT OR Apache-2.0");
    assert_eq!(bom["dependencies"][0]["ref"], root["bom-ref"]);
    assert_eq!(
        bom["dependencies"][0]["dependsOn"],
        serde_json::json!(["pkg:cargo/app@0.3.0?download_url=file://app"])
    );
    assert_eq!(bom["components"].as_array().unwrap().len(), 8);
    let app = component(&bom, "app", "0.3.0");
    assert_eq!(app["type"], "application");
    // cargo's old `MIT/Apache-2.0` becomes an SPDX expression.
    let util = component(&bom, "util", "0.3.0");
    assert_eq!(util["licenses"][0]["expression"], "MIT OR Apache-2.0");
    // Read from the packaged manifest in cargo's download cache, checksum verified.
    let demo = component(&bom, "demo-lib", "1.2.0");
    assert_eq!(
        demo["licenses"][0]["expression"],
        "Apache-2.0 WITH LLVM-exception"
    );
    assert_eq!(demo["hashes"][0]["alg"], "SHA-256");
    assert_eq!(
        demo["hashes"][0]["content"],
        "f61c34a2831759c765928fd38865a1570c9a9dffeb0bb43c51832c20c0523890"
    );
    // Read from cargo's git checkout, inheriting the checkout's workspace license.
    let git = component(&bom, "term-colors", "0.2.0");
    assert_eq!(git["licenses"][0]["expression"], "Zlib");
    assert_eq!(
        git["purl"],
        "pkg:cargo/term-colors@0.2.0?vcs_url=git%2Bhttps://github.com/example/term-colors%400123456789abcdef0123456789abcdef01234567"
    );
    assert!(git.get("hashes").is_none(), "git packages have no checksum");
    let private = component(&bom, "internal-utils", "1.4.0");
    assert_eq!(
        private["purl"],
        "pkg:cargo/internal-utils@1.4.0?repository_url=https://crates.internal.example/index/"
    );
    // A checksum that does not match the archive: nothing from it is trusted.
    assert!(
        component(&bom, "url-parse", "0.1.0")
            .get("licenses")
            .is_none()
    );
    // VEX: one statement per advisory and locked version, each with its state.
    let states: Vec<(String, String, String)> = bom["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["affects"][0]["versions"][0]["version"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                v["analysis"]["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("RUSTSEC-2026-9001", "0.1.0", "exploitable"),
        ("RUSTSEC-2019-0009", "0.6.9", "in_triage"),
        ("RUSTSEC-2018-0003", "0.6.9", "resolved"),
        ("RUSTSEC-2019-0009", "0.5.0", "not_affected"),
    ] {
        let expected = (
            expected.0.to_string(),
            expected.1.to_string(),
            expected.2.to_string(),
        );
        assert!(
            states.contains(&expected),
            "{expected:?} not in {states:#?}"
        );
    }
    // Informational advisories (RUSTSEC-2018-0018 is `unsound`) are not vulnerabilities.
    assert!(!states.iter().any(|s| s.0 == "RUSTSEC-2018-0018"));
    // What the document could not state is said on stderr, not silently left out.
    assert!(
        run.stderr.contains("4 of 8 packages have no license"),
        "{}",
        run.stderr
    );
    insta::assert_snapshot!("sbom_scenario_cyclonedx", run.stdout);
    insta::assert_snapshot!("sbom_scenario_notes", run.stderr);
}

#[test]
fn scenario_spdx_is_valid_and_describes_the_workspace() {
    let run = scenario("spdx");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc = json(&run);
    assert_valid(spdx_schema(), &doc, "scenario SPDX");
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    let rels = doc["relationships"].as_array().unwrap();
    assert_eq!(rels[0]["spdxElementId"], "SPDXRef-DOCUMENT");
    assert_eq!(rels[0]["relationshipType"], "DESCRIBES");
    assert_eq!(rels[0]["relatedSpdxElement"], "SPDXRef-Workspace");
    // Every lockfile edge, plus the workspace depending on its top member.
    let depends = rels
        .iter()
        .filter(|r| r["relationshipType"] == "DEPENDS_ON")
        .count();
    assert_eq!(depends, 4 + 2 + 1 + 1);
    let packages = doc["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 9);
    let by_name = |name: &str, version: &str| {
        packages
            .iter()
            .find(|p| p["name"] == name && p["versionInfo"] == version)
            .unwrap_or_else(|| panic!("no package {name} {version}"))
    };
    let demo = by_name("demo-lib", "1.2.0");
    assert_eq!(demo["licenseDeclared"], "Apache-2.0 WITH LLVM-exception");
    assert_eq!(demo["checksums"][0]["algorithm"], "SHA256");
    assert_eq!(
        demo["downloadLocation"],
        "https://crates.io/api/v1/crates/demo-lib/1.2.0/download"
    );
    assert_eq!(
        by_name("term-colors", "0.2.0")["downloadLocation"],
        "git+https://github.com/example/term-colors@0123456789abcdef0123456789abcdef01234567"
    );
    assert_eq!(
        by_name("smallvec", "0.6.9")["licenseDeclared"],
        "NOASSERTION"
    );
    // With --vex, the advisories that affect a locked version are security references.
    let refs = by_name("url-parse", "0.1.0")["externalRefs"]
        .as_array()
        .unwrap();
    assert!(
        refs.iter().any(|r| r["referenceCategory"] == "SECURITY"
            && r["referenceLocator"]
                .as_str()
                .unwrap()
                .contains("RUSTSEC-2026-9001")),
        "{refs:#?}"
    );
    insta::assert_snapshot!("sbom_scenario_spdx", run.stdout);
}

#[test]
fn schemas_reject_what_is_not_a_bom() {
    // A schema that rejects nothing would make the validity tests pointless.
    let bad_cdx = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [{"type": "nonsense", "name": "x"}]
    });
    assert!(!cyclonedx_schema().is_valid(&bad_cdx));
    let bad_hash = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [{"type": "library", "name": "x", "hashes": [{"alg": "SHA-256", "content": "zz"}]}]
    });
    assert!(!cyclonedx_schema().is_valid(&bad_hash));
    let bad_spdx = serde_json::json!({
        "spdxVersion": "SPDX-2.3",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "x",
        "dataLicense": "CC0-1.0",
        "creationInfo": {"created": "2026-11-25T00:00:00Z", "creators": []},
        "packages": [{"SPDXID": "SPDXRef-a", "name": "a"}]
    });
    assert!(!spdx_schema().is_valid(&bad_spdx));
}

/// Name and version of every `[[package]]` of a lockfile, with its checksum.
fn locked(lockfile: &Path) -> BTreeMap<(String, String), Option<String>> {
    let lock: toml::Table = toml::from_str(&std::fs::read_to_string(lockfile).unwrap()).unwrap();
    lock["package"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["version"].as_str().unwrap().to_string(),
                ),
                p.get("checksum")
                    .and_then(|c| c.as_str())
                    .map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn sbom_of_this_repository_holds_every_locked_package_with_its_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = repo().join("Cargo.toml").display().to_string();
    let base = ["sbom", "--manifest-path", &manifest, "--now", "2026-11-25"];
    let cdx = run(tmp.path(), &base);
    assert_eq!(cdx.code, 0, "{}", cdx.stderr);
    let bom = json(&cdx);
    assert_valid(cyclonedx_schema(), &bom, "this repository, CycloneDX");
    let locked = locked(&repo().join("Cargo.lock"));
    let components = bom["components"].as_array().unwrap();
    // A virtual workspace: every locked package is a component, the root is extra.
    assert_eq!(components.len(), locked.len());
    for c in components {
        let key = (
            c["name"].as_str().unwrap().to_string(),
            c["version"].as_str().unwrap().to_string(),
        );
        let sum = locked
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} not locked"));
        assert_eq!(
            c["hashes"][0]["content"].as_str(),
            sum.as_deref(),
            "{key:?}"
        );
    }
    let reflex = component(&bom, "reflex", "0.1.0");
    assert_eq!(
        reflex["purl"],
        "pkg:cargo/reflex@0.1.0?download_url=file://crates/reflex"
    );
    assert_eq!(reflex["licenses"][0]["expression"], "MIT OR Apache-2.0");

    let mut spdx_args = base.to_vec();
    spdx_args.extend(["--format", "spdx"]);
    let spdx = run(tmp.path(), &spdx_args);
    assert_eq!(spdx.code, 0, "{}", spdx.stderr);
    let doc = json(&spdx);
    assert_valid(spdx_schema(), &doc, "this repository, SPDX");
    assert_eq!(doc["packages"].as_array().unwrap().len(), locked.len() + 1);
}

#[test]
fn sbom_of_every_corpus_lockfile_is_valid_in_both_formats() {
    let corpus = fixture("corpus");
    let mut locks: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("Cargo.lock"))
        .filter(|p| p.is_file())
        .collect();
    locks.extend(
        std::fs::read_dir(corpus.join("_historical"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with("Cargo.lock")),
    );
    locks.sort();
    assert!(locks.len() >= 12, "{locks:?}");
    let tmp = tempfile::tempdir().unwrap();
    let mut git_packages = 0;
    let mut affected = 0;
    for lock in &locks {
        let file = lock.display().to_string();
        let args = |format: &'static str| {
            vec![
                "sbom",
                "--file",
                &file,
                "--vex",
                "--now",
                "2026-11-25",
                "--format",
                format,
            ]
        };
        let cdx = run(tmp.path(), &args("cyclonedx"));
        assert_eq!(cdx.code, 0, "{file}: {}", cdx.stderr);
        let bom = json(&cdx);
        assert_valid(cyclonedx_schema(), &bom, &file);
        // Every [[package]], including a path and a registry package of one name and version.
        let count = std::fs::read_to_string(lock)
            .unwrap()
            .lines()
            .filter(|l| l.trim() == "[[package]]")
            .count();
        let listed = bom["components"].as_array().unwrap().len();
        // The root is one of the locked packages (one top-level package) or a workspace.
        assert!(listed == count || listed + 1 == count, "{file}");
        // Package URLs tell apart a path package and the registry package of one name and
        // version (cargo's own lockfile has both for cargo-platform 0.3.3).
        let purls: std::collections::BTreeSet<&str> = bom["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["purl"].as_str().unwrap())
            .collect();
        assert_eq!(purls.len(), listed, "{file}: duplicate package URLs");
        for c in bom["components"].as_array().unwrap() {
            let purl = c["purl"].as_str().unwrap();
            if purl.contains("?vcs_url=git%2B") {
                git_packages += 1;
                assert!(
                    c["externalReferences"][0]["url"]
                        .as_str()
                        .unwrap()
                        .starts_with("git+"),
                    "{c:#}"
                );
            }
        }
        affected += bom["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["analysis"]["state"] == "in_triage")
            .count();

        let spdx = run(tmp.path(), &args("spdx"));
        assert_eq!(spdx.code, 0, "{file}: {}", spdx.stderr);
        assert_valid(spdx_schema(), &json(&spdx), &file);
    }
    // alacritty and nushell lock git packages; the old lockfiles hold known vulnerabilities.
    assert!(git_packages >= 2, "{git_packages}");
    assert!(affected > 0);
}

#[test]
fn same_inputs_same_document_and_output_file() {
    let tmp = tempfile::tempdir().unwrap();
    let lock = fixture("sbom/ws/Cargo.lock").display().to_string();
    let epoch = [("SOURCE_DATE_EPOCH", "1764000000")];
    let args = ["sbom", "--file", &lock];
    let a = run_with(tmp.path(), &args, &epoch, None);
    let b = run_with(tmp.path(), &args, &epoch, None);
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(a.stdout, b.stdout, "reproducible under SOURCE_DATE_EPOCH");
    let bom = json(&a);
    assert_eq!(bom["metadata"]["timestamp"], "2025-11-24T16:00:00Z");
    // A lone lockfile: its one top-level local package is the root.
    assert_eq!(bom["metadata"]["component"]["name"], "app");
    let later = run_with(
        tmp.path(),
        &args,
        &[("SOURCE_DATE_EPOCH", "1764000001")],
        None,
    );
    assert_ne!(json(&later)["serialNumber"], bom["serialNumber"]);
    let out = tmp.path().join("bom.cdx.json");
    let mut to_file = args.to_vec();
    let out_arg = out.display().to_string();
    to_file.extend(["-o", &out_arg]);
    let c = run_with(tmp.path(), &to_file, &epoch, None);
    assert_eq!(c.code, 0, "{}", c.stderr);
    assert!(c.stdout.is_empty());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), a.stdout);
}

#[test]
fn hostile_or_missing_lockfiles_are_errors_not_panics() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("bad.lock"), "[[package]]\nname = 3\n").unwrap();
    let bad = run(tmp.path(), &["sbom", "--file", "bad.lock"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("bad.lock"), "{}", bad.stderr);
    assert!(bad.stdout.is_empty());
    std::fs::write(
        tmp.path().join("Cargo.toml"),
        "[package]\nname = \"nolock\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    let none = run(tmp.path(), &["sbom"]);
    assert_eq!(none.code, 2, "{}", none.stderr);
    assert!(none.stderr.contains("no lockfile"), "{}", none.stderr);
    let bad_epoch = run_with(
        tmp.path(),
        &["sbom", "--file", "bad.lock"],
        &[("SOURCE_DATE_EPOCH", "yesterday")],
        None,
    );
    assert_eq!(bad_epoch.code, 2);
    assert!(
        bad_epoch.stderr.contains("SOURCE_DATE_EPOCH"),
        "{}",
        bad_epoch.stderr
    );
}
