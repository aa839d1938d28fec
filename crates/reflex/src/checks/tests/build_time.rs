//! `build-time`: archive problems, shipped binaries and what build-time code can do.

use super::*;
use crate::analysis::capabilities::Capabilities;
use crate::checks::build_time::BuildTime;
use crate::finding::Severity;
use crate::sources::crate_archive::{FileKind, Problem};

fn demo() -> crate::graph::Graph {
    graph(&[("app", "0.1.0", None), ("demo", "1.0.0", Some(CRATES_IO))])
}

/// A crate with a build script that can do `caps`.
fn script(caps: Capabilities) -> CrateAnalysis {
    CrateAnalysis {
        from: "cargo cache".into(),
        build_script: Some("build.rs".into()),
        capabilities: Some(caps),
        ..CrateAnalysis::default()
    }
}

fn set(items: &[&str]) -> std::collections::BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn findings_for(a: CrateAnalysis) -> Vec<Finding> {
    let g = demo();
    let an = analyses(vec![(1, Ok(a))]);
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        ..Context::new(clock())
    };
    let (status, findings) = run(&BuildTime, &cx);
    assert_eq!(status, CheckStatus::Ran);
    findings
}

#[test]
fn checksum_mismatch_is_critical() {
    let a = CrateAnalysis {
        problems: vec![Problem::ChecksumMismatch {
            expected: "aa".into(),
            actual: "bb".into(),
        }],
        ..CrateAnalysis::default()
    };
    let findings = findings_for(a);
    let f = one(&findings, "archive-checksum-mismatch");
    assert_eq!((f.severity, package(f)), (Severity::Critical, "demo"));
}

#[test]
fn path_traversal_is_a_hostile_archive() {
    let a = CrateAnalysis {
        problems: vec![Problem::PathTraversal("../../etc/passwd".into())],
        ..CrateAnalysis::default()
    };
    let findings = findings_for(a);
    assert_eq!(codes(&findings), vec!["archive-hostile"]);
    assert_eq!(findings[0].severity, Severity::High);
}

#[test]
fn shipped_native_binary_is_low_and_a_script_alone_is_info() {
    let binary = CrateAnalysis {
        native_files: vec![("lib/libx.so".into(), FileKind::Elf)],
        ..CrateAnalysis::default()
    };
    assert_eq!(
        one(&findings_for(binary), "native-binary").severity,
        Severity::Low
    );
    let shell = CrateAnalysis {
        native_files: vec![("tools/gen.sh".into(), FileKind::Shebang)],
        ..CrateAnalysis::default()
    };
    assert_eq!(
        one(&findings_for(shell), "native-binary").severity,
        Severity::Info
    );
}

#[test]
fn build_script_reading_a_secret_is_high() {
    let caps = Capabilities {
        env_reads: set(&["AWS_SECRET_ACCESS_KEY", "CARGO_PKG_NAME"]),
        ..Capabilities::default()
    };
    let findings = findings_for(script(caps));
    let f = one(&findings, "build-time-secret-read");
    assert_eq!((f.severity, package(f)), (Severity::High, "demo"));
    assert_eq!(f.evidence[0], "environment: AWS_SECRET_ACCESS_KEY");
}

#[test]
fn network_processes_and_obfuscation_are_each_reported() {
    let caps = Capabilities {
        network: set(&["std::net::TcpStream"]),
        processes: set(&["Command::new(\"curl\")"]),
        obfuscation: set(&["base64 literal of 4096 bytes"]),
        ..Capabilities::default()
    };
    let findings = findings_for(script(caps));
    assert_eq!(
        codes(&findings),
        vec![
            "build-time-network",
            "build-time-process",
            "build-time-obfuscation"
        ]
    );
    assert_eq!(findings[0].severity, Severity::Medium);
    assert_eq!(findings[1].severity, Severity::Low);
}

#[test]
fn rustc_version_probe_is_only_info() {
    let caps = Capabilities {
        env_reads: set(&["RUSTC"]),
        processes: set(&["Command::new(rustc)"]),
        ..Capabilities::default()
    };
    let findings = findings_for(script(caps));
    assert_eq!(
        one(&findings, "build-time-process").severity,
        Severity::Info
    );
}

#[test]
fn file_writes_confined_to_out_dir_are_not_reported() {
    let writes = Capabilities {
        file_writes: set(&["fs::write"]),
        ..Capabilities::default()
    };
    let findings = findings_for(script(writes.clone()));
    assert_eq!(
        one(&findings, "build-time-file-write").severity,
        Severity::Low
    );
    let confined = Capabilities {
        uses_out_dir: true,
        ..writes
    };
    assert!(findings_for(script(confined)).is_empty());
}

#[test]
fn harmless_build_script_is_not_reported_and_fills_the_crate_row() {
    let g = demo();
    let an = analyses(vec![(1, Ok(script(Capabilities::default())))]);
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        ..Context::new(clock())
    };
    let mut sink = Sink::default();
    sink.crates.push(crate::checks::recon_table::CrateRow {
        name: "demo".into(),
        version: "1.0.0".into(),
        ..Default::default()
    });
    let status = BuildTime.run(&cx, &mut sink);
    assert_eq!(status, CheckStatus::Ran);
    assert!(sink.findings.is_empty(), "{:#?}", sink.findings);
    assert_eq!(sink.crates[0].build_script, Some(true));
    assert_eq!(sink.crates[0].proc_macro, Some(false));
}

#[test]
fn unreadable_archive_is_reported_and_partial() {
    let g = demo();
    let an = analyses(vec![(1, Err("offline and not cached".into()))]);
    let cx = Context {
        graph: Some(&g),
        analyses: Some(&an),
        ..Context::new(clock())
    };
    let (status, findings) = run(&BuildTime, &cx);
    assert!(partial_because(&status, "1 archives"), "{status:?}");
    let f = one(&findings, "archive-unavailable");
    assert!(
        f.evidence
            .contains(&"reason: offline and not cached".to_string()),
        "{f:?}"
    );
}

#[test]
fn without_archives_the_check_is_skipped() {
    let g = demo();
    let cx = Context {
        graph: Some(&g),
        ..Context::new(clock())
    };
    let (status, _) = run(&BuildTime, &cx);
    assert!(skipped_because(&status, "archives not read"), "{status:?}");
}
