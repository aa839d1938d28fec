//! The caller's terminal (issue #12, first way out): the build script of
//! `fixtures/escape/terminal` pushes `touch <marker>` into the input of the terminal that
//! started the build (`ioctl(TIOCSTI)` on `/dev/tty` and on its descriptors 0-2), writes text
//! and a title sequence (OSC 0) straight onto other terminals under `/dev/pts`, and puts a
//! title sequence in the build's output.
//!
//! A real interactive bash runs on a pseudo-terminal the test owns (made by util-linux
//! `script`, whose input and output are the test's pipes); a second terminal stands for
//! another terminal of the same user. The test types the build command into the shell, then
//! one more command, and reads everything both terminals show.
//!
//! Control: plain `cargo build --offline` in that shell. The injected command runs in the
//! shell once the build ends, the text reaches the other terminal, the title sequence
//! reaches the shell's terminal, both written to `/dev/tty` and in cargo's output (a build
//! script warning, passed through as it is with `CARGO_TERM_COLOR=always`). Sandboxed:
//! `cargo reflex build`. Nothing is injected, nothing reaches the other terminal, no title
//! sequence reaches the shell's terminal.
#![forbid(unsafe_code)]

mod common;

use common::escape::{Scene, env, note};
use common::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A program on a new pseudo-terminal (`script`): what the test types goes to its input,
/// everything written to the terminal comes back.
struct Terminal {
    child: Child,
    input: ChildStdin,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    fn start(command: &str, env: &[(String, String)]) -> Terminal {
        let mut child = Command::new("script")
            .args(["--quiet", "--return", "--command", command, "/dev/null"])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("util-linux script");
        let output: Arc<Mutex<Vec<u8>>> = Arc::default();
        for mut stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    output.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
        let input = child.stdin.take().unwrap();
        Terminal {
            child,
            input,
            output,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    fn type_line(&mut self, line: &str) {
        self.input
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        self.input.flush().unwrap();
    }

    /// Waits until the terminal shows `needle`; returns the rest of that line.
    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let text = self.text();
            if let Some(i) = text.find(needle) {
                let rest = &text[i + needle.len()..];
                if let Some(end) = rest.find(['\r', '\n']) {
                    return rest[..end].to_string();
                }
            }
            assert!(
                start.elapsed() < timeout,
                "the terminal never showed {needle:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one build in the shell left behind.
struct Seen {
    /// The shell's exit status for the build command.
    status: String,
    /// Marker files created by injected commands.
    markers: Vec<String>,
    /// Everything the shell's terminal and the other terminal showed.
    shell: String,
    other: String,
    /// The build script's own report (`<channel>\t<verdict>\t<detail>` lines), if it ran.
    report: String,
    nonce: String,
}

/// Runs `build` (a shell command line) in an interactive bash on a terminal of its own, in a
/// copy of the terminal fixture, with a second terminal beside it.
fn build_in_a_shell(tmp: &Path, build: &str) -> Seen {
    let s = Scene::at(tmp);
    copy_dir(&fixture("escape/terminal"), &s.ws);
    std::fs::create_dir_all(&s.home).unwrap();
    std::fs::create_dir_all(&s.cargo_home).unwrap();
    let markers = tmp.join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    let inputrc = tmp.join("inputrc");
    std::fs::write(&inputrc, "set enable-bracketed-paste off\n").unwrap();
    // Colours forced: cargo then passes a build script's warning through as it is, escape
    // sequences included, and only the sandbox's relay stands between it and the terminal.
    let mut env: Vec<(String, String)> = env(&s)
        .into_iter()
        .filter(|(k, _)| k != "CARGO_TERM_COLOR")
        .collect();
    for (k, v) in [
        ("CARGO_TERM_COLOR", "always"),
        ("TERM", "dumb"),
        ("PS1", "$ "),
        ("SHELL", "/bin/sh"),
        ("HISTFILE", "/dev/null"),
    ] {
        env.push((k.into(), v.into()));
    }
    env.push(("INPUTRC".into(), inputrc.display().to_string()));
    let wait = Duration::from_secs(20);

    let other = Terminal::start("tty; exec sleep 600", &env);
    let other_pts = other.wait_for("/dev/pts/", wait);
    let mut shell = Terminal::start("bash --norc --noprofile -i", &env);
    shell.type_line("echo \"PTS=$(tty)\"");
    let shell_pts = shell.wait_for("PTS=/dev/pts/", wait);

    let nonce = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    std::fs::write(
        s.ws.join("terminal.txt"),
        format!(
            "nonce={nonce}\nmarker_dir={}\npts=/dev/pts/{shell_pts},/dev/pts/{other_pts}\n",
            markers.display()
        ),
    )
    .unwrap();
    shell.type_line(&format!(
        "cd '{}' && {build}; echo \"BUILD\"\"DONE=$?\"",
        s.ws.display()
    ));
    let status = shell.wait_for("BUILDDONE=", Duration::from_secs(300));
    // Anything injected during the build is in the terminal's input before this line.
    shell.type_line("echo \"SHELL\"\"DONE\"");
    shell.wait_for("SHELLDONE", wait);
    std::thread::sleep(Duration::from_millis(300));
    let report = std::fs::read_dir(s.ws.join("target/debug/build"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("out/terminal.txt"))
        .find_map(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let mut found: Vec<String> = std::fs::read_dir(&markers)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    shell.type_line("exit");
    Seen {
        status,
        markers: found,
        shell: shell.text(),
        other: other.text(),
        report,
        nonce,
    }
}

fn tiocsti_setting() -> String {
    std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti")
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

/// Whether the terminal tests can run here: `script` and `bash` present.
fn tools_missing() -> Option<String> {
    for tool in ["script", "bash"] {
        if Command::new(tool).arg("--version").output().is_err() {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

#[test]
fn without_the_sandbox_a_build_script_types_into_the_callers_shell() {
    if let Some(why) = tools_missing() {
        note(&format!("terminal control skipped: {why}"));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let seen = build_in_a_shell(tmp.path(), "cargo build --offline");
    let root = common::escape::is_root();
    note(&format!(
        "dev.tty.legacy_tiocsti = {}, root: {root}; control: markers {:?}; build script report:\n{}",
        tiocsti_setting(),
        seen.markers,
        seen.report
    ));
    assert_eq!(seen.status, "0", "the build succeeds:\n{}", seen.shell);
    let context = format!("report:\n{}\nshell:\n{:?}", seen.report, seen.shell);
    // TIOCSTI works on a process's own controlling terminal when the kernel allows it
    // (dev.tty.legacy_tiocsti = 1) and always with CAP_SYS_ADMIN.
    if tiocsti_setting() == "1" || root {
        assert!(
            seen.markers.contains(&"injected-tty".to_string()),
            "the keystrokes pushed through /dev/tty ran in the shell: {context}"
        );
    } else {
        note("TIOCSTI is disabled here for unprivileged users: the injection is not shown");
    }
    assert!(
        seen.other.contains(&format!("PTSWRITE-{}", seen.nonce))
            && seen
                .other
                .contains(&format!("\x1b]0;PTSTITLE-{}\x07", seen.nonce)),
        "text and a title sequence reached the other terminal: {:?}",
        seen.other
    );
    assert!(
        seen.shell
            .contains(&format!("\x1b]0;OSCTTY-{}\x07", seen.nonce)),
        "the title sequence written to /dev/tty reached the shell's terminal: {context}"
    );
    assert!(
        seen.shell
            .contains(&format!("\x1b]0;OSCWARN-{}\x07", seen.nonce)),
        "the title sequence in cargo's output reached the shell's terminal: {context}"
    );
}

#[test]
fn sandboxed_build_cannot_reach_the_callers_terminal() {
    if let Some(why) = tools_missing() {
        note(&format!("terminal test skipped: {why}"));
        return;
    }
    assert!(
        reflex_sandbox::probe().missing().is_empty(),
        "this machine cannot sandbox: {:?}",
        reflex_sandbox::probe().missing()
    );
    let tmp = tempfile::tempdir().unwrap();
    let reflex = PathBuf::from(env!("CARGO_BIN_EXE_cargo-reflex"));
    let seen = build_in_a_shell(tmp.path(), &format!("'{}' build", reflex.display()));
    let context = format!("report:\n{}\nshell:\n{:?}", seen.report, seen.shell);
    assert_eq!(seen.status, "0", "the build succeeds: {context}");
    assert!(
        !seen.report.is_empty(),
        "the build script ran and reported: {context}"
    );
    assert!(
        seen.markers.is_empty(),
        "keystrokes pushed into the caller's shell ran there: {:?}; {context}",
        seen.markers
    );
    assert!(
        !seen.other.contains(&seen.nonce),
        "text reached another terminal: {:?}",
        seen.other
    );
    assert!(
        !seen.shell.contains("\x1b]"),
        "a title (OSC) sequence reached the caller's terminal: {context}"
    );
}
