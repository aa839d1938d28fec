//! DNS names from raw packets, and whether they look like exfiltration: long or high-entropy
//! labels, labels that decode as hex, base32 or base64 (the decoded text is reported).

use data_encoding::{BASE32_NOPAD, BASE64, BASE64_NOPAD, BASE64URL_NOPAD, HEXLOWER_PERMISSIVE};

pub fn unhex(h: &str) -> Vec<u8> {
    HEXLOWER_PERMISSIVE.decode(h.as_bytes()).unwrap_or_default()
}

/// The first question's name of a DNS query packet.
pub fn query_name(packet: &[u8]) -> Option<String> {
    // A standard query (QR 0, opcode 0) with questions and no answer or authority records.
    if packet.len() < 17
        || packet[2] & 0xf8 != 0
        || u16::from_be_bytes([packet[4], packet[5]]) == 0
        || packet[6..10] != [0; 4]
    {
        return None;
    }
    let mut i = 12;
    let mut labels = Vec::new();
    while i < packet.len() && packet[i] != 0 {
        let n = packet[i] as usize;
        if n > 63 || i + 1 + n > packet.len() {
            return None;
        }
        let label = &packet[i + 1..i + 1 + n];
        if !label.iter().all(|c| c.is_ascii_graphic()) {
            return None;
        }
        labels.push(String::from_utf8_lossy(label).into_owned());
        i += n + 1;
    }
    (!labels.is_empty() && i < packet.len()).then(|| labels.join("."))
}

fn printable(b: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(b).ok()?;
    (s.len() >= 4 && s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'))
        .then(|| s.to_string())
}

/// Texts the name's labels decode to: each label, and the labels before the domain joined
/// (the domain taken as the last two, three or four labels).
pub fn decode_labels(name: &str) -> Vec<String> {
    let labels: Vec<&str> = name.split('.').collect();
    let mut candidates: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    // Data split over several labels, under a domain of two to four labels.
    for domain in 2..=4 {
        if labels.len() >= domain + 2 {
            candidates.push(labels[..labels.len() - domain].concat());
        }
    }
    let mut out = Vec::new();
    for c in candidates.into_iter().filter(|c| c.len() >= 8) {
        let upper = c.to_ascii_uppercase();
        let tries = [
            HEXLOWER_PERMISSIVE.decode(c.as_bytes()).ok(),
            BASE32_NOPAD
                .decode(upper.trim_end_matches('=').as_bytes())
                .ok(),
            BASE64_NOPAD.decode(c.trim_end_matches('=').as_bytes()).ok(),
            BASE64URL_NOPAD
                .decode(c.trim_end_matches('=').as_bytes())
                .ok(),
            BASE64.decode(c.as_bytes()).ok(),
        ];
        for text in tries.into_iter().flatten().filter_map(|b| printable(&b)) {
            if !out.contains(&text) {
                out.push(text);
            }
        }
    }
    out
}

/// A DNS server address (port 53).
pub fn is_resolver(target: &str) -> bool {
    target.ends_with(":53")
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&k| {
            let p = k as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// Why the name looks like data smuggled out, if it does.
pub fn looks_like_exfiltration(name: &str) -> Option<String> {
    if name.len() > 100 {
        return Some(format!("name of {} characters", name.len()));
    }
    for label in name.split('.') {
        if label.len() > 30 {
            return Some(format!("label of {} characters: {label}", label.len()));
        }
        if label.len() >= 16 && entropy(label) > 3.5 {
            return Some(format!(
                "high-entropy label ({:.1} bits/char): {label}",
                entropy(label)
            ));
        }
    }
    let decoded = decode_labels(name);
    decoded
        .first()
        .map(|d| format!("labels decode to text: {d}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        q
    }

    #[test]
    fn names_and_encodings() {
        assert_eq!(
            query_name(&query("a.b.invalid")).as_deref(),
            Some("a.b.invalid")
        );
        let mut answer = query("a.b");
        answer[2] |= 0x80;
        assert_eq!(query_name(&answer), None, "responses are not queries");
        let hex: String = "AKIA-secret".bytes().map(|b| format!("{b:02x}")).collect();
        let name = format!("{hex}.exfil.attacker.invalid");
        assert!(decode_labels(&name).contains(&"AKIA-secret".to_string()));
        let b32 = BASE32_NOPAD.encode(b"ghp_token_value").to_lowercase();
        assert!(
            decode_labels(&format!("{b32}.x.invalid")).contains(&"ghp_token_value".to_string())
        );
        assert!(looks_like_exfiltration(&name).is_some());
        assert_eq!(looks_like_exfiltration("index.crates.io"), None);
        assert_eq!(looks_like_exfiltration("static.rust-lang.org"), None);
    }
}
