//! What the action and the README's example workflow pin, checked by zizmor and our own CI
//! lint.

use crate::common::*;
use crate::expr::{entries, scalar};
use crate::runner::action_yml;

#[test]
fn the_action_pins_what_it_uses_and_documents_its_interface() {
    let text = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    let action = action_yml(&repo().join("action.yml"));
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    for (kind, key) in [("inputs", "description"), ("outputs", "description")] {
        for (name, spec) in entries(&action[kind]) {
            assert!(
                spec.as_mapping_get(key)
                    .and_then(scalar)
                    .is_some_and(|d| d.len() > 10),
                "{kind}.{name} has no description"
            );
        }
    }
    for name in ["verdict", "findings", "denied", "sarif", "alerts"] {
        assert!(
            action["outputs"].as_mapping_get(name).is_some(),
            "output {name}"
        );
    }
    // Every `uses:` is a full commit with its version in a comment, and one the init pins.
    for line in text.lines().filter(|l| l.trim_start().starts_with("uses:")) {
        let uses = line.trim_start().trim_start_matches("uses:").trim();
        assert!(
            reflex::init::PINNED_ACTIONS
                .iter()
                .any(|p| uses == p.uses()),
            "{uses}"
        );
    }
    // zizmor, the linter people run on their workflows, has nothing to say about it.
    match zizmor(&repo().join("action.yml")) {
        Some((code, out)) => assert_eq!(code, 0, "zizmor on action.yml:\n{out}"),
        None => skip_zizmor("the zizmor check did not run"),
    }
}

#[test]
fn readme_example_workflow_pins_everything_and_passes_zizmor_and_our_ci_lint() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("name: supply-chain")
        .expect("the README's example workflow");
    let end = start + readme[start..].find("```").unwrap();
    // The placeholder the reader replaces with the commit they reviewed.
    let example = readme[start..end].replace("<full-commit-sha>", &"a".repeat(40));
    for line in example.lines().filter(|l| l.contains("uses: ")) {
        let uses = line.split("uses: ").nth(1).unwrap().trim();
        assert!(
            uses == format!("cargo-reflex/cargo-reflex@{} # v0.1.0", "a".repeat(40))
                || reflex::init::PINNED_ACTIONS
                    .iter()
                    .any(|p| uses == p.uses()),
            "{uses}"
        );
    }
    let project = tempfile::tempdir().unwrap();
    copy_dir(&fixture("scenarios/hardened"), project.path());
    let _ = std::fs::remove_dir_all(project.path().join(".github"));
    let file = project.path().join(".github/workflows/supply-chain.yml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &example).unwrap();
    let audit = json(&run(
        project.path(),
        &["audit", "--offline", "--format", "json", "--no-yanked"],
    ));
    assert_eq!(audit["ci"]["files"], 1);
    assert!(
        !codes(&audit).iter().any(|c| c.starts_with("ci-")),
        "{:#}",
        audit["findings"]
    );
    match zizmor(&file) {
        Some((code, out)) => assert_eq!(code, 0, "zizmor on the README's example:\n{out}"),
        None => skip_zizmor("the zizmor check did not run"),
    }
}
