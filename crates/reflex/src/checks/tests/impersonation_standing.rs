//! Impersonation judged by relative standing: a copy between two established crates of about
//! the same popularity (a rename, both sides downloaded) is not an imitation.

use super::impersonation::{check_with, impersonations, packaged};
use super::*;
use crate::finding::Severity;
use crate::sources::popularity::Popularity;
use std::sync::Arc;

fn corpus(csv: &str) -> (tempfile::TempDir, Arc<Popularity>) {
    let dir = tree(&[("popular.csv", csv)]);
    let p = Popularity::load(&dir.path().join("popular.csv")).unwrap();
    (dir, Arc::new(p))
}

const FILES: [(&str, &str); 3] = [
    ("src/lib.rs", "1111"),
    ("src/compress.rs", "2222"),
    ("src/consts.rs", "3333"),
];

#[test]
fn a_copy_between_crates_of_the_same_standing_is_not_reported() {
    // `sha1` and `sha-1` (#223 and #208): the same code under a new name, both established.
    let (_dir, pop) =
        corpus("rank,name,repository\n208,sha-1,RustCrypto/hashes\n223,sha1,RustCrypto/hashes\n");
    let old = packaged("https://github.com/RustCrypto/hashes", None, None, &FILES);
    let new = packaged("https://github.com/RustCrypto/hashes", None, None, &FILES);
    let (_, findings) = check_with(&pop, vec![("sha-1", old), ("sha1", new)]);
    assert!(impersonations(&findings).is_empty(), "{findings:#?}");
}

#[test]
fn a_copy_by_a_crate_far_less_popular_is_still_high() {
    // Ranked, but forty times below the crate it copies.
    let (_dir, pop) = corpus(
        "rank,name,repository\n208,sha-1,RustCrypto/hashes\n9000,sha1-fast,someone/sha1-fast\n",
    );
    let old = packaged("https://github.com/RustCrypto/hashes", None, None, &FILES);
    let copy = packaged("https://github.com/someone/sha1-fast", None, None, &FILES);
    let (_, findings) = check_with(&pop, vec![("sha-1", old), ("sha1-fast", copy)]);
    assert_eq!(
        impersonations(&findings),
        vec![("impersonation-clone", "sha1-fast", Severity::High)]
    );
}
