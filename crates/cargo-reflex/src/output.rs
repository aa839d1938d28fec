//! Writing reports and errors: data to stdout (or --output), diagnostics to stderr.

use crate::cli::{ColorChoice, CommonArgs, Format};
use reflex::report::{self, Report};
use std::io::{IsTerminal, Write};

pub fn color_choice(c: ColorChoice) -> anstream::ColorChoice {
    match c {
        ColorChoice::Auto => anstream::ColorChoice::Auto,
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
    }
}

pub fn render(report: &Report, args: &CommonArgs) -> String {
    match args.format {
        Format::Human => report::human::render(
            report,
            report::human::HumanOptions {
                verbose: args.verbose,
                quiet: args.quiet,
                diff: args.diff,
            },
        ),
        Format::Json => report::json::render(report),
        Format::Sarif => report::sarif::render(report, reflex::checks::catalog()),
        Format::Markdown => report::markdown::render(report),
        Format::Github => report::github::render(report),
    }
}

/// Writes the rendered report; colors are stripped unless wanted and supported.
pub fn emit(text: &str, args: &CommonArgs) -> Result<(), reflex::Error> {
    match &args.output {
        Some(path) => {
            let plain = anstream::adapter::strip_str(text).to_string();
            std::fs::write(path, plain).map_err(|e| reflex::Error::io(path, e))
        }
        None => {
            let mut out =
                anstream::AutoStream::new(std::io::stdout().lock(), color_choice(args.color));
            // A closed pipe (`| head`) is the reader's choice, not an error.
            let ok = |r: std::io::Result<()>| match r {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(reflex::Error::io("<stdout>", e))
                }
                _ => Ok(()),
            };
            ok(out.write_all(text.as_bytes()))?;
            ok(out.flush())
        }
    }
}

/// `--html FILE`: the report as one self-contained page.
pub fn write_html(report: &Report, path: &std::path::Path) -> Result<(), reflex::Error> {
    std::fs::write(path, report::html::render(report)).map_err(|e| reflex::Error::io(path, e))
}

/// Writes bytes to standard output; a closed pipe (`| head`) is the reader's choice.
pub fn write_stdout(bytes: &[u8]) -> Result<(), reflex::Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(reflex::Error::io("<stdout>", e))
        }
        _ => Ok(()),
    }
}

pub fn error(err: reflex::Error) {
    let text = if std::io::stderr().is_terminal() {
        format!("{:?}", miette::Report::new(err))
    } else {
        plain(&err)
    };
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

/// `error: <what>` plus help, for pipes and logs.
fn plain(err: &reflex::Error) -> String {
    let mut s = format!("error: {err}");
    let help = match err {
        reflex::Error::Parse(p) => p.help.clone(),
        reflex::Error::Policy(errors) => {
            for p in &errors.problems {
                s.push_str(&format!("\n  {p}"));
                if let Some(h) = &p.help {
                    s.push_str(&format!("\n    help: {h}"));
                }
            }
            None
        }
        reflex::Error::Usage(_, help) | reflex::Error::External { help, .. } => help.clone(),
        reflex::Error::Io { .. } => None,
    };
    if let Some(h) = help {
        s.push_str(&format!("\n  help: {h}"));
    }
    s
}

/// A progress bar on stderr when it is a terminal and output is not quiet.
pub fn progress(args: &CommonArgs) -> Option<indicatif::ProgressBar> {
    if args.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    Some(bar)
}
