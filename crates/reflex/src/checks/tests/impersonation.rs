//! `impersonation`: copycat repository links and descriptions, unusual repository links.

use super::*;
use crate::checks::impersonation::Impersonation;
use crate::finding::Severity;
use crate::sources::popularity::Popularity;
use std::sync::Arc;

const SERDE_DESCRIPTION: &str = "A generic serialization/deserialization framework";

/// A corpus where `serde` (#1) lives at github.com/serde-rs/serde.
fn corpus() -> (tempfile::TempDir, Arc<Popularity>) {
    let dir = tree(&[(
        "popular.csv",
        "rank,name,repository\n1,serde,serde-rs/serde\n2,tokio,tokio-rs/tokio\n",
    )]);
    let p = Popularity::load(&dir.path().join("popular.csv")).unwrap();
    (dir, Arc::new(p))
}

fn manifest(repository: Option<&str>, description: Option<&str>) -> CrateAnalysis {
    CrateAnalysis {
        repository: repository.map(str::to_string),
        description: description.map(str::to_string),
        ..CrateAnalysis::default()
    }
}

/// Runs the check on `app` plus `crates` (name, analysis), all registry crates.
fn check(crates: Vec<(&str, Result<CrateAnalysis, String>)>) -> (CheckStatus, Vec<Finding>) {
    let (_dir, pop) = corpus();
    let mut packages = vec![("app", "0.1.0", None)];
    packages.extend(crates.iter().map(|(n, _)| (*n, "1.0.0", Some(CRATES_IO))));
    let g = graph(&packages);
    let an = analyses(
        crates
            .into_iter()
            .enumerate()
            .map(|(i, (_, a))| (i + 1, a))
            .collect(),
    );
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        popularity: Some(&pop),
        ..Context::new(clock())
    };
    run(&Impersonation, &cx)
}

#[test]
fn unknown_crate_claiming_a_popular_repository_is_medium() {
    let (status, findings) = check(vec![(
        "sirde",
        Ok(manifest(Some("https://github.com/serde-rs/serde"), None)),
    )]);
    assert_eq!(status, CheckStatus::Ran);
    let f = one(&findings, "impersonation-repository");
    assert_eq!((f.severity, package(f)), (Severity::Medium, "sirde"));
    assert_eq!(f.title, "`sirde` claims the repository of `serde`");
}

