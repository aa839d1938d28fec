//! Library errors. Each names the file it is about and, for syntax errors, where in it.

use miette::{Diagnostic, NamedSource, SourceSpan};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    #[diagnostic(code(reflex::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file that is not what it claims to be: bad TOML, a lockfile missing required keys...
    #[error(transparent)]
    #[diagnostic(transparent)]
    Parse(Box<ParseError>),

    /// A policy file with mistakes: all of them, each at its position.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Policy(Box<PolicyErrors>),

    #[error("{0}")]
    #[diagnostic(code(reflex::usage))]
    Usage(String, #[help] Option<String>),

    #[error("{what} failed: {message}")]
    #[diagnostic(code(reflex::external))]
    External {
        what: String,
        message: String,
        #[help]
        help: Option<String>,
    },
}

/// A syntax or shape error at a position in a file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{path}:{line}:{column}: {message}")]
#[diagnostic(code(reflex::parse))]
pub struct ParseError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    #[source_code]
    pub src: NamedSource<String>,
    #[label("{label}")]
    pub span: Option<SourceSpan>,
    pub label: String,
    #[help]
    pub help: Option<String>,
}

/// Every problem found in a policy file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{} has {} problem{}", path.display(), problems.len(), if problems.len() == 1 { "" } else { "s" })]
#[diagnostic(
    code(reflex::policy),
    help(
        "fix them all, then run `cargo reflex gate` again; the README's policy section lists every key"
    )
)]
pub struct PolicyErrors {
    pub path: PathBuf,
    #[related]
    pub problems: Vec<ParseError>,
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A parse error at byte `offset` of `text` (clamped into the text).
    pub fn parse_at(
        path: impl Into<PathBuf>,
        text: &str,
        offset: Option<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Self {
        let path = path.into();
        let message = message.into();
        let offset = offset.map(|o| o.min(text.len()));
        let (line, column) = offset.map(|o| line_col(text, o)).unwrap_or((1, 1));
        let label = message.lines().next().unwrap_or("here").to_string();
        Error::Parse(Box::new(ParseError {
            src: NamedSource::new(path.display().to_string(), text.to_string()),
            span: offset.map(|o| SourceSpan::from((o, 0))),
            path,
            line,
            column,
            message,
            label,
            help,
        }))
    }

    /// Sets the hint shown under a parse error.
    pub fn with_help(mut self, hint: impl Into<String>) -> Self {
        if let Error::Parse(p) = &mut self {
            p.help = Some(hint.into());
        }
        self
    }

    /// Wraps a `toml` deserialisation error, keeping its position.
    pub fn toml(path: impl Into<PathBuf>, text: &str, err: &toml::de::Error) -> Self {
        let message = err.message().trim().to_string();
        Error::parse_at(path, text, err.span().map(|s| s.start), message, None)
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
