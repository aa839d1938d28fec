//! GitHub Actions workflow commands: one annotation per finding (`::error` for findings that
//! fail the run, `::warning` for the rest, `::notice` for info), pinned to file and line.

use super::Report;
use crate::finding::Severity;
use std::fmt::Write;

/// Escapes a message: GitHub reads `%`, CR and LF specially.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value, where `:` and `,` separate properties.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

pub fn render(report: &Report) -> String {
    let mut s = String::new();
    for f in &report.findings {
        let command = if f.denied {
            "error"
        } else if f.severity == Severity::Info {
            "notice"
        } else {
            "warning"
        };
        let mut props = Vec::new();
        if let Some(l) = &f.location {
            props.push(format!("file={}", property(&l.path)));
            if let Some(line) = l.line {
                props.push(format!("line={line}"));
            }
            if let Some(col) = l.column {
                props.push(format!("col={col}"));
            }
        }
        props.push(format!(
            "title={}",
            property(&format!("{} ({})", f.code, f.severity))
        ));
        let mut message = f.title.clone();
        if f.via.len() > 1 {
            let _ = write!(message, "\nvia: {}", f.via.join(" -> "));
        }
        for e in &f.evidence {
            let _ = write!(message, "\n{e}");
        }
        if let Some(r) = &f.remedy {
            let _ = write!(message, "\nfix: {r}");
        }
        let _ = writeln!(s, "::{command} {}::{}", props.join(","), data(&message));
    }
    let sm = &report.summary;
    let verdict = if sm.passed { "passed" } else { "FAILED" };
    let _ = writeln!(
        s,
        "::notice title=cargo-reflex {}::{verdict}: {} findings, {} fail the run",
        report.command, sm.total, sm.denied
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_properties_are_escaped() {
        assert_eq!(data("50%\na"), "50%25%0Aa");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