#[test]
fn the_popular_crate_and_its_family_may_name_their_own_repository() {
    let (_, findings) = check(vec![
        (
            "serde",
            Ok(manifest(Some("https://github.com/serde-rs/serde"), None)),
        ),
        (
            "serde_derive",
            Ok(manifest(Some("https://github.com/serde-rs/serde"), None)),
        ),
    ]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn missing_repository_is_info_and_plain_http_is_low() {
    let (_, findings) = check(vec![
        ("quiet", Ok(manifest(None, None))),
        (
            "plain",
            Ok(manifest(Some("http://github.com/a/plain"), None)),
        ),
    ]);
    let by = |name: &str| {
        findings
            .iter()
            .find(|f| package(f) == name)
            .unwrap_or_else(|| panic!("{name}: {findings:#?}"))
    };
    assert_eq!(
        (by("quiet").code, by("quiet").severity),
        ("repository-link-suspicious", Severity::Info)
    );
    assert_eq!(
        (by("plain").code, by("plain").severity),
        ("repository-link-suspicious", Severity::Low)
    );
}

#[test]
fn repository_on_an_unusual_host_is_low_and_on_a_known_forge_is_not_reported() {
    let (_, findings) = check(vec![(
        "odd",
        Ok(manifest(Some("https://code.example.invalid/a/odd"), None)),
    )]);
    let f = one(&findings, "repository-link-suspicious");
    assert!(
        f.title.contains("unusual host (code.example.invalid)"),
        "{}",
        f.title
    );
    let (_, findings) = check(vec![(
        "fine",
        Ok(manifest(Some("https://codeberg.org/a/fine"), None)),
    )]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn description_copied_from_a_popular_crate_in_the_graph_is_reported() {
    let repo = |r: &str| Some(format!("https://github.com/{r}"));
    let (_, findings) = check(vec![
        (
            "serde",
            Ok(manifest(
                repo("serde-rs/serde").as_deref(),
                Some(SERDE_DESCRIPTION),
            )),
        ),
        (
            "fastser",
            Ok(manifest(
                repo("someone/fastser").as_deref(),
                Some(SERDE_DESCRIPTION),
            )),
        ),
    ]);
    let f = one(&findings, "impersonation-description");
    assert_eq!((f.severity, package(f)), (Severity::Low, "fastser"));
    assert_eq!(f.title, "`fastser` copies the description of `serde`");
}

#[test]
fn unreadable_archives_make_the_check_partial_or_skipped() {
    let (status, _) = check(vec![
        (
            "fine",
            Ok(manifest(Some("https://github.com/a/fine"), None)),
        ),
        ("gone", Err("offline".into())),
    ]);
    assert!(
        partial_because(&status, "1 archives unavailable"),
        "{status:?}"
    );
    let (status, _) = check(vec![("gone", Err("offline".into()))]);
    assert!(skipped_because(&status, "no crate archive"), "{status:?}");
}

#[test]
fn without_the_popularity_corpus_the_check_is_skipped() {
    let g = graph(&[("app", "0.1.0", None)]);
    let an = analyses(Vec::new());
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        ..Context::new(clock())
    };
    let (status, _) = run(&Impersonation, &cx);
    assert!(skipped_because(&status, "popularity corpus"), "{status:?}");
}

/// A manifest with `.cargo_vcs_info.json` at `path` (`None`: no VCS info at all), a README
/// digest and files (path, digest).
pub(super) fn packaged(
    repository: &str,
    path: Option<&str>,
    readme: Option<&str>,
    files: &[(&str, &str)],
) -> CrateAnalysis {
    let mut a = manifest(Some(repository), None);
    a.identity.vcs = path.map(|p| crate::sources::crate_archive::VcsInfo {
        path_in_vcs: Some(p.to_string()),
        sha1: Some("0".repeat(40)),
        dirty: false,
    });
    a.identity.readme_digest = readme.map(str::to_string);
    a.identity.files = files
        .iter()
        .map(|(p, d)| (p.to_string(), d.to_string()))
        .collect();
    a
}

/// A corpus shaped like deno's lockfile: RustCrypto, icu4x and swc monorepos, each with one
/// popular crate and siblings that are not in the corpus.
fn monorepos() -> (tempfile::TempDir, Arc<Popularity>) {
    let dir = tree(&[(
        "popular.csv",
        "rank,name,repository\n1,serde,serde-rs/serde\n40,sha2,RustCrypto/hashes\n\
         90,icu_locid,unicode-org/icu4x\n300,swc_common,swc-project/swc\n",
    )]);
    let p = Popularity::load(&dir.path().join("popular.csv")).unwrap();
    (dir, Arc::new(p))
}

pub(super) fn check_with(
    pop: &Arc<Popularity>,
    crates: Vec<(&str, CrateAnalysis)>,
) -> (CheckStatus, Vec<Finding>) {
    let mut packages = vec![("app", "0.1.0", None)];
    packages.extend(crates.iter().map(|(n, _)| (*n, "1.0.0", Some(CRATES_IO))));
    let g = graph(&packages);
    let an = analyses(
        crates
            .into_iter()
            .enumerate()
            .map(|(i, (_, a))| (i + 1, Ok(a)))
            .collect(),
    );
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        popularity: Some(pop),
        ..Context::new(clock())
    };
    run(&Impersonation, &cx)
}

pub(super) fn impersonations(findings: &[Finding]) -> Vec<(&str, &str, Severity)> {
    findings
        .iter()
        .filter(|f| f.code.starts_with("impersonation"))
        .map(|f| (f.code, package(f), f.severity))
        .collect()
}

#[test]
fn monorepo_siblings_with_distinct_paths_in_vcs_are_not_suspects() {
    // The deno false positives: siblings of a popular crate in its monorepo, each packaged
    // with VCS info at its own path, whether the popular crate is in the graph or not.
    let (_dir, pop) = monorepos();
    let hashes = "https://github.com/RustCrypto/hashes";
    let icu = "https://github.com/unicode-org/icu4x";
    let swc = "https://github.com/swc-project/swc";
    let shared = [("LICENSE-MIT", "aaaa"), ("src/util.rs", "bbbb")];
    let (status, findings) = check_with(
        &pop,
        vec![
            ("sha2", packaged(hashes, Some("sha2"), Some("r1"), &shared)),
            ("sm3", packaged(hashes, Some("sm3"), Some("r1"), &shared)),
            ("streebog", packaged(hashes, Some("streebog"), None, &[])),
            ("zerotrie", packaged(icu, Some("utils/zerotrie"), None, &[])),
            (
                "writeable",
                packaged(icu, Some("utils/writeable"), None, &[]),
            ),
            (
                "string_enum",
                packaged(swc, Some("crates/string_enum"), None, &[]),
            ),
            (
                "from_variant",
                packaged(swc, Some("crates/from_variant"), None, &[]),
            ),
        ],
    );
    assert_eq!(status, CheckStatus::Ran);
    assert!(impersonations(&findings).is_empty(), "{findings:#?}");
}

#[test]
fn a_crate_at_the_root_where_a_more_popular_crate_lives_is_a_suspect() {
    let (_dir, pop) = monorepos();
    let serde = "https://github.com/serde-rs/serde";
    let (_, findings) = check_with(
        &pop,
        vec![
            ("serde", packaged(serde, Some(""), None, &[])),
            ("serdex", packaged(serde, Some(""), None, &[])),
        ],
    );
    let f = one(&findings, "impersonation-repository");
    assert_eq!((package(f), f.severity), ("serdex", Severity::Medium));
    assert!(
        f.evidence.iter().any(|e| e.contains("repository root")),
        "{:?}",
        f.evidence
    );
    // The popular crate is not in the graph: a root claim in the repository named after it.
    let (_, findings) = check_with(
        &pop,
        vec![("mycrypt", packaged(serde, Some(""), None, &[]))],
    );
    assert_eq!(
        impersonations(&findings),
        vec![("impersonation-repository", "mycrypt", Severity::Medium)]
    );
    // The crate a repository is named after lives at its root (parking_lot next to the more
    // popular lock_api); in a repository named after neither, the root proves nothing.
    let hashes = "https://github.com/RustCrypto/hashes";
    let (_, findings) = check_with(
        &pop,
        vec![
            ("hashes", packaged(hashes, Some(""), None, &[])),
            ("mycrypt", packaged(hashes, Some(""), None, &[])),
        ],
    );
    assert!(impersonations(&findings).is_empty(), "{findings:#?}");
    // The same directory as the popular crate is a suspect too.
    let (_, findings) = check_with(
        &pop,
        vec![
            (
                "sha2",
                packaged(
                    "https://github.com/RustCrypto/hashes",
                    Some("sha2"),
                    None,
                    &[],
                ),
            ),
            (
                "hasher",
                packaged(
                    "https://github.com/RustCrypto/hashes",
                    Some("sha2"),
                    None,
                    &[],
                ),
            ),
        ],
    );
    assert_eq!(
        impersonations(&findings),
        vec![("impersonation-repository", "hasher", Severity::Medium)]
    );
}

#[test]
fn no_vcs_info_is_medium_old_cargo_is_low_and_copies_make_it_high() {
    let (_dir, pop) = monorepos();
    let hashes = "https://github.com/RustCrypto/hashes";
    let (_, findings) = check_with(
        &pop,
        vec![
            ("nohash", packaged(hashes, None, None, &[])),
            ("oldhash", {
                let mut a = packaged(hashes, Some(""), None, &[]);
                a.identity.vcs.as_mut().unwrap().path_in_vcs = None;
                a
            }),
        ],
    );
    assert_eq!(
        impersonations(&findings),
        vec![
            ("impersonation-repository", "nohash", Severity::Medium),
            ("impersonation-repository", "oldhash", Severity::Low),
        ]
    );
    // The README of the crate it claims to be: high, one finding with the evidence.
    let (_, findings) = check_with(
        &pop,
        vec![
            (
                "sha2",
                packaged(hashes, Some("sha2"), Some("readme-of-sha2"), &[]),
            ),
            ("shaa2", packaged(hashes, None, Some("readme-of-sha2"), &[])),
        ],
    );
    assert_eq!(
        impersonations(&findings),
        vec![("impersonation-repository", "shaa2", Severity::High)]
    );
    let f = one(&findings, "impersonation-repository");
    assert!(
        f.evidence
            .iter()
            .any(|e| e == "it copies the README of `sha2`"),
        "{:?}",
        f.evidence
    );
}

#[test]
fn content_cloned_from_a_more_popular_crate_is_high_and_a_declared_fork_medium() {
    let (_dir, pop) = monorepos();
    let files = [
        ("src/lib.rs", "1111"),
        ("src/de.rs", "2222"),
        ("src/ser.rs", "3333"),
        ("LICENSE-MIT", "4444"),
    ];
    let serde = packaged(
        "https://github.com/serde-rs/serde",
        Some("serde"),
        None,
        &files,
    );
    let clone = packaged(
        "https://github.com/someone/fastser",
        None,
        None,
        &files[..3],
    );
    let (_, findings) = check_with(&pop, vec![("serde", serde.clone()), ("fastser", clone)]);
    let f = one(&findings, "impersonation-clone");
    assert_eq!((package(f), f.severity), ("fastser", Severity::High));
    assert_eq!(f.title, "`fastser` is a copy of `serde`");
    assert!(
        f.evidence[0].starts_with("3 of its 3 files are identical"),
        "{:?}",
        f.evidence
    );
    // A fork that says where it lives (its own repository, packaged from it) is medium.
    let fork = packaged(
        "https://github.com/someone/serde-fork",
        Some(""),
        None,
        &files[..3],
    );
    let (_, findings) = check_with(&pop, vec![("serde", serde.clone()), ("forked", fork)]);
    assert_eq!(
        impersonations(&findings),
        vec![("impersonation-clone", "forked", Severity::Medium)]
    );
    // Licenses and one shared file are not a clone.
    let little = packaged(
        "https://github.com/someone/little",
        None,
        None,
        &[
            ("LICENSE-MIT", "4444"),
            ("src/lib.rs", "1111"),
            ("src/own.rs", "9999"),
            ("src/more.rs", "8888"),
        ],
    );
    let (_, findings) = check_with(&pop, vec![("serde", serde), ("little", little)]);
    assert!(impersonations(&findings).is_empty(), "{findings:#?}");
}

#[test]
fn reference_archives_are_compared_too() {
    // `inspect`: the crate alone in its graph, the imitated crate's archive as a reference.
    let (_dir, pop) = monorepos();
    let files = [("src/lib.rs", "1111"), ("src/de.rs", "2222")];
    let mut serde = packaged(
        "https://github.com/serde-rs/serde",
        Some("serde"),
        Some("rd"),
        &files,
    );
    serde.identity.version = Some("1.0.219".into());
    let g = graph(&[("copycat", "1.0.219", Some(CRATES_IO))]);
    let mut copycat = packaged(
        "https://github.com/serde-rs/serde",
        None,
        Some("rd"),
        &files,
    );
    copycat.identity.version = Some("1.0.219".into());
    let an = analyses(vec![(0, Ok(copycat))]);
    let references = std::collections::BTreeMap::from([("serde".to_string(), serde)]);
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        popularity: Some(&pop),
        references: Some(&references),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Impersonation, &cx);
    let f = one(&findings, "impersonation-repository");
    assert_eq!(f.severity, Severity::High);
    let evidence = f.evidence.join("\n");
    for copied in [
        "the same version number as `serde` (1.0.219)",
        "the README of `serde`",
        "2 of its 2 files are identical to files of `serde`",
    ] {
        assert!(evidence.contains(copied), "{copied}: {evidence}");
    }
    assert!(
        with_code(&findings, "impersonation-clone").is_empty(),
        "{findings:#?}"
    );
}

#[test]
fn the_crates_worth_comparing_are_the_repository_owner_and_the_readme_names() {
    let (_dir, pop) = monorepos();
    let mut a = manifest(Some("https://github.com/RustCrypto/hashes"), None);
    a.identity.readme_names = vec!["serde".into(), "copycat".into(), "unknown".into()];
    assert_eq!(
        crate::checks::impersonation::reference_names(&a, "copycat", &pop),
        vec!["serde".to_string(), "sha2".to_string()]
    );
    // A crate more popular than the owner compares with nothing there.
    assert!(
        crate::checks::impersonation::reference_names(
            &manifest(Some("https://github.com/swc-project/swc"), None),
            "serde",
            &pop
        )
        .is_empty()
    );
}

#[test]
fn deno_shapes_a_link_into_its_own_directory_and_lockstep_versions_stay_low() {
    let (_dir, pop) = monorepos();
    // pkcs5 0.7.1: no VCS info, but its link names its own directory of the monorepo.
    let (_, findings) = check_with(
        &pop,
        vec![(
            "pkcs",
            packaged(
                "https://github.com/RustCrypto/hashes/tree/master/pkcs",
                None,
                None,
                &[],
            ),
        )],
    );
    let f = one(&findings, "impersonation-repository");
    assert_eq!(f.severity, Severity::Low, "{f:#?}");
    // cdivsufsort 2.0.0 next to sacabase 2.0.0: packaged by an old cargo, released together.
    let mut sacabase = packaged("https://github.com/RustCrypto/hashes", Some(""), None, &[]);
    sacabase.identity.vcs.as_mut().unwrap().path_in_vcs = None;
    let mut old = sacabase.clone();
    sacabase.identity.version = Some("2.0.0".into());
    old.identity.version = Some("2.0.0".into());
    let g = graph_with_edges(
        &[
            ("sha2", "2.0.0", Some(CRATES_IO)),
            ("cdivsufsort", "2.0.0", Some(CRATES_IO)),
        ],
        &[],
    );
    let an = analyses(vec![(0, Ok(sacabase)), (1, Ok(old))]);
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        popularity: Some(&pop),
        ..Context::new(clock())
    };
    let (_, findings) = run(&Impersonation, &cx);
    assert_eq!(
        impersonations(&findings),
        vec![("impersonation-repository", "cdivsufsort", Severity::Low)]
    );
}

#[test]
fn a_look_alike_name_with_the_imitated_crates_description_is_high() {
    let (_dir, pop) = monorepos();
    let mut serde = packaged(
        "https://github.com/serde-rs/serde",
        Some("serde"),
        None,
        &[],
    );
    serde.description = Some(SERDE_DESCRIPTION.into());
    let mut serdee = packaged("https://github.com/someone/serdee", Some(""), None, &[]);
    serdee.description = Some(SERDE_DESCRIPTION.into());
    let (_, findings) = check_with(&pop, vec![("serde", serde), ("serdee", serdee)]);
    let f = one(&findings, "impersonation-description");
    assert_eq!((package(f), f.severity), ("serdee", Severity::High));
    assert!(
        f.evidence
            .contains(&"its name looks like `serde`'s".to_string()),
        "{:?}",
        f.evidence
    );
}
