//! What build output may do to the caller's terminal: print text and colours. Everything else a
//! terminal understands (setting the title, writing the clipboard with OSC 52, device status
//! queries whose answers arrive as typed input, moving the cursor to overwrite earlier lines,
//! DCS strings, C1 controls) is removed before the output reaches it.

/// A byte-stream filter that keeps text, `\n`, `\r`, `\t`, backspace and SGR colour
/// sequences (`ESC [ ... m`) plus erase-in-line (`ESC [ ... K`), and drops every other
/// control sequence. It keeps state between chunks, so a sequence split across two reads is
/// still recognised.
#[derive(Debug, Default)]
pub struct Sanitizer {
    state: State,
    /// The CSI sequence read so far (`ESC [` and its parameters).
    csi: Vec<u8>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Text,
    /// After ESC.
    Escape,
    /// In `ESC [`.
    Csi,
    /// In a string sequence (OSC, DCS, SOS, PM, APC) until BEL or ST.
    String,
    /// ESC inside a string sequence (perhaps the start of ST).
    StringEscape,
    /// After 0xC2 in text: the next byte decides whether this is a C1 control.
    C2,
}

/// Longest CSI sequence kept; longer ones are dropped.
const CSI_MAX: usize = 64;

impl Sanitizer {
    pub fn new() -> Sanitizer {
        Sanitizer::default()
    }

    /// Filters one chunk of output, returning what may reach the terminal.
    pub fn filter(&mut self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            match self.state {
                State::Text => match b {
                    0x1b => self.state = State::Escape,
                    b'\n' | b'\r' | b'\t' | 0x08 => out.push(b),
                    0x00..=0x1f | 0x7f => {}
                    0xc2 => self.state = State::C2,
                    _ => out.push(b),
                },
                State::C2 => {
                    self.state = State::Text;
                    match b {
                        // U+0080..U+009F: C1 controls. Some terminals read them as ESC
                        // sequences: 0x9b starts a CSI, 0x90/0x9d/0x98/0x9e/0x9f a string.
                        0x9b => {
                            self.state = State::Csi;
                            self.csi.clear();
                            // Never kept: it starts with no ESC [ to keep.
                            self.csi.resize(CSI_MAX, b'?');
                        }
                        0x90 | 0x98 | 0x9d | 0x9e | 0x9f => self.state = State::String,
                        0x80..=0x9f => {}
                        _ => {
                            out.push(0xc2);
                            if b == 0x1b {
                                self.state = State::Escape;
                            } else {
                                out.push(b);
                            }
                        }
                    }
                }
                State::Escape => match b {
                    b'[' => {
                        self.state = State::Csi;
                        self.csi.clear();
                        self.csi.extend_from_slice(b"\x1b[");
                    }
                    b']' | b'P' | b'X' | b'^' | b'_' => self.state = State::String,
                    // Any other escape (charset switches, keypad modes, RIS reset): dropped.
                    0x20..=0x2f => {}
                    _ => self.state = State::Text,
                },
                State::Csi => match b {
                    0x20..=0x3f => {
                        if self.csi.len() < CSI_MAX {
                            self.csi.push(b);
                        }
                    }
                    0x40..=0x7e => {
                        let plain = self.csi.len() >= 2
                            && self.csi[2..]
                                .iter()
                                .all(|c| c.is_ascii_digit() || *c == b';');
                        if (b == b'm' || b == b'K') && plain && self.csi.len() < CSI_MAX {
                            out.extend_from_slice(&self.csi);
                            out.push(b);
                        }
                        self.state = State::Text;
                    }
                    // A control inside CSI aborts it.
                    _ => self.state = State::Text,
                },
                State::String => match b {
                    0x07 => self.state = State::Text,
                    0x1b => self.state = State::StringEscape,
                    _ => {}
                },
                State::StringEscape => {
                    self.state = if b == b'\\' {
                        State::Text
                    } else {
                        State::String
                    };
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(s: &[u8]) -> Vec<u8> {
        Sanitizer::new().filter(s)
    }

    #[test]
    fn text_and_colours_pass() {
        let s = b"\x1b[1m\x1b[32m   Compiling\x1b[0m serde v1.0 (caf\xc3\xa9)\r\n\tok\x1b[K\n";
        assert_eq!(clean(s), s.to_vec());
    }

    #[test]
    fn everything_else_is_dropped() {
        // Title, clipboard (OSC 52), DCS, cursor moves, device status report, RIS, BEL,
        // C1 CSI, and a string terminated by ST.
        let hostile = b"a\x1b]0;pwned\x07b\x1b]52;c;ZWNobyBoaQ==\x1b\\c\x1bP1$qm\x1b\\d\x1b[2J\x1b[1;1H\x1b[6ne\x1bcf\x07g\xc2\x9b31mh\x1b[?1049hi";
        assert_eq!(clean(hostile), b"abcdefghi".to_vec());
    }

    #[test]
    fn a_sequence_split_across_chunks_is_still_recognised() {
        let mut s = Sanitizer::new();
        let mut out = s.filter(b"x\x1b]0;ti");
        out.extend(s.filter(b"tle\x07y\x1b["));
        out.extend(s.filter(b"31mz"));
        assert_eq!(out, b"xy\x1b[31mz".to_vec());
    }
}
