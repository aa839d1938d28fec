//! String literal bodies as the compiler reads them.

/// The bytes a string or byte string literal's body stands for (`\n`, `\x7f`, `\u{2f}`,
/// line continuations); `None` for an escape Rust does not have.
pub fn unescape(body: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            // CRLF is read as LF.
            if c == '\r' && chars.peek() == Some(&'\n') {
                continue;
            }
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let byte = match chars.next()? {
            'n' => b'\n',
            'r' => b'\r',
            't' => b'\t',
            '0' => 0,
            '\\' => b'\\',
            '\'' => b'\'',
            '"' => b'"',
            'x' => {
                let hex: String = [chars.next()?, chars.next()?].iter().collect();
                u8::from_str_radix(&hex, 16).ok()?
            }
            'u' => {
                if chars.next()? != '{' {
                    return None;
                }
                let mut hex = String::new();
                for c in chars.by_ref() {
                    match c {
                        '}' => break,
                        '_' => {}
                        c => hex.push(c),
                    }
                }
                let c = char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            '\n' | '\r' => {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                continue;
            }
            _ => return None,
        };
        out.push(byte);
    }
    Some(out)
}
