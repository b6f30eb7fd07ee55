//! A nesting bound checked before pest sees the text: pest recurses once per level, so deep
//! input such as 200,000 `[` would overflow the stack.

use crate::diag::{Diagnostic, Problem};
use crate::span::Span;

/// Deeper than any factfile needs (they use five levels); the same bound `serde_json` uses.
pub(super) const MAX_DEPTH: usize = 128;

/// Reports the first bracket that opens level `MAX_DEPTH + 1`, ignoring brackets in strings.
pub(super) fn check(text: &str) -> Result<(), Diagnostic> {
    let mut depth = 0usize;
    let mut strings = OutsideStrings::default();
    for (offset, byte) in text.bytes().enumerate() {
        if !strings.outside(byte) {
            continue;
        }
        match byte {
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    let problem = Problem::NestingTooDeep { limit: MAX_DEPTH };
                    let label = format!("level {depth} starts here");
                    return Err(Diagnostic::new(problem).at(Span::at(offset), label));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Follows JSON text byte by byte and tells which bytes stand outside string literals, so a
/// scan for brackets and separators skips what strings hold, escaped quotes included.
#[derive(Default)]
pub(super) struct OutsideStrings {
    in_string: bool,
    escaped: bool,
}

impl OutsideStrings {
    /// Whether `byte`, the next byte of the text, is outside every string. A string's opening
    /// quote counts as outside (it is where the value starts), its closing quote as inside.
    pub(super) fn outside(&mut self, byte: u8) -> bool {
        if self.in_string {
            match byte {
                _ if self.escaped => self.escaped = false,
                b'\\' => self.escaped = true,
                b'"' => self.in_string = false,
                _ => {}
            }
            return false;
        }
        self.in_string = byte == b'"';
        true
    }
}
