//! The scan after a build on a target directory made to look like one: a build script's
//! output, an rlib, a hard-linked program, a clean library, FIFOs and links as traps.

use super::*;
use crate::monitor::ChainLink;

/// A target directory whose build leaked two canaries, and what the build's events said.
struct Fixture {
    t: PathBuf,
    c: Canaries,
    compiled: Compiled,
    versions: HashMap<String, String>,
}

fn fixture(t: PathBuf) -> Fixture {
    let c = Canaries(vec![
        Canary::new("AWS_SECRET_ACCESS_KEY", "AKxQzVw7rT9pLmN3bY5cDfGhJk2"),
        Canary::new("GITHUB_TOKEN", "ghp_Zq8WvX2mK7nR4tY6uP1sL9dF3gH5jB0c"),
    ]);
    let aws = &c.0[0].value;
    let gh = &c.0[1].value;
    let build = t.join("debug/build/evasion-build-0123456789abcdef");
    std::fs::create_dir_all(&build).unwrap();
    std::fs::write(
        build.join("output"),
        format!("cargo:rerun-if-changed=build.rs\ncargo:rustc-env=EVASION_LEAK={aws}\n"),
    )
    .unwrap();
    let deps = t.join("debug/deps");
    std::fs::create_dir_all(&deps).unwrap();
    let mut blob = vec![0u8; 9 << 20];
    blob.extend_from_slice(aws.as_bytes());
    std::fs::write(deps.join("libevasion_build-1111111111111111.rlib"), &blob).unwrap();
    // The app: the build script's secret and a proc-macro's literal (hex), hard-linked.
    let hexed: String = gh.bytes().map(|b| format!("{b:02x}")).collect();
    std::fs::write(
        deps.join("evasion_app-2222222222222222"),
        format!("\x7fELF..{aws}..{hexed}.."),
    )
    .unwrap();
    std::fs::hard_link(
        deps.join("evasion_app-2222222222222222"),
        t.join("debug/evasion-app"),
    )
    .unwrap();
    std::fs::write(deps.join("libclean-3333333333333333.rlib"), "nothing").unwrap();
    let versions: HashMap<String, String> = [
        ("evasion-build", "0.1.0"),
        ("evasion-app", "0.1.0"),
        ("evasion-macro", "0.1.0"),
    ]
    .into_iter()
    .map(|(a, b)| (a.into(), b.into()))
    .collect();
    let mut compiled = Compiled::default();
    let cargo = ChainLink {
        pid: 2,
        exe: Some("/t/bin/cargo".into()),
        argv: vec!["cargo".into(), "build".into()],
    };
    compiled.note(
        &MonitorEvent {
            syscall: "execve".into(),
            path: Some("/t/bin/rustc".into()),
            argv: [
                "rustc",
                "--crate-name",
                "evasion_app",
                "-C",
                "extra-filename=-2222222222222222",
                "--extern",
                "evasion_macro=/t/target/debug/deps/libevasion_macro-4444444444444444.so",
            ]
            .map(String::from)
            .to_vec(),
            chain: vec![
                ChainLink {
                    pid: 9,
                    ..cargo.clone()
                },
                cargo,
            ],
            ..MonitorEvent::default()
        },
        &versions,
    );
    Fixture {
        t,
        c,
        compiled,
        versions,
    }
}

#[test]
fn canaries_in_outputs_and_artifacts_name_the_crate() {
    let tmp = tempfile::tempdir().unwrap();
    let since = SystemTime::now() - std::time::Duration::from_secs(5);
    let Fixture {
        t,
        c,
        compiled,
        versions,
    } = fixture(tmp.path().join("target"));
    let aws = &c.0[0].value;
    let alerts = scan(&t, since, &c, &compiled, &versions, 1);
    let got: Vec<(String, String, String)> = alerts
        .iter()
        .map(|a| {
            (
                a.actor.describe(),
                a.target.rsplit('/').next().unwrap().to_string(),
                a.evidence[0].split(' ').nth(1).unwrap().to_string(),
            )
        })
        .collect();
    let want = |who: &str, file: &str, canary: &str| {
        assert!(
            got.contains(&(who.into(), file.into(), canary.into())),
            "{who} {file} {canary}: {got:#?}"
        );
    };
    want(
        "build script of evasion-build 0.1.0",
        "output",
        "AWS_SECRET_ACCESS_KEY",
    );
    want(
        "build script of evasion-build 0.1.0",
        "libevasion_build-1111111111111111.rlib",
        "AWS_SECRET_ACCESS_KEY",
    );
    want(
        "build script of evasion-build 0.1.0",
        "evasion-app",
        "AWS_SECRET_ACCESS_KEY",
    );
    want(
        "proc-macro evasion-macro 0.1.0 (expanding in evasion-app)",
        "evasion-app",
        "GITHUB_TOKEN",
    );
    assert_eq!(
        alerts.len(),
        4,
        "one file per hard link, nothing in clean files"
    );
    assert!(alerts.iter().all(|a| a.severity == Severity::Critical
        && a.code == codes::SECRET_EXFILTRATION.code
        && !a.evidence.join(" ").contains(aws.as_str())));
    // Nothing changed since: nothing read.
    assert!(
        scan(
            &t,
            SystemTime::now() + std::time::Duration::from_secs(60),
            &c,
            &compiled,
            &versions,
            1
        )
        .is_empty()
    );
}

#[test]
fn fifos_and_links_left_behind_are_never_opened() {
    let tmp = tempfile::tempdir().unwrap();
    let since = SystemTime::now() - std::time::Duration::from_secs(5);
    let Fixture {
        t,
        c,
        compiled,
        versions,
    } = fixture(tmp.path().join("target"));
    let deps = t.join("debug/deps");
    // FIFOs and links the build left behind are skipped, never opened (an open of a FIFO
    // blocks until someone writes).
    let fifo = |p: &Path| {
        let made = std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap();
        assert!(made.success());
    };
    let trap = t.join("debug/build/trap-00000000deadbeef");
    std::fs::create_dir_all(&trap).unwrap();
    fifo(&trap.join("output"));
    fifo(&deps.join("libtrap-00000000deadbeef.rlib"));
    std::os::unix::fs::symlink("/dev/zero", t.join("debug/zero")).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let (t2, c2, compiled2, versions2) = (t.clone(), c.clone(), compiled.clone(), versions.clone());
    std::thread::spawn(move || {
        let _ = tx.send(scan(&t2, since, &c2, &compiled2, &versions2, 1).len());
    });
    assert_eq!(
        rx.recv_timeout(std::time::Duration::from_secs(20)),
        Ok(4),
        "the scan returns, with the same finds"
    );
}

#[test]
fn artifacts_are_named_after_their_crate() {
    assert_eq!(crate_of("libfoo_bar-0123456789abcdef.rlib"), "foo_bar");
    assert_eq!(crate_of("app"), "app");
    assert_eq!(crate_of("app-0123456789abcdef"), "app");
}
