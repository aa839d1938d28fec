//! Embeds the RustSec advisory database snapshot in `data/advisory-db` into the library, so
//! `cargo reflex audit` works on a fresh machine with no network and no set-up.

use std::{env, fs, io::Write, path::Path};

fn main() {
    // The platform cargo-reflex is built for: the default target of the builds it judges.
    println!(
        "cargo::rustc-env=REFLEX_HOST_TARGET={}",
        env::var("TARGET").unwrap_or_default()
    );
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let db = Path::new(&manifest_dir).join("../../data/advisory-db");
    let db = db
        .canonicalize()
        .expect("data/advisory-db is part of the repository");
    println!("cargo::rerun-if-changed={}", db.display());

    let mut files = Vec::new();
    for collection in ["crates", "rust"] {
        let Ok(dirs) = fs::read_dir(db.join(collection)) else {
            continue;
        };
        for dir in dirs.flatten() {
            println!("cargo::rerun-if-changed={}", dir.path().display());
            let Ok(entries) = fs::read_dir(dir.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "md" || e == "toml") {
                    files.push(path);
                }
            }
        }
    }
    files.sort();

    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("embedded_db.rs");
    let mut f = fs::File::create(&out).expect("write OUT_DIR/embedded_db.rs");
    writeln!(
        f,
        "pub static SNAPSHOT: &str = include_str!({:?});",
        db.join("SNAPSHOT.txt")
    )
    .unwrap();
    writeln!(f, "pub static FILES: &[(&str, &str)] = &[").unwrap();
    for path in &files {
        let rel = path.strip_prefix(&db).expect("file under db root");
        writeln!(
            f,
            "    ({:?}, include_str!({:?})),",
            rel.to_string_lossy(),
            path
        )
        .unwrap();
    }
    writeln!(f, "];").unwrap();
}
