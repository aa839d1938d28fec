//! Typed accessors of the policy parser: each reports a wrong type at the value's position.

use super::{Problems, Table};
use std::borrow::Cow;
use std::ops::Range;
use toml::Spanned;
use toml::de::DeValue;

pub(super) fn table<'a, 'i>(
    p: &mut Problems<'_>,
    v: &'a Spanned<DeValue<'i>>,
) -> Option<&'a Table<'i>> {
    let t = v.get_ref().as_table();
    if t.is_none() {
        p.at(
            v.span(),
            format!("expected a table, found {}", v.get_ref().type_str()),
            "",
        );
    }
    t
}

pub(super) fn array<'a, 'i>(
    p: &mut Problems<'_>,
    v: &'a Spanned<DeValue<'i>>,
) -> &'a [Spanned<DeValue<'i>>] {
    match v.get_ref().as_array() {
        Some(a) => a,
        None => {
            p.at(
                v.span(),
                format!("expected an array, found {}", v.get_ref().type_str()),
                "",
            );
            &[]
        }
    }
}

pub(super) fn array_of_tables<'a, 'i>(
    p: &mut Problems<'_>,
    v: &'a Spanned<DeValue<'i>>,
) -> &'a [Spanned<DeValue<'i>>] {
    match v.get_ref() {
        DeValue::Array(a) => a,
        _ => {
            p.at(
                v.span(),
                format!(
                    "expected an array of tables, found {}",
                    v.get_ref().type_str()
                ),
                "write each entry as `[[...]]`",
            );
            &[]
        }
    }
}

pub(super) fn string(p: &mut Problems<'_>, v: &Spanned<DeValue<'_>>) -> Option<String> {
    match v.get_ref().as_str() {
        Some(s) => Some(s.to_string()),
        None => {
            p.at(
                v.span(),
                format!("expected a string, found {}", v.get_ref().type_str()),
                "",
            );
            None
        }
    }
}

pub(super) fn strings(p: &mut Problems<'_>, v: &Spanned<DeValue<'_>>) -> Vec<String> {
    let items = array(p, v);
    items.iter().filter_map(|i| string(p, i)).collect()
}

pub(super) fn boolean(p: &mut Problems<'_>, v: &Spanned<DeValue<'_>>) -> Option<bool> {
    let b = v.get_ref().as_bool();
    if b.is_none() {
        p.at(
            v.span(),
            format!("expected true or false, found {}", v.get_ref().type_str()),
            "",
        );
    }
    b
}

pub(super) fn date(p: &mut Problems<'_>, v: &Spanned<DeValue<'_>>) -> Option<jiff::civil::Date> {
    let text: Cow<'_, str> = match v.get_ref() {
        DeValue::Datetime(d) => Cow::Owned(d.to_string()),
        DeValue::String(s) => Cow::Borrowed(s.as_ref()),
        other => {
            p.at(
                v.span(),
                format!("expected a date, found {}", other.type_str()),
                "write `expires = 2027-01-31`",
            );
            return None;
        }
    };
    match text.parse::<jiff::civil::Date>() {
        Ok(d) => Some(d),
        Err(_) => {
            p.at(
                v.span(),
                format!("`{text}` is not a date"),
                "write `expires = 2027-01-31` (year-month-day)",
            );
            None
        }
    }
}

pub(super) fn unknown(
    p: &mut Problems<'_>,
    key: &Spanned<Cow<'_, str>>,
    name: &str,
    known: &[&str],
) {
    unknown_at(p, key.span(), name, known);
}

pub(super) fn unknown_at(p: &mut Problems<'_>, span: Range<usize>, name: &str, known: &[&str]) {
    let help = match suggestion(name, known) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("known keys here: {}", known.join(", ")),
    };
    p.at(span, format!("unknown key `{name}`"), help);
}

/// The closest known name, when it is close enough to be a typo.
pub(super) fn suggestion<'k>(name: &str, known: &[&'k str]) -> Option<&'k str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}
